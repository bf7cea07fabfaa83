/*
 * sqlite_internal.h - what the files of the SQLite back end share (SQLite's
 * btreeInt.h pattern): the store struct, the reader pool, error mapping.
 * Only the back end's own files (store_sqlite.c, sqlite_index.c, sqlite_search.c) include it.
 */
#ifndef STORE_SQLITE_INTERNAL_H
#define STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* The columns of auth_user, in the order sqlite_auth.c reads them. */
#define SQLITE_USER_COLUMNS                                                                        \
    "name, password_hash, role, org, subject, disabled, failed_logins, locked_until, created, "    \
    "must_change"

enum read_stmt {
    RS_CURRENT,
    RS_VERSION,
    RS_COUNT_ID,
    RS_COUNT_TYPE,
    RS_COUNT_ALL,
    RS_TOKEN,
    RS_USER,
    RS_BEGIN,
    RS_COMMIT,
    RS__COUNT,
};

/*
 * A connection's cache of search statements, by SQL text: a search's SQL
 * depends only on the query's shape (values are bound), so the same shapes
 * come back; preparing them anew took an eighth of a search's time, and
 * a seventh of the writer's in bed assignments (their reach checks search
 * inside the unit). Each reader has one, and so has the writer connection.
 */
enum { STMT_CACHE_SIZE = 32 };
struct cached_stmt {
    uint64_t hash;    /* of sql */
    char *sql;        /* NULL: free slot */
    sqlite3_stmt *st; /* prepared on the cache's connection */
    uint64_t used;    /* tick of the last use (least recently used goes first) */
    bool in_use;      /* handed out and not yet given back */
};
struct stmt_cache {
    struct cached_stmt slot[STMT_CACHE_SIZE]; /* statements */
    uint64_t tick;                            /* use counter */
};

struct reader {
    struct reader *next;            /* free-list link (under pool_lock) */
    sqlite3 *db;                    /* read-only connection */
    sqlite3_stmt *stmts[RS__COUNT]; /* prepared once */
    struct stmt_cache cache;        /* search statements */
};

struct work_item {
    struct work_item *next; /* queue link (under queue_lock) */
    store_work_fn *work;    /* the unit */
    void *ctx;              /* its argument */
    enum err result;        /* set by the writer */
    bool done;              /* sync: set by the writer under queue_lock */
    store_done_fn *on_done; /* async: called by the writer, which then frees the item */
    void *done_arg;         /* its argument */
};

struct sqlite_tx {
    const struct store_ops *ops; /* must be first (see store.h) */
    struct sqlite_store *store;  /* owner */
};

#define STORE_GENERATION_SLOTS 64

struct sqlite_store {
    struct store base;                                   /* must be first */
    char *path;                                          /* database file */
    int busy_timeout_ms;                                 /* for readers */
    int max_batch;                                       /* units per commit */
    _Atomic uint64_t generation[STORE_GENERATION_SLOTS]; /* per type slot: see store_generation */
    int64_t optimistic_rollbacks; /* writer: batches run again with savepoints (tests) */
    uint64_t batch_touched;       /* writer: slots written in this batch */
    int checkpoint_mb;            /* WAL size that wakes the checkpointer */
    int grow_bytes;               /* SQLITE_FCNTL_CHUNK_SIZE of the file, 0 = page by page */
    int ckpt_frames;              /* the same in WAL frames */
    char tuning[160];             /* cache and mmap PRAGMAs for readers */
    char tuning_writer[224];      /* the same for the writer */
    sqlite3 *wdb;                 /* writer connection; writer thread only */
    struct stmt_cache wcache;     /* its search statements; writer thread only */
    sqlite3_stmt *w_current;      /* writer thread only */
    sqlite3_stmt *w_insert;       /* writer thread only */
    sqlite3_stmt *w_insert_current, *w_update_current;  /* writer thread only */
    sqlite3_stmt *w_index_insert[STORE_IDX__COUNT];     /* writer thread only */
    sqlite3_stmt *w_index_delete[STORE_IDX__COUNT];     /* writer thread only */
    sqlite3_stmt *w_index_select[STORE_IDX__COUNT];     /* a key's entries; writer thread only */
    sqlite3_stmt *w_index_delete_one[STORE_IDX__COUNT]; /* one entry; writer thread only */
    sqlite3_stmt *w_meta_set;                           /* writer thread only */
    sqlite3_stmt *w_audit_stage;                        /* writer thread only */
    pthread_t writer;                                   /* the writer thread */
    pthread_mutex_t queue_lock;              /* guards head, tail, stopping, done flags */
    pthread_cond_t queue_nonempty;           /* signalled on enqueue and stop */
    pthread_cond_t queue_done;               /* broadcast after each commit */
    struct work_item *head;                  /* oldest queued unit */
    struct work_item *tail;                  /* newest queued unit */
    bool stopping;                           /* close requested */
    pthread_t syncer;                        /* syncs the WAL, then completes units */
    pthread_cond_t sync_nonempty;            /* a committed batch was handed over */
    struct work_item *sync_head, *sync_tail; /* committed, not yet synced */
    bool writer_stopped;                     /* the syncer drains and stops */
    bool sync_failed;                        /* a sync failed: every later write fails */
    int wal_fd;                              /* the syncer's descriptor of the WAL */
    char *dir;                               /* data directory (synced once) */
    sqlite3 *cdb;                            /* the checkpointer's connection */
    pthread_t checkpointer;                  /* copies the WAL into the database */
    bool ckpt_started;                       /* the thread runs */
    pthread_mutex_t ckpt_lock;               /* guards ckpt_wanted, ckpt_stopping */
    pthread_cond_t ckpt_cond;                /* signalled when either is set */
    bool ckpt_wanted;                        /* the WAL passed its threshold */
    bool ckpt_running;                       /* a background pass is under way */
    long ckpt_passes;                        /* background passes finished */
    long ckpt_passes_at_signal;              /* ckpt_passes when last woken (writer) */
    int ckpt_backfilled;                     /* frames copied as of the last background pass */
    long ckpt_catch_ups;         /* the writer's small checkpoints after a pass (for tests) */
    bool ckpt_stopping;          /* close requested */
    pthread_mutex_t pool_lock;   /* guards free_readers, all_readers */
    struct reader *free_readers; /* idle read connections */
    struct reader **all_readers; /* every reader, for close */
    size_t reader_count;         /* entries in all_readers */
    /* the audit trail's own file (sqlite_audit.c) */
    char *audit_path;           /* audit.db beside the database */
    int max_page_count;         /* store.max_mb in pages, 0 = no limit */
    pthread_mutex_t audit_lock; /* guards the fields below: one appender at a time */
    sqlite3 *adb;               /* the appender's connection to audit_path */
    sqlite3_stmt *a_insert;     /* one entry */
    sqlite3_stmt *a_moved;      /* records the last staged entry moved */
    sqlite3_stmt *a_tail;       /* the chain's last entry */
    sqlite3_stmt *a_moved_get;  /* the last staged entry moved */
    int64_t audit_deleted;      /* staged entries up to this id are gone from the database */
    int64_t audit_forgot_ms;    /* when they were last deleted (tried) */
};

/* How the syncer syncs the WAL: fdatasync; tests put a stand-in here to see or fail syncs. */
extern int (*sqlite_fdatasync)(int fd);

/* Log a failed SQLite call and map it to our error vocabulary. */
enum err sqlite_sql_err(sqlite3 *db, const char *what);
/* sqlite3_exec of sql, a failure logged and mapped like sqlite_sql_err. */
enum err sqlite_run(sqlite3 *db, const char *sql);
/* ROLLBACK, unless SQLite has already rolled back (it does on a full disk, for one). */
void sqlite_rollback(sqlite3 *db);
/* fsync the directory dir: a file created in it is on disk only after that. */
enum err sqlite_sync_dir(const char *dir);
/* A read connection from the pool (opened on demand); give it back with sqlite_reader_put. */
enum err sqlite_reader_get(struct sqlite_store *s, struct reader **out);
void sqlite_reader_put(struct sqlite_store *s, struct reader *r);
/* fn on a pooled read connection inside one read transaction (one snapshot). */
typedef enum err sqlite_read_fn(sqlite3 *db, void *arg);
enum err sqlite_read_snapshot(struct sqlite_store *s, sqlite_read_fn *fn, void *arg);
/*
 * A prepared statement for sql on db: from the cache of the reader whose
 * snapshot this thread is in when db is its connection, else prepared
 * anew. Give it back with sqlite_stmt_release (reset, or finalized).
 */
int sqlite_stmt_get(sqlite3 *db, const char *sql, sqlite3_stmt **out);
void sqlite_stmt_release(sqlite3 *db, sqlite3_stmt *st);

/* sqlite_index.c: prepare the writer's index statements (at open, writer connection). */
enum err sqlite_index_prepare(struct sqlite_store *s);
void sqlite_index_finalize(struct sqlite_store *s);
/* Writer thread: make row the current version of its resource and replace its index entries. */
enum err sqlite_index_put(struct sqlite_store *s, int64_t seq, const struct store_row *row);
enum err sqlite_search(struct store *base, const struct store_query *q, store_hit_fn *fn, void *ctx,
                       int64_t *out_total);
enum err sqlite_tx_search(struct store_tx *tx, const struct store_query *q, store_hit_fn *fn,
                          void *ctx, int64_t *out_total);
enum err sqlite_include(struct store *base, const struct store_include_query *q, store_hit_fn *fn,
                        void *ctx);
enum err sqlite_meta_get(struct store *base, const char *name, int64_t *out);
enum err sqlite_tx_meta_set(struct store_tx *tx, const char *name, int64_t value);
enum err sqlite_entries(struct store *base, int64_t after_key, int64_t last_key, store_entry_fn *fn,
                        void *ctx);
enum err sqlite_tx_reindex(struct store_tx *tx, const char *type, const char *id,
                           const struct store_index_entry *entries, size_t count);

/* sqlite_audit.c: the audit trail (see store.h). */
/* Writer connection, at open: the statement that stages entries. */
enum err sqlite_audit_prepare(struct sqlite_store *s);
void sqlite_audit_finalize(struct sqlite_store *s);
/*
 * At open, after the writer's migrations: the trail's own file, into which
 * a trail the database still holds (schema 4) is moved first.
 */
enum err sqlite_audit_open(struct sqlite_store *s);
void sqlite_audit_close(struct sqlite_store *s);
enum err sqlite_tx_audit_stage(struct store_tx *tx, const struct store_audit_entry *e);
enum err sqlite_audit_append(struct store *base, const struct store_audit_entry *entries, size_t n,
                             store_audit_hash_fn *hash, size_t *out_moved);
enum err sqlite_audit_scan(struct store *base, int64_t after_seq, const char *patient, int limit,
                           store_audit_fn *fn, void *ctx);

/* sqlite_auth.c: accounts and tokens (see store.h). */
/* Column col of st as text ("" for NULL): copied into a, or borrowed (valid until the next step)
 * when a is NULL. */
const char *sqlite_text_col(sqlite3_stmt *st, int col, struct arena *a);
enum err sqlite_user_get(struct store *base, const char *name, struct arena *a,
                         struct store_user *out);
enum err sqlite_user_list(struct store *base, store_user_fn *fn, void *ctx);
enum err sqlite_tx_user_put(struct store_tx *tx, const struct store_user *u);
enum err sqlite_token_get(struct store *base, const char *hash, struct arena *a,
                          struct store_token *out);
enum err sqlite_tx_token_put(struct store_tx *tx, const struct store_token *t);
enum err sqlite_tx_token_revoke(struct store_tx *tx, const char *hash, const char *user);

#endif
