/*
 * auth_app.c - the gate (see auth_app.h): routes the /auth/ endpoints and the SMART
 * configuration to endpoints.c, authenticates every other /fhir request by
 * its bearer token, and records each request in the audit trail when its
 * response is final.
 */
#include "auth/auth_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/resource.h"

struct auth_app *auth_app_new(const struct config *cfg, struct store *store, struct fhir_app *fhir)
{
    struct auth_app *app = xcalloc(1, sizeof(*app));
    app->cfg = cfg;
    app->store = store;
    app->fhir = fhir;
    app->audit = audit_log_new(store);
    auth_policy_from_config(&app->policy, cfg);
    auth_guard_init(app);
    fhir_app_set_guard(fhir, &app->guard);
    app->per_address = rate_limiter_new(cfg->limit_address_rps, cfg->limit_address_burst);
    app->per_user = rate_limiter_new(cfg->limit_user_rps, cfg->limit_user_burst);
    return app;
}

void auth_app_free(struct auth_app *app)
{
    if (!app)
        return;
    fhir_app_set_guard(app->fhir, NULL);
    audit_log_free(app->audit);
    rate_limiter_free(app->per_address);
    rate_limiter_free(app->per_user);
    free(app);
}

void auth_error(struct http_response *res, enum err code, const char *msg)
{
    res->status = err_http_status(code);
    buf_reset(&res->body);
    fhir_outcome_single(&res->body, "error", code, NULL, msg);
    res->content_type = "application/fhir+json; charset=utf-8";
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static bool is_public(const char *path)
{
    return !strcmp(path, "/") || !strcmp(path, "/index.html") || !strcmp(path, "/healthz") ||
           !strcmp(path, "/fhir/metadata") || !strcmp(path, "/fhir/metadata/");
}

/* The search being made, as a query string, for the audit entry (never the results). */
static const char *query_text(const struct http_request *req)
{
    struct buf q;
    buf_init(&q, 8192);
    for (size_t i = 0; i < req->param_count; i++)
        buf_printf(&q, "%s%s=%s", i ? "&" : "", req->params[i].name, req->params[i].value);
    if (req->body.len && !strcmp(req->method, "POST"))
        buf_printf(&q, "%s%.*s", q.len ? "&" : "",
                   (int)(req->body.len > 4096 ? 4096 : req->body.len), req->body.ptr);
    const char *text = arena_strndup(req->arena, q.ptr ? q.ptr : "", q.len);
    buf_release(&q);
    return text;
}

bool auth_gate_authenticate(struct auth_app *app, struct auth_request *ar, struct http_request *req,
                            struct http_response *res)
{
    const char *h = http_request_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        auth_error(res, ERR_UNAUTHORIZED,
                   "请先登录 / authentication required: send 'Authorization: Bearer <token>' "
                   "(tokens from POST /auth/token)");
        http_response_header(res, "WWW-Authenticate", "Bearer realm=\"yujian\"");
        return false;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    char why[160];
    enum err err = auth_authenticate(app->store, token, req->arena, &ar->who, why, sizeof(why));
    if (err) {
        auth_error(res, err == ERR_UNAUTHORIZED ? err : ERR_UNAVAILABLE,
                   arena_printf(req->arena, "登录已失效，请重新登录 / %s", why));
        http_response_header(res, "WWW-Authenticate",
                             "Bearer realm=\"yujian\", error=\"invalid_token\"");
        return false;
    }
    ar->authenticated = true;
    return true;
}

/*
 * X-Break-Glass: an emergency read beyond the caller's usual reach, by a
 * role allowed it, with a reason of 4-200 bytes of text that goes into the
 * audit entry. False with an answer written when refused.
 */
static bool take_break_glass(struct auth_request *ar, const struct http_request *req,
                             struct http_response *res)
{
    const char *reason = http_request_header(req, "X-Break-Glass");
    if (!reason)
        return true;
    while (*reason == ' ')
        reason++;
    size_t n = strlen(reason);
    bool text = n >= 4 && n <= 200;
    for (const unsigned char *p = (const unsigned char *)reason; text && *p; p++)
        text = *p >= 0x20 && *p != 0x7f;
    if (!ar->who.role->break_glass) {
        auth_error(res, ERR_FORBIDDEN,
                   arena_printf(req->arena, "%s无紧急授权权限 / role '%s' may not break the glass",
                                ar->who.role->zh, ar->who.role->code));
        return false;
    }
    if (!text) {
        auth_error(
            res, ERR_INVALID,
            "紧急授权需说明理由（4-200字节）/ X-Break-Glass needs a reason of 4-200 bytes of "
            "text");
        return false;
    }
    ar->break_glass = reason;
    return true;
}

/*
 * One more request of key (an address, an account) within l's rate? False
 * with a 429 and Retry-After written when not. Throttled requests are not
 * audited one by one (a flood would flood the trail); they are counted in
 * the access log.
 */
static bool within_rate(struct rate_limiter *l, const char *key, struct http_request *req,
                        struct http_response *res, const char *zh, const char *en)
{
    int retry = 0;
    if (rate_limiter_take(l, key, time_now_ms(), &retry))
        return true;
    auth_error(res, ERR_TOO_MANY,
               arena_printf(req->arena, "%s / %s; retry in %d s", zh, en, retry));
    http_response_header(res, "Retry-After", arena_printf(req->arena, "%d", retry));
    return false;
}

void auth_app_handle(void *appv, struct http_request *req, struct http_response *res)
{
    struct auth_app *app = appv;
    struct auth_request *ar = arena_alloc(req->arena, sizeof(*ar));
    memset(ar, 0, sizeof(*ar));
    ar->app = app;
    req->auth = ar;
    const char *path = req->path;
    if (!within_rate(app->per_address, req->peer ? req->peer : "", req, res, "本地址请求过于频繁",
                     "too many requests from this address"))
        return;
    if (starts_with(path, "/auth/") || !strcmp(path, "/.well-known/smart-configuration") ||
        !strcmp(path, "/fhir/.well-known/smart-configuration")) {
        auth_endpoint(app, req, res);
        return;
    }
    if (is_public(path) || !starts_with(path, "/fhir")) {
        fhir_app_handle(app->fhir, req, res);
        return;
    }
    /* every other /fhir request is recorded, refused ones included */
    ar->audit = true;
    auth_classify(ar, req);
    if (!strcmp(ar->subtype, "search-type"))
        ar->ev.query = query_text(req);
    if (!auth_gate_authenticate(app, ar, req, res))
        return;
    if (!within_rate(app->per_user, ar->who.user, req, res, "本账号请求过于频繁",
                     "too many requests from this account")) {
        ar->audit = false;
        return;
    }
    if (audit_log_failing(app->audit)) {
        /* no access without its entry; the refusal has none (it could not be written either) */
        ar->audit = false;
        auth_error(res, ERR_UNAVAILABLE,
                   "审计记录暂时无法写入，暂停访问 / the audit trail cannot be written now; "
                   "access is paused until it can");
        http_response_header(res, "Retry-After", "5");
        return;
    }
    if (!take_break_glass(ar, req, res))
        return;
    auth_event_finish(ar, req, 0);
    if (starts_with(path, "/fhir/AuditEvent") &&
        (path[16] == '\0' || path[16] == '/' || path[16] == '?')) {
        auth_audit_api(app, req, res);
        return;
    }
    fhir_app_handle(app->fhir, req, res);
}

void auth_app_finish(void *appv, struct http_request *req, const struct http_response *res)
{
    struct auth_app *app = appv;
    struct auth_request *ar = req->auth;
    if (!ar || !ar->audit)
        return;
    /* a write's entry is in the write's own transaction, unless the write failed */
    if (ar->audited_in_unit && res->status < 400)
        return;
    auth_event_finish(ar, req, res->status);
    audit_log_submit(app->audit, &ar->ev);
}
