/*
 * server.c - libmicrohttpd glue. MHD calls the access handler several times
 * per request: first with headers only (we set up the request context and
 * check Content-Length against the cap), then with body chunks (appended
 * to a capped buffer), then once with no data (we run the application).
 * The context, its arena and its buffer are freed in the completion
 * callback, which MHD calls exactly once per request.
 *
 * A handler may suspend its request (a write waiting for its durable
 * commit): MHD takes the connection out of its event loop, the worker
 * thread goes on with others, and when the work completes it resumes the
 * connection; MHD then calls the access handler once more and we run the
 * continuation. req and res live in the context, so they survive the gap.
 */

#include "http/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

/* One worker thread: a libmicrohttpd daemon polling the connections handed to it. */
struct worker {
    struct http_server *server; /* owner */
    struct MHD_Daemon *daemon;  /* its own thread, no listening socket */
    int open;                   /* connections it has (under the server's conn_lock) */
};

/* Open connections of one client address (IPv4, network order); n = 0: a free slot to reuse. */
struct addr_count {
    uint32_t ip; /* the address */
    int n;       /* its open connections */
    bool used;   /* the slot was ever taken (open addressing) */
};

struct http_server {
    struct worker *workers;    /* cfg->threads of them */
    int nworkers;              /* how many */
    int listen_fd;             /* the listening socket */
    pthread_t acceptor;        /* accepts and hands connections to the workers */
    bool acceptor_started;     /* the thread runs */
    atomic_bool accepting;     /* cleared to stop it */
    pthread_mutex_t conn_lock; /* guards workers[].open, open_total and addrs */
    int open_total;            /* connections open */
    struct addr_count *addrs;  /* per client address, when there is a limit per address */
    size_t addr_cap;           /* slots, a power of two */
    size_t addr_used;          /* slots ever taken since the last rebuild */
    http_handler_fn *handler;  /* application entry */
    http_finish_fn *on_finish; /* final response hook, or NULL */
    void *app;                 /* its argument */
    const struct config *cfg;  /* borrowed, read-only */
    atomic_long in_flight;     /* requests begun and not completed */
    atomic_long suspended;     /* requests suspended, waiting to be resumed */
    atomic_bool stopping;      /* shutdown began: answer new requests 503 */
    atomic_ulong next_id;      /* request-id counter */
    unsigned id_prefix;        /* random per process */
    uint16_t port;             /* bound port */
};

struct request_ctx {
    struct http_server *server; /* owner */
    struct arena arena;         /* per-request memory */
    struct buf body;            /* request body, capped at max_body_bytes */
    bool too_large;             /* body passed the cap: answer 413 */
    bool started;               /* the handler has run (req and res are set up) */
    int64_t start_ms;           /* for the access log */
    char id[24];                /* request id */
    int worker;                 /* index of the worker whose connection it came on */
    char peer[64];              /* client address */
    struct http_request req;    /* the request, once the body is complete */
    struct http_response res;   /* the response being built */
    http_resume_fn *resume_fn;  /* set while suspended: what runs on resumption */
    void *resume_arg;           /* its argument */
    atomic_bool resumed;        /* http_request_resume was called for this suspension */
    atomic_bool closing;        /* the client left: finishing without libmicrohttpd */
};

/* ---- request helpers ---- */

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_param(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

void http_response_header(struct http_response *res, const char *name, const char *value)
{
    if (res->header_count == HTTP_MAX_RESPONSE_HEADERS) {
        log_error(LOG_HTTP, "too many response headers dropped=%s", name);
        return;
    }
    res->headers[res->header_count].name = name;
    res->headers[res->header_count].value = value;
    res->header_count++;
}

struct param_collect {
    struct http_request *req; /* target */
    size_t cap;               /* slots in req->params */
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct param_collect *pc = cls;
    struct http_request *req = pc->req;
    if (req->param_count == pc->cap) {
        size_t cap = pc->cap ? pc->cap * 2 : 8;
        struct http_param *p = arena_alloc(req->arena, cap * sizeof(*p));
        if (req->param_count)
            memcpy(p, req->params, req->param_count * sizeof(*p));
        req->params = p;
        pc->cap = cap;
    }
    req->params[req->param_count].name = key;
    req->params[req->param_count].value = value ? value : "";
    req->param_count++;
    return MHD_YES;
}

/* ---- responses ---- */

static void simple_error_body(struct http_response *res, int status, const char *code,
                              const char *msg)
{
    res->status = status;
    res->content_type = "application/fhir+json; charset=utf-8";
    buf_reset(&res->body);
    buf_printf(&res->body,
               "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
               "\"code\":\"%s\",\"diagnostics\":\"%s\"}]}",
               code, msg);
}

static bool has_header(const struct http_response *res, const char *name)
{
    for (size_t i = 0; i < res->header_count; i++)
        if (!strcasecmp(res->headers[i].name, name))
            return true;
    return false;
}

/*
 * On every response, unless the application set its own: no MIME sniffing,
 * no framing, no referrer, a content policy that allows nothing (a page
 * sets the one it needs), and no caching (answers hold health records).
 */
static void add_security_headers(struct MHD_Response *r, const struct http_response *res)
{
    static const char *const defaults[][2] = {
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
        {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
        {"Cache-Control", "no-store"},
        {"Cross-Origin-Resource-Policy", "same-origin"},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if (!has_header(res, defaults[i][0]))
            MHD_add_response_header(r, defaults[i][0], defaults[i][1]);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct request_ctx *ctx,
                                     struct http_response *res)
{
    size_t len = 0;
    char *data = buf_detach(&res->body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    if (res->content_type && len)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (size_t i = 0; i < res->header_count; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    MHD_add_response_header(r, "X-Request-Id", ctx->id);
    add_security_headers(r, res);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Path text safe for the log: printable ASCII only, truncated. Never the query. */
static void log_safe_path(const char *path, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = path; *p && n + 1 < size; p++)
        out[n++] = (*p > 32 && *p < 127 && *p != '"') ? *p : '?';
    out[n] = '\0';
}

static bool valid_request_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
            return false;
    return true;
}

static struct request_ctx *ctx_new(struct http_server *s, struct MHD_Connection *conn)
{
    struct request_ctx *ctx = xcalloc(1, sizeof(*ctx));
    ctx->server = s;
    arena_init(&ctx->arena, 8192);
    buf_init(&ctx->body, (size_t)s->cfg->max_body_bytes);
    ctx->start_ms = time_now_ms();
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const struct worker *w = ci ? ci->socket_context : NULL;
    ctx->worker = w ? (int)(w - s->workers) : -1;
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given && valid_request_id(given))
        snprintf(ctx->id, sizeof(ctx->id), "%s", given);
    else
        snprintf(ctx->id, sizeof(ctx->id), "%08x-%lx", s->id_prefix,
                 (unsigned long)atomic_fetch_add(&s->next_id, 1));
    atomic_fetch_add(&s->in_flight, 1);
    return ctx;
}

void http_request_suspend(struct http_request *req, http_resume_fn *fn, void *arg)
{
    struct request_ctx *ctx = req->ctx;
    assert(!ctx->resume_fn);
    ctx->resume_fn = fn;
    ctx->resume_arg = arg;
    atomic_fetch_add(&ctx->server->suspended, 1);
    atomic_store(&ctx->resumed, false);
    if (!atomic_load(&ctx->closing))
        MHD_suspend_connection(req->conn);
}

void http_request_resume(struct http_request *req)
{
    struct request_ctx *ctx = req->ctx;
    bool closing =
        atomic_load(&ctx->closing); /* read before the flag below lets on_completed free ctx */
    atomic_store(&ctx->resumed, true);
    /* libmicrohttpd: "It is safe to resume a suspended connection at any time." */
    if (!closing)
        MHD_resume_connection(req->conn);
}

static void peer_address(struct MHD_Connection *conn, char *out, size_t size)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}

/* Is addr one of the comma-separated addresses of list? */
static bool listed(const char *list, const char *addr)
{
    size_t n = strlen(addr);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && n && !strncmp(p, addr, n))
            return true;
        p += len;
    }
    return false;
}

/*
 * Behind a trusted reverse proxy (server.trusted_proxies), the client is
 * the address the proxies appended last to X-Forwarded-For: the rightmost
 * entry that is not itself a trusted proxy. Entries that are not IP
 * addresses are ignored (the header is otherwise the client's to write).
 */
static void forwarded_client(struct MHD_Connection *conn, const char *proxies, char *peer,
                             size_t size)
{
    if (!proxies || !*proxies || !listed(proxies, peer))
        return;
    const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff || strlen(xff) > 2048)
        return;
    char copy[2049];
    snprintf(copy, sizeof(copy), "%s", xff);
    for (char *end = copy + strlen(copy);;) {
        char *comma = end;
        while (comma > copy && comma[-1] != ',')
            comma--;
        char entry[64];
        size_t len = (size_t)(end - comma);
        while (len && *comma == ' ')
            comma++, len--;
        while (len && comma[len - 1] == ' ')
            len--;
        unsigned char bin[16];
        bool ip = len && len < sizeof(entry);
        if (ip) {
            memcpy(entry, comma, len);
            entry[len] = '\0';
            ip = inet_pton(AF_INET, entry, bin) == 1 || inet_pton(AF_INET6, entry, bin) == 1;
        }
        if (ip && !listed(proxies, entry)) {
            snprintf(peer, size, "%s", entry);
            return;
        }
        if (!ip || comma == copy)
            return; /* not an address, or all trusted: keep the proxy's */
        end = comma - 1;
    }
}

/* The response is complete: log it and hand it to libmicrohttpd. */
static enum MHD_Result finish(struct http_server *s, struct MHD_Connection *conn,
                              struct request_ctx *ctx, const char *url, const char *method)
{
    struct http_response *res = &ctx->res;
    if (s->on_finish && ctx->req.method)
        s->on_finish(s->app, &ctx->req, res);
    if (s->cfg->access_log) {
        char path[256];
        log_safe_path(url, path, sizeof(path));
        log_info(LOG_HTTP,
                 "access req=%s method=%s path=\"%s\" status=%d bytes=%zu ms=%lld worker=%d",
                 ctx->id, method, path, res->status, res->body.len,
                 (long long)(time_now_ms() - ctx->start_ms), ctx->worker);
    }
    enum MHD_Result ret = send_response(conn, ctx, res);
    buf_release(&res->body);
    return ret;
}

static enum MHD_Result run_app(struct http_server *s, struct MHD_Connection *conn,
                               struct request_ctx *ctx, const char *url, const char *method)
{
    struct http_response *res = &ctx->res;
    if (ctx->started) {
        /* resumed after a suspension: run the continuation */
        http_resume_fn *fn = ctx->resume_fn;
        ctx->resume_fn = NULL;
        atomic_fetch_sub(&s->suspended, 1);
        fn(s->app, &ctx->req, res, ctx->resume_arg);
        return ctx->resume_fn ? MHD_YES : finish(s, conn, ctx, url, method);
    }
    ctx->started = true;
    memset(res, 0, sizeof(*res));
    buf_init(&res->body, 512u * 1024 * 1024);
    if (ctx->too_large) {
        char msg[128];
        snprintf(msg, sizeof(msg), "request body exceeds the limit of %d bytes",
                 s->cfg->max_body_bytes);
        simple_error_body(res, 413, "too-costly", msg);
    } else if (atomic_load(&s->stopping)) {
        /* nothing new may start (and suspend) once shutdown has begun */
        simple_error_body(res, 503, "transient", "server is shutting down");
        http_response_header(res, "Connection", "close");
    } else if (strlen(url) > (size_t)s->cfg->max_url_bytes) {
        simple_error_body(res, 414, "too-costly", "request URL is too long");
    } else {
        struct http_request *req = &ctx->req;
        memset(req, 0, sizeof(*req));
        req->arena = &ctx->arena;
        req->id = ctx->id;
        req->method = method;
        req->path = url;
        req->conn = conn;
        req->ctx = ctx;
        req->body = str_make(ctx->body.ptr, ctx->body.len);
        peer_address(conn, ctx->peer, sizeof(ctx->peer));
        forwarded_client(conn, s->cfg->trusted_proxies, ctx->peer, sizeof(ctx->peer));
        req->peer = ctx->peer;
        struct param_collect pc = {req, 0};
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &pc);
        s->handler(s->app, req, res);
        if (ctx->resume_fn)
            return MHD_YES; /* suspended: the response comes later */
    }
    return finish(s, conn, ctx, url, method);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct request_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = ctx_new(s, conn);
        *con_cls = ctx;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->cfg->max_body_bytes) {
            ctx->too_large = true;
            /* Answer at once; MHD then closes the connection unread. */
            return run_app(s, conn, ctx, url, method);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (time_now_ms() - ctx->start_ms > (int64_t)s->cfg->request_timeout_s * 1000) {
            /* a client trickling its body holds a connection: cut it off */
            log_warn(LOG_HTTP, "req=%s body not received within %d s: connection closed", ctx->id,
                     s->cfg->request_timeout_s);
            return MHD_NO;
        }
        if (!ctx->too_large && buf_append(&ctx->body, upload_data, *upload_data_size) != ERR_OK) {
            ctx->too_large = true;
            buf_release(&ctx->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return run_app(s, conn, ctx, url, method);
}

/*
 * The client closed its connection while its request was suspended:
 * libmicrohttpd ends the request (here) instead of calling us again, so
 * the continuation, which releases what the work held and records the
 * request, would never run and a shutdown would wait for it forever. Run
 * it here, waiting for each resumption (a continuation may suspend again,
 * as a retried conditional write does).
 */
static void finish_orphan(struct http_server *s, struct request_ctx *ctx)
{
    atomic_store(&ctx->closing, true);
    while (ctx->resume_fn) {
        while (!atomic_load(&ctx->resumed)) {
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        http_resume_fn *fn = ctx->resume_fn;
        ctx->resume_fn = NULL;
        atomic_fetch_sub(&s->suspended, 1);
        fn(s->app, &ctx->req, &ctx->res, ctx->resume_arg);
        if (!ctx->resume_fn && s->on_finish && ctx->req.method)
            s->on_finish(s->app, &ctx->req, &ctx->res);
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct http_server *s = cls;
    struct request_ctx *ctx = *con_cls;
    if (!ctx)
        return;
    finish_orphan(s, ctx);
    buf_release(&ctx->body);
    if (ctx->started)
        buf_release(&ctx->res.body);
    arena_release(&ctx->arena);
    free(ctx);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_warn(LOG_HTTP, "libmicrohttpd msg=\"%s\"", line);
}

/*
 * Percent-decoding of the path and the query (libmicrohttpd's), except
 * "%00": a NUL inside would cut the C string short (/fhir/Patient/a%00b read
 * as Patient/a, /console/app.js%00.css as app.js), so it stays as the three
 * characters, which no type, id or file name accepts. Decoding only
 * shrinks, so each piece moves left and "%00" is copied back behind it.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *out = s, *piece = s;
    for (;;) {
        char *nul = strstr(piece, "%00");
        if (nul)
            *nul = '\0';
        size_t n = MHD_http_unescape(piece);
        memmove(out, piece, n);
        out += n;
        if (!nul)
            break;
        memcpy(out, "%00", 3);
        out += 3;
        piece = nul + 3;
    }
    *out = '\0';
    return (size_t)(out - s);
}

/*
 * ---- connections ----
 *
 * Accepted here, not by libmicrohttpd. In its thread pool every worker
 * polls the one listening socket and the first to wake accepts a series:
 * the 16 connections a client opened at once were often all on one or two
 * of the four workers (perf: one worker thread at 45-49 % of the samples,
 * the others idle), which then had one core of the two for every request.
 * Instead: one daemon per worker thread, without a listening socket, and
 * one thread here that accepts and hands each connection to the worker
 * with the fewest open. The limits on connections, in all and per client
 * address, which libmicrohttpd kept per daemon, are kept here for all.
 */

static struct addr_count *addr_find(struct http_server *s, uint32_t ip, bool add)
{
    size_t mask = s->addr_cap - 1, i = (ip * 2654435761u) & mask;
    struct addr_count *reuse = NULL;
    for (; s->addrs[i].used; i = (i + 1) & mask) {
        if (s->addrs[i].ip == ip)
            return &s->addrs[i];
        if (!reuse && s->addrs[i].n == 0)
            reuse = &s->addrs[i];
    }
    if (!add)
        return NULL;
    if (!reuse) {
        reuse = &s->addrs[i];
        s->addr_used++;
    }
    *reuse = (struct addr_count){ip, 0, true};
    return reuse;
}

/* Under conn_lock: once half the slots were ever taken, keep only addresses with connections. */
static void addr_rebuild(struct http_server *s)
{
    if (s->addr_used * 2 < s->addr_cap)
        return;
    struct addr_count *old = s->addrs;
    s->addrs = xcalloc(s->addr_cap, sizeof(*s->addrs));
    s->addr_used = 0;
    for (size_t i = 0; i < s->addr_cap; i++)
        if (old[i].used && old[i].n > 0)
            addr_find(s, old[i].ip, true)->n = old[i].n;
    free(old);
}

/* The worker a new connection from ip goes to, counted; -1 if a limit refuses it. */
static int admit(struct http_server *s, uint32_t ip)
{
    int per_address = s->cfg->max_connections_per_address;
    pthread_mutex_lock(&s->conn_lock);
    int w = -1;
    struct addr_count *a = NULL;
    if (s->open_total < s->cfg->max_connections) {
        if (per_address > 0) {
            addr_rebuild(s);
            a = addr_find(s, ip, true);
        }
        if (!a || a->n < per_address) {
            w = 0;
            for (int i = 1; i < s->nworkers; i++)
                if (s->workers[i].open < s->workers[w].open)
                    w = i;
            s->workers[w].open++;
            s->open_total++;
            if (a)
                a->n++;
        }
    }
    pthread_mutex_unlock(&s->conn_lock);
    return w;
}

/* A connection admit counted has closed. */
static void release(struct http_server *s, int w, uint32_t ip)
{
    pthread_mutex_lock(&s->conn_lock);
    if (s->workers[w].open > 0)
        s->workers[w].open--;
    if (s->open_total > 0)
        s->open_total--;
    struct addr_count *a = s->cfg->max_connections_per_address > 0 ? addr_find(s, ip, false) : NULL;
    if (a && a->n > 0)
        a->n--;
    pthread_mutex_unlock(&s->conn_lock);
}

static uint32_t client_ip(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
        return 0;
    return ((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr.s_addr;
}

/* libmicrohttpd: a connection of worker cls began (marked) or closed (released, if marked). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct worker *w = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = w;
    } else if (*socket_context == w) {
        *socket_context = NULL;
        release(w->server, (int)(w - w->server->workers), client_ip(conn));
    }
}

static void *acceptor_main(void *arg)
{
    struct http_server *s = arg;
    int64_t logged_ms = 0;
    while (atomic_load(&s->accepting)) {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        int fd = accept(s->listen_fd, (struct sockaddr *)&peer, &len);
        if (fd >= 0)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (fd < 0) {
            if (!atomic_load(&s->accepting) || errno == EINTR || errno == ECONNABORTED)
                continue;
            /* out of descriptors or memory: wait a little rather than spin */
            if (time_now_ms() - logged_ms > 30000) {
                log_warn(LOG_HTTP, "accept failed errno=%d", errno);
                logged_ms = time_now_ms();
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        int w = admit(s, peer.sin_addr.s_addr);
        if (w < 0) {
            close(fd); /* over a limit: refused as libmicrohttpd refused it */
            continue;
        }
        /* libmicrohttpd owns fd from here, and closes it when it refuses it */
        if (MHD_add_connection(s->workers[w].daemon, fd, (const struct sockaddr *)&peer, len) !=
            MHD_YES)
            release(s, w, peer.sin_addr.s_addr);
    }
    return NULL;
}

static enum err open_listener(struct http_server *s, const struct sockaddr_in *addr)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s->listen_fd < 0 ||
        setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(s->listen_fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 ||
        listen(s->listen_fd, 1024) != 0) {
        log_error(LOG_HTTP, "cannot listen host=%s port=%d errno=%d", s->cfg->host, s->cfg->port,
                  errno);
        return ERR_UNAVAILABLE;
    }
    struct sockaddr_in bound;
    socklen_t len = sizeof(bound);
    if (getsockname(s->listen_fd, (struct sockaddr *)&bound, &len) != 0)
        return ERR_UNAVAILABLE;
    s->port = ntohs(bound.sin_port);
    return ERR_OK;
}

/* Stop accepting (the thread, then the socket) and every worker; s is freed. */
static void teardown(struct http_server *s)
{
    if (s->acceptor_started) {
        atomic_store(&s->accepting, false);
        shutdown(s->listen_fd, SHUT_RDWR); /* wakes accept() */
        pthread_join(s->acceptor, NULL);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].daemon)
            MHD_stop_daemon(s->workers[i].daemon);
    pthread_mutex_destroy(&s->conn_lock);
    free(s->workers);
    free(s->addrs);
    free(s);
}

enum err http_server_start(const struct config *cfg, http_handler_fn *handler,
                           http_finish_fn *on_finish, void *app, struct http_server **out)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->handler = handler;
    s->on_finish = on_finish;
    s->app = app;
    s->cfg = cfg;
    s->listen_fd = -1;
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->suspended, 0);
    atomic_init(&s->stopping, false);
    atomic_init(&s->accepting, true);
    atomic_init(&s->next_id, 1);
    s->id_prefix = (unsigned)time_now_ms() ^ ((unsigned)getpid() << 16);
    pthread_mutex_init(&s->conn_lock, NULL);
    s->nworkers = cfg->threads;
    s->workers = xcalloc((size_t)s->nworkers, sizeof(*s->workers));
    s->addr_cap = 64;
    while (s->addr_cap < 4 * (size_t)cfg->max_connections)
        s->addr_cap *= 2;
    s->addrs = xcalloc(s->addr_cap, sizeof(*s->addrs));

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        log_error(LOG_HTTP, "bad listen address host=%s (an IPv4 address is expected)", cfg->host);
        teardown(s);
        return ERR_CONFIG;
    }
    enum err err = open_listener(s, &addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    for (int i = 0; !err && i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        w->server = s;
        /* each daemon could take every connection: the limits are admit()'s */
        w->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
            MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
        if (!w->daemon) {
            log_error(LOG_HTTP, "cannot start HTTP worker %d", i);
            err = ERR_UNAVAILABLE;
        }
    }
    if (!err && pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0)
        err = ERR_INTERNAL;
    if (err) {
        teardown(s);
        return err;
    }
    s->acceptor_started = true;
    log_info(LOG_HTTP, "listening host=%s port=%u threads=%d", cfg->host, s->port, cfg->threads);
    *out = s;
    return ERR_OK;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop(struct http_server *s, int grace_ms)
{
    if (!s)
        return;
    atomic_store(&s->accepting, false);
    shutdown(s->listen_fd, SHUT_RDWR); /* no new connections; wakes the acceptor */
    atomic_store(&s->stopping, true);
    int64_t deadline = time_now_ms() + grace_ms;
    while (atomic_load(&s->in_flight) > 0 && time_now_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /*
     * libmicrohttpd aborts if stopped with a suspended connection, and a
     * suspended request is a write waiting for its commit, which always
     * completes while the store is open: wait for every one, past the grace.
     */
    int64_t next_log = time_now_ms() + 5000;
    while (atomic_load(&s->suspended) > 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (time_now_ms() > next_log) {
            log_warn(LOG_HTTP, "waiting for suspended requests count=%ld",
                     (long)atomic_load(&s->suspended));
            next_log += 5000;
        }
    }
    long left = atomic_load(&s->in_flight);
    teardown(s);
    log_info(LOG_HTTP, "stopped unfinished=%ld", left);
}
