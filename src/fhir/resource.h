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

/* A new random (version 4) UUID in lower case, e.g. for server-assigned ids. */
void fhir_uuid_v4(char out[37]);

/*
 * A new object equal to resource but with id, meta.versionId and
 * meta.lastUpdated set, and resourceType, id, meta first. Other meta fields
 * (profile, tag, security, source) are kept. Caller puts the result.
 */
json_object *fhir_resource_stamp(json_object *resource, const char *id, int64_t version,
                                 int64_t last_updated_ms);

/* Write an OperationOutcome listing every issue in d. */
void fhir_outcome_from_diag(struct buf *out, const struct diag *d);

/* Write an OperationOutcome with one issue. */
void fhir_outcome_single(struct buf *out, const char *severity, enum err code, const char *location,
                         const char *message);

#endif
