/*
 * scan.h - a module's visit of stored resources straight on the store, a
 * page at a time, without a caller's confinement: for directory data a
 * module keeps (catalogues, beds) and for aggregates (indicators). A
 * search on behalf of a caller goes through the REST layer instead.
 */
#ifndef FHIR_SCAN_H
#define FHIR_SCAN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

/* A stored body (len bytes, not NUL-terminated) parsed; NULL if it is not JSON. The caller puts it.
 */
json_object *fhir_parse_body(const char *text, size_t len);

/* Visits resources for fhir_scan_run; false stops the visit. */
typedef bool fhir_scan_fn(void *arg, json_object *resource, int64_t last_updated);

/* A visit of the resources of type matching (name, value) search criteria. */
struct fhir_scan {
    const char *type;
    const char *const (*criteria)[2];
    size_t ncriteria;
    int64_t limit;     /* at most this many resources; 0: every one */
    bool newest_first; /* from the newest resource back, else from the oldest */
    int64_t seen;      /* out: resources visited */
    bool truncated;    /* out: more than limit matched */
};

/* Visit what sc asks for; ERR_INVALID when a criterion is malformed. */
enum err fhir_scan_run(struct store *store, const struct config *cfg, struct arena *a,
                       struct fhir_scan *sc, fhir_scan_fn *fn, void *arg);

#endif
