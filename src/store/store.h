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

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/str.h"

struct store;
/* A back end's transaction; its first member is its const struct store_ops *. */
struct store_tx;

/*
 * Search index entries: what a resource version contributes to search, one
 * entry per (parameter, value). The FHIR layer computes them (FHIRPath);
 * the store keeps them for the current version only, in the same
 * transaction as the version itself.
 */
enum store_index_kind {
    STORE_IDX_TOKEN,     /* text1 = system or NULL, text2 = code */
    STORE_IDX_STRING,    /* text1 = normalised (lower case), text2 = as written */
    STORE_IDX_REFERENCE, /* text1 = "Type/id" or an absolute URL */
    STORE_IDX_DATE,      /* low..high, inclusive, ms since the epoch UTC */
    STORE_IDX_NUMBER,    /* number */
    STORE_IDX_QUANTITY,  /* number, text1 = system or NULL, text2 = code or unit */
    STORE_IDX_URI,       /* text1 = the URI */
    STORE_IDX__COUNT,
};

struct store_index_entry {
    int kind;          /* enum store_index_kind */
    const char *param; /* "Observation.code" */
    const char *text1; /* see the kind */
    const char *text2; /* see the kind */
    double number;     /* NUMBER, QUANTITY */
    int64_t low;       /* DATE */
    int64_t high;      /* DATE */
};

/* One stored version, as read. Slices are borrowed; see each function. */
struct store_row {
    struct str type;                       /* resource type */
    struct str id;                         /* logical id */
    int64_t version;                       /* 1, 2, 3 ... */
    int64_t last_updated;                  /* ms since the epoch, UTC */
    bool deleted;                          /* this version is a delete */
    struct str body;                       /* resource JSON; empty when deleted */
    int64_t seq;                           /* global write order, for history paging */
    const struct store_index_entry *index; /* tx_put: the new version's entries */
    size_t index_count;                    /* tx_put: how many */
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
 * and must not wait on the store (no store_write, no reads): hand the
 * result to another thread. It may queue more work with store_write_async.
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
    int64_t after_seq;  /* only rows with seq > this (what changed since); 0 = all */
};

/*
 * Search. A query is an AND of clauses; a clause is an OR of predicates;
 * a predicate tests one parameter's index entries. Results are the
 * current, non-deleted versions of one type, in key order (the key is a
 * stable per-resource number), after after_key, at most limit of them.
 */
enum store_op {
    STORE_OP_EQ,       /* token/reference/uri: equal; number/date/quantity: within low..high */
    STORE_OP_NE,       /* not EQ */
    STORE_OP_GT,       /* number/date: above */
    STORE_OP_LT,       /* number/date: below */
    STORE_OP_GE,       /* number/date: above or EQ */
    STORE_OP_LE,       /* number/date: below or EQ */
    STORE_OP_SA,       /* date: starts after */
    STORE_OP_EB,       /* date: ends before */
    STORE_OP_PREFIX,   /* string: normalised value starts with text1 */
    STORE_OP_EXACT,    /* string: as written equals text2 */
    STORE_OP_CONTAINS, /* string: normalised value contains text1 */
    STORE_OP_MISSING,  /* no entry for the parameter */
    STORE_OP_PRESENT,  /* some entry for the parameter */
};

/* Predicate kinds beyond the index kinds. */
#define STORE_PRED_RESOURCE STORE_IDX__COUNT       /* _id / _lastUpdated: the resource row itself */
#define STORE_PRED_HAS      (STORE_IDX__COUNT + 1) /* _has: a resource of sub refers here by param */

struct store_query;

struct store_predicate {
    int kind;          /* enum store_index_kind, STORE_PRED_RESOURCE or STORE_PRED_HAS */
    const char *param; /* "Observation.code", "_id", "_lastUpdated" */
    int op;            /* enum store_op */
    bool negate;       /* :not — true when NO entry matches */
    const char *text1; /* as in store_index_entry; NULL = any */
    const char *text2; /* as in store_index_entry; NULL = any */
    const char *text3; /* token: "match entries with no system" when set to "" */
    double number_low, number_high; /* NUMBER/QUANTITY: the value's range */
    int64_t low, high;              /* DATE: the value's range */
    /*
     * REFERENCE with sub: the target is a resource of sub->type matching sub
     * (a chain, text1 unused). HAS: some resource matching sub refers to
     * this one through param (a parameter of sub->type).
     */
    const struct store_query *sub;
};

struct store_clause {
    struct store_predicate *preds; /* OR-ed */
    size_t count;                  /* how many */
};

/* A sort key: the lowest value ascending, the highest descending (search.html#sort). */
struct store_sort {
    int kind;          /* enum store_index_kind, or STORE_PRED_RESOURCE for _id/_lastUpdated */
    const char *param; /* "Observation.date", "_id", "_lastUpdated" */
    bool desc;         /* descending */
};

struct store_query {
    const char *type;                   /* resource type */
    const struct store_clause *clauses; /* AND-ed */
    size_t count;                       /* how many */
    int64_t after_key;                  /* paging cursor: keys above this; 0 = from the start */
    int64_t before_key; /* when > 0 (unsorted only): keys up to this, in descending order */
    int limit;          /* at most this many rows (0 = count only) */
    bool want_total;    /* also count all matches */
    const struct store_sort *sort; /* when nsort > 0: this order (then key), after_key unused */
    size_t nsort;                  /* sort keys */
    int64_t offset;                /* sorted: rows to skip */
};

/*
 * Includes (search.html#include): the resources that the resources refs
 * ("Type/id") refer to through param (forward), or the resources whose
 * param refers to one of refs (reverse). Hits carry their type; a
 * resource may come more than once. At most limit hits.
 */
struct store_include_query {
    bool reverse;            /* _revinclude */
    const char *param;       /* reference parameter, "Observation.subject" */
    const char *target_type; /* forward: only targets of this type; NULL = any */
    const char *const *refs; /* the resources searched from, "Type/id" */
    size_t nrefs;            /* how many */
    int limit;               /* at most this many hits */
};

/* One search hit; slices valid during the callback. */
struct store_hit {
    int64_t key;          /* stable per-resource key (the paging cursor) */
    struct str type;      /* resource type */
    struct str id;        /* logical id */
    int64_t version;      /* current version */
    int64_t last_updated; /* ms */
    struct str body;      /* resource JSON */
};

typedef bool store_hit_fn(const struct store_hit *hit, void *ctx);

/* A store_hit_fn for "is there any match?": sets *(bool *)found and stops. */
static inline bool store_hit_found(const struct store_hit *hit, void *found)
{
    (void)hit;
    *(bool *)found = true;
    return false;
}

/* One stored index entry of the resource with key; slices valid during the callback. */
typedef bool store_entry_fn(int64_t key, const struct store_index_entry *e, void *ctx);

/*
 * Accounts, tokens and the audit trail (the auth layer's records). Accounts
 * and tokens are kept beside the resources; the audit trail is a chain of
 * its own (in the SQLite back end, a file of its own: its appends every few
 * milliseconds would otherwise end every reader's page cache, which SQLite
 * drops at the first read after any commit). A write's entry is staged in
 * the write's own unit and moved into the chain by the trail's appender
 * soon after (store_audit_append), so that a write is never kept without
 * its entry. Strings of records read back live in the arena the caller passes.
 */
struct store_user {
    const char *name;          /* login name, unique */
    const char *password_hash; /* Argon2id string (crypto_pwhash_str) */
    const char *role;          /* role code ("doctor"), see auth/roles.c */
    const char *org;           /* "Organization/id" the user works for, or "" */
    const char *subject;       /* "Practitioner/id" or "Patient/id", or "" */
    bool disabled;             /* may not log in; tokens refused */
    int failed_logins;         /* consecutive failed logins */
    int64_t locked_until_ms;   /* no login before this (lock-out) */
    int64_t created_ms;        /* when the account was made */
    bool must_change;          /* the password is a one-time password */
};

enum store_token_kind {
    STORE_TOKEN_ACCESS,  /* bearer token for the API */
    STORE_TOKEN_REFRESH, /* exchanged for a new access token */
};

struct store_token {
    const char *hash;   /* hex SHA-256 of the token; the token itself is never stored */
    int kind;           /* enum store_token_kind */
    const char *user;   /* store_user.name */
    const char *scope;  /* granted scopes, space-separated */
    int64_t issued_ms;  /* when issued */
    int64_t expires_ms; /* not valid at or after this */
    bool revoked;       /* revoked before it expired */
};

/* One audit entry: the JSON (an AuditEvent) and its place in the hash chain. */
struct store_audit {
    int64_t seq;           /* 1, 2, 3 ... without gaps */
    int64_t time_ms;       /* when the access happened */
    const char *user;      /* who ("" for an anonymous attempt) */
    const char *patient;   /* "Patient/id" whose data it was, or "" */
    const char *json;      /* the AuditEvent */
    const char *prev_hash; /* hash of entry seq - 1 ("" for the first) */
    const char *hash;      /* hex SHA-256 over prev_hash and json (auth/audit.c) */
};

/* An audit entry before it has its place in the chain. */
struct store_audit_entry {
    int64_t time_ms;     /* when the access happened */
    const char *user;    /* who ("" for an anonymous attempt) */
    const char *patient; /* "Patient/id" whose data it was, or "" / NULL */
    const char *json;    /* the AuditEvent */
};

/* How an entry's hash follows from its predecessor's (auth/audit.c: audit_hash). */
typedef void store_audit_hash_fn(const char *prev_hash, const char *json, char out[65]);

/* At most this many staged entries are moved by one store_audit_append. */
#define STORE_AUDIT_MOVE_MAX 1024

typedef bool store_user_fn(const struct store_user *u, void *ctx);
typedef bool store_audit_fn(const struct store_audit *a, void *ctx);

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
    enum err (*search)(struct store *s, const struct store_query *q, store_hit_fn *fn, void *ctx,
                       int64_t *out_total);
    enum err (*meta_get)(struct store *s, const char *name, int64_t *out);
    uint64_t (*generation)(struct store *s, const char *type);
    enum err (*tx_meta_set)(struct store_tx *tx, const char *name, int64_t value);
    enum err (*tx_reindex)(struct store_tx *tx, const char *type, const char *id,
                           const struct store_index_entry *entries, size_t count);
    enum err (*tx_search)(struct store_tx *tx, const struct store_query *q, store_hit_fn *fn,
                          void *ctx, int64_t *out_total);
    enum err (*include)(struct store *s, const struct store_include_query *q, store_hit_fn *fn,
                        void *ctx);
    enum err (*entries)(struct store *s, int64_t after_key, int64_t last_key, store_entry_fn *fn,
                        void *ctx);
    enum err (*user_get)(struct store *s, const char *name, struct arena *a,
                         struct store_user *out);
    enum err (*user_list)(struct store *s, store_user_fn *fn, void *ctx);
    enum err (*tx_user_put)(struct store_tx *tx, const struct store_user *u);
    enum err (*token_get)(struct store *s, const char *hash, struct arena *a,
                          struct store_token *out);
    enum err (*tx_token_put)(struct store_tx *tx, const struct store_token *t);
    enum err (*tx_token_revoke)(struct store_tx *tx, const char *hash, const char *user);
    enum err (*tx_audit_stage)(struct store_tx *tx, const struct store_audit_entry *e);
    enum err (*audit_append)(struct store *s, const struct store_audit_entry *entries, size_t n,
                             store_audit_hash_fn *hash, size_t *out_moved);
    enum err (*audit_scan)(struct store *s, int64_t after_seq, const char *patient, int limit,
                           store_audit_fn *fn, void *ctx);
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

/*
 * Run a search; fn gets each hit in key order. *out_total (when
 * q->want_total and out_total is not NULL) gets the number of all matches.
 */
static inline enum err store_search(struct store *s, const struct store_query *q, store_hit_fn *fn,
                                    void *ctx, int64_t *out_total)
{
    return s->ops->search(s, q, fn, ctx, out_total);
}

/* Stream the includes of q (see struct store_include_query). */
static inline enum err store_include(struct store *s, const struct store_include_query *q,
                                     store_hit_fn *fn, void *ctx)
{
    return s->ops->include(s, q, fn, ctx);
}

/*
 * The index entries stored for the resources with keys in (after_key,
 * last_key], in no particular order, from one snapshot; fn returning false
 * stops. For verifying an index against freshly computed entries.
 */
static inline enum err store_entries(struct store *s, int64_t after_key, int64_t last_key,
                                     store_entry_fn *fn, void *ctx)
{
    return s->ops->entries(s, after_key, last_key, fn, ctx);
}

/* Inside a unit of work: search what the transaction sees (its own writes included). */
static inline enum err store_tx_search(struct store_tx *tx, const struct store_query *q,
                                       store_hit_fn *fn, void *ctx, int64_t *out_total)
{
    const struct store_ops *ops = *(const struct store_ops *const *)tx;
    return ops->tx_search(tx, q, fn, ctx, out_total);
}

/*
 * A number that changes after every committed write of a resource of type
 * (and, sharing its slot, of some other types): a cache of what was read of
 * type may be kept while it stays the same. Read it before reading what is
 * cached: the change is made only once the write is visible to new reads.
 */
static inline uint64_t store_generation(struct store *s, const char *type)
{
    return s->ops->generation(s, type);
}

/* A named integer kept by the store (e.g. the search-index version); 0 if never set. */
static inline enum err store_meta_get(struct store *s, const char *name, int64_t *out)
{
    return s->ops->meta_get(s, name, out);
}

/* Inside a unit of work: set a named integer. */
static inline enum err store_tx_meta_set(struct store_tx *tx, const char *name, int64_t value)
{
    const struct store_ops *ops = *(const struct store_ops *const *)tx;
    return ops->tx_meta_set(tx, name, value);
}

/* Inside a unit of work: replace the index entries of a resource's current version. */
static inline enum err store_tx_reindex(struct store_tx *tx, const char *type, const char *id,
                                        const struct store_index_entry *entries, size_t count)
{
    const struct store_ops *ops = *(const struct store_ops *const *)tx;
    return ops->tx_reindex(tx, type, id, entries, count);
}

/* Inside a unit of work: the current version of a resource. */
static inline enum err store_tx_current(struct store_tx *tx, const char *type, const char *id,
                                        struct store_current *out)
{
    const struct store_ops *ops = *(const struct store_ops *const *)tx;
    return ops->tx_current(tx, type, id, out);
}

/*
 * Inside a unit of work: append a version (row->seq is ignored). It becomes
 * the current version, and its index entries replace the previous ones.
 */
static inline enum err store_tx_put(struct store_tx *tx, const struct store_row *row)
{
    const struct store_ops *ops = *(const struct store_ops *const *)tx;
    return ops->tx_put(tx, row);
}

/* ---- accounts, tokens, audit ---- */

#define STORE_TX_OPS(tx) (*(const struct store_ops *const *)(tx))

/* The account called name; ERR_NOT_FOUND if there is none. Strings in a. */
static inline enum err store_user_get(struct store *s, const char *name, struct arena *a,
                                      struct store_user *out)
{
    return s->ops->user_get(s, name, a, out);
}

/* Every account, by name; fn returning false stops. */
static inline enum err store_user_list(struct store *s, store_user_fn *fn, void *ctx)
{
    return s->ops->user_list(s, fn, ctx);
}

/* Inside a unit of work: create or replace the account u->name. */
static inline enum err store_tx_user_put(struct store_tx *tx, const struct store_user *u)
{
    return STORE_TX_OPS(tx)->tx_user_put(tx, u);
}

/* The token whose hash is hash; ERR_NOT_FOUND if unknown. Strings in a. */
static inline enum err store_token_get(struct store *s, const char *hash, struct arena *a,
                                       struct store_token *out)
{
    return s->ops->token_get(s, hash, a, out);
}

/* Inside a unit of work: record a newly issued token. */
static inline enum err store_tx_token_put(struct store_tx *tx, const struct store_token *t)
{
    return STORE_TX_OPS(tx)->tx_token_put(tx, t);
}

/*
 * Inside a unit of work: revoke the token with hash (when not NULL) and, when
 * user is not NULL, every token of that user. Unknown hashes are no error.
 */
static inline enum err store_tx_token_revoke(struct store_tx *tx, const char *hash,
                                             const char *user)
{
    return STORE_TX_OPS(tx)->tx_token_revoke(tx, hash, user);
}

/*
 * Inside a unit of work: stage the unit's audit entry. It is kept or lost
 * with the unit, and store_audit_append moves it into the chain.
 */
static inline enum err store_tx_audit_stage(struct store_tx *tx, const struct store_audit_entry *e)
{
    return STORE_TX_OPS(tx)->tx_audit_stage(tx, e);
}

/*
 * Append to the audit chain, in one durable transaction, the entries staged
 * by committed units that are not in it yet (oldest first, at most
 * STORE_AUDIT_MOVE_MAX; *out_moved says how many), then the n entries
 * given, each hashed by hash after its predecessor. Never moves a staged
 * entry twice. On an error nothing was appended. One caller at a time is
 * served; others wait.
 */
static inline enum err store_audit_append(struct store *s, const struct store_audit_entry *entries,
                                          size_t n, store_audit_hash_fn *hash, size_t *out_moved)
{
    return s->ops->audit_append(s, entries, n, hash, out_moved);
}

/*
 * Audit entries with seq > after_seq in seq order, only those about patient
 * when it is not NULL, at most limit (<= 0: all); fn returning false stops.
 * Strings are valid during the callback.
 */
static inline enum err store_audit_scan(struct store *s, int64_t after_seq, const char *patient,
                                        int limit, store_audit_fn *fn, void *ctx)
{
    return s->ops->audit_scan(s, after_seq, patient, limit, fn, ctx);
}

#endif
