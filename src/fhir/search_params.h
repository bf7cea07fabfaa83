/*
 * search_params.h - the R4 SearchParameter definitions as a generated table
 * (search_gen.c, from tools/gen_search.py). Rows are sorted by resource
 * type, then code; rows of type "Resource" apply to every resource type.
 */
#ifndef FHIR_SEARCH_PARAMS_H
#define FHIR_SEARCH_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

enum fhir_search_type {
    FHIR_SEARCH_NUMBER,
    FHIR_SEARCH_DATE,
    FHIR_SEARCH_STRING,
    FHIR_SEARCH_TOKEN,
    FHIR_SEARCH_REFERENCE,
    FHIR_SEARCH_COMPOSITE,
    FHIR_SEARCH_QUANTITY,
    FHIR_SEARCH_URI,
    FHIR_SEARCH_SPECIAL,
};

struct fhir_search_param {
    const char *base;       /* resource type, or "Resource" for every type */
    const char *code;       /* the name used in URLs: "identifier" */
    int type;               /* enum fhir_search_type */
    const char *expression; /* FHIRPath, as in the definition ("" for special) */
    const char *targets;    /* reference targets, comma-separated ("" = any) */
    const char *components; /* composite: "code:type:expression;..." ("" otherwise) */
};

/* A resource type and the parameter that puts it in a compartment. */
struct fhir_compartment_link {
    const char *type;  /* "Observation" */
    const char *param; /* "subject" */
};

extern const struct fhir_search_param fhir_search_params[];
extern const size_t fhir_search_param_count;

/* The Patient compartment of R4 (CompartmentDefinition-patient), sorted by type. */
extern const struct fhir_compartment_link fhir_patient_compartment[];
extern const size_t fhir_patient_compartment_count;

/* The R4 names of the types ("token"), by enum fhir_search_type. */
extern const char *const fhir_search_type_names[];

/* One component of a composite parameter: "code:type:expression" in components. */
struct fhir_composite_part {
    struct str code;       /* the component's own parameter code */
    int type;              /* enum fhir_search_type */
    struct str expression; /* FHIRPath relative to each value of the composite's expression */
};

#define FHIR_COMPOSITE_MAX_PARTS 3

/*
 * The components of composite p into out (at most FHIR_COMPOSITE_MAX_PARTS);
 * returns how many, 0 when p is not a composite.
 */
size_t fhir_search_composite_parts(const struct fhir_search_param *p,
                                   struct fhir_composite_part *out);

/*
 * Whether composite p is indexed and searchable: two components, the first
 * a token or a reference, the second of any type but composite. parts gets
 * the components either way.
 */
bool fhir_search_composite_is_indexed(const struct fhir_search_param *p,
                                      struct fhir_composite_part *parts);

/* The parameter code of resource type (or of every resource), or NULL. */
const struct fhir_search_param *fhir_search_param_find(const char *type, struct str code);

#endif
