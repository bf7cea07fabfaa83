/*
 * resource.h - helpers on whole resources: ids, meta stamping, and the
 * OperationOutcome that answers every error.
 */
#ifndef FHIR_RESOURCE_H
#define FHIR_RESOURCE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/diag.h"

#define FHIR_ID_MAX_LEN 64

/* FHIR R4 datatypes.html#id: [A-Za-z0-9\-\.]{1,64}. */
bool fhir_id_is_valid(const char *s);

/* A new time-ordered (version 7) UUID in lower case, for server-assigned ids. */
void fhir_uuid_v7(char out[37]);

/* The version of an ETag as in If-Match: W/"3" or "3" -> 3; false when malformed. */
bool fhir_etag_version(const char *etag, int64_t *out);

/*
 * A resource serialised in two parts around its meta.versionId and
 * meta.lastUpdated, so that the store's writer thread only splices in the
 * version and time it assigns (no JSON work under the write lock):
 *
 *   head  {"resourceType":"T","id":"I","meta":{"versionId":"
 *         <version>","lastUpdated":"<instant>"
 *   tail  ,"profile":[..]...}  ,"status":...}      other meta, then the rest
 */
struct fhir_stamp_parts {
    char *head;      /* malloc'd */
    size_t head_len; /* bytes */
    char *tail;      /* malloc'd */
    size_t tail_len; /* bytes */
};

/* Prepare the parts for resource under id; release with fhir_stamp_parts_release. */
void fhir_stamp_parts_init(struct fhir_stamp_parts *p, json_object *resource, const char *id);
void fhir_stamp_parts_release(struct fhir_stamp_parts *p);
/* The complete resource text for a version, malloc'd; *out_len its length. */
char *fhir_stamp_render(const struct fhir_stamp_parts *p, int64_t version, int64_t last_updated_ms,
                        size_t *out_len);

/* Write an OperationOutcome listing every issue in d. */
void fhir_outcome_from_diag(struct buf *out, const struct diag *d);

/* Write an OperationOutcome with one issue. */
void fhir_outcome_single(struct buf *out, const char *severity, enum err code, const char *location,
                         const char *message);

/* Remove an empty "entry":[] from a finished Bundle (FHIR JSON allows no empty arrays). */
void fhir_bundle_drop_empty_entry(struct buf *out);

#endif
