/*
 * auth_app.h - the gate in front of the FHIR API: the OAuth2-style token
 * endpoints, bearer-token authentication of every /fhir request (except
 * the CapabilityStatement), the access decisions the FHIR layer asks for
 * (fhir/guard.h), and the audit trail of every request.
 */
#ifndef AUTH_AUTH_APP_H
#define AUTH_AUTH_APP_H

#include "core/config.h"
#include "fhir/rest.h"
#include "http/server.h"
#include "store/store.h"

struct auth_app;

/* Put the gate in front of fhir (installs its guard); all borrowed, must outlive it. */
struct auth_app *auth_app_new(const struct config *cfg, struct store *store, struct fhir_app *fhir);
/* Writes what the audit queue holds, then frees. Call after the HTTP server stopped. */
void auth_app_free(struct auth_app *app);

/* The HTTP handler (http_handler_fn) and final-response hook (http_finish_fn). */
void auth_app_handle(void *app, struct http_request *req, struct http_response *res);
void auth_app_finish(void *app, struct http_request *req, const struct http_response *res);

#endif
