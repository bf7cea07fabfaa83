/*
 * guard.h - how the FHIR layer asks the layer above it (auth/) what the
 * caller may do, without knowing about accounts or tokens. The REST code
 * calls these at each interaction; with no guard installed (the unit tests,
 * the importer) everything is allowed.
 *
 * Interactions use the letters of SMART App Launch v2 scopes:
 *   c create   r read, vread, instance history   u update, patch
 *   d delete   s search, type and system history
 */
#ifndef FHIR_GUARD_H
#define FHIR_GUARD_H

#include <stdbool.h>

#include "core/err.h"
#include "http/server.h"
#include "store/store.h"

/*
 * Whose records a caller works on (see fhir/access.h for what each kind
 * reaches). Strings belong to the request.
 */
enum fhir_reach_kind {
    FHIR_REACH_ALL,      /* every record: platform administrators, province-wide clients */
    FHIR_REACH_PATIENTS, /* the compartments of patients[]: residents (own, and by consent) */
    FHIR_REACH_ORG,      /* what org holds, and the records of patients shared with it */
    FHIR_REACH_REGION,   /* directory data and the indicators of org's region: regulators */
};

#define FHIR_REACH_MAX_PATIENTS 16 /* a resident's own record plus those granted to them */

struct fhir_reach {
    enum fhir_reach_kind kind;
    const char *org;    /* ORG, REGION: "Organization/id" ("Organization/-": none) */
    const char *person; /* ORG: the caller's "Practitioner/id", or NULL */
    const char *patients[FHIR_REACH_MAX_PATIENTS]; /* PATIENTS: "Patient/id"; [0] the caller */
    size_t npatients;                              /* how many */
    bool break_glass; /* reads and searches reach every record (an audited emergency) */
    /* REGION, filled by the FHIR layer: org and the organisations beneath it */
    const char **region;
    size_t nregion;
};

struct fhir_guard {
    void *self; /* the implementation's state */
    /*
     * May the caller of req do interaction (one of "cruds") on type (a
     * resource type, or "*" for every type)? ERR_OK, or ERR_FORBIDDEN
     * with a reason written to why (size bytes).
     */
    enum err (*allow)(void *self, const struct http_request *req, char interaction,
                      const char *type, char *why, size_t size);
    /*
     * Whose records the caller works on. For residents only patients[0],
     * the caller's own record, is filled: the FHIR layer adds the patients
     * who granted the caller access (fhir/access.h).
     */
    void (*reach)(void *self, const struct http_request *req, struct fhir_reach *out);
    /* May the caller run server-wide operations ($reindex)? */
    bool (*is_admin)(void *self, const struct http_request *req);
    /*
     * Tell the guard what the request touched, for its audit record: the
     * resource ("Type/id") and the patient whose data it is ("Patient/id"
     * or NULL). May be called more than once per request.
     */
    void (*touched)(void *self, const struct http_request *req, const char *resource,
                    const char *patient);
    /*
     * A unit of work to run in the same transaction as a successful write
     * of req (the audit entry of the write), or NULL; *out_ctx is its
     * argument. The unit runs on the store's writer thread.
     */
    store_work_fn *(*write_unit)(void *self, const struct http_request *req, void **out_ctx);
};

#endif
