/*
 * model.h - the FHIR R4 type model as generated tables (model_gen.c).
 *
 *   fhir_types[i]     one row per type: primitive, complex, resource, abstract,
 *                     backbone ("Patient.contact") and the pseudo-type
 *                     "Resource*" (any concrete resource, for contained etc.)
 *   fhir_elements[]   the elements of type i are rows first .. first+count-1,
 *                     sorted by JSON name (bytewise) for binary search;
 *                     choice elements are expanded (valueQuantity, valueString)
 *                     and share a non-zero choice number.
 */
#ifndef FHIR_MODEL_H
#define FHIR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

enum fhir_kind {
    FHIR_KIND_PRIMITIVE,
    FHIR_KIND_COMPLEX,
    FHIR_KIND_RESOURCE,
    FHIR_KIND_ABSTRACT,
    FHIR_KIND_BACKBONE,
    FHIR_KIND_ANY_RESOURCE,
};

enum fhir_prim {
    FHIR_PRIM_NONE,
    FHIR_PRIM_BOOLEAN,
    FHIR_PRIM_INTEGER,
    FHIR_PRIM_POSITIVE_INT,
    FHIR_PRIM_UNSIGNED_INT,
    FHIR_PRIM_DECIMAL,
    FHIR_PRIM_STRING,
    FHIR_PRIM_CODE,
    FHIR_PRIM_ID,
    FHIR_PRIM_URI,
    FHIR_PRIM_URL,
    FHIR_PRIM_CANONICAL,
    FHIR_PRIM_OID,
    FHIR_PRIM_UUID,
    FHIR_PRIM_DATE,
    FHIR_PRIM_DATETIME,
    FHIR_PRIM_INSTANT,
    FHIR_PRIM_TIME,
    FHIR_PRIM_BASE64,
    FHIR_PRIM_MARKDOWN,
    FHIR_PRIM_XHTML,
};

struct fhir_element {
    const char *name; /* JSON property name */
    uint16_t type;    /* index into fhir_types */
    uint16_t choice;  /* 0, or the choice group shared by alternatives */
    uint16_t min;     /* minimum occurrences (a required choice: 1 on each alternative) */
    uint16_t max;     /* maximum occurrences; 0 = unbounded (a JSON array) */
    uint8_t summary;  /* isSummary: part of _summary=true */
    /* a code with a required binding to one code system: that system (search.html: implicit) */
    const char *system;
};

struct fhir_type {
    const char *name; /* "Patient", "HumanName", "Patient.contact", "string" */
    uint8_t kind;     /* enum fhir_kind */
    uint8_t prim;     /* enum fhir_prim for primitives, else FHIR_PRIM_NONE */
    uint32_t first;   /* first element row */
    uint32_t count;   /* element rows */
};

extern const struct fhir_type fhir_types[];
extern const size_t fhir_type_count;
extern const struct fhir_element fhir_elements[];
extern const size_t fhir_element_count;
extern const char *const fhir_choice_names[];
extern const uint16_t fhir_resource_types[];
extern const size_t fhir_resource_type_count;

/* Index of the concrete resource type with this name, or -1. */
int fhir_resource_type_find(struct str name);
/* Element of type t called name, or NULL. */
const struct fhir_element *fhir_element_find(int type, struct str name);

#endif
