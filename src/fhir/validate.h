/*
 * validate.h - structural validation of a FHIR R4 resource against the
 * generated model: known elements, cardinality, required elements, choice
 * types, primitive formats, contained resources, extensions, no empty
 * values. Every problem is reported to the diag, with a FHIRPath-like
 * location; validation never stops at the first problem.
 */
#ifndef FHIR_VALIDATE_H
#define FHIR_VALIDATE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/diag.h"
#include "fhir/model.h"

/*
 * Validate a resource. On return, d holds every problem found; the result
 * is true when none is an error. resource may be any JSON value.
 */
bool fhir_validate_resource(json_object *resource, struct diag *d);

/* True when s (len bytes) is a valid value of the primitive type prim. */
bool fhir_primitive_text_is_valid(enum fhir_prim prim, const char *s, size_t len);

#endif
