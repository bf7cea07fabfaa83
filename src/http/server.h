/*
 * server.h - the HTTP front: libmicrohttpd with its internal epoll thread
 * pool, bounded request bodies and URLs, a per-request arena, an access
 * log, and graceful shutdown. One handler function serves every request.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/str.h"

#define HTTP_MAX_RESPONSE_HEADERS 16

struct http_server;
struct MHD_Connection;

struct http_param {
    const char *name;  /* decoded name */
    const char *value; /* decoded value ("" when absent) */
};

/* One request; everything in it lives in its arena and dies with the request. */
struct http_request {
    struct arena *arena;         /* per-request memory */
    const char *id;              /* request id for logs and X-Request-Id */
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* decoded path, without the query */
    struct http_param *params;   /* query parameters, in order */
    size_t param_count;          /* entries in params */
    struct str body;             /* request body (borrowed from the server) */
    const char *peer;            /* client IP address ("" if unknown) */
    void *auth;                  /* the authenticated caller; set and read by the auth layer */
    struct MHD_Connection *conn; /* private: for header lookups */
    void *ctx;                   /* private: the server's request context */
};

struct http_header {
    const char *name;  /* header name */
    const char *value; /* header value; arena or static */
};

struct http_response {
    int status;                                            /* HTTP status */
    const char *content_type;                              /* NULL = no body type */
    struct buf body;                                       /* response body; capped */
    struct http_header headers[HTTP_MAX_RESPONSE_HEADERS]; /* extra headers */
    size_t header_count;                                   /* used entries */
};

/* The application: called once per complete request, on a worker thread. */
typedef void http_handler_fn(void *app, struct http_request *req, struct http_response *res);

/*
 * Called once the response of a request that reached the handler is final,
 * just before it is sent, on a worker thread (the audit trail hangs here).
 */
typedef void http_finish_fn(void *app, struct http_request *req, const struct http_response *res);

/* Continuation of a suspended request; runs on a worker thread (see http_request_suspend). */
typedef void http_resume_fn(void *app, struct http_request *req, struct http_response *res,
                            void *arg);

/*
 * Suspend the request so that the worker thread serves other connections
 * while slow work (a durable commit) completes elsewhere. Call it from the
 * handler (or a continuation) BEFORE starting the work whose completion
 * calls http_request_resume; then return without touching res. Once
 * resumed, fn(app, req, res, arg) runs on a worker thread and finishes the
 * response as a handler would (it may suspend again). req, res and the
 * arena stay valid throughout.
 */
void http_request_suspend(struct http_request *req, http_resume_fn *fn, void *arg);
/* Wake a suspended request; from any thread, exactly once per suspend. */
void http_request_resume(struct http_request *req);

/* Borrowed: valid until the request ends. NULL if the header is absent. */
const char *http_request_header(const struct http_request *req, const char *name);
/* First query parameter called name, or NULL. */
const char *http_request_param(const struct http_request *req, const char *name);
/* Add a response header; the strings must live until the request ends. */
void http_response_header(struct http_response *res, const char *name, const char *value);

/* Start listening per cfg; *out is the running server. finish may be NULL. */
enum err http_server_start(const struct config *cfg, http_handler_fn *handler,
                           http_finish_fn *finish, void *app, struct http_server **out);
/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *s);
/*
 * Stop accepting new connections, wait up to grace_ms for requests in
 * flight to finish, then close everything and free the server.
 */
void http_server_stop(struct http_server *s, int grace_ms);

#endif
