/*
 * reindex.c - type by type, page by page in key order: read up to
 * REINDEX_BATCH current resources, compute their entries on this thread,
 * and replace them in one unit that also records the position reached.
 * The first unit of a run marks it pending; the last records the index
 * version and clears the mark.
 */
#include "fhir/reindex.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/model.h"
#include "fhir/search_index.h"

#define REINDEX_BATCH 500

struct item {
    char *id;             /* logical id, owned */
    struct fhir_index ix; /* its entries */
};

struct batch {
    size_t type_index;                /* position in fhir_resource_types */
    const char *type;                 /* resource type */
    struct item items[REINDEX_BATCH]; /* the page */
    size_t count;                     /* used */
    int64_t last_key;                 /* paging cursor */
};

struct run {
    struct store *s;                        /* the store */
    struct batch *b;                        /* the current page */
    struct fhir_reindex_progress *progress; /* updated after each batch */
    pthread_mutex_t *lock;                  /* guards progress, or NULL */
    atomic_bool *stop;                      /* set to stop between batches, or NULL */
    fhir_reindex_progress_fn *fn;           /* called after each batch, or NULL */
    void *arg;                              /* its argument */
};

static bool collect(const struct store_hit *hit, void *arg)
{
    struct batch *b = arg;
    struct item *it = &b->items[b->count++];
    it->id = xstrndup(hit->id.ptr, hit->id.len);
    char *text = xstrndup(hit->body.ptr, hit->body.len);
    json_object *obj = json_tokener_parse(text);
    free(text);
    fhir_index_compute(&it->ix, obj);
    json_object_put(obj);
    b->last_key = hit->key;
    return true;
}

/* One batch, and the position after it, in one unit. */
static enum err apply(struct store_tx *tx, void *arg)
{
    struct batch *b = arg;
    for (size_t i = 0; i < b->count; i++) {
        enum err err = store_tx_reindex(tx, b->type, b->items[i].id, b->items[i].ix.entries,
                                        b->items[i].ix.count);
        if (err && err != ERR_NOT_FOUND) /* deleted meanwhile: nothing to index */
            return err;
    }
    enum err err = store_tx_meta_set(tx, FHIR_REINDEX_PENDING, 1);
    if (!err)
        err = store_tx_meta_set(tx, FHIR_REINDEX_TYPE, (int64_t)b->type_index);
    if (!err)
        err = store_tx_meta_set(tx, FHIR_REINDEX_KEY, b->last_key);
    return err;
}

static enum err finish(struct store_tx *tx, void *arg)
{
    (void)arg;
    enum err err = store_tx_meta_set(tx, FHIR_INDEX_VERSION_META, FHIR_SEARCH_INDEX_VERSION);
    if (!err)
        err = store_tx_meta_set(tx, FHIR_REINDEX_PENDING, 0);
    return err;
}

static void report(struct run *r, int64_t more)
{
    if (r->lock)
        pthread_mutex_lock(r->lock);
    r->progress->done += more;
    struct fhir_reindex_progress copy = *r->progress;
    if (r->lock)
        pthread_mutex_unlock(r->lock);
    if (r->fn)
        r->fn(&copy, r->arg);
}

static enum err reindex_type(struct run *r, int64_t from_key)
{
    struct batch *b = r->b;
    b->last_key = from_key;
    for (;;) {
        if (r->stop && atomic_load(r->stop))
            return ERR_UNAVAILABLE;
        b->count = 0;
        struct store_query q;
        memset(&q, 0, sizeof(q));
        q.type = b->type;
        q.after_key = b->last_key;
        q.limit = REINDEX_BATCH;
        enum err err = store_search(r->s, &q, collect, b, NULL);
        if (!err && b->count)
            err = store_write(r->s, apply, b);
        for (size_t i = 0; i < b->count; i++) {
            free(b->items[i].id);
            fhir_index_release(&b->items[i].ix);
        }
        if (err)
            return err;
        report(r, (int64_t)b->count);
        if (b->count < REINDEX_BATCH)
            return ERR_OK;
    }
}

/* Current resources of every type (for the progress total). */
static int64_t count_all(struct store *s)
{
    int64_t total = 0;
    for (size_t t = 0; t < fhir_resource_type_count; t++) {
        struct store_query q;
        memset(&q, 0, sizeof(q));
        q.type = fhir_types[fhir_resource_types[t]].name;
        q.want_total = true;
        int64_t n = 0;
        if (store_search(s, &q, NULL, NULL, &n) == ERR_OK)
            total += n;
    }
    return total;
}

static enum err run_all(struct run *r)
{
    int64_t pending = 0, type_index = 0, key = 0;
    store_meta_get(r->s, FHIR_REINDEX_PENDING, &pending);
    if (pending) {
        store_meta_get(r->s, FHIR_REINDEX_TYPE, &type_index);
        store_meta_get(r->s, FHIR_REINDEX_KEY, &key);
        r->progress->resumed = true;
    }
    r->progress->total = count_all(r->s);
    log_info(LOG_FHIR, "reindex %s resources=%lld", pending ? "resumed" : "started",
             (long long)r->progress->total);
    enum err err = ERR_OK;
    for (size_t t = (size_t)type_index; !err && t < fhir_resource_type_count; t++) {
        r->b->type_index = t;
        r->b->type = fhir_types[fhir_resource_types[t]].name;
        err = reindex_type(r, t == (size_t)type_index ? key : 0);
    }
    if (!err)
        err = store_write(r->s, finish, NULL);
    return err;
}

enum err fhir_reindex_all(struct store *s, size_t *out_count, fhir_reindex_progress_fn *fn,
                          void *arg)
{
    struct fhir_reindex_progress progress = {FHIR_REINDEX_RUNNING, 0, 0, time_now_ms(), 0, false};
    struct run r = {s, xcalloc(1, sizeof(struct batch)), &progress, NULL, NULL, fn, arg};
    enum err err = run_all(&r);
    free(r.b);
    if (out_count)
        *out_count = (size_t)progress.done;
    return err;
}

bool fhir_reindex_needed(struct store *s)
{
    int64_t version = 0, pending = 0;
    return store_meta_get(s, FHIR_INDEX_VERSION_META, &version) != ERR_OK ||
           version != FHIR_SEARCH_INDEX_VERSION ||
           (store_meta_get(s, FHIR_REINDEX_PENDING, &pending) == ERR_OK && pending);
}

/* ---- in the background ---- */

struct fhir_reindexer {
    struct store *s;                       /* the store */
    pthread_t thread;                      /* the worker, while joinable */
    bool joinable;                         /* thread was started and not joined */
    pthread_mutex_t lock;                  /* guards progress and joinable */
    struct fhir_reindex_progress progress; /* of the current or last run */
    atomic_bool stop;                      /* shutdown asked */
};

static void *reindex_main(void *arg)
{
    struct fhir_reindexer *rx = arg;
    struct run r = {
        rx->s, xcalloc(1, sizeof(struct batch)), &rx->progress, &rx->lock, &rx->stop, NULL, NULL};
    enum err err = run_all(&r);
    free(r.b);
    pthread_mutex_lock(&rx->lock);
    rx->progress.state = !err                     ? FHIR_REINDEX_DONE
                         : err == ERR_UNAVAILABLE ? FHIR_REINDEX_STOPPED
                                                  : FHIR_REINDEX_FAILED;
    rx->progress.finished_ms = time_now_ms();
    int64_t done = rx->progress.done;
    pthread_mutex_unlock(&rx->lock);
    if (err)
        log_warn(LOG_FHIR, "reindex stopped err=%s done=%lld (the next start resumes)",
                 err_name(err), (long long)done);
    else
        log_info(LOG_FHIR, "reindex finished resources=%lld", (long long)done);
    return NULL;
}

struct fhir_reindexer *fhir_reindexer_new(struct store *s)
{
    struct fhir_reindexer *rx = xcalloc(1, sizeof(*rx));
    rx->s = s;
    pthread_mutex_init(&rx->lock, NULL);
    atomic_init(&rx->stop, false);
    return rx;
}

bool fhir_reindexer_start(struct fhir_reindexer *rx)
{
    pthread_mutex_lock(&rx->lock);
    if (rx->progress.state == FHIR_REINDEX_RUNNING) {
        pthread_mutex_unlock(&rx->lock);
        return false;
    }
    if (rx->joinable)
        pthread_join(rx->thread, NULL); /* the last run has ended */
    rx->progress =
        (struct fhir_reindex_progress){FHIR_REINDEX_RUNNING, 0, 0, time_now_ms(), 0, false};
    rx->joinable = pthread_create(&rx->thread, NULL, reindex_main, rx) == 0;
    if (!rx->joinable)
        rx->progress.state = FHIR_REINDEX_FAILED;
    bool started = rx->joinable;
    pthread_mutex_unlock(&rx->lock);
    return started;
}

void fhir_reindexer_progress(struct fhir_reindexer *rx, struct fhir_reindex_progress *out)
{
    pthread_mutex_lock(&rx->lock);
    *out = rx->progress;
    pthread_mutex_unlock(&rx->lock);
}

void fhir_reindexer_free(struct fhir_reindexer *rx)
{
    if (!rx)
        return;
    atomic_store(&rx->stop, true);
    if (rx->joinable)
        pthread_join(rx->thread, NULL);
    pthread_mutex_destroy(&rx->lock);
    free(rx);
}
