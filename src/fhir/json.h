/*
 * json.h - the JSON boundary: bounded, strict parsing of bytes from outside
 * into json-c objects, and serialisation that keeps number text exactly
 * (json-c keeps the source text of decimals, so 6.0 stays 6.0).
 */
#ifndef FHIR_JSON_H
#define FHIR_JSON_H

#include <json-c/json.h>
#include <stddef.h>

#include "core/diag.h"
#include "core/err.h"

/*
 * Parse len bytes as one JSON value, at most max_depth deep, strict, UTF-8
 * validated. On success *out is a new reference the caller puts. On failure
 * an issue is added to d and ERR_STRUCTURE (or ERR_TOO_LARGE) returned.
 */
enum err fhir_json_parse(const char *data, size_t len, int max_depth, struct diag *d,
                         json_object **out);

/*
 * Is every string of v at most max_string bytes and every array at most
 * max_items long (recursively; v's depth is already bounded)? ERR_OK, or
 * ERR_TOO_LARGE with an issue added to d.
 */
enum err fhir_json_check_sizes(json_object *v, size_t max_string, size_t max_items, struct diag *d);

/* Compact serialisation; borrowed, valid until obj is put or changed. */
const char *fhir_json_text(json_object *obj, size_t *out_len);

#endif
