/*
 * patch.h - JSON Patch (RFC 6902) on json-c trees, for the FHIR patch
 * interaction with Content-Type application/json-patch+json.
 */
#ifndef FHIR_PATCH_H
#define FHIR_PATCH_H

#include <json-c/json.h>

#include "core/diag.h"
#include "core/err.h"

/*
 * Apply the patch document (a JSON array of operations) to a deep copy of
 * target. On success *out is the patched copy (caller puts it). On failure
 * target is unchanged, an issue is added to d, and ERR_INVALID (malformed
 * patch) or ERR_UNPROCESSABLE (a path that does not exist, a failed test)
 * is returned.
 */
enum err fhir_json_patch(json_object *target, json_object *patch, struct diag *d,
                         json_object **out);

#endif
