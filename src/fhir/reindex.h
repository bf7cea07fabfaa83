/*
 * reindex.h - rebuild the search index of every current resource, when the
 * index layout changed (FHIR_SEARCH_INDEX_VERSION) or on request.
 *
 * Online: the server keeps serving while a background thread re-indexes in
 * batches; each batch replaces its resources' entries in one unit, so a
 * search sees a resource either with its old entries or its new ones.
 * Resumable: the position (type, key) is stored in the same unit as each
 * batch, so a run stopped by a restart or a crash continues where it
 * stopped. Progress is visible through GET [base]/$reindex and the log.
 */
#ifndef FHIR_REINDEX_H
#define FHIR_REINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* Store meta names: the index version the data was indexed with, and a run's position. */
#define FHIR_INDEX_VERSION_META "search_index_version"
#define FHIR_REINDEX_PENDING    "reindex_pending"
#define FHIR_REINDEX_TYPE       "reindex_type"
#define FHIR_REINDEX_KEY        "reindex_key"

enum fhir_reindex_state {
    FHIR_REINDEX_IDLE,    /* never started in this process */
    FHIR_REINDEX_RUNNING, /* working */
    FHIR_REINDEX_DONE,    /* finished */
    FHIR_REINDEX_FAILED,  /* stopped on an error (the next start resumes) */
    FHIR_REINDEX_STOPPED, /* stopped by shutdown (the next start resumes) */
};

struct fhir_reindex_progress {
    enum fhir_reindex_state state; /* see above */
    int64_t done;                  /* resources re-indexed so far in this run */
    int64_t total;                 /* current resources when the run started */
    int64_t started_ms;            /* when it started (or resumed), ms */
    int64_t finished_ms;           /* when it ended, 0 while running */
    bool resumed;                  /* it continued a run that an earlier process began */
};

/* Called after each batch (may be NULL). */
typedef void fhir_reindex_progress_fn(const struct fhir_reindex_progress *p, void *arg);

/*
 * Re-index on this thread, resuming a pending run, then record
 * FHIR_SEARCH_INDEX_VERSION. *out_count gets the resources done.
 */
enum err fhir_reindex_all(struct store *s, size_t *out_count, fhir_reindex_progress_fn *fn,
                          void *arg);

/* True when the stored index version differs from this program's, or a run is pending. */
bool fhir_reindex_needed(struct store *s);

/* What fhir_index_verify found. */
struct fhir_verify_report {
    int64_t checked;    /* current resources compared */
    int64_t differ;     /* of them, with stored entries unlike freshly computed ones */
    int64_t stale_keys; /* entries stored for resources that are not current (deleted) */
};

/* Called for each resource whose entries differ. */
typedef void fhir_verify_diff_fn(const char *type, const char *id, void *arg);

/*
 * Verify the stored index: compute every current resource's entries as a
 * re-index would and compare them with the stored ones. Read-only; may run
 * while the server serves (each page is read in one snapshot, but a write
 * between the two reads of a page can show as a difference: run it again).
 */
enum err fhir_index_verify(struct store *s, struct fhir_verify_report *out,
                           fhir_verify_diff_fn *diff, void *arg);

/* A background re-index. */
struct fhir_reindexer;

struct fhir_reindexer *fhir_reindexer_new(struct store *s);
/* Start a run (a full one, or the pending one); false if one is running already. */
bool fhir_reindexer_start(struct fhir_reindexer *r);
void fhir_reindexer_progress(struct fhir_reindexer *r, struct fhir_reindex_progress *out);
/* Stop (between batches) and wait; a stopped run resumes on the next start. */
void fhir_reindexer_free(struct fhir_reindexer *r);

#endif
