/*
 * search_index.h - what a resource contributes to search: for each search
 * parameter of its type (search_params.h), the FHIRPath expression is
 * evaluated and each value turned into store index entries (store.h).
 */
#ifndef FHIR_SEARCH_INDEX_H
#define FHIR_SEARCH_INDEX_H

#include <json-c/json.h>

#include "core/arena.h"
#include "fhir/search_params.h"
#include "store/store.h"

/*
 * Version of the index layout. Raise it whenever extraction changes what
 * it produces; the server then rebuilds the index at start-up.
 */
/* 2: composites, :text, :of-type, :identifier; 3: implicit code systems of bound codes */
#define FHIR_SEARCH_INDEX_VERSION 3

/* The index entries of one resource version; everything lives in the arena. */
struct fhir_index {
    struct arena arena;                /* owns entries and their strings */
    struct store_index_entry *entries; /* the entries */
    size_t count;                      /* used */
    size_t size;                       /* allocated */
};

/* Compile every expression once; safe to call from several threads (pthread_once). */
void fhir_search_init(void);

/*
 * Compute the entries of resource (valid, of a known type); ix is
 * initialised here. Entries are distinct: a value found twice for one
 * parameter is one entry.
 */
void fhir_index_compute(struct fhir_index *ix, json_object *resource);
void fhir_index_release(struct fhir_index *ix);

/*
 * The patient whose compartment resource (valid) belongs to, as
 * "Patient/id" in a, by the compartment parameters of its type
 * (CompartmentDefinition-patient): the first one found, or NULL.
 */
const char *fhir_compartment_patient(json_object *resource, const char *type, const char *id,
                                     struct arena *a);

/* Every such patient (distinct, at most max) into out; how many. */
size_t fhir_compartment_patients(json_object *resource, const char *type, const char *id,
                                 struct arena *a, const char **out, size_t max);

/* The first row of type's own parameters and how many; *out_count 0 if none. */
const struct fhir_search_param *fhir_search_params_of(const char *type, size_t *out_count);

/* The store index kind (enum store_index_kind) of a search type; -1 for composite and special. */
int fhir_search_index_kind(int search_type);

/* Lower-case ASCII letters of s into the arena (string search is case-insensitive). */
char *fhir_search_normalise(struct arena *a, const char *s, size_t len);

#endif
