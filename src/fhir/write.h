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

#include "core/err.h"
#include "store/store.h"

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
    /* results, valid after fhir_write_run returned ERR_OK: */
    int64_t version;      /* version written (or current, for a no-op) */
    int64_t last_updated; /* its lastUpdated, ms */
    bool created;         /* there was no live version before */
    bool noop;            /* nothing written (delete of a deleted resource) */
    char *body;           /* stored JSON, malloc'd (caller frees); NULL for delete */
    size_t body_len;      /* bytes in body */
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

#endif
