/*
 * schema.c - the migrations themselves (see schema.h).
 */
#include "store/schema.h"

/*
 * Rebuild index table t with columns cols (after key and param) as a
 * WITHOUT ROWID table keyed by (key, param, pk), copying the rows as sel.
 */
#define SP_TABLE(t, cols, pk, sel)                                                                 \
    "CREATE TABLE " t "_new (key INTEGER NOT NULL, param TEXT NOT NULL, " cols ","                 \
    " PRIMARY KEY (key, param, " pk ")) WITHOUT ROWID;"                                            \
    "INSERT OR IGNORE INTO " t "_new SELECT key, param, " sel " FROM " t ";"                       \
    "DROP TABLE " t ";"                                                                            \
    "ALTER TABLE " t "_new RENAME TO " t ";"

const char
    *const store_migrations[] =
        {
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

            /*
             * 2: search. res_current has one row per resource (its current version)
             * and gives each resource a stable key; sp_* hold the search index
             * entries of current versions only, by key.
             */
            "CREATE TABLE res_current ("
            "  key INTEGER PRIMARY KEY,"
            "  type TEXT NOT NULL,"
            "  id TEXT NOT NULL,"
            "  version INTEGER NOT NULL,"
            "  last_updated INTEGER NOT NULL,"
            "  deleted INTEGER NOT NULL,"
            "  seq INTEGER NOT NULL,"
            "  UNIQUE (type, id)"
            ");"
            "CREATE INDEX res_current_type ON res_current (type, key);"
            "INSERT INTO res_current (type, id, version, last_updated, deleted, seq)"
            "  SELECT r.type, r.id, r.version, r.last_updated, r.deleted, r.seq FROM resource r"
            "  WHERE r.version = (SELECT max(version) FROM resource m WHERE m.type = r.type AND "
            "m.id = "
            "r.id);"
            "CREATE TABLE sp_token (key INTEGER NOT NULL, param TEXT NOT NULL, system TEXT, code "
            "TEXT);"
            "CREATE INDEX sp_token_lookup ON sp_token (param, code, system);"
            "CREATE INDEX sp_token_key ON sp_token (key);"
            "CREATE TABLE sp_string (key INTEGER NOT NULL, param TEXT NOT NULL, norm TEXT, raw "
            "TEXT);"
            "CREATE INDEX sp_string_lookup ON sp_string (param, norm);"
            "CREATE INDEX sp_string_key ON sp_string (key);"
            "CREATE TABLE sp_reference (key INTEGER NOT NULL, param TEXT NOT NULL, target TEXT);"
            "CREATE INDEX sp_reference_lookup ON sp_reference (param, target);"
            "CREATE INDEX sp_reference_key ON sp_reference (key);"
            "CREATE TABLE sp_date (key INTEGER NOT NULL, param TEXT NOT NULL, low INTEGER, high "
            "INTEGER);"
            "CREATE INDEX sp_date_low ON sp_date (param, low);"
            "CREATE INDEX sp_date_high ON sp_date (param, high);"
            "CREATE INDEX sp_date_key ON sp_date (key);"
            "CREATE TABLE sp_number (key INTEGER NOT NULL, param TEXT NOT NULL, value REAL);"
            "CREATE INDEX sp_number_lookup ON sp_number (param, value);"
            "CREATE INDEX sp_number_key ON sp_number (key);"
            "CREATE TABLE sp_quantity (key INTEGER NOT NULL, param TEXT NOT NULL, value REAL,"
            "  system TEXT, code TEXT);"
            "CREATE INDEX sp_quantity_lookup ON sp_quantity (param, value);"
            "CREATE INDEX sp_quantity_key ON sp_quantity (key);"
            "CREATE TABLE sp_uri (key INTEGER NOT NULL, param TEXT NOT NULL, uri TEXT);"
            "CREATE INDEX sp_uri_lookup ON sp_uri (param, uri);"
            "CREATE INDEX sp_uri_key ON sp_uri (key);"
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",

            /*
             * 3: index tables clustered by resource key (WITHOUT ROWID, the primary
             * key being every column, key first), so each entry is stored in two
             * B-trees instead of three, and both access paths are covering: the
             * lookup index (param, value...) carries the key, and the probe of one
             * resource's entries reads the table itself. Absent text is '' (primary
             * key columns cannot be NULL); the back end maps it back to NULL.
             */
            SP_TABLE("sp_token", "system TEXT NOT NULL, code TEXT NOT NULL", "system, code", "coalesce(system, ''), coalesce(code, '')") "CREATE INDEX sp_token_lookup ON sp_token (param, code, system);" SP_TABLE("sp_string", "norm TEXT NOT NULL, raw TEXT NOT NULL", "norm, raw", "coalesce(norm, ''), coalesce(raw, '')") "CREATE INDEX sp_string_lookup ON sp_string (param, norm);" SP_TABLE(
                "sp_reference", "target TEXT NOT NULL", "target",
                "coalesce(target, '')") "CREATE INDEX sp_reference_lookup ON sp_reference (param, "
                                        "target);" SP_TABLE("sp_date",
                                                            "low INTEGER NOT NULL, high INTEGER "
                                                            "NOT NULL",
                                                            "low, high",
                                                            "low, high") "CREATE INDEX sp_date_low "
                                                                         "ON sp_date (param, low);"
                                                                         "CREATE INDEX "
                                                                         "sp_date_high ON sp_date "
                                                                         "(param, high);" SP_TABLE("sp_number", "value REAL NOT NULL", "value", "value") "CREATE INDEX sp_number_lookup ON sp_number (param, value);" SP_TABLE(
                                                                             "sp_quantity",
                                                                             "value REAL NOT NULL, "
                                                                             "system TEXT NOT "
                                                                             "NULL, code TEXT NOT "
                                                                             "NULL",
                                                                             "value, system, code",
                                                                             "value, "
                                                                             "coalesce(system, "
                                                                             "''), coalesce(code, "
                                                                             "'')") "CREATE INDEX "
                                                                                    "sp_quantity_"
                                                                                    "lookup ON "
                                                                                    "sp_quantity "
                                                                                    "(param, "
                                                                                    "value)"
                                                                                    ";" SP_TABLE("s"
                                                                                                 "p"
                                                                                                 "_"
                                                                                                 "u"
                                                                                                 "r"
                                                                                                 "i",
                                                                                                 "u"
                                                                                                 "r"
                                                                                                 "i"
                                                                                                 " "
                                                                                                 "T"
                                                                                                 "E"
                                                                                                 "X"
                                                                                                 "T"
                                                                                                 " "
                                                                                                 "N"
                                                                                                 "O"
                                                                                                 "T"
                                                                                                 " "
                                                                                                 "N"
                                                                                                 "U"
                                                                                                 "L"
                                                                                                 "L",
                                                                                                 "u"
                                                                                                 "r"
                                                                                                 "i",
                                                                                                 "c"
                                                                                                 "o"
                                                                                                 "a"
                                                                                                 "l"
                                                                                                 "e"
                                                                                                 "s"
                                                                                                 "c"
                                                                                                 "e"
                                                                                                 "("
                                                                                                 "u"
                                                                                                 "r"
                                                                                                 "i"
                                                                                                 ","
                                                                                                 " "
                                                                                                 "'"
                                                                                                 "'"
                                                                                                 ")") "CREATE INDEX sp_uri_lookup ON sp_uri (param, uri);",
};

const size_t store_migration_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
