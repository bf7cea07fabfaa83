/*
 * sqlite_audit.c - the audit trail of the SQLite back end, in a file of its
 * own beside the database (audit.db):
 *
 *   audit(seq PK, time, user, patient, json, prev_hash, hash)
 *        append-only: triggers refuse UPDATE and DELETE
 *   audit_state(name PK, value)   'moved': id of the last staged entry appended
 *
 * Why a file of its own: in WAL mode SQLite drops a connection's whole page
 * cache at its first read transaction after any commit to the file. With the
 * trail in the database, the group of read entries appended every few
 * milliseconds ended every reader's cache that often, and each request read
 * its index pages again through a system call each; it also held the
 * database's one writer for a share of every 5 ms (docs/performance.md).
 *
 * A write's entry is staged in the database (audit_outbox, schema 5) inside
 * the write's unit, so it is kept exactly when the write is. The appender
 * (auth/audit.c's flusher; one at a time under audit_lock, and across
 * processes under audit.db's write lock) reads, inside one transaction of
 * audit.db, the chain's tail and the last staged id moved, then the staged
 * entries after it, appends them and the entries given, and records the
 * last id moved; only once that is durable are the staged rows deleted from
 * the database. A crash in between leaves them staged but recorded as
 * moved: never appended twice, never lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "store/sqlite_internal.h"

#define AUDIT_SCHEMA_VERSION 1
#define AUDIT_FORGET_MS      1000 /* staged entries moved are deleted this often at most */
#define AUDIT_FORGET_ROWS    4096 /* or once this many are waiting */

/* The table migration 4 made in the database (schema.c: history, never edited), and the state. */
static const char audit_schema[] =
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
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TABLE audit_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "PRAGMA user_version = 1;";

/* The first column of the first row of sql on db, or dflt when there is no row. */
static enum err single_int(sqlite3 *db, const char *sql, int64_t dflt, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_sql_err(db, "audit trail query");
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : dflt;
    enum err err =
        rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(db, "audit trail");
    sqlite3_finalize(st);
    return err;
}

static enum err create_schema(sqlite3 *db)
{
    int64_t version = 0;
    enum err err = single_int(db, "PRAGMA user_version", 0, &version);
    if (err || version == AUDIT_SCHEMA_VERSION)
        return err;
    if (version > AUDIT_SCHEMA_VERSION) {
        log_error(LOG_STORE, "audit trail schema is newer than this program version=%lld",
                  (long long)version);
        return ERR_IO;
    }
    err = sqlite_run(db, "BEGIN IMMEDIATE");
    if (!err)
        err = sqlite_run(db, audit_schema);
    if (!err)
        err = sqlite_run(db, "COMMIT");
    if (err)
        sqlite_rollback(db);
    return err;
}

/* Has audit.db the database's entry seq (0: none to compare), hash for hash? */
static bool same_entry(struct sqlite_store *s, int64_t seq)
{
    if (seq == 0)
        return true;
    char hash[2][65] = {"", ""};
    sqlite3 *dbs[2] = {s->wdb, s->adb};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(dbs[i], "SELECT hash FROM audit WHERE seq = ?1", -1, &st, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_int64(st, 1, seq);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                snprintf(hash[i], sizeof(hash[i]), "%s", (const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
    }
    return *hash[0] && !strcmp(hash[0], hash[1]);
}

/*
 * A database of schema 4 holds the trail itself: copy its rows (seq and
 * hashes as they are, so the chain goes on) into audit.db in one
 * transaction, then drop the table. Stopped in between, the next start
 * finds the rows copied and only drops it.
 */
static enum err move_legacy(struct sqlite_store *s)
{
    int64_t has = 0, legacy_last = 0, last = 0;
    enum err err = single_int(
        s->wdb, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit'", 0,
        &has);
    if (err || !has)
        return err;
    err = single_int(s->wdb, "SELECT max(seq) FROM audit", 0, &legacy_last);
    if (!err)
        err = single_int(s->adb, "SELECT max(seq) FROM audit", 0, &last);
    if (!err && last == 0 && legacy_last > 0) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->adb, "ATTACH DATABASE ?1 AS legacy", -1, &st, NULL) != SQLITE_OK)
            return sqlite_sql_err(s->adb, "attach database");
        sqlite3_bind_text(st, 1, s->path, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return sqlite_sql_err(s->adb, "attach database");
        err = sqlite_run(s->adb, "BEGIN IMMEDIATE");
        if (!err)
            err = sqlite_run(s->adb,
                             "INSERT INTO main.audit (seq, time, user, patient, json, prev_hash, "
                             "hash) SELECT seq, time, user, patient, json, prev_hash, hash "
                             "FROM legacy.audit ORDER BY seq");
        if (!err)
            err = sqlite_run(s->adb, "COMMIT");
        if (err)
            sqlite_rollback(s->adb);
        enum err detach = sqlite_run(s->adb, "DETACH DATABASE legacy");
        if (!err)
            err = detach;
        if (!err)
            err = single_int(s->adb, "SELECT max(seq) FROM audit", 0, &last);
    }
    if (err)
        return err;
    if (last < legacy_last || !same_entry(s, legacy_last)) {
        log_error(LOG_STORE,
                  "the audit trail is in two places: the database up to seq=%lld, audit.db up to "
                  "seq=%lld, not the same chain; not started",
                  (long long)legacy_last, (long long)last);
        return ERR_IO;
    }
    err = sqlite_run(s->wdb, "DROP TABLE audit");
    if (!err)
        log_info(LOG_STORE, "audit trail moved to its own file entries=%lld",
                 (long long)legacy_last);
    return err;
}

enum err sqlite_audit_open(struct sqlite_store *s)
{
    size_t n = strlen(s->dir) + sizeof("/audit.db");
    s->audit_path = xmalloc(n);
    snprintf(s->audit_path, n, "%s/audit.db", s->dir);
    bool existed = access(s->audit_path, F_OK) == 0;
    if (sqlite3_open_v2(s->audit_path, &s->adb,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return sqlite_sql_err(s->adb, "open audit trail");
    sqlite3_busy_timeout(s->adb, s->busy_timeout_ms);
    /* FULL: each commit syncs the trail's WAL before the appender goes on */
    enum err err = sqlite_run(s->adb, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    if (!err && s->max_page_count > 0) {
        char limit[64]; /* store.max_mb bounds each of the two files */
        snprintf(limit, sizeof(limit), "PRAGMA max_page_count = %d;", s->max_page_count);
        err = sqlite_run(s->adb, limit);
    }
    if (!err)
        err = create_schema(s->adb);
    if (!err && !existed)
        err = sqlite_sync_dir(s->dir); /* the new file's name on disk */
    if (!err &&
        (sqlite3_prepare_v3(s->adb,
                            "INSERT INTO audit (seq, time, user, patient, json, prev_hash, hash) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            -1, SQLITE_PREPARE_PERSISTENT, &s->a_insert, NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(s->adb,
                            "INSERT OR REPLACE INTO audit_state (name, value) VALUES ('moved', ?1)",
                            -1, SQLITE_PREPARE_PERSISTENT, &s->a_moved, NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(s->adb, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
                            SQLITE_PREPARE_PERSISTENT, &s->a_tail, NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(s->adb, "SELECT value FROM audit_state WHERE name = 'moved'", -1,
                            SQLITE_PREPARE_PERSISTENT, &s->a_moved_get, NULL) != SQLITE_OK))
        err = sqlite_sql_err(s->adb, "prepare audit trail");
    return err ? err : move_legacy(s);
}

void sqlite_audit_close(struct sqlite_store *s)
{
    sqlite3_finalize(s->a_insert);
    sqlite3_finalize(s->a_moved);
    sqlite3_finalize(s->a_tail);
    sqlite3_finalize(s->a_moved_get);
    sqlite3_close(s->adb);
    s->adb = NULL;
    free(s->audit_path);
    s->audit_path = NULL;
}

enum err sqlite_audit_prepare(struct sqlite_store *s)
{
    if (sqlite3_prepare_v3(s->wdb,
                           "INSERT INTO audit_outbox (time, user, patient, json) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->w_audit_stage, NULL) != SQLITE_OK)
        return sqlite_sql_err(s->wdb, "prepare audit");
    return ERR_OK;
}

void sqlite_audit_finalize(struct sqlite_store *s)
{
    sqlite3_finalize(s->w_audit_stage);
    s->w_audit_stage = NULL;
}

enum err sqlite_tx_audit_stage(struct store_tx *txbase, const struct store_audit_entry *e)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    sqlite3_stmt *st = tx->store->w_audit_stage;
    sqlite3_bind_int64(st, 1, e->time_ms);
    sqlite3_bind_text(st, 2, e->user ? e->user : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, e->patient ? e->patient : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->json, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum err err = rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(tx->store->wdb, "audit stage");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

/* ---- appending ---- */

struct staged {
    int64_t after;                     /* read the staged entries after this id */
    struct arena *a;                   /* their strings */
    struct store_audit_entry *e;       /* STORE_AUDIT_MOVE_MAX of them */
    int64_t ids[STORE_AUDIT_MOVE_MAX]; /* and their ids */
    size_t n;                          /* read */
};

/* In a read transaction of the database: the staged entries after st->after, oldest first. */
static enum err read_staged(sqlite3 *db, void *arg)
{
    struct staged *sg = arg;
    sqlite3_stmt *st = NULL;
    if (sqlite_stmt_get(db,
                        "SELECT id, time, user, patient, json FROM audit_outbox WHERE id > ?1 "
                        "ORDER BY id LIMIT ?2",
                        &st) != SQLITE_OK)
        return sqlite_sql_err(db, "prepare staged audit entries");
    sqlite3_bind_int64(st, 1, sg->after);
    sqlite3_bind_int64(st, 2, STORE_AUDIT_MOVE_MAX);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && sg->n < STORE_AUDIT_MOVE_MAX) {
        sg->ids[sg->n] = sqlite3_column_int64(st, 0);
        sg->e[sg->n] = (struct store_audit_entry){
            sqlite3_column_int64(st, 1), sqlite_text_col(st, 2, sg->a),
            sqlite_text_col(st, 3, sg->a), sqlite_text_col(st, 4, sg->a)};
        sg->n++;
    }
    enum err err =
        rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(db, "staged audit entries");
    sqlite_stmt_release(db, st);
    return err;
}

/* Inside the appender's transaction: entry e after seq and prev (both moved on). */
static enum err insert_one(struct sqlite_store *s, const struct store_audit_entry *e,
                           store_audit_hash_fn *hash, int64_t *seq, char prev[65])
{
    char h[65];
    hash(prev, e->json, h);
    sqlite3_stmt *st = s->a_insert;
    sqlite3_bind_int64(st, 1, *seq + 1);
    sqlite3_bind_int64(st, 2, e->time_ms);
    sqlite3_bind_text(st, 3, e->user ? e->user : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->patient ? e->patient : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e->json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, h, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return sqlite_sql_err(s->adb, "audit append");
    (*seq)++;
    memcpy(prev, h, 65);
    return ERR_OK;
}

/* The chain's last entry, read inside the appender's transaction. */
static enum err read_tail(struct sqlite_store *s, int64_t *seq, char prev[65])
{
    sqlite3_stmt *st = s->a_tail;
    int rc = sqlite3_step(st);
    *seq = 0;
    prev[0] = '\0';
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        snprintf(prev, 65, "%s", h ? h : "");
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(s->adb, "audit tail");
}

/* Under audit_lock, in one transaction of audit.db: see sqlite_audit_append. */
static enum err append_locked(struct sqlite_store *s, struct staged *sg,
                              const struct store_audit_entry *entries, size_t n,
                              store_audit_hash_fn *hash)
{
    enum err err = sqlite_run(s->adb, "BEGIN IMMEDIATE");
    if (err)
        return err;
    int64_t seq = 0;
    char prev[65];
    sg->after = 0;
    int rc = sqlite3_step(s->a_moved_get);
    if (rc == SQLITE_ROW)
        sg->after = sqlite3_column_int64(s->a_moved_get, 0);
    else if (rc != SQLITE_DONE)
        err = sqlite_sql_err(s->adb, "audit moved");
    sqlite3_reset(s->a_moved_get);
    if (!err)
        err = sqlite_read_snapshot(s, read_staged, sg);
    if (!err && (sg->n || n))
        err = read_tail(s, &seq, prev);
    for (size_t i = 0; !err && i < sg->n; i++)
        err = insert_one(s, &sg->e[i], hash, &seq, prev);
    for (size_t i = 0; !err && i < n; i++)
        err = insert_one(s, &entries[i], hash, &seq, prev);
    if (!err && sg->n) {
        sqlite3_bind_int64(s->a_moved, 1, sg->ids[sg->n - 1]);
        if (sqlite3_step(s->a_moved) != SQLITE_DONE)
            err = sqlite_sql_err(s->adb, "audit moved");
        sqlite3_reset(s->a_moved);
    }
    if (!err)
        err = sqlite_run(s->adb, sg->n || n ? "COMMIT" : "ROLLBACK");
    if (err) {
        sqlite_rollback(s->adb);
        sg->n = 0;
    }
    return err;
}

/* Writer thread: the staged entries up to the id in arg are in the trail. */
static enum err forget_staged(struct store_tx *txbase, void *arg)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    sqlite3_stmt *st = NULL;
    if (sqlite_stmt_get(tx->store->wdb, "DELETE FROM audit_outbox WHERE id <= ?1", &st) !=
        SQLITE_OK)
        return sqlite_sql_err(tx->store->wdb, "prepare audit forget");
    sqlite3_bind_int64(st, 1, *(const int64_t *)arg);
    int rc = sqlite3_step(st);
    sqlite_stmt_release(tx->store->wdb, st);
    return rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(tx->store->wdb, "audit forget");
}

enum err sqlite_audit_append(struct store *base, const struct store_audit_entry *entries, size_t n,
                             store_audit_hash_fn *hash, size_t *out_moved)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct arena a;
    arena_init(&a, 64u * 1024);
    struct staged *sg = xcalloc(1, sizeof(*sg));
    sg->a = &a;
    sg->e = arena_alloc(&a, STORE_AUDIT_MOVE_MAX * sizeof(*sg->e));
    pthread_mutex_lock(&s->audit_lock);
    enum err err = append_locked(s, sg, entries, n, hash);
    /*
     * Durable in the trail: now they may go from the database, in one unit
     * per second or per AUDIT_FORGET_ROWS rather than a unit (and a commit
     * of the writer) every round of the appender. If it fails, a later
     * round tries again; they stay recorded as moved.
     */
    int64_t moved = sg->n ? sg->ids[sg->n - 1] : sg->after, now = time_now_ms();
    bool forget = !err && moved > s->audit_deleted &&
                  (moved - s->audit_deleted >= AUDIT_FORGET_ROWS ||
                   now - s->audit_forgot_ms >= AUDIT_FORGET_MS);
    if (forget)
        s->audit_forgot_ms = now;
    pthread_mutex_unlock(&s->audit_lock);
    *out_moved = err ? 0 : sg->n;
    if (forget && base->ops->write(base, forget_staged, &moved) == ERR_OK) {
        pthread_mutex_lock(&s->audit_lock);
        if (moved > s->audit_deleted)
            s->audit_deleted = moved;
        pthread_mutex_unlock(&s->audit_lock);
    }
    free(sg);
    arena_release(&a);
    return err;
}

/* ---- reading ---- */

struct audit_query {
    int64_t after_seq;   /* start after */
    const char *patient; /* or NULL */
    int limit;           /* <= 0: all */
    store_audit_fn *fn;  /* per entry */
    void *ctx;           /* its argument */
};

static enum err run_audit_query(sqlite3 *db, const struct audit_query *q)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT seq, time, user, patient, json, prev_hash, hash FROM audit "
             "WHERE seq > ?1%s ORDER BY seq LIMIT ?3",
             q->patient ? " AND patient = ?2 AND patient <> ''" : "");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_sql_err(db, "prepare audit scan");
    sqlite3_bind_int64(st, 1, q->after_seq);
    if (q->patient)
        sqlite3_bind_text(st, 2, q->patient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, q->limit > 0 ? q->limit : INT64_MAX);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_audit a = {
            sqlite3_column_int64(st, 0),  sqlite3_column_int64(st, 1),
            sqlite_text_col(st, 2, NULL), sqlite_text_col(st, 3, NULL),
            sqlite_text_col(st, 4, NULL), sqlite_text_col(st, 5, NULL),
            sqlite_text_col(st, 6, NULL),
        };
        if (!q->fn(&a, q->ctx))
            break;
    }
    enum err err = rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(db, "audit");
    sqlite3_finalize(st);
    return err;
}

/*
 * Scans are rare (the audit API, verification) and may be long: each runs
 * on a read-only connection of its own, inside one read transaction, and
 * never holds up the appender.
 */
enum err sqlite_audit_scan(struct store *base, int64_t after_seq, const char *patient, int limit,
                           store_audit_fn *fn, void *ctx)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(s->audit_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        enum err err = sqlite_sql_err(db, "open audit trail");
        sqlite3_close(db);
        return err;
    }
    sqlite3_busy_timeout(db, s->busy_timeout_ms);
    struct audit_query q = {after_seq, patient, limit, fn, ctx};
    enum err err = sqlite_run(db, "BEGIN");
    if (!err)
        err = run_audit_query(db, &q);
    sqlite_rollback(db);
    sqlite3_close(db);
    return err;
}
