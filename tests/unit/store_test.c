/*
 * store_test.c - the store contract on the SQLite back end: versions,
 * isolation of a failing unit inside a group commit, concurrent writers,
 * history order and paging, persistence across reopen, acknowledgement only
 * after the WAL sync, fail-stop on a failed sync, background checkpoints,
 * the readers' statement cache.
 */
#include "test.h"

#include "tmpstore.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/schema.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

struct put_ctx {
    const char *type; /* resource type */
    const char *id;   /* logical id */
    const char *body; /* JSON */
    bool deleted;     /* write a delete */
    bool fail_after;  /* return an error after writing */
    int64_t version;  /* out */
};

static enum err put_next(struct store_tx *tx, void *arg)
{
    struct put_ctx *p = arg;
    struct store_current cur;
    enum err err = store_tx_current(tx, p->type, p->id, &cur);
    if (err)
        return err;
    struct store_row row = {str_from(p->type),
                            str_from(p->id),
                            cur.version + 1,
                            1000 + cur.version,
                            p->deleted,
                            str_from(p->deleted ? "" : p->body),
                            0,
                            NULL,
                            0};
    err = store_tx_put(tx, &row);
    if (err)
        return err;
    p->version = row.version;
    return p->fail_after ? ERR_CONFLICT : ERR_OK;
}

static enum err put(struct store *s, const char *id, const char *body, bool deleted)
{
    struct put_ctx p = {"Patient", id, body, deleted, false, 0};
    return store_write(s, put_next, &p);
}

static void versions_count_up_and_read_back(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(put(f->store, "a", "{\"v\":1}", false), ERR_OK);
    assert_int_equal(put(f->store, "a", "{\"v\":2}", false), ERR_OK);
    struct buf b;
    buf_init(&b, 1024);
    struct store_row row;
    assert_int_equal(store_read(f->store, "Patient", "a", 0, &b, &row), ERR_OK);
    assert_int_equal(row.version, 2);
    assert_string_equal(b.ptr, "{\"v\":2}");
    buf_reset(&b);
    assert_int_equal(store_read(f->store, "Patient", "a", 1, &b, &row), ERR_OK);
    assert_string_equal(b.ptr, "{\"v\":1}");
    assert_int_equal(store_read(f->store, "Patient", "a", 3, &b, &row), ERR_NOT_FOUND);
    assert_int_equal(store_read(f->store, "Patient", "zz", 0, &b, &row), ERR_NOT_FOUND);
    assert_int_equal(store_read(f->store, "Observation", "a", 0, &b, &row), ERR_NOT_FOUND);
    assert_int_equal(put(f->store, "a", NULL, true), ERR_OK);
    assert_int_equal(store_read(f->store, "Patient", "a", 0, &b, &row), ERR_OK);
    assert_true(row.deleted);
    assert_int_equal(row.version, 3);
    buf_release(&b);
}

static void failed_unit_leaves_no_trace(void **state)
{
    struct tmpstore *f = *state;
    struct put_ctx p = {"Patient", "b", "{}", false, true, 0};
    assert_int_equal(store_write(f->store, put_next, &p), ERR_CONFLICT);
    struct buf b;
    buf_init(&b, 1024);
    struct store_row row;
    assert_int_equal(store_read(f->store, "Patient", "b", 0, &b, &row), ERR_NOT_FOUND);
    int64_t n = -1;
    assert_int_equal(store_count_versions(f->store, "Patient", "b", &n), ERR_OK);
    assert_int_equal(n, 0);
    buf_release(&b);
}

static void generation_changes_after_a_committed_write_of_the_type(void **state)
{
    struct tmpstore *f = *state;
    uint64_t g0 = store_generation(f->store, "Patient");
    assert_int_equal(store_generation(f->store, "Patient"), g0); /* nothing written: no change */
    assert_int_equal(put(f->store, "gen-1", "{}", false), ERR_OK);
    uint64_t g1 = store_generation(f->store, "Patient");
    assert_true(g1 > g0);
    struct buf b;
    buf_init(&b, 1024);
    struct store_row row;
    assert_int_equal(store_read(f->store, "Patient", "gen-1", 0, &b, &row), ERR_OK);
    buf_release(&b);
    assert_int_equal(store_generation(f->store, "Patient"), g1); /* a read changes nothing */
    struct put_ctx other = {"Organization", "o", "{}", false, false, 0};
    assert_int_equal(store_write(f->store, put_next, &other), ERR_OK);
    assert_true(store_generation(f->store, "Organization") > 0);
}

static enum err put_version_one(struct store_tx *tx, void *arg)
{
    (void)arg;
    struct store_row row = {
        str_from("Patient"), str_from("c"), 1, 1, false, str_from("{}"), 0, NULL, 0};
    return store_tx_put(tx, &row);
}

static void duplicate_version_is_a_conflict(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(store_write(f->store, put_version_one, NULL), ERR_OK);
    assert_int_equal(store_write(f->store, put_version_one, NULL), ERR_CONFLICT);
    int64_t n = 0;
    assert_int_equal(store_count_versions(f->store, "Patient", "c", &n), ERR_OK);
    assert_int_equal(n, 1);
}

struct racer {
    struct store *store; /* shared */
    int thread;          /* index */
    int ok;              /* acknowledged writes */
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof(id), "t%d-%d", r->thread, i);
        if (put(r->store, id, "{}", false) == ERR_OK)
            r->ok++;
        if (put(r->store, "shared", "{}", false) == ERR_OK)
            r->ok++;
    }
    return NULL;
}

static void concurrent_writers_never_lose_or_duplicate_versions(void **state)
{
    struct tmpstore *f = *state;
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    struct racer r[THREADS];
    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct racer){f->store, i, 0};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].ok;
    }
    assert_int_equal(ok, THREADS * 100);
    int64_t n = 0;
    assert_int_equal(store_count_versions(f->store, "Patient", "shared", &n), ERR_OK);
    assert_int_equal(n, THREADS * 50);
    struct buf b;
    buf_init(&b, 1024);
    struct store_row row;
    assert_int_equal(store_read(f->store, "Patient", "shared", 0, &b, &row), ERR_OK);
    assert_int_equal(row.version, THREADS * 50);
    buf_release(&b);
}

struct collected {
    int count;        /* rows seen */
    int64_t seqs[16]; /* their seq */
    char ids[16][16]; /* their ids */
};

static bool collect(const struct store_row *row, void *arg)
{
    struct collected *c = arg;
    c->seqs[c->count] = row->seq;
    snprintf(c->ids[c->count], sizeof(c->ids[0]), "%.*s", STR_FMT(row->id));
    c->count++;
    return true;
}

static void history_is_newest_first_and_pages_by_cursor(void **state)
{
    struct tmpstore *f = *state;
    put(f->store, "h1", "{}", false);
    put(f->store, "h2", "{}", false);
    put(f->store, "h1", "{}", false);
    struct collected c = {0};
    struct store_history_query q = {"Patient", NULL, INT64_MIN, INT64_MAX, 2, 0};
    assert_int_equal(store_history(f->store, &q, collect, &c), ERR_OK);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.ids[0], "h1");
    assert_string_equal(c.ids[1], "h2");
    struct collected next = {0};
    q.before_seq = c.seqs[1];
    assert_int_equal(store_history(f->store, &q, collect, &next), ERR_OK);
    assert_int_equal(next.count, 1);
    assert_string_equal(next.ids[0], "h1");
    struct collected inst = {0};
    struct store_history_query qi = {"Patient", "h1", INT64_MIN, INT64_MAX, 10, 0};
    assert_int_equal(store_history(f->store, &qi, collect, &inst), ERR_OK);
    assert_int_equal(inst.count, 2);
    /* what changed since a row: only the rows after it */
    struct collected since = {0};
    struct store_history_query qs = {"Patient", NULL, INT64_MIN, INT64_MAX, 10, c.seqs[1]};
    assert_int_equal(store_history(f->store, &qs, collect, &since), ERR_OK);
    assert_int_equal(since.count, 1);
    assert_string_equal(since.ids[0], "h1");
    assert_true(since.seqs[0] > c.seqs[1]);
}

static void data_survives_reopen(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(put(f->store, "keep", "{\"k\":1}", false), ERR_OK);
    store_close(f->store);
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    struct buf b;
    buf_init(&b, 1024);
    struct store_row row;
    assert_int_equal(store_read(f->store, "Patient", "keep", 0, &b, &row), ERR_OK);
    assert_string_equal(b.ptr, "{\"k\":1}");
    buf_release(&b);
}

struct async_result {
    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t cond;  /* signalled by the callback */
    int calls;            /* callbacks seen */
    enum err result;      /* the last result */
};

static void async_done(void *arg, enum err result)
{
    struct async_result *r = arg;
    pthread_mutex_lock(&r->lock);
    r->calls++;
    r->result = result;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static enum err async_wait(struct async_result *r, int calls)
{
    pthread_mutex_lock(&r->lock);
    while (r->calls < calls)
        pthread_cond_wait(&r->cond, &r->lock);
    enum err e = r->result;
    pthread_mutex_unlock(&r->lock);
    return e;
}

/* Close and reopen the store; Patient/present is there, Patient/absent is not. */
static void reopen_and_expect(struct tmpstore *f, const char *present, const char *absent)
{
    store_close(f->store);
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    struct buf b;
    buf_init(&b, 1024);
    struct store_row row;
    assert_int_equal(store_read(f->store, "Patient", present, 0, &b, &row), ERR_OK);
    assert_int_equal(store_read(f->store, "Patient", absent, 0, &b, &row), ERR_NOT_FOUND);
    buf_release(&b);
}

static void async_write_reports_once_and_is_durable(void **state)
{
    struct tmpstore *f = *state;
    struct async_result r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ERR_INTERNAL};
    struct put_ctx ok = {"Patient", "async", "{\"a\":1}", false, false, 0};
    store_write_async(f->store, put_next, &ok, async_done, &r);
    assert_int_equal(async_wait(&r, 1), ERR_OK);
    struct put_ctx bad = {"Patient", "async-bad", "{}", false, true, 0};
    store_write_async(f->store, put_next, &bad, async_done, &r);
    assert_int_equal(async_wait(&r, 2), ERR_CONFLICT);
    assert_int_equal(r.calls, 2);
    /* the successful one survives a reopen; the failed one left nothing */
    reopen_and_expect(f, "async", "async-bad");
}

/* A unit that holds the writer until released: what is queued meanwhile is one batch. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, open;
};

static enum err wait_at_gate(struct store_tx *tx, void *arg)
{
    (void)tx;
    struct gate *g = arg;
    pthread_mutex_lock(&g->lock);
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
    return ERR_OK;
}

/*
 * Run units as one batch: queued while the writer waits in another unit,
 * then let go; their results in res.
 */
static void run_as_one_batch(struct tmpstore *f, struct put_ctx *units, int n,
                             struct async_result *res)
{
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
    struct async_result r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ERR_INTERNAL};
    store_write_async(f->store, wait_at_gate, &g, async_done, &r);
    pthread_mutex_lock(&g.lock);
    while (!g.entered)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    for (int i = 0; i < n; i++) {
        res[i] = (struct async_result){PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
                                       ERR_INTERNAL};
        store_write_async(f->store, put_next, &units[i], async_done, &res[i]);
    }
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    assert_int_equal(async_wait(&r, 1), ERR_OK);
    for (int i = 0; i < n; i++)
        async_wait(&res[i], 1);
}

static void a_failing_unit_in_a_batch_fails_alone(void **state)
{
    struct tmpstore *f = *state;
    struct sqlite_store *ss = (struct sqlite_store *)f->store;
    /* one batch of three, the middle one failing after it wrote */
    struct put_ctx units[3] = {{"Patient", "batch-1", "{}", false, false, 0},
                               {"Patient", "batch-2", "{}", false, true, 0},
                               {"Patient", "batch-3", "{}", false, false, 0}};
    struct async_result res[3];
    int64_t before = ss->optimistic_rollbacks;
    run_as_one_batch(f, units, 3, res);
    assert_int_equal(res[0].result, ERR_OK);
    assert_int_equal(res[1].result, ERR_CONFLICT);
    assert_int_equal(res[2].result, ERR_OK);
    assert_int_equal(ss->optimistic_rollbacks, before + 1); /* run again with savepoints */
    assert_int_equal(units[0].version, 1);
    assert_int_equal(units[2].version, 1);
    reopen_and_expect(f, "batch-1", "batch-2");
    reopen_and_expect(f, "batch-3", "batch-2");
}

/*
 * A full store (store.max_mb, or the disk itself) refuses the write that
 * does not fit with ERR_STORAGE_FULL (507) and changes nothing: what was
 * there is still there, and the store takes writes again once it has room.
 */
enum { FILL_BYTES = 64 * 1024 };

/* Reopen f with store.max_mb 1 and write FILL_BYTES bodies w0, w1... until full; how many fit. */
static int fill_to_the_limit(struct tmpstore *f, const char *body)
{
    store_close(f->store);
    f->cfg.max_db_mb = 1;
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    char id[16];
    enum err err = ERR_OK;
    int written = 0;
    while (written < 64 && err == ERR_OK) {
        snprintf(id, sizeof(id), "w%d", written);
        err = put(f->store, id, body, false);
        if (err == ERR_OK)
            written++;
    }
    assert_int_equal(err, ERR_STORAGE_FULL);
    assert_true(written > 0);
    return written;
}

static char *fill_body(void)
{
    char *body = malloc(FILL_BYTES + 16);
    snprintf(body, FILL_BYTES + 16, "{\"k\":\"%0*d\"}", FILL_BYTES, 7);
    return body;
}

static void a_full_store_refuses_a_write_and_keeps_what_it_had(void **state)
{
    struct tmpstore *f = *state;
    char *body = fill_body();
    int written = fill_to_the_limit(f, body);
    struct buf b;
    buf_init(&b, 2 * FILL_BYTES);
    struct store_row row;
    char id[16];
    for (int i = 0; i < written; i++) {
        snprintf(id, sizeof(id), "w%d", i);
        buf_reset(&b);
        assert_int_equal(store_read(f->store, "Patient", id, 0, &b, &row), ERR_OK);
        assert_string_equal(b.ptr, body);
    }
    snprintf(id, sizeof(id), "w%d", written);
    assert_int_equal(store_read(f->store, "Patient", id, 0, &b, &row), ERR_NOT_FOUND);
    store_close(f->store);
    f->cfg.max_db_mb = 0;
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    assert_int_equal(put(f->store, id, body, false), ERR_OK);
    buf_reset(&b);
    assert_int_equal(store_read(f->store, "Patient", id, 0, &b, &row), ERR_OK);
    assert_string_equal(b.ptr, body);
    buf_release(&b);
    free(body);
}

/*
 * On a full disk SQLite may roll the whole transaction back, not only the
 * statement: units of the same batch that had succeeded before it are
 * gone too, so none of them may be acknowledged (and the units after it
 * must not be committed in a transaction of their own, with the earlier
 * ones reported done). Whatever a unit is told must be what the store holds.
 */
static void a_full_store_acknowledges_only_what_it_kept(void **state)
{
    struct tmpstore *f = *state;
    char *body = fill_body();
    fill_to_the_limit(f, body);
    char *huge = malloc(16 * FILL_BYTES + 16);
    snprintf(huge, 16 * FILL_BYTES + 16, "{\"k\":\"%0*d\"}", 16 * FILL_BYTES, 7);
    struct put_ctx units[3] = {{"Patient", "small-1", "{}", false, false, 0},
                               {"Patient", "huge", huge, false, false, 0},
                               {"Patient", "small-2", "{}", false, false, 0}};
    struct async_result res[3];
    run_as_one_batch(f, units, 3, res);
    assert_int_equal(res[1].result, ERR_STORAGE_FULL);
    store_close(f->store);
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    struct buf b;
    buf_init(&b, 1024);
    struct store_row row;
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_read(f->store, "Patient", units[i].id, 0, &b, &row),
                         res[i].result == ERR_OK ? ERR_OK : ERR_NOT_FOUND);
    buf_release(&b);
    free(huge);
    free(body);
}

static bool keep_entry(int64_t key, const struct store_index_entry *e, void *arg)
{
    (void)key;
    struct store_index_entry *out = arg;
    if (e->kind == STORE_IDX_TOKEN)
        *out = (struct store_index_entry){e->kind,
                                          strdup(e->param),
                                          e->text1 ? strdup(e->text1) : NULL,
                                          e->text2 ? strdup(e->text2) : NULL,
                                          0,
                                          0,
                                          0};
    return true;
}

/* A schema-2 database (NULL for an absent token system) keeps its entries through migration 3. */
static void schema_2_index_migrates(void **state)
{
    struct tmpstore *f = *state;
    store_close(f->store);
    char path[128];
    snprintf(path, sizeof(path), "%s/yujian.db", f->dir);
    unlink(path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, store_migrations[0], NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, store_migrations[1], NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "PRAGMA user_version = 2;"
                     "INSERT INTO resource VALUES (1, 'Patient', 'p', 1, 0, 0, '{}');"
                     "INSERT INTO res_current VALUES (7, 'Patient', 'p', 1, 0, 0, 1);"
                     "INSERT INTO sp_token VALUES (7, 'Patient.gender', NULL, 'male');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    /* read back as absent, and found by "|male" (no system) */
    struct store_index_entry e = {0};
    assert_int_equal(store_entries(f->store, 0, 7, keep_entry, &e), ERR_OK);
    assert_string_equal(e.param, "Patient.gender");
    assert_null(e.text1);
    assert_string_equal(e.text2, "male");
    free((char *)e.param);
    free((char *)e.text2);
    struct store_predicate p = {.kind = STORE_IDX_TOKEN,
                                .param = "Patient.gender",
                                .op = STORE_OP_EQ,
                                .text2 = "male",
                                .text3 = ""};
    struct store_clause cl = {&p, 1};
    struct store_query q = {.type = "Patient", .clauses = &cl, .count = 1, .want_total = true};
    int64_t total = -1;
    assert_int_equal(store_search(f->store, &q, NULL, NULL, &total), ERR_OK);
    assert_int_equal(total, 1);
}

/* A query nested deeper than SQLite parses is refused as too costly (413), not a storage fault. */
static void too_deep_a_query_is_too_costly(void **state)
{
    struct tmpstore *f = *state;
    enum { LEVELS = 14 };
    struct store_predicate preds[LEVELS];
    struct store_clause clauses[LEVELS];
    struct store_query queries[LEVELS];
    for (int i = LEVELS - 1; i >= 0; i--) {
        preds[i] = (struct store_predicate){.kind = STORE_IDX_REFERENCE,
                                            .param = "Organization.partof",
                                            .op = STORE_OP_EQ,
                                            .text1 = "Organization/x"};
        if (i + 1 < LEVELS) {
            preds[i].text1 = NULL;
            preds[i].sub = &queries[i + 1];
        }
        clauses[i] = (struct store_clause){&preds[i], 1};
        queries[i] = (struct store_query){
            .type = "Organization", .clauses = &clauses[i], .count = 1, .limit = 10};
    }
    int64_t total = -1;
    assert_int_equal(store_search(f->store, &queries[0], NULL, NULL, &total), ERR_TOO_LARGE);
}

/* ---- durability: the syncer and the checkpointer ---- */

static atomic_int syncs;       /* WAL syncs seen by the stand-in */
static atomic_bool fail_syncs; /* make the stand-in fail */

static int counting_fdatasync(int fd)
{
    if (atomic_load(&fail_syncs)) {
        errno = EIO;
        return -1;
    }
    int rc = fdatasync(fd);
    atomic_fetch_add(&syncs, 1);
    return rc;
}

/* A write is answered only after the WAL holding it was synced (the syncer thread). */
static void acknowledged_only_after_the_wal_is_synced(void **state)
{
    struct tmpstore *f = *state;
    sqlite_fdatasync = counting_fdatasync;
    for (int i = 0; i < 5; i++) {
        int before = atomic_load(&syncs);
        char id[16];
        snprintf(id, sizeof(id), "s%d", i);
        assert_int_equal(put(f->store, id, "{\"s\":1}", false), ERR_OK);
        assert_true(atomic_load(&syncs) > before);
    }
    struct async_result r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ERR_INTERNAL};
    struct put_ctx ok = {"Patient", "s-async", "{\"a\":1}", false, false, 0};
    int before = atomic_load(&syncs);
    store_write_async(f->store, put_next, &ok, async_done, &r);
    assert_int_equal(async_wait(&r, 1), ERR_OK);
    assert_true(atomic_load(&syncs) > before);
    sqlite_fdatasync = fdatasync;
}

/* A failed sync fails its write and every write after it, until the store is reopened. */
static void a_failed_sync_stops_all_writes(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(put(f->store, "before", "{}", false), ERR_OK);
    sqlite_fdatasync = counting_fdatasync;
    atomic_store(&fail_syncs, true);
    assert_int_equal(put(f->store, "during", "{}", false), ERR_IO);
    atomic_store(&fail_syncs, false);
    assert_int_equal(put(f->store, "after", "{}", false), ERR_IO);
    sqlite_fdatasync = fdatasync;
    reopen_and_expect(f, "before", "after");
    assert_int_equal(put(f->store, "reopened", "{}", false), ERR_OK);
}

/* The database's size in pages as of the last checkpoint (its header, offset 28, big-endian). */
static long db_header_pages(const char *dir)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/yujian.db", dir);
    unsigned char h[4] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp || fseek(fp, 28, SEEK_SET) != 0 || fread(h, 1, 4, fp) != 4) {
        if (fp)
            fclose(fp);
        return -1;
    }
    fclose(fp);
    return (long)h[0] << 24 | (long)h[1] << 16 | (long)h[2] << 8 | (long)h[3];
}

static long wal_bytes(const char *dir)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/yujian.db-wal", dir);
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Write n resources of 16 KiB each, one commit each, ids from first. */
static void put_big(struct store *s, int first, int n)
{
    static char body[16 * 1024 + 16];
    memset(body, 'x', sizeof(body) - 1);
    memcpy(body, "{\"x\":\"", 6);
    memcpy(body + sizeof(body) - 3, "\"}", 3);
    for (int i = first; i < first + n; i++) {
        char id[16];
        snprintf(id, sizeof(id), "big%d", i);
        assert_int_equal(put(s, id, body, false), ERR_OK);
    }
}

/*
 * With a 1 MiB threshold: a background checkpoint copies the WAL into the
 * database while the writer is idle below its own bound (4 MiB), and 8 MiB
 * written in 512 commits leave a WAL under 3 MiB: after each background
 * pass the writer copies the rest and the WAL restarts from its beginning
 * (measured 1.2 MiB; 4.3 MiB when the writer waited for its own bound).
 */
static void wal_is_checkpointed_and_stays_bounded(void **state)
{
    struct tmpstore *f = *state;
    struct buf err;
    buf_init(&err, 256);
    assert_int_equal(config_set(&f->cfg, "store.checkpoint_mb", "1", &err), ERR_OK);
    buf_release(&err);
    store_close(f->store);
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    long pages = db_header_pages(f->dir);
    assert_true(pages > 0);
    put_big(f->store, 0, 128); /* 2 MiB and more: past the threshold, below the writer's bound */
    long now = pages;
    for (int i = 0; i < 200 && now <= pages; i++) {
        usleep(50 * 1000);
        now = db_header_pages(f->dir);
    }
    assert_true(now > pages);
    put_big(f->store, 128, 384); /* 8 MiB in all */
    long wal = wal_bytes(f->dir);
    assert_true(wal > 0);
    assert_true(wal < 3L << 20);
    /* the writer's own small checkpoints each followed a background pass, never stood in for one */
    struct sqlite_store *ss = (struct sqlite_store *)f->store;
    pthread_mutex_lock(&ss->ckpt_lock);
    long catch_ups = ss->ckpt_catch_ups, passes = ss->ckpt_passes;
    pthread_mutex_unlock(&ss->ckpt_lock);
    assert_true(catch_ups >= 1);
    assert_true(catch_ups <= passes);
    struct buf b;
    buf_init(&b, 64 * 1024);
    struct store_row row;
    assert_int_equal(store_read(f->store, "Patient", "big0", 0, &b, &row), ERR_OK);
    assert_int_equal(store_read(f->store, "Patient", "big511", 0, &b, &row), ERR_OK);
    buf_release(&b);
}

/* ---- the readers' statement cache ---- */

static enum err cache_contract(sqlite3 *db, void *arg)
{
    (void)arg;
    const char *sql = "SELECT count(*) FROM resource WHERE type = ?1";
    sqlite3_stmt *a = NULL, *b = NULL, *again = NULL;
    assert_int_equal(sqlite_stmt_get(db, sql, &a), SQLITE_OK);
    /* the same SQL while the first is in use: another statement */
    assert_int_equal(sqlite_stmt_get(db, sql, &b), SQLITE_OK);
    assert_ptr_not_equal(a, b);
    sqlite3_bind_text(a, 1, "Patient", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 1);
    sqlite_stmt_release(db, a);
    sqlite_stmt_release(db, b);
    /* given back: the next get reuses one, reset and without the old binding */
    assert_int_equal(sqlite_stmt_get(db, sql, &again), SQLITE_OK);
    assert_true(again == a || again == b);
    assert_int_equal(sqlite3_bind_parameter_count(again), 1);
    assert_int_equal(sqlite3_step(again), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(again, 0), 0); /* NULL type matches nothing */
    sqlite_stmt_release(db, again);
    /* more shapes than the cache holds: older ones are evicted, every one still runs */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < STMT_CACHE_SIZE + 8; i++) {
            char q[96];
            snprintf(q, sizeof(q), "SELECT %d + count(*) FROM resource", i);
            sqlite3_stmt *st = NULL;
            assert_int_equal(sqlite_stmt_get(db, q, &st), SQLITE_OK);
            assert_int_equal(sqlite3_step(st), SQLITE_ROW);
            assert_int_equal(sqlite3_column_int(st, 0), i + 1);
            sqlite_stmt_release(db, st);
        }
    }
    return ERR_OK;
}

/* Search statements are prepared once per reader and shape, never shared while in use. */
static void readers_cache_statements_safely(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(put(f->store, "cached", "{}", false), ERR_OK);
    assert_int_equal(sqlite_read_snapshot((struct sqlite_store *)f->store, cache_contract, NULL),
                     ERR_OK);
    /* again, the reader's cache now warm (evicted and kept statements alike) */
    assert_int_equal(sqlite_read_snapshot((struct sqlite_store *)f->store, cache_contract, NULL),
                     ERR_OK);
}

/* The writer's connection caches its search statements (reach checks search inside units). */
static enum err writer_cache_unit(struct store_tx *tx, void *arg)
{
    (void)arg;
    return cache_contract(((struct sqlite_tx *)tx)->store->wdb, NULL);
}

static void the_writer_caches_statements_safely(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(put(f->store, "cached", "{}", false), ERR_OK);
    assert_int_equal(store_write(f->store, writer_cache_unit, NULL), ERR_OK);
    assert_int_equal(store_write(f->store, writer_cache_unit, NULL), ERR_OK);
}

/* ---- index entries across versions ---- */

struct versioned {
    const struct store_index_entry *entries; /* the version's entries */
    size_t count;                            /* how many */
};

static enum err put_indexed(struct store_tx *tx, void *arg)
{
    struct versioned *v = arg;
    struct store_current cur;
    enum err err = store_tx_current(tx, "Patient", "ix", &cur);
    if (err)
        return err;
    struct store_row row = {
        str_from("Patient"), str_from("ix"), cur.version + 1, 1000, false, str_from("{}"), 0,
        v->entries,          v->count};
    return store_tx_put(tx, &row);
}

static void entry_text(const struct store_index_entry *e, char *out, size_t size)
{
    snprintf(out, size, "%d|%s|%s|%s|%g|%lld|%lld", e->kind, e->param, e->text1 ? e->text1 : "",
             e->text2 ? e->text2 : "", e->number, (long long)e->low, (long long)e->high);
}

struct entry_list {
    char text[400][96]; /* each entry as entry_text */
    size_t n;           /* how many */
};

static bool list_entry(int64_t key, const struct store_index_entry *e, void *arg)
{
    (void)key;
    struct entry_list *l = arg;
    if (l->n < 400)
        entry_text(e, l->text[l->n++], sizeof(l->text[0]));
    return true;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Write v as the next version, then the index holds exactly v's entries (duplicates once). */
static void put_and_expect(struct store *s, const struct store_index_entry *entries, size_t count)
{
    struct versioned v = {entries, count};
    assert_int_equal(store_write(s, put_indexed, &v), ERR_OK);
    static struct entry_list want, have;
    memset(&want, 0, sizeof(want));
    memset(&have, 0, sizeof(have));
    for (size_t i = 0; i < count; i++)
        entry_text(&entries[i], want.text[want.n++], sizeof(want.text[0]));
    qsort(want.text, want.n, sizeof(want.text[0]), by_text);
    size_t unique = 0;
    for (size_t i = 0; i < want.n; i++)
        if (!unique || strcmp(want.text[i], want.text[unique - 1]))
            memmove(want.text[unique++], want.text[i], sizeof(want.text[0]));
    assert_int_equal(store_entries(s, 0, INT64_MAX, list_entry, &have), ERR_OK);
    qsort(have.text, have.n, sizeof(have.text[0]), by_text);
    assert_int_equal(have.n, unique);
    for (size_t i = 0; i < unique; i++)
        assert_string_equal(have.text[i], want.text[i]);
}

/*
 * A later version keeps the entries it shares with the one before and
 * replaces the others, of every kind; none left over, none twice, and the
 * same with more entries than are compared one by one.
 */
static void a_new_version_leaves_exactly_its_entries(void **state)
{
    struct tmpstore *f = *state;
    const struct store_index_entry v1[] = {
        {STORE_IDX_TOKEN, "Patient.gender", NULL, "male", 0, 0, 0},
        {STORE_IDX_TOKEN, "Patient.identifier", "urn:id", "1", 0, 0, 0},
        {STORE_IDX_STRING, "Patient.name", "li", "Li", 0, 0, 0},
        {STORE_IDX_REFERENCE, "Patient.organization", "Organization/a", NULL, 0, 0, 0},
        {STORE_IDX_DATE, "Patient.birthdate", NULL, NULL, 0, 100, 199},
        {STORE_IDX_NUMBER, "Patient.n", NULL, NULL, 1.5, 0, 0},
        {STORE_IDX_QUANTITY, "Patient.q", "http://unitsofmeasure.org", "mg", 2.5, 0, 0},
        {STORE_IDX_URI, "Patient.u", "http://a", NULL, 0, 0, 0},
    };
    put_and_expect(f->store, v1, sizeof(v1) / sizeof(v1[0]));
    const struct store_index_entry v2[] = {
        {STORE_IDX_TOKEN, "Patient.gender", NULL, "female", 0, 0, 0},    /* changed */
        {STORE_IDX_TOKEN, "Patient.identifier", "urn:id", "1", 0, 0, 0}, /* kept */
        {STORE_IDX_TOKEN, "Patient.identifier", "urn:id", "1", 0, 0, 0}, /* twice */
        {STORE_IDX_STRING, "Patient.name", "li", "Li", 0, 0, 0},
        {STORE_IDX_STRING, "Patient.name", "wang", "Wang", 0, 0, 0}, /* added */
        {STORE_IDX_REFERENCE, "Patient.organization", "Organization/b", NULL, 0, 0, 0},
        {STORE_IDX_DATE, "Patient.birthdate", NULL, NULL, 0, 100, 200},
        {STORE_IDX_NUMBER, "Patient.n", NULL, NULL, 1.5, 0, 0},
        {STORE_IDX_QUANTITY, "Patient.q", "http://unitsofmeasure.org", "mg", 3.5, 0, 0},
        {STORE_IDX_QUANTITY, "Patient.q", NULL, "mg", 3.5, 0, 0},
    };
    put_and_expect(f->store, v2, sizeof(v2) / sizeof(v2[0]));
    put_and_expect(f->store, NULL, 0); /* none left */
    put_and_expect(f->store, v1, sizeof(v1) / sizeof(v1[0]));
    /* more than are compared one by one: all replaced, then compared again */
    enum { MANY = 300 };
    static struct store_index_entry many[MANY];
    static char codes[MANY][8];
    for (int i = 0; i < MANY; i++) {
        snprintf(codes[i], sizeof(codes[i]), "c%d", i);
        many[i] =
            (struct store_index_entry){STORE_IDX_TOKEN, "Patient.tag", "urn:t", codes[i], 0, 0, 0};
    }
    put_and_expect(f->store, many, MANY);
    put_and_expect(f->store, many + 100, 120);
    put_and_expect(f->store, v2, sizeof(v2) / sizeof(v2[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(versions_count_up_and_read_back, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(generation_changes_after_a_committed_write_of_the_type,
                                        tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(a_failing_unit_in_a_batch_fails_alone, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(failed_unit_leaves_no_trace, tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(duplicate_version_is_a_conflict, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(concurrent_writers_never_lose_or_duplicate_versions,
                                        tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(history_is_newest_first_and_pages_by_cursor, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(data_survives_reopen, tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(a_full_store_refuses_a_write_and_keeps_what_it_had,
                                        tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(a_full_store_acknowledges_only_what_it_kept, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(too_deep_a_query_is_too_costly, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(schema_2_index_migrates, tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(async_write_reports_once_and_is_durable, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(acknowledged_only_after_the_wal_is_synced, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(a_failed_sync_stops_all_writes, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(wal_is_checkpointed_and_stays_bounded, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(readers_cache_statements_safely, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(the_writer_caches_statements_safely, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(a_new_version_leaves_exactly_its_entries, tmpstore_open,
                                        tmpstore_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
