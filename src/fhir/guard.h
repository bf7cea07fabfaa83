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
     * The patient the caller is confined to ("Patient/id"), or NULL when
     * the caller is not confined to one patient's compartment.
     */
    const char *(*compartment)(void *self, const struct http_request *req);
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
