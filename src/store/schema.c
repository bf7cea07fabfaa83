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
    "  WHERE r.version = (SELECT max(version) FROM resource m WHERE m.type = r.type AND m.id = "
    "r.id);"
    "CREATE TABLE sp_token (key INTEGER NOT NULL, param TEXT NOT NULL, system TEXT, code TEXT);"
    "CREATE INDEX sp_token_lookup ON sp_token (param, code, system);"
    "CREATE INDEX sp_token_key ON sp_token (key);"
    "CREATE TABLE sp_string (key INTEGER NOT NULL, param TEXT NOT NULL, norm TEXT, raw TEXT);"
    "CREATE INDEX sp_string_lookup ON sp_string (param, norm);"
    "CREATE INDEX sp_string_key ON sp_string (key);"
    "CREATE TABLE sp_reference (key INTEGER NOT NULL, param TEXT NOT NULL, target TEXT);"
    "CREATE INDEX sp_reference_lookup ON sp_reference (param, target);"
    "CREATE INDEX sp_reference_key ON sp_reference (key);"
    "CREATE TABLE sp_date (key INTEGER NOT NULL, param TEXT NOT NULL, low INTEGER, high INTEGER);"
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
    "CREATE TABLE sp_token_new (key INTEGER NOT NULL, param TEXT NOT NULL,"
    "  system TEXT NOT NULL, code TEXT NOT NULL,"
    "  PRIMARY KEY (key, param, system, code)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO sp_token_new SELECT key, param, coalesce(system, ''), coalesce(code, '')"
    " FROM sp_token;"
    "DROP TABLE sp_token;"
    "ALTER TABLE sp_token_new RENAME TO sp_token;"
    "CREATE INDEX sp_token_lookup ON sp_token (param, code, system);"
    "CREATE TABLE sp_string_new (key INTEGER NOT NULL, param TEXT NOT NULL,"
    "  norm TEXT NOT NULL, raw TEXT NOT NULL,"
    "  PRIMARY KEY (key, param, norm, raw)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO sp_string_new SELECT key, param, coalesce(norm, ''), coalesce(raw, '')"
    " FROM sp_string;"
    "DROP TABLE sp_string;"
    "ALTER TABLE sp_string_new RENAME TO sp_string;"
    "CREATE INDEX sp_string_lookup ON sp_string (param, norm);"
    "CREATE TABLE sp_reference_new (key INTEGER NOT NULL, param TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  PRIMARY KEY (key, param, target)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO sp_reference_new SELECT key, param, coalesce(target, '')"
    " FROM sp_reference;"
    "DROP TABLE sp_reference;"
    "ALTER TABLE sp_reference_new RENAME TO sp_reference;"
    "CREATE INDEX sp_reference_lookup ON sp_reference (param, target);"
    "CREATE TABLE sp_date_new (key INTEGER NOT NULL, param TEXT NOT NULL,"
    "  low INTEGER NOT NULL, high INTEGER NOT NULL,"
    "  PRIMARY KEY (key, param, low, high)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO sp_date_new SELECT key, param, low, high FROM sp_date;"
    "DROP TABLE sp_date;"
    "ALTER TABLE sp_date_new RENAME TO sp_date;"
    "CREATE INDEX sp_date_low ON sp_date (param, low);"
    "CREATE INDEX sp_date_high ON sp_date (param, high);"
    "CREATE TABLE sp_number_new (key INTEGER NOT NULL, param TEXT NOT NULL,"
    "  value REAL NOT NULL,"
    "  PRIMARY KEY (key, param, value)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO sp_number_new SELECT key, param, value FROM sp_number;"
    "DROP TABLE sp_number;"
    "ALTER TABLE sp_number_new RENAME TO sp_number;"
    "CREATE INDEX sp_number_lookup ON sp_number (param, value);"
    "CREATE TABLE sp_quantity_new (key INTEGER NOT NULL, param TEXT NOT NULL,"
    "  value REAL NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL,"
    "  PRIMARY KEY (key, param, value, system, code)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO sp_quantity_new SELECT key, param, value,"
    "  coalesce(system, ''), coalesce(code, '')"
    " FROM sp_quantity;"
    "DROP TABLE sp_quantity;"
    "ALTER TABLE sp_quantity_new RENAME TO sp_quantity;"
    "CREATE INDEX sp_quantity_lookup ON sp_quantity (param, value);"
    "CREATE TABLE sp_uri_new (key INTEGER NOT NULL, param TEXT NOT NULL,"
    "  uri TEXT NOT NULL,"
    "  PRIMARY KEY (key, param, uri)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO sp_uri_new SELECT key, param, coalesce(uri, '') FROM sp_uri;"
    "DROP TABLE sp_uri;"
    "ALTER TABLE sp_uri_new RENAME TO sp_uri;"
    "CREATE INDEX sp_uri_lookup ON sp_uri (param, uri);",

    /*
     * 4: accounts, tokens (only their hashes) and the audit trail. The audit
     * table is append-only: the back end never updates or deletes a row, and
     * each row carries the hash of its predecessor (see auth/audit.c).
     */
    "CREATE TABLE auth_user ("
    "  name TEXT PRIMARY KEY,"
    "  password_hash TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  org TEXT NOT NULL DEFAULT '',"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  locked_until INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  must_change INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE auth_token ("
    "  hash TEXT PRIMARY KEY,"
    "  kind INTEGER NOT NULL,"
    "  user TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  issued INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX auth_token_user ON auth_token (user);"
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  user TEXT NOT NULL,"
    "  patient TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL"
    ");"
    "CREATE INDEX audit_patient ON audit (patient, seq) WHERE patient <> '';"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",

    /*
     * 5: the audit trail moves to a file of its own (store/sqlite_audit.c,
     * which also moves the rows of migration 4's table and drops it). A
     * write's entry is staged here, in the write's transaction, until the
     * trail has it. AUTOINCREMENT: ids never go back, even after the table
     * was emptied, so "moved up to id n" stays true of every later entry.
     */
    "CREATE TABLE audit_outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time INTEGER NOT NULL,"
    "  user TEXT NOT NULL,"
    "  patient TEXT NOT NULL,"
    "  json TEXT NOT NULL"
    ");",
};

const size_t store_migration_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
