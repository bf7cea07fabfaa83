/*
 * fhirpath.h - the subset of FHIRPath that the R4 SearchParameter
 * expressions use, over json-c trees typed by the generated model:
 *
 *   paths (Observation.code.coding), choice elements (Observation.value),
 *   "|" union, "x as T", "x is T", .as(T), .ofType(T), .where(criteria),
 *   resolve() (for "resolve() is T" on references), .exists(),
 *   .extension('url'), .hasExtension('url'), [n] indexers, = and != against
 *   string and boolean literals, "and".
 *
 * An expression is parsed once (fhirpath_compile) and evaluated many times.
 */
#ifndef FHIR_FHIRPATH_H
#define FHIR_FHIRPATH_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct fhirpath;

/* One value of a result: a JSON value and its FHIR type (index into fhir_types). */
struct fhirpath_item {
    json_object *value;   /* borrowed from the evaluated resource */
    int type;             /* fhir_types index; -1 for a boolean result or a resolved reference */
    const char *ref_type; /* resolve(): the referenced resource type, else NULL */
    bool boolean;         /* value of a boolean result (type -1, ref_type NULL) */
    const char *system;   /* a code element's implicit code system (its binding), else NULL */
};

struct fhirpath_result {
    struct fhirpath_item *items; /* owned */
    size_t count;                /* used */
    size_t size;                 /* allocated */
};

/*
 * Compile text. On a syntax error or an unsupported construct returns
 * ERR_INVALID and writes a one-line reason to why (size why_size).
 */
enum err fhirpath_compile(const char *text, struct fhirpath **out, char *why, size_t why_size);
void fhirpath_free(struct fhirpath *fp);

/* Evaluate on a resource (a JSON object with resourceType); out is reset first. */
void fhirpath_eval(const struct fhirpath *fp, json_object *resource, struct fhirpath_result *out);

/* Evaluate with item as $this (the components of a composite parameter); %resource is resource. */
void fhirpath_eval_focus(const struct fhirpath *fp, json_object *resource,
                         const struct fhirpath_item *item, struct fhirpath_result *out);

void fhirpath_result_init(struct fhirpath_result *r);
void fhirpath_result_release(struct fhirpath_result *r);

#endif
