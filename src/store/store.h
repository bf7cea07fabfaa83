/*
 * store.h - the storage contract every back end implements (SQLite now,
 * PostgreSQL later), modelled on SQLite's VFS and git's refs back ends: a
 * struct of function pointers behind small inline wrappers.
 *
 * Data model: every resource version is one row (type, id, version,
 * last_updated, deleted, body). Versions of one resource count 1, 2, 3...;
 * a delete is a version with deleted = 1 and no body. The body is the full
 * resource JSON including meta, exactly as served.
 *
 * Writes: the caller describes a unit of work as a callback that runs inside
 * a store transaction (struct store_tx). Back ends may batch the units of
 * concurrent callers into one durable commit (group commit); each unit is
 * isolated by a savepoint, so a unit that fails leaves no trace while the
 * others commit. store_write returns only after the unit is durable (or has
 * failed): an acknowledged write survives kill -9.
 *
 * Threads: every function may be called from any thread concurrently.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/str.h"

struct store;
/* A back end's transaction; its first member is its const struct store_ops *. */
struct store_tx;

/* One stored version, as read. Slices are borrowed; see each function. */
struct store_row {
    struct str type;      /* resource type */
    struct str id;        /* logical id */
    int64_t version;      /* 1, 2, 3 ... */
    int64_t last_updated; /* ms since the epoch, UTC */
    bool deleted;         /* this version is a delete */
    struct str body;      /* resource JSON; empty when deleted */
    int64_t seq;          /* global write order, for history paging */
};

/* The current state of a resource inside a write transaction. */
struct store_current {
    int64_t version;      /* 0 when the resource never existed */
    bool deleted;         /* the current version is a delete */
    int64_t last_updated; /* of the current version */
};

/* Unit of work run by store_write inside a transaction; any error undoes it. */
typedef enum err store_work_fn(struct store_tx *tx, void *ctx);

/*
 * Completion of an asynchronous write, called on the store's writer thread
 * once the unit is durable (result ERR_OK) or has failed. It must be quick
 * and must not call the store: hand the result to another thread.
 */
typedef void store_done_fn(void *arg, enum err result);

/* Called once per row by history; return false to stop early. */
typedef bool store_row_fn(const struct store_row *row, void *ctx);

struct store_history_query {
    const char *type;   /* NULL = all types (system history) */
    const char *id;     /* NULL = all ids of the type */
    int64_t since_ms;   /* only versions with last_updated >= this; INT64_MIN = all */
    int64_t before_seq; /* only rows with seq < this (paging cursor); INT64_MAX = all */
    int limit;          /* at most this many rows, newest first */
};

struct store_ops {
    const char *name;
    void (*close)(struct store *s);
    enum err (*read)(struct store *s, const char *type, const char *id, int64_t version,
                     struct buf *body_out, struct store_row *out);
    enum err (*write)(struct store *s, store_work_fn *work, void *ctx);
    void (*write_async)(struct store *s, store_work_fn *work, void *ctx, store_done_fn *done,
                        void *done_arg);
    enum err (*history)(struct store *s, const struct store_history_query *q, store_row_fn *fn,
                        void *ctx);
    enum err (*count)(struct store *s, const char *type, const char *id, int64_t *out);
    enum err (*tx_current)(struct store_tx *tx, const char *type, const char *id,
                           struct store_current *out);
    enum err (*tx_put)(struct store_tx *tx, const struct store_row *row);
};

struct store {
    const struct store_ops *ops; /* back end; set by the opener */
};

/* Open the SQLite back end in cfg->data_dir (created if absent), migrating its schema. */
enum err store_sqlite_open(const struct config *cfg, struct store **out);

static inline void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

/*
 * Read one version (version 0 = current). The body is copied into body_out
 * (appended); out's slices point into body_out and into storage owned by
 * the store that stays valid only until the next call on this thread.
 * ERR_NOT_FOUND if there is no such resource or version; a current version
 * that is a delete is returned with out->deleted set (caller answers 410).
 */
static inline enum err store_read(struct store *s, const char *type, const char *id,
                                  int64_t version, struct buf *body_out, struct store_row *out)
{
    return s->ops->read(s, type, id, version, body_out, out);
}

/* Run work in a transaction and return once it is durable or has failed. */
static inline enum err store_write(struct store *s, store_work_fn *work, void *ctx)
{
    return s->ops->write(s, work, ctx);
}

/*
 * Queue work and return at once; done(done_arg, result) is called exactly
 * once when the unit is durable or has failed. ctx and done_arg must stay
 * valid until then. work runs on the writer thread.
 */
static inline void store_write_async(struct store *s, store_work_fn *work, void *ctx,
                                     store_done_fn *done, void *done_arg)
{
    s->ops->write_async(s, work, ctx, done, done_arg);
}

/* Stream history rows newest first; slices valid only during the callback. */
static inline enum err store_history(struct store *s, const struct store_history_query *q,
                                     store_row_fn *fn, void *ctx)
{
    return s->ops->history(s, q, fn, ctx);
}

/* Number of versions of type/id (either may be NULL for all). */
static inline enum err store_count_versions(struct store *s, const char *type, const char *id,
                                            int64_t *out)
{
    return s->ops->count(s, type, id, out);
}

/* Inside a unit of work: the current version of a resource. */
static inline enum err store_tx_current(struct store_tx *tx, const char *type, const char *id,
                                        struct store_current *out)
{
    const struct store_ops *ops = *(const struct store_ops *const *)tx;
    return ops->tx_current(tx, type, id, out);
}

/* Inside a unit of work: append a version (row->seq is ignored). */
static inline enum err store_tx_put(struct store_tx *tx, const struct store_row *row)
{
    const struct store_ops *ops = *(const struct store_ops *const *)tx;
    return ops->tx_put(tx, row);
}

#endif
