/*
 * store_sqlite.c - store back end on SQLite (one database file, WAL mode).
 *
 *   resource(seq INTEGER PRIMARY KEY,   global write order (history paging)
 *            type, id, version,         UNIQUE (type, id, version)
 *            last_updated,              ms since epoch, UTC
 *            deleted, body)             body NULL when deleted
 *
 * Writes: one writer thread owns the only write connection. Callers enqueue
 * a unit of work and sleep; the writer takes up to max_batch queued units,
 * runs them inside BEGIN IMMEDIATE (when one fails, the batch is rolled back
 * and run again with a SAVEPOINT per unit, so that the failing unit is
 * rolled back alone), then COMMITs once, and hands the batch to the
 * syncer thread, which fdatasyncs the WAL (synchronous=NORMAL: SQLite's
 * commit itself does not) for every batch handed over since its last sync
 * (group commit), and only then wakes the callers: an acknowledged write is
 * on disk. The writer goes on with the next batch while the syncer waits
 * for the disk. A committed batch is visible to other readers a moment
 * before it is on disk; its own clients are answered only after the sync
 * (a power cut in between loses it unacknowledged). A failed sync
 * fails the batch and every write after it (fail-stop: the store must be
 * reopened; recovery keeps what the disk has).
 *
 * Checkpoints (copying the WAL into the database file) run on a thread of
 * their own with its own connection, started when the WAL passes
 * store.checkpoint_mb; they used to take an eighth of the writer's time
 * during ingest. A passive checkpoint cannot finish while the writer keeps
 * appending, and the WAL restarts from its beginning only after one that
 * did, so once a background pass is over the writer copies the rest
 * itself between two commits (what was committed during the pass), and
 * the next write restarts the WAL: it stays near that size (and at four
 * times it the writer checkpoints whatever the other thread is doing).
 *
 * Reads: a pool of read-only connections, one per concurrent reader, each
 * with its prepared statements. WAL lets readers proceed while the writer
 * commits.
 */

#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/schema.h"
#include "store/sqlite_internal.h"

static const char *const read_sql[RS__COUNT] = {
    [RS_CURRENT] = "SELECT version, last_updated, deleted, body, seq FROM resource "
                   "WHERE type = ?1 AND id = ?2 ORDER BY version DESC LIMIT 1",
    [RS_VERSION] = "SELECT version, last_updated, deleted, body, seq FROM resource "
                   "WHERE type = ?1 AND id = ?2 AND version = ?3",
    [RS_COUNT_ID] = "SELECT count(*) FROM resource WHERE type = ?1 AND id = ?2",
    [RS_COUNT_TYPE] = "SELECT count(*) FROM resource WHERE type = ?1",
    [RS_COUNT_ALL] = "SELECT count(*) FROM resource",
    [RS_TOKEN] = "SELECT kind, user, scope, issued, expires, revoked FROM auth_token "
                 "WHERE hash = ?1",
    [RS_USER] = "SELECT " SQLITE_USER_COLUMNS " FROM auth_user WHERE name = ?1",
    [RS_BEGIN] = "BEGIN",
    [RS_COMMIT] = "COMMIT",
};

static const struct store_ops sqlite_ops;

/* How to sync the WAL: fdatasync, or a test's stand-in (sqlite_internal.h). */
int (*sqlite_fdatasync)(int fd) = fdatasync;

enum err sqlite_sql_err(sqlite3 *db, const char *what)
{
    log_error(LOG_STORE, "sqlite failed op=%s code=%d msg=\"%s\"", what,
              sqlite3_extended_errcode(db), sqlite3_errmsg(db));
    int code = sqlite3_errcode(db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return ERR_UNAVAILABLE;
    if (code == SQLITE_FULL)
        return ERR_STORAGE_FULL;
    if (code == SQLITE_TOOBIG)
        return ERR_TOO_LARGE;
    /* a query SQLite will not parse or plan: too costly for this server, not a fault */
    const char *msg = sqlite3_errmsg(db);
    if (code == SQLITE_ERROR && (strstr(msg, "parser stack overflow") || strstr(msg, "too large") ||
                                 strstr(msg, "too many")))
        return ERR_TOO_LARGE;
    return ERR_IO;
}

enum err sqlite_run(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        log_error(LOG_STORE, "sqlite exec failed code=%d msg=\"%s\"", rc, msg ? msg : "");
        sqlite3_free(msg);
        return rc == SQLITE_BUSY ? ERR_UNAVAILABLE : rc == SQLITE_FULL ? ERR_STORAGE_FULL : ERR_IO;
    }
    return ERR_OK;
}

/* ROLLBACK, unless SQLite has already rolled back (it does on a full disk, for one). */
void sqlite_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite_run(db, "ROLLBACK");
}

/* ---- schema ---- */

static enum err migrate(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return sqlite_sql_err(db, "user_version");
    int current = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        current = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (current > (int)store_migration_count) {
        log_error(LOG_STORE, "database schema is newer than this program version=%d known=%zu",
                  current, store_migration_count);
        return ERR_IO;
    }
    for (size_t v = (size_t)current; v < store_migration_count; v++) {
        enum err err = sqlite_run(db, "BEGIN IMMEDIATE");
        if (!err)
            err = sqlite_run(db, store_migrations[v]);
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu", v + 1);
        if (!err)
            err = sqlite_run(db, pragma);
        if (!err)
            err = sqlite_run(db, "COMMIT");
        if (err) {
            sqlite_rollback(db);
            return err;
        }
        log_info(LOG_STORE, "schema migrated version=%zu", v + 1);
    }
    return ERR_OK;
}

/* ---- readers ---- */

static enum err reader_open(struct sqlite_store *s, struct reader **out)
{
    struct reader *r = xcalloc(1, sizeof(*r));
    int rc = sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        enum err err = sqlite_sql_err(r->db, "open reader");
        sqlite3_close(r->db);
        free(r);
        return err;
    }
    sqlite3_busy_timeout(r->db, s->busy_timeout_ms);
    sqlite3_exec(r->db, s->tuning, NULL, NULL, NULL);
    for (int i = 0; i < RS__COUNT; i++) {
        if (sqlite3_prepare_v3(r->db, read_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->stmts[i],
                               NULL) != SQLITE_OK) {
            enum err err = sqlite_sql_err(r->db, "prepare reader");
            for (int k = 0; k < i; k++)
                sqlite3_finalize(r->stmts[k]);
            sqlite3_close(r->db);
            free(r);
            return err;
        }
    }
    *out = r;
    return ERR_OK;
}

enum err sqlite_reader_get(struct sqlite_store *s, struct reader **out)
{
    pthread_mutex_lock(&s->pool_lock);
    struct reader *r = s->free_readers;
    if (r)
        s->free_readers = r->next;
    pthread_mutex_unlock(&s->pool_lock);
    if (r) {
        *out = r;
        return ERR_OK;
    }
    enum err err = reader_open(s, &r);
    if (err)
        return err;
    pthread_mutex_lock(&s->pool_lock);
    s->all_readers = xrealloc(s->all_readers, sizeof(*s->all_readers) * (s->reader_count + 1));
    s->all_readers[s->reader_count++] = r;
    pthread_mutex_unlock(&s->pool_lock);
    *out = r;
    return ERR_OK;
}

/* The reader whose snapshot this thread is in (innermost), for sqlite_stmt_get. */
static _Thread_local struct reader *snapshot_reader;

static void step_once(sqlite3_stmt *st)
{
    sqlite3_step(st);
    sqlite3_reset(st);
}

enum err sqlite_read_snapshot(struct sqlite_store *s, sqlite_read_fn *fn, void *arg)
{
    struct reader *r;
    enum err err = sqlite_reader_get(s, &r);
    if (err)
        return err;
    struct reader *outer = snapshot_reader;
    snapshot_reader = r;
    step_once(r->stmts[RS_BEGIN]);
    err = fn(r->db, arg);
    step_once(r->stmts[RS_COMMIT]);
    snapshot_reader = outer;
    sqlite_reader_put(s, r);
    return err;
}

static uint64_t sql_hash(const char *sql)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

/* The slot for a new statement: a free one, else the least recently used one not in use. */
static struct cached_stmt *cache_victim(struct stmt_cache *cache)
{
    struct cached_stmt *victim = NULL;
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        struct cached_stmt *c = &cache->slot[i];
        if (!c->sql)
            return c;
        if (!c->in_use && (!victim || c->used < victim->used))
            victim = c;
    }
    return victim;
}

/* The writer thread's store (set by writer_main): its connection has a cache too. */
static _Thread_local struct sqlite_store *writer_store;

/* The statement cache of db on this thread, or NULL (statements then prepared each time). */
static struct stmt_cache *cache_of(sqlite3 *db)
{
    if (snapshot_reader && snapshot_reader->db == db)
        return &snapshot_reader->cache;
    if (writer_store && writer_store->wdb == db)
        return &writer_store->wcache;
    return NULL;
}

int sqlite_stmt_get(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    struct stmt_cache *cache = cache_of(db);
    if (!cache)
        return sqlite3_prepare_v2(db, sql, -1, out, NULL);
    uint64_t h = sql_hash(sql);
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        struct cached_stmt *c = &cache->slot[i];
        if (c->sql && !c->in_use && c->hash == h && !strcmp(c->sql, sql)) {
            c->in_use = true;
            c->used = ++cache->tick;
            *out = c->st;
            return SQLITE_OK;
        }
    }
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    struct cached_stmt *c = rc == SQLITE_OK ? cache_victim(cache) : NULL;
    if (c) {
        sqlite3_finalize(c->st);
        free(c->sql);
        *c = (struct cached_stmt){h, xstrdup(sql), *out, ++cache->tick, true};
    }
    return rc;
}

void sqlite_stmt_release(sqlite3 *db, sqlite3_stmt *st)
{
    struct stmt_cache *cache = cache_of(db);
    for (int i = 0; cache && st && i < STMT_CACHE_SIZE; i++) {
        if (cache->slot[i].st == st && cache->slot[i].in_use) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            cache->slot[i].in_use = false;
            return;
        }
    }
    sqlite3_finalize(st);
}

static void cache_free(struct stmt_cache *cache)
{
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        sqlite3_finalize(cache->slot[i].st);
        free(cache->slot[i].sql);
    }
    memset(cache, 0, sizeof(*cache));
}

static void reader_close(struct reader *r)
{
    for (int k = 0; k < RS__COUNT; k++)
        sqlite3_finalize(r->stmts[k]);
    cache_free(&r->cache);
    sqlite3_close(r->db);
    free(r);
}

void sqlite_reader_put(struct sqlite_store *s, struct reader *r)
{
    pthread_mutex_lock(&s->pool_lock);
    r->next = s->free_readers;
    s->free_readers = r;
    pthread_mutex_unlock(&s->pool_lock);
}

static void row_from_stmt(sqlite3_stmt *st, int first_col, struct store_row *row)
{
    row->version = sqlite3_column_int64(st, first_col);
    row->last_updated = sqlite3_column_int64(st, first_col + 1);
    row->deleted = sqlite3_column_int(st, first_col + 2) != 0;
    row->body.ptr = sqlite3_column_blob(st, first_col + 3);
    row->body.len = (size_t)sqlite3_column_bytes(st, first_col + 3);
    row->seq = sqlite3_column_int64(st, first_col + 4);
}

static enum err sqlite_read(struct store *base, const char *type, const char *id, int64_t version,
                            struct buf *body_out, struct store_row *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct reader *r;
    enum err err = sqlite_reader_get(s, &r);
    if (err)
        return err;
    sqlite3_stmt *st = r->stmts[version ? RS_VERSION : RS_CURRENT];
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_int64(st, 3, version);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        struct store_row row;
        row_from_stmt(st, 0, &row);
        size_t start = body_out->len;
        err = buf_append(body_out, row.body.ptr, row.body.len);
        if (!err) {
            row.type = str_from(type);
            row.id = str_from(id);
            row.body = str_make(body_out->ptr + start, row.body.len);
            *out = row;
        }
    } else if (rc == SQLITE_DONE) {
        err = ERR_NOT_FOUND;
    } else {
        err = sqlite_sql_err(r->db, "read");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite_reader_put(s, r);
    return err;
}

static enum err sqlite_count(struct store *base, const char *type, const char *id, int64_t *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct reader *r;
    enum err err = sqlite_reader_get(s, &r);
    if (err)
        return err;
    sqlite3_stmt *st = r->stmts[id ? RS_COUNT_ID : type ? RS_COUNT_TYPE : RS_COUNT_ALL];
    if (type)
        sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    if (id)
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        err = sqlite_sql_err(r->db, "count");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite_reader_put(s, r);
    return err;
}

static enum err sqlite_history(struct store *base, const struct store_history_query *q,
                               store_row_fn *fn, void *ctx)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct reader *r;
    enum err err = sqlite_reader_get(s, &r);
    if (err)
        return err;
    /* The WHERE clause is built only from fixed fragments; values are bound. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT type, id, version, last_updated, deleted, body, seq FROM resource "
             "WHERE seq < ?3 AND seq > ?6 AND last_updated >= ?4%s%s ORDER BY seq DESC LIMIT ?5",
             q->type ? " AND type = ?1" : "", q->id ? " AND id = ?2" : "");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        err = sqlite_sql_err(r->db, "prepare history");
        sqlite_reader_put(s, r);
        return err;
    }
    if (q->type)
        sqlite3_bind_text(st, 1, q->type, -1, SQLITE_STATIC);
    if (q->id)
        sqlite3_bind_text(st, 2, q->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, q->before_seq);
    sqlite3_bind_int64(st, 4, q->since_ms);
    sqlite3_bind_int(st, 5, q->limit);
    sqlite3_bind_int64(st, 6, q->after_seq);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_row row;
        row.type =
            str_make((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        row.id =
            str_make((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
        row_from_stmt(st, 2, &row);
        if (!fn(&row, ctx))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = sqlite_sql_err(r->db, "history");
    sqlite3_finalize(st);
    sqlite_reader_put(s, r);
    return err;
}

/* ---- writer ---- */

static enum err sqlite_tx_current(struct store_tx *txbase, const char *type, const char *id,
                                  struct store_current *out)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    sqlite3_stmt *st = tx->store->w_current;
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum err err = ERR_OK;
    struct store_current cur = {0, false, 0};
    if (rc == SQLITE_ROW) {
        cur.version = sqlite3_column_int64(st, 0);
        cur.last_updated = sqlite3_column_int64(st, 1);
        cur.deleted = sqlite3_column_int(st, 2) != 0;
    } else if (rc != SQLITE_DONE) {
        err = sqlite_sql_err(tx->store->wdb, "current");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!err)
        *out = cur;
    return err;
}

/* The generation slot of a resource type (FNV-1a of its name). */
static unsigned generation_slot(const char *type, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)type[i]) * 16777619u;
    return h % STORE_GENERATION_SLOTS;
}

static enum err sqlite_tx_put(struct store_tx *txbase, const struct store_row *row)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    sqlite3_stmt *st = tx->store->w_insert;
    sqlite3_bind_text(st, 1, row->type.ptr, (int)row->type.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->id.ptr, (int)row->id.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, row->version);
    sqlite3_bind_int64(st, 4, row->last_updated);
    sqlite3_bind_int(st, 5, row->deleted ? 1 : 0);
    if (row->deleted)
        sqlite3_bind_null(st, 6);
    else
        sqlite3_bind_blob(st, 6, row->body.ptr, (int)row->body.len, SQLITE_STATIC);
    /* OR IGNORE, so no statement journal: a version already there is a conflict */
    int rc = sqlite3_step(st);
    enum err err = ERR_OK;
    if (rc != SQLITE_DONE)
        err = sqlite_sql_err(tx->store->wdb, "insert");
    else if (sqlite3_changes(tx->store->wdb) == 0)
        err = ERR_CONFLICT;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!err)
        err = sqlite_index_put(tx->store, sqlite3_last_insert_rowid(tx->store->wdb), row);
    tx->store->batch_touched |= 1ull << generation_slot(row->type.ptr, row->type.len);
    return err;
}

static uint64_t sqlite_generation(struct store *base, const char *type)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    return atomic_load(&s->generation[generation_slot(type, strlen(type))]);
}

/*
 * The common case first: every unit of the batch without a savepoint of its
 * own (a savepoint copies each page a unit touches and allocates its
 * bookkeeping). True when the batch is done: committed, or its only unit
 * failed and was rolled back. False after a ROLLBACK when one of several
 * units failed: run_batch runs the batch again with savepoints. Units are
 * deterministic in the state they start from, and this pass stops at the
 * first failure, so in the second pass every unit before it does again
 * what it did, the failing one fails again, and those after it run for
 * the first time.
 */
static void commit_batch(struct sqlite_store *s, struct work_item *batch);

static bool run_batch_optimistic(struct sqlite_store *s, struct work_item *batch)
{
    struct sqlite_tx tx = {&sqlite_ops, s};
    if (sqlite_run(s->wdb, "BEGIN IMMEDIATE"))
        return false;
    for (struct work_item *w = batch; w; w = w->next) {
        enum err err = w->work((struct store_tx *)&tx, w->ctx);
        if (err == ERR_OK)
            continue;
        sqlite_rollback(s->wdb);
        s->batch_touched = 0;
        if (batch->next) {
            s->optimistic_rollbacks++;
            return false;
        }
        batch->result = err; /* a unit alone: its failure rolled back, nothing to run again */
        return true;
    }
    for (struct work_item *w = batch; w; w = w->next)
        w->result = ERR_OK;
    commit_batch(s, batch);
    return true;
}

static void run_batch(struct sqlite_store *s, struct work_item *batch)
{
    struct sqlite_tx tx = {&sqlite_ops, s};
    if (run_batch_optimistic(s, batch))
        return;
    enum err err = sqlite_run(s->wdb, "BEGIN IMMEDIATE");
    for (struct work_item *w = batch; w; w = w->next) {
        if (err) {
            w->result = err;
            continue;
        }
        w->result = sqlite_run(s->wdb, "SAVEPOINT unit");
        if (!w->result)
            w->result = w->work((struct store_tx *)&tx, w->ctx);
        if (w->result && sqlite3_get_autocommit(s->wdb)) {
            /*
             * SQLite rolled the whole transaction back (on a full disk, for
             * one): the units before this one are gone too, and a unit after
             * it would run outside any transaction. Nothing of the batch stands.
             */
            err = w->result;
            for (struct work_item *x = batch; x != w; x = x->next)
                x->result = err;
            continue;
        }
        if (w->result)
            sqlite_run(s->wdb, "ROLLBACK TO unit");
        sqlite_run(s->wdb, "RELEASE unit");
    }
    if (!err)
        commit_batch(s, batch);
    else
        s->batch_touched = 0;
}

/* COMMIT the open transaction of batch (failing its units if it fails), then tell readers. */
static void commit_batch(struct sqlite_store *s, struct work_item *batch)
{
    enum err cerr = sqlite_run(s->wdb, "COMMIT");
    if (cerr) {
        sqlite_rollback(s->wdb);
        for (struct work_item *w = batch; w; w = w->next)
            if (!w->result)
                w->result = cerr;
    }
    /* after the commit: a reader that sees the new number sees the new data */
    for (unsigned k = 0; s->batch_touched && k < STORE_GENERATION_SLOTS; k++)
        if (s->batch_touched & (1ull << k))
            atomic_fetch_add(&s->generation[k], 1);
    s->batch_touched = 0;
}

/*
 * Complete a list of units whose fate is known (committed and synced, or
 * failed): sync items belong to a waiter, who may free one as soon as it
 * sees done; async items are ours to complete and free. The list is split
 * first, touching each item once, then completions are called unlocked.
 */
static void complete(struct sqlite_store *s, struct work_item *list)
{
    struct work_item *async_items = NULL;
    pthread_mutex_lock(&s->queue_lock);
    for (struct work_item *w = list, *next; w; w = next) {
        next = w->next;
        if (w->on_done) {
            w->next = async_items;
            async_items = w;
        } else {
            w->done = true;
        }
    }
    pthread_cond_broadcast(&s->queue_done);
    pthread_mutex_unlock(&s->queue_lock);
    for (struct work_item *w = async_items, *next; w; w = next) {
        next = w->next;
        w->on_done(w->done_arg, w->result);
        free(w);
    }
}

/*
 * Take up to max_batch units off the queue, its last one in *out_last (for
 * the syncer's list); the caller holds queue_lock and head is set.
 */
static struct work_item *take_batch_locked(struct sqlite_store *s, struct work_item **out_last)
{
    struct work_item *batch = s->head, *last = s->head;
    int n = 1;
    while (last->next && n < s->max_batch) {
        last = last->next;
        n++;
    }
    s->head = last->next;
    if (!s->head)
        s->tail = NULL;
    last->next = NULL;
    *out_last = last;
    return batch;
}

static void *writer_main(void *arg)
{
    struct sqlite_store *s = arg;
    writer_store = s;
    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->queue_nonempty, &s->queue_lock);
        if (!s->head && s->stopping)
            break;
        struct work_item *last;
        struct work_item *batch = take_batch_locked(s, &last);
        bool failed = s->sync_failed;
        pthread_mutex_unlock(&s->queue_lock);

        if (failed) {
            for (struct work_item *w = batch; w; w = w->next)
                w->result = ERR_IO;
            complete(s, batch);
            pthread_mutex_lock(&s->queue_lock);
            continue;
        }
        run_batch(s, batch);

        /* to the syncer, in commit order (failed units too: their answer may rest on this batch) */
        pthread_mutex_lock(&s->queue_lock);
        if (s->sync_tail)
            s->sync_tail->next = batch;
        else
            s->sync_head = batch;
        s->sync_tail = last;
        pthread_cond_signal(&s->sync_nonempty);
    }
    s->writer_stopped = true;
    pthread_cond_signal(&s->sync_nonempty);
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

/*
 * fdatasync the WAL. The syncer has its own descriptor of it (fsync acts on
 * the file, whichever descriptor wrote), opened at the first sync, when the
 * first commit has created the file, with the directory synced once so
 * that the file's name is on disk too. The descriptor is closed only after
 * SQLite has closed the database (closing any descriptor of a file drops
 * the process's POSIX locks on it; SQLite locks the database and the -shm
 * file, not the WAL, but the order costs nothing).
 */
enum err sqlite_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok)
        log_error(LOG_STORE, "cannot sync the data directory errno=%d", errno);
    return ok ? ERR_OK : ERR_IO;
}

static enum err sync_wal(struct sqlite_store *s)
{
    if (s->wal_fd < 0) {
        size_t n = strlen(s->path) + sizeof("-wal");
        char *wal = xmalloc(n);
        snprintf(wal, n, "%s-wal", s->path);
        s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
        free(wal);
        if (s->wal_fd < 0) {
            log_error(LOG_STORE, "cannot open the WAL to sync it errno=%d", errno);
            return ERR_IO;
        }
        enum err err = sqlite_sync_dir(s->dir);
        if (err)
            return err;
    }
    if (sqlite_fdatasync(s->wal_fd) != 0) {
        log_error(LOG_STORE, "fdatasync of the WAL failed errno=%d: no further writes", errno);
        return ERR_IO;
    }
    return ERR_OK;
}

static void *syncer_main(void *arg)
{
    struct sqlite_store *s = arg;
    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        while (!s->sync_head && !s->writer_stopped)
            pthread_cond_wait(&s->sync_nonempty, &s->queue_lock);
        if (!s->sync_head)
            break;
        struct work_item *list = s->sync_head;
        s->sync_head = s->sync_tail = NULL;
        bool failed = s->sync_failed;
        pthread_mutex_unlock(&s->queue_lock);

        enum err err = failed ? ERR_IO : sync_wal(s);
        if (err) {
            pthread_mutex_lock(&s->queue_lock);
            s->sync_failed = true;
            pthread_mutex_unlock(&s->queue_lock);
            for (struct work_item *w = list; w; w = w->next)
                if (!w->result)
                    w->result = err;
        }
        complete(s, list);
        pthread_mutex_lock(&s->queue_lock);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

/* Append an item; the caller holds queue_lock. False when the store is closing. */
static bool enqueue_locked(struct sqlite_store *s, struct work_item *item)
{
    if (s->stopping)
        return false;
    if (s->tail)
        s->tail->next = item;
    else
        s->head = item;
    s->tail = item;
    pthread_cond_signal(&s->queue_nonempty);
    return true;
}

static void sqlite_write_async(struct store *base, store_work_fn *work, void *ctx,
                               store_done_fn *done, void *done_arg)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct work_item *item = xcalloc(1, sizeof(*item));
    *item = (struct work_item){NULL, work, ctx, ERR_OK, false, done, done_arg};
    pthread_mutex_lock(&s->queue_lock);
    bool queued = enqueue_locked(s, item);
    pthread_mutex_unlock(&s->queue_lock);
    if (!queued) {
        free(item);
        done(done_arg, ERR_UNAVAILABLE);
    }
}

static enum err sqlite_write(struct store *base, store_work_fn *work, void *ctx)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct work_item item = {NULL, work, ctx, ERR_OK, false, NULL, NULL};
    pthread_mutex_lock(&s->queue_lock);
    if (!enqueue_locked(s, &item)) {
        pthread_mutex_unlock(&s->queue_lock);
        return ERR_UNAVAILABLE;
    }
    while (!item.done)
        pthread_cond_wait(&s->queue_done, &s->queue_lock);
    pthread_mutex_unlock(&s->queue_lock);
    return item.result;
}

/* ---- checkpoints ---- */

/*
 * With store.mmap_mb set, readers map the file and remap it whenever it
 * grows, and growth page by page made each read remap (the audit trail
 * appended on every request when it shared the file): the file then grows
 * 64 MiB at a time, through whichever connection grows it (in WAL mode, the
 * one that checkpoints).
 * Without a mapping there is nothing to gain, and a 64-MiB file for an
 * empty database filled small disks (a test run starts a server per test).
 */
static void grow_in_chunks(struct sqlite_store *s, sqlite3 *db)
{
    if (s->grow_bytes > 0)
        sqlite3_file_control(db, "main", SQLITE_FCNTL_CHUNK_SIZE, &s->grow_bytes);
}

/*
 * After each commit, on the writer thread (sqlite3_wal_hook). Past the
 * threshold: wake the checkpointer. Once it has finished a pass since, and
 * what it left (committed during its pass) is an eighth of the threshold or
 * less, copy that here, between two commits, so that the next write
 * restarts the WAL; if it left more, wake it for another pass. A finished
 * pass is used once (after a restart the next threshold wakes the
 * checkpointer, not this thread). Past four times the threshold, checkpoint
 * here whatever the checkpointer is doing.
 */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sqlite_store *s = arg;
    if (frames < s->ckpt_frames)
        return SQLITE_OK;
    pthread_mutex_lock(&s->ckpt_lock);
    bool busy = s->ckpt_wanted || s->ckpt_running;
    bool passed = !busy && s->ckpt_passes != s->ckpt_passes_at_signal;
    bool catch_up = passed && frames - s->ckpt_backfilled <= s->ckpt_frames / 8;
    if (!busy) {
        s->ckpt_passes_at_signal = s->ckpt_passes;
        if (!catch_up) {
            s->ckpt_wanted = true;
            pthread_cond_signal(&s->ckpt_cond);
        }
    }
    if (catch_up)
        s->ckpt_catch_ups++;
    pthread_mutex_unlock(&s->ckpt_lock);
    if (catch_up || frames >= 4 * s->ckpt_frames)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
    struct sqlite_store *s = arg;
    pthread_mutex_lock(&s->ckpt_lock);
    for (;;) {
        while (!s->ckpt_wanted && !s->ckpt_stopping)
            pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
        if (s->ckpt_stopping)
            break;
        s->ckpt_wanted = false;
        s->ckpt_running = true;
        pthread_mutex_unlock(&s->ckpt_lock);
        int log_frames = 0, copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(s->cdb, "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                           &copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            sqlite_sql_err(s->cdb, "checkpoint");
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_running = false;
        s->ckpt_passes++;
        s->ckpt_backfilled = rc == SQLITE_OK ? copied : 0;
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    return NULL;
}

/* The checkpointer's connection and thread (after the writer has set up WAL mode). */
static enum err start_checkpointer(struct sqlite_store *s)
{
    sqlite3_stmt *st = NULL;
    int page = 4096;
    if (sqlite3_prepare_v2(s->wdb, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    s->ckpt_frames = (int)(((int64_t)s->checkpoint_mb << 20) / (page > 0 ? page : 4096));
    if (sqlite3_open_v2(s->path, &s->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return sqlite_sql_err(s->cdb, "open checkpointer");
    sqlite3_busy_timeout(s->cdb, s->busy_timeout_ms);
    grow_in_chunks(s, s->cdb);
    /* NORMAL: a checkpoint syncs the WAL before copying and the database after */
    if (sqlite_run(s->cdb, "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;"))
        return ERR_IO;
    if (pthread_create(&s->checkpointer, NULL, checkpointer_main, s) != 0)
        return ERR_INTERNAL;
    s->ckpt_started = true;
    sqlite3_wal_hook(s->wdb, on_wal_commit, s);
    return ERR_OK;
}

static void stop_checkpointer(struct sqlite_store *s)
{
    if (s->ckpt_started) {
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_stopping = true;
        pthread_cond_signal(&s->ckpt_cond);
        pthread_mutex_unlock(&s->ckpt_lock);
        pthread_join(s->checkpointer, NULL);
        s->ckpt_started = false;
    }
    sqlite3_close(s->cdb);
    s->cdb = NULL;
}

/* ---- open / close ---- */

static void sqlite_close(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    pthread_mutex_lock(&s->queue_lock);
    s->stopping = true;
    pthread_cond_signal(&s->queue_nonempty);
    pthread_mutex_unlock(&s->queue_lock);
    pthread_join(s->writer, NULL);
    pthread_join(s->syncer, NULL);
    stop_checkpointer(s);
    for (size_t i = 0; i < s->reader_count; i++) {
        reader_close(s->all_readers[i]);
    }
    free(s->all_readers);
    sqlite3_finalize(s->w_current);
    sqlite3_finalize(s->w_insert);
    sqlite_index_finalize(s);
    sqlite_audit_finalize(s);
    sqlite_audit_close(s);
    cache_free(&s->wcache);
    sqlite3_close(s->wdb);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    pthread_mutex_destroy(&s->audit_lock);
    pthread_mutex_destroy(&s->queue_lock);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->queue_nonempty);
    pthread_cond_destroy(&s->queue_done);
    pthread_cond_destroy(&s->sync_nonempty);
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    log_info(LOG_STORE, "store closed");
    free(s->path);
    free(s->dir);
    free(s);
}

static enum err open_writer(struct sqlite_store *s)
{
    int rc = sqlite3_open_v2(
        s->path, &s->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return sqlite_sql_err(s->wdb, "open writer");
    sqlite3_busy_timeout(s->wdb, s->busy_timeout_ms);
    /*
     * synchronous=FULL while migrating (each COMMIT fsyncs the WAL), then
     * NORMAL: the syncer thread makes commits durable (see the top of this file).
     */
    enum err err = sqlite_run(s->wdb, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                                      "PRAGMA foreign_keys = ON;");
    if (!err)
        err = sqlite_run(s->wdb, s->tuning_writer);
    grow_in_chunks(s, s->wdb);
    if (!err)
        err = migrate(s->wdb);
    if (!err)
        err = sqlite_run(s->wdb, "PRAGMA synchronous = NORMAL;");
    if (err)
        return err;
    if (sqlite3_prepare_v3(s->wdb, read_sql[RS_CURRENT], -1, SQLITE_PREPARE_PERSISTENT,
                           &s->w_current, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(s->wdb,
                           "INSERT OR IGNORE INTO resource (type, id, version, last_updated, "
                           "deleted, body) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->w_insert, NULL) != SQLITE_OK)
        return sqlite_sql_err(s->wdb, "prepare writer");
    err = sqlite_index_prepare(s);
    return err ? err : sqlite_audit_prepare(s);
}

/*
 * Process-wide SQLite settings, before its first use: no memory statistics,
 * which would otherwise take one global mutex on every allocation of every
 * connection (the readers of all worker threads contended on it).
 */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

enum err store_sqlite_open(const struct config *cfg, struct store **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        log_error(LOG_STORE, "cannot create data directory errno=%d", errno);
        return ERR_IO;
    }
    struct sqlite_store *s = xcalloc(1, sizeof(*s));
    s->base.ops = &sqlite_ops;
    size_t n = strlen(cfg->data_dir) + sizeof("/yujian.db");
    s->path = xmalloc(n);
    snprintf(s->path, n, "%s/yujian.db", cfg->data_dir);
    s->dir = xstrdup(cfg->data_dir);
    s->wal_fd = -1;
    s->busy_timeout_ms = cfg->busy_timeout_ms;
    s->max_batch = cfg->max_batch;
    s->checkpoint_mb = cfg->checkpoint_mb;
    s->grow_bytes = cfg->mmap_mb > 0 ? 64 << 20 : 0;
    /*
     * The page cache keeps the index B-trees' upper levels in memory. mmap
     * is off by default: in WAL mode a read transaction that begins after
     * any commit (any write; before the audit trail had its own file, every few ms) unmaps the
     * whole mapping and faults it in again (measured: 1 ms per munmap of a 1.9 GB file; identifier
     * search 6,800 -> 9,700 req/s and bed assignment 1,300 -> 2,900 req/s without it).
     * temp_store=MEMORY keeps the per-unit savepoint journal off disk: on a file it wrote every
     * page a unit touched once more (measured: 218 KB of writes per ingested resource, 54 KB
     * after). A larger WAL before each checkpoint writes a page changed by several commits to the
     * database file once (45 -> 34 KB per resource).
     */
    snprintf(s->tuning, sizeof(s->tuning), "PRAGMA cache_size = -%d; PRAGMA mmap_size = %lld;",
             cfg->reader_cache_mb * 1024, (long long)cfg->mmap_mb << 20);
    /* store.max_mb: pages of the default 4 KiB (the schema does not change the page size) */
    char limit[64] = "";
    s->max_page_count = cfg->max_db_mb > 0 ? cfg->max_db_mb * 256 : 0;
    if (s->max_page_count > 0)
        snprintf(limit, sizeof(limit), " PRAGMA max_page_count = %d;", s->max_page_count);
    snprintf(s->tuning_writer, sizeof(s->tuning_writer),
             "PRAGMA cache_size = -%d; PRAGMA mmap_size = %lld; PRAGMA temp_store = MEMORY;%s",
             cfg->cache_mb * 1024, (long long)cfg->mmap_mb << 20, limit);
    pthread_mutex_init(&s->queue_lock, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->queue_nonempty, NULL);
    pthread_cond_init(&s->queue_done, NULL);
    pthread_cond_init(&s->sync_nonempty, NULL);
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    pthread_mutex_init(&s->audit_lock, NULL);
    enum err err = open_writer(s);
    if (!err)
        err = sqlite_audit_open(s);
    if (!err)
        err = start_checkpointer(s);
    if (!err && pthread_create(&s->syncer, NULL, syncer_main, s) != 0)
        err = ERR_INTERNAL;
    if (!err && pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        pthread_mutex_lock(&s->queue_lock);
        s->writer_stopped = true;
        pthread_cond_signal(&s->sync_nonempty);
        pthread_mutex_unlock(&s->queue_lock);
        pthread_join(s->syncer, NULL);
        err = ERR_INTERNAL;
    }
    if (err) {
        stop_checkpointer(s);
        sqlite3_finalize(s->w_current);
        sqlite3_finalize(s->w_insert);
        sqlite_index_finalize(s);
        sqlite_audit_finalize(s);
        sqlite_audit_close(s);
        cache_free(&s->wcache);
        sqlite3_close(s->wdb);
        pthread_mutex_destroy(&s->audit_lock);
        free(s->path);
        free(s->dir);
        free(s);
        return err;
    }
    log_info(LOG_STORE, "store opened backend=sqlite sqlite=%s", sqlite3_libversion());
    *out = &s->base;
    return ERR_OK;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .read = sqlite_read,
    .write = sqlite_write,
    .write_async = sqlite_write_async,
    .history = sqlite_history,
    .count = sqlite_count,
    .tx_current = sqlite_tx_current,
    .tx_put = sqlite_tx_put,
    .search = sqlite_search,
    .meta_get = sqlite_meta_get,
    .generation = sqlite_generation,
    .tx_meta_set = sqlite_tx_meta_set,
    .tx_reindex = sqlite_tx_reindex,
    .tx_search = sqlite_tx_search,
    .include = sqlite_include,
    .entries = sqlite_entries,
    .user_get = sqlite_user_get,
    .user_list = sqlite_user_list,
    .tx_user_put = sqlite_tx_user_put,
    .token_get = sqlite_token_get,
    .tx_token_put = sqlite_tx_token_put,
    .tx_token_revoke = sqlite_tx_token_revoke,
    .tx_audit_stage = sqlite_tx_audit_stage,
    .audit_append = sqlite_audit_append,
    .audit_scan = sqlite_audit_scan,
};
