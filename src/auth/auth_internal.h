/*
 * auth_internal.h - what the files of the auth layer's HTTP side share:
 * the application and the per-request state.
 */
#ifndef AUTH_AUTH_INTERNAL_H
#define AUTH_AUTH_INTERNAL_H

#include "auth/audit.h"
#include "auth/auth.h"
#include "auth/auth_app.h"
#include "fhir/guard.h"
#include "fhir/rest.h"
#include "http/ratelimit.h"

struct auth_app {
    const struct config *cfg;         /* borrowed, read-only */
    struct store *store;              /* borrowed */
    struct fhir_app *fhir;            /* borrowed: the API behind the gate */
    struct audit_log *audit;          /* owned */
    struct auth_policy policy;        /* lock-out and lifetimes */
    struct fhir_guard guard;          /* what the FHIR layer consults */
    struct rate_limiter *per_address; /* requests by client address; NULL = no limit */
    struct rate_limiter *per_user;    /* requests by account; NULL = no limit */
};

/* Per request, in its arena; req->auth points here. */
struct auth_request {
    struct auth_app *app;      /* owner */
    bool authenticated;        /* who is set */
    struct auth_principal who; /* the caller */
    bool audit;                /* record this request */
    const char *subtype;       /* interaction, for the record */
    char action;               /* C R U D E */
    const char *login_user;    /* login attempts: the name given */
    struct audit_event ev;     /* filled as the request goes */
    bool audited_in_unit;      /* a write unit appended the entry */
    const char *break_glass;   /* X-Break-Glass: the emergency reason given, or NULL */
};

/* auth_app.c: bearer authentication of req into ar->who; false with a 401 written. */
bool auth_gate_authenticate(struct auth_app *app, struct auth_request *ar, struct http_request *req,
                            struct http_response *res);
/* guard.c: fill app->guard. */
void auth_guard_init(struct auth_app *app);
/* guard.c: name the interaction of a FHIR request (subtype and action). */
void auth_classify(struct auth_request *ar, const struct http_request *req);
/* guard.c: the audit entry of ar, as it stands, with status. */
void auth_event_finish(struct auth_request *ar, const struct http_request *req, int status);

/* endpoints.c: /auth/token, /auth/revoke, /auth/password, /auth/me, SMART configuration. */
void auth_endpoint(struct auth_app *app, struct http_request *req, struct http_response *res);
/* endpoints.c: an OperationOutcome answer with the status of code. */
void auth_error(struct http_response *res, enum err code, const char *msg);

/* audit_api.c: GET /fhir/AuditEvent (search the trail); other methods refused. */
void auth_audit_api(struct auth_app *app, struct http_request *req, struct http_response *res);

#endif
