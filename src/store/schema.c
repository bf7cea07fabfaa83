/*
 * schema.c - the migrations themselves (see schema.h).
 */
#include "store/schema.h"

const char *const store_migrations[] = {
    /* 1: versioned resources */
    "CREATE TABLE resource ("
    "  seq INTEGER PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  last_updated INTEGER NOT NULL,"
    "  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
    "  body BLOB,"
    "  CHECK ((deleted = 1) = (body IS NULL))"
    ");"
    "CREATE UNIQUE INDEX resource_version ON resource (type, id, version);"
    "CREATE INDEX resource_type_seq ON resource (type, seq);"
    "CREATE INDEX resource_updated ON resource (last_updated);",
};

const size_t store_migration_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
