/*
 * write.h - the write path shared by the REST interactions and the importer:
 * a list of resource writes applied all-or-nothing in one durable unit.
 */
#ifndef FHIR_WRITE_H
#define FHIR_WRITE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/err.h"
#include "fhir/resource.h"
#include "fhir/search_index.h"
#include "store/store.h"

/*
 * A condition resolved before the unit was queued (If-None-Exist, a
 * conditional update/delete/reference): inside the unit the query must
 * still match exactly ids, in key order, or the unit fails with
 * ERR_CHANGED and the caller resolves again. This keeps the writer thread
 * free of search planning in the common case while no concurrent writer
 * can slip in between the check and the write.
 */
struct fhir_write_check {
    struct store_query query; /* the condition; its limit is set by the check */
    const char **ids;         /* the ids it matched */
    size_t count;             /* how many */
};

enum fhir_write_kind {
    FHIR_WRITE_CREATE, /* new resource; ERR_CONFLICT if the id exists */
    FHIR_WRITE_UPDATE, /* new version, or create with the given id */
    FHIR_WRITE_DELETE, /* delete version; no-op if already deleted */
};

struct fhir_write {
    enum fhir_write_kind kind; /* what to do */
    const char *type;          /* resource type (valid) */
    const char *id;            /* logical id (valid) */
    json_object *resource;     /* validated resource; NULL for delete */
    int64_t if_match;          /* required current version, or -1 */
    /*
     * When set: a live current version may be changed only if it matches
     * this query (the caller's write reach, fhir/access.h), else the unit
     * fails with ERR_FORBIDDEN. Checked inside the unit.
     */
    const struct store_query *may_change;
    /* results, valid after fhir_write_run returned ERR_OK: */
    int64_t version;               /* version written (or current, for a no-op) */
    int64_t last_updated;          /* its lastUpdated, ms */
    bool created;                  /* there was no live version before */
    bool noop;                     /* nothing written (delete of a deleted resource) */
    char *body;                    /* stored JSON, malloc'd (caller frees); NULL for delete */
    size_t body_len;               /* bytes in body */
    struct fhir_stamp_parts parts; /* private: the resource serialised before the unit runs */
    struct fhir_index index;       /* private: its search index entries */
};

/*
 * Apply count writes in one unit: either all are durable or none is. On
 * error, every body is freed and NULL. Errors: ERR_VERSION_CONFLICT (an
 * If-Match did not hold), ERR_NOT_FOUND (delete of a resource that never
 * existed), ERR_CONFLICT (create over an existing id), store errors.
 * *failed_index, when not NULL, names the write that failed.
 */
enum err fhir_write_run(struct store *s, struct fhir_write *writes, size_t count,
                        size_t *failed_index);

struct fhir_write_job;
/*
 * The synchronous form of fhir_write_submit: job's writes (with its checks
 * and its also unit) in one durable unit; job->done is not called.
 * *job->failed names the write that failed.
 */
enum err fhir_write_run_job(struct store *s, struct fhir_write_job *job);

/* Completion of fhir_write_submit; runs on the store's writer thread: keep it short. */
typedef void fhir_write_done_fn(void *arg, enum err result, size_t failed_index);

struct fhir_write_job {
    struct fhir_write *writes;             /* the writes; caller-owned */
    size_t count;                          /* how many */
    const struct fhir_write_check *checks; /* verified first, in the unit; may be NULL */
    size_t nchecks;                        /* how many */
    store_work_fn *also;                   /* run last in the same unit (an audit entry); NULL */
    void *also_ctx;                        /* its argument */
    fhir_write_done_fn *done;              /* called once when durable or failed */
    void *arg;                             /* its argument */
    size_t failed;                         /* private */
};

/*
 * The asynchronous form of fhir_write_run: serialise on this thread, queue
 * the unit and return at once. job and its writes must stay valid until
 * job->done has been called; the results are then in the writes as above.
 */
void fhir_write_submit(struct store *s, struct fhir_write_job *job);

/*
 * The read-modify step of a patch: the current version of type/id with the
 * JSON Patch applied and the result validated. *out is new (the caller
 * puts it); *version is the version it was made from, to write with
 * If-Match. Errors: ERR_NOT_FOUND, ERR_GONE, ERR_VERSION_CONFLICT (if_match
 * >= 0 and not current), the patch's own errors, ERR_UNPROCESSABLE (the
 * result is not a valid resource, or changes resourceType or id); the
 * problems found are added to d.
 */
enum err fhir_patch_current(struct store *s, const char *type, const char *id, int64_t if_match,
                            json_object *patch, struct diag *d, json_object **out,
                            int64_t *version);

#endif
