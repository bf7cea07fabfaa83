/*
 * schema.h - numbered schema migrations of the SQLite back end. Migration i
 * takes the database from PRAGMA user_version i to i + 1. Never edit a
 * released migration; append a new one.
 */
#ifndef STORE_SCHEMA_H
#define STORE_SCHEMA_H

#include <stddef.h>

extern const char *const store_migrations[];
extern const size_t store_migration_count;

#endif
