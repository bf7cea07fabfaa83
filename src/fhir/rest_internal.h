/*
 * rest_internal.h - what the files of the REST layer share: the per-request
 * context and the response helpers.
 */
#ifndef FHIR_REST_INTERNAL_H
#define FHIR_REST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "core/diag.h"
#include "fhir/guard.h"
#include "fhir/operation.h"
#include "fhir/rest.h"

struct fhir_app {
    const struct config *cfg;         /* borrowed, read-only */
    struct store *store;              /* borrowed */
    struct buf capability;            /* the CapabilityStatement, built once */
    struct fhir_reindexer *reindexer; /* background re-index ($reindex) */
    const struct fhir_guard *guard;   /* access decisions; NULL = everything allowed */
    struct fhir_operation ops[FHIR_MAX_OPERATIONS]; /* the modules' operations */
    size_t nops;                                    /* how many */
    struct fhir_rule rules[FHIR_MAX_RULES];         /* the modules' rules on writes */
    size_t nrules;                                  /* how many */
    char base[512];                                 /* configured base, for the capability */
};

struct rest_ctx {
    struct fhir_app *app;       /* the application */
    struct http_request *req;   /* the request */
    struct http_response *res;  /* the response being built */
    struct diag diag;           /* problems found */
    const char *base;           /* FHIR base URL, no trailing slash */
    struct fhir_reach *reach;   /* whose records the caller reaches; rest_reach() fills it */
    struct rest_shares *shares; /* patients known shared (or not) with the caller; rest.c */
};

/* Answer with an OperationOutcome holding one error. */
void rest_error(struct rest_ctx *c, enum err code, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answer with an OperationOutcome of every issue in c->diag. */
void rest_diag_error(struct rest_ctx *c);
/* Set Content-Type to FHIR JSON. */
void rest_json_type(struct rest_ctx *c);
/* ETag and Last-Modified for a version. */
void rest_version_headers(struct rest_ctx *c, int64_t version, int64_t last_updated);
/* Start a Bundle: {"resourceType":"Bundle","id":..,"meta":{"lastUpdated":..},"type":"<type>" */
void rest_bundle_open(struct buf *out, const char *type);
/* Append s to out percent-encoded for a URL query value. */
void rest_url_encode(struct buf *out, const char *s);

/*
 * rest.c: may the caller do interaction ("cruds", see guard.h) on type?
 * When not, the response is a 403 (or 401) OperationOutcome and false.
 */
bool rest_allow(struct rest_ctx *c, char interaction, const char *type);
/* rest.c: the same decision, quietly: ERR_OK, or the error with its reason in why. */
enum err rest_permits(struct rest_ctx *c, char interaction, const char *type, char *why,
                      size_t size);
/* rest.c: whose records the caller reaches (guard.h), with grants expanded; cached. */
const struct fhir_reach *rest_reach(struct rest_ctx *c);
/* rest.c: a resident's own record ("Patient/id") when that is all they reach, or NULL. */
const char *rest_own_patient(struct rest_ctx *c);
/* rest.c: may the caller read type/id (its current version)? */
bool rest_may_read(struct rest_ctx *c, const char *type, const char *id);
/*
 * rest.c: rest_may_read for a resource whose current version is in hand: a
 * record the caller's organisation holds (its custodian tag) is answered
 * without a query.
 */
bool rest_may_read_current(struct rest_ctx *c, const char *type, const char *id,
                           json_object *current);
/*
 * rest.c: confine a search to what the caller reaches (fhir_access_confine);
 * false, with a 403 written, when nothing of the type is reachable.
 */
struct fhir_query;
bool rest_confine(struct rest_ctx *c, struct fhir_query *q);
/* rest.c: the same, quietly: false with the reason in why. */
bool rest_confine_quiet(struct rest_ctx *c, struct fhir_query *q, char *why, size_t size);
/*
 * rest.c: confine the nested queries of q (chains, _has) as they are made:
 * call before adding the caller's parameters.
 */
void rest_confine_nested(struct rest_ctx *c, struct fhir_query *q);
/*
 * rest.c: fit the new content of a write to the caller (fhir_access_admit:
 * the custodian tag, the patient); replaces: the write may replace an
 * existing version; then the modules' rules on the type (fhir_app_add_rule).
 * ERR_OK, or the error with its reason in why.
 */
enum err rest_admit(struct rest_ctx *c, const char *type, const char *id, json_object *resource,
                    bool replaces, char *why, size_t size);
/* rest.c: what w may change, checked in its unit (w->may_change). */
struct fhir_write;
void rest_write_limit(struct rest_ctx *c, struct fhir_write *w);
/* rest.c: may the caller read this resource (an _include, an $everything entry)? Quiet. */
bool rest_may_see(struct rest_ctx *c, struct str type, struct str id);
/* rest.c: tell the guard what the request touched (for the audit trail); the texts are copied. */
void rest_touched(struct rest_ctx *c, const char *type, const char *id, const char *patient);
/* rest.c: the guard's audit unit for a write of this request, into *work and *ctx. */
void rest_write_unit(struct rest_ctx *c, store_work_fn **work, void **ctx);

/* operation.c: the module operation called name on type (or an instance), or NULL. */
const struct fhir_operation *rest_find_operation(struct rest_ctx *c, const char *type,
                                                 const char *name, bool instance);
/* operation.c: call op (method, permission and Parameters checked first); id NULL on the type. */
void rest_operation(struct rest_ctx *c, const struct fhir_operation *op, const char *id);

/* rest_write.c: the write interactions; each suspends the request until durable. */
void rest_create(struct rest_ctx *c, const char *type);
void rest_update(struct rest_ctx *c, const char *type, const char *id);
void rest_delete(struct rest_ctx *c, const char *type, const char *id);
void rest_patch(struct rest_ctx *c, const char *type, const char *id);
/* PUT and DELETE [type]?criteria */
void rest_update_conditional(struct rest_ctx *c, const char *type);
void rest_delete_conditional(struct rest_ctx *c, const char *type);

/*
 * rest.c: the request body as JSON, within the limits (depth, string and
 * array sizes); on error the issue is in c->diag and *out is NULL.
 */
enum err rest_parse_json(struct rest_ctx *c, json_object **out);

/* rest.c: the media type of a header value without parameters, lower-cased. */
void rest_media_type(const char *header, char *out, size_t size);
/* rest.c: application/fhir+json, application/json or application/json+fhir. */
bool rest_is_json_media(const char *m);

/*
 * rest.c: answer GET url (relative to the base, or absolute under it) into
 * res, as if it were its own request; for the GET entries of bundles.
 */
void rest_get_internal(struct rest_ctx *c, const char *url, struct http_response *res);

/* rest.c: GET (progress) and POST (start) [base]/$reindex */
void rest_reindex(struct rest_ctx *c);

/* everything.c: GET Patient/{id}/$everything */
void rest_everything(struct rest_ctx *c, const char *id);

/* bundle.c: POST [base] with a batch or transaction Bundle. */
void rest_bundle(struct rest_ctx *c);

/* search.c: GET [type]?... (form = false) and POST [type]/_search (form = true) */
void rest_search(struct rest_ctx *c, const char *type, bool form);

/* history.c: GET [base]/_history, [type]/_history, [type]/[id]/_history */
void rest_history(struct rest_ctx *c, const char *type, const char *id);

#endif
