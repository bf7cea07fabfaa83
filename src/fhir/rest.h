/*
 * rest.h - the FHIR R4 RESTful API (http.html) over the store: read, vread,
 * create, update, patch, delete, history (instance, type, system) and
 * capabilities, under the base path /fhir.
 */
#ifndef FHIR_REST_H
#define FHIR_REST_H

#include "core/config.h"
#include "fhir/guard.h"
#include "http/server.h"
#include "store/store.h"

struct fhir_app;

/* Set up the API over store; both borrowed and must outlive the app. */
struct fhir_app *fhir_app_new(const struct config *cfg, struct store *store);
void fhir_app_free(struct fhir_app *app);
/* Consult guard (borrowed, outliving the app) on every request; call before serving. */
void fhir_app_set_guard(struct fhir_app *app, const struct fhir_guard *guard);

/* The HTTP handler (http_handler_fn); app is a struct fhir_app. */
void fhir_app_handle(void *app, struct http_request *req, struct http_response *res);

#endif
