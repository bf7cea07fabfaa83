/*
 * endpoints.c - the OAuth2-style endpoints (RFC 6749 password and
 * refresh_token grants, RFC 7009 revocation), the password change that a
 * one-time password requires, "who am I", and the SMART configuration
 * (.well-known/smart-configuration). Errors of the token endpoints are in
 * the RFC 6749 JSON form that OAuth clients expect; every other error is an
 * OperationOutcome.
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth_internal.h"
#include "core/timeutil.h"
#include "fhir/query.h"

struct form {
    struct fhir_query_pair *pairs; /* decoded */
    size_t count;                  /* how many */
};

static const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (!strcmp(f->pairs[i].name, name))
            return f->pairs[i].value;
    return NULL;
}

static void oauth_error(struct http_response *res, int status, const char *error,
                        const char *description)
{
    res->status = status;
    buf_reset(&res->body);
    buf_printf(&res->body, "{\"error\":\"%s\",\"error_description\":", error);
    buf_append_json_string(&res->body, description, strlen(description));
    buf_append_str(&res->body, "}");
    res->content_type = "application/json";
    http_response_header(res, "Cache-Control", "no-store");
}

/* A POSTed form; false with the error written when the request is not one. */
static bool read_form(struct http_request *req, struct http_response *res, struct form *out)
{
    const char *ct = http_request_header(req, "Content-Type");
    if (strcmp(req->method, "POST") != 0) {
        auth_error(res, ERR_METHOD, "use POST / 请使用 POST");
        http_response_header(res, "Allow", "POST");
        return false;
    }
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_error(res, 400, "invalid_request",
                    "the body must be application/x-www-form-urlencoded");
        return false;
    }
    out->count = fhir_query_split(req->arena, req->body.ptr ? req->body.ptr : "", req->body.len,
                                  &out->pairs);
    return true;
}

static void token_answer(struct auth_app *app, struct http_response *res,
                         const struct store_user *u, const char *scope)
{
    char access[AUTH_TOKEN_CHARS + 1], refresh[AUTH_TOKEN_CHARS + 1];
    enum err err = auth_token_issue(app->store, u->name, scope, STORE_TOKEN_ACCESS,
                                    app->policy.access_ttl_s, access);
    if (!err)
        err = auth_token_issue(app->store, u->name, scope, STORE_TOKEN_REFRESH,
                               app->policy.refresh_ttl_s, refresh);
    if (err) {
        auth_error(res, err, "cannot issue a token now / 暂时无法签发令牌");
        return;
    }
    struct buf *b = &res->body;
    buf_reset(b);
    buf_printf(b,
               "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":%d,"
               "\"refresh_token\":\"%s\",\"refresh_expires_in\":%d,\"scope\":",
               access, app->policy.access_ttl_s, refresh, app->policy.refresh_ttl_s);
    buf_append_json_string(b, scope, strlen(scope));
    /* SMART launch context: a resident's own patient */
    if (!strncmp(u->subject, "Patient/", 8))
        buf_printf(b, ",\"patient\":\"%s\"", u->subject + 8);
    if (*u->subject)
        buf_printf(b, ",\"fhirUser\":\"%s\"", u->subject);
    buf_append_str(b, "}");
    res->status = 200;
    res->content_type = "application/json";
    http_response_header(res, "Cache-Control", "no-store");
    http_response_header(res, "Pragma", "no-cache");
}

/* The scopes to grant u for requested; false with the error written. */
static bool grant(struct http_request *req, struct http_response *res, const struct store_user *u,
                  const char *requested, const char **out)
{
    const struct auth_role *role = auth_role_find(u->role);
    struct auth_scopes allowed, asked;
    char why[200];
    if (!role || auth_scopes_parse(role->scopes, &allowed, why, sizeof(why))) {
        oauth_error(res, 400, "invalid_grant", "the account has no valid role");
        return false;
    }
    if (auth_scopes_parse(requested, &asked, why, sizeof(why))) {
        oauth_error(res, 400, "invalid_scope", why);
        return false;
    }
    struct buf b;
    buf_init(&b, 64 * 1024);
    auth_scopes_grant(&allowed, &asked, &b);
    if (!b.len) {
        buf_release(&b);
        oauth_error(res, 400, "invalid_scope",
                    "none of the requested scopes is allowed to the role");
        return false;
    }
    *out = arena_strndup(req->arena, b.ptr, b.len);
    buf_release(&b);
    return true;
}

static void password_grant(struct auth_app *app, struct auth_request *ar, struct http_request *req,
                           struct http_response *res, const struct form *f)
{
    const char *name = form_get(f, "username"), *password = form_get(f, "password");
    if (!name || !password) {
        oauth_error(res, 400, "invalid_request", "username and password are required");
        return;
    }
    ar->login_user = arena_strndup(req->arena, name, strnlen(name, 64));
    struct store_user u;
    enum err err = auth_login(app->store, &app->policy, name, password, req->arena, &u);
    if (err == ERR_TOO_MANY) {
        oauth_error(res, 429, "invalid_grant",
                    "账户因多次登录失败已被临时锁定 / the account is locked after repeated "
                    "failed logins; try again later");
        http_response_header(res, "Retry-After",
                             arena_printf(req->arena, "%d", app->policy.lockout_s));
        return;
    }
    if (err) {
        oauth_error(res, err == ERR_UNAUTHORIZED ? 400 : 503, "invalid_grant",
                    "用户名或密码错误 / wrong user name or password");
        return;
    }
    if (u.must_change) {
        oauth_error(res, 400, "invalid_grant",
                    "请先修改一次性密码 / the one-time password must be changed first "
                    "(POST /auth/password)");
        return;
    }
    const char *scope;
    if (grant(req, res, &u, form_get(f, "scope"), &scope))
        token_answer(app, res, &u, scope);
}

static void refresh_grant(struct auth_app *app, struct auth_request *ar, struct http_request *req,
                          struct http_response *res, const struct form *f)
{
    const char *token = form_get(f, "refresh_token");
    struct store_token t;
    struct store_user u;
    enum err err = token ? auth_token_check(app->store, token, STORE_TOKEN_REFRESH, req->arena, &t)
                         : ERR_UNAUTHORIZED;
    if (!err)
        err = store_user_get(app->store, t.user, req->arena, &u);
    if (err || u.disabled) {
        oauth_error(res, 400, "invalid_grant", "the refresh token is not valid");
        return;
    }
    ar->login_user = t.user;
    /* rotation: a refresh token is good for one use */
    if (auth_token_revoke(app->store, token)) {
        auth_error(res, ERR_UNAVAILABLE, "cannot refresh now / 暂时无法刷新令牌");
        return;
    }
    const char *scope = t.scope;
    const char *asked = form_get(f, "scope");
    if (asked && *asked) {
        /* a refresh may narrow the scopes, never widen them */
        struct auth_scopes had, want;
        char why[200];
        struct buf b;
        buf_init(&b, 64 * 1024);
        if (auth_scopes_parse(t.scope, &had, why, sizeof(why)) ||
            auth_scopes_parse(asked, &want, why, sizeof(why))) {
            buf_release(&b);
            oauth_error(res, 400, "invalid_scope", why);
            return;
        }
        auth_scopes_grant(&had, &want, &b);
        scope = arena_strndup(req->arena, b.ptr ? b.ptr : "", b.len);
        buf_release(&b);
    }
    token_answer(app, res, &u, scope);
}

static void token_endpoint(struct auth_app *app, struct auth_request *ar, struct http_request *req,
                           struct http_response *res)
{
    struct form f;
    if (!read_form(req, res, &f))
        return;
    const char *grant_type = form_get(&f, "grant_type");
    ar->audit = true;
    ar->subtype = "login";
    ar->action = 'E';
    if (grant_type && !strcmp(grant_type, "password"))
        password_grant(app, ar, req, res, &f);
    else if (grant_type && !strcmp(grant_type, "refresh_token"))
        refresh_grant(app, ar, req, res, &f);
    else
        oauth_error(res, 400, "unsupported_grant_type",
                    "grant_type must be password or refresh_token");
}

static void revoke_endpoint(struct auth_app *app, struct auth_request *ar, struct http_request *req,
                            struct http_response *res)
{
    struct form f;
    if (!read_form(req, res, &f))
        return;
    const char *token = form_get(&f, "token");
    ar->audit = true;
    ar->subtype = "logout";
    ar->action = 'E';
    if (!token) {
        oauth_error(res, 400, "invalid_request", "token is required");
        return;
    }
    if (auth_token_revoke(app->store, token)) {
        auth_error(res, ERR_UNAVAILABLE, "cannot revoke now / 暂时无法注销");
        return;
    }
    /* RFC 7009 2.2: 200 whether or not the token was known */
    res->status = 200;
    res->content_type = "application/json";
    buf_append_str(&res->body, "{}");
}

static void password_endpoint(struct auth_app *app, struct auth_request *ar,
                              struct http_request *req, struct http_response *res)
{
    struct form f;
    if (!read_form(req, res, &f))
        return;
    const char *name = form_get(&f, "username"), *old = form_get(&f, "password");
    const char *fresh = form_get(&f, "new_password");
    ar->audit = true;
    ar->subtype = "password";
    ar->action = 'U';
    if (!name || !old || !fresh) {
        auth_error(res, ERR_INVALID, "username, password and new_password are required");
        return;
    }
    ar->login_user = arena_strndup(req->arena, name, strnlen(name, 64));
    struct store_user u;
    enum err err = auth_login(app->store, &app->policy, name, old, req->arena, &u);
    if (err) {
        auth_error(res, err == ERR_TOO_MANY ? err : ERR_UNAUTHORIZED,
                   err == ERR_TOO_MANY ? "账户已被临时锁定 / the account is locked; try later"
                                       : "用户名或密码错误 / wrong user name or password");
        return;
    }
    if (!strcmp(old, fresh)) {
        auth_error(res, ERR_INVALID, "新密码不能与原密码相同 / the new password must differ");
        return;
    }
    char why[160];
    err = auth_user_set_password(app->store, name, fresh, false, why, sizeof(why));
    if (err) {
        auth_error(res, err, err == ERR_INVALID ? why : "cannot change the password now");
        return;
    }
    res->status = 200;
    res->content_type = "application/json";
    buf_append_str(&res->body, "{\"status\":\"changed\"}");
}

static void me_endpoint(struct auth_app *app, struct auth_request *ar, struct http_request *req,
                        struct http_response *res)
{
    if (!auth_gate_authenticate(app, ar, req, res))
        return;
    const struct auth_principal *w = &ar->who;
    struct buf *b = &res->body;
    buf_printf(b, "{\"user\":\"%s\",\"role\":\"%s\",\"roleName\":{\"zh\":\"%s\",\"en\":\"%s\"},",
               w->user, w->role->code, w->role->zh, w->role->en);
    buf_append_str(b, "\"organization\":");
    buf_append_json_string(b, w->org, strlen(w->org));
    buf_append_str(b, ",\"fhirUser\":");
    buf_append_json_string(b, w->subject, strlen(w->subject));
    buf_append_str(b, ",\"scope\":");
    buf_append_json_string(b, w->scope_text, strlen(w->scope_text));
    buf_append_str(b, "}");
    res->status = 200;
    res->content_type = "application/json";
    http_response_header(res, "Cache-Control", "no-store");
}

static void smart_configuration(struct auth_app *app, struct http_request *req,
                                struct http_response *res)
{
    const char *host = http_request_header(req, "Host");
    const char *base = *app->cfg->base_url ? app->cfg->base_url : NULL;
    char origin[300];
    if (base) {
        /* base_url is .../fhir: the origin is what comes before it */
        const char *f = strstr(base, "/fhir");
        snprintf(origin, sizeof(origin), "%.*s", (int)(f ? f - base : (long)strlen(base)), base);
    } else {
        bool ok = host && strlen(host) < 256 && !strpbrk(host, "\"\\<> /");
        snprintf(origin, sizeof(origin), "http://%s", ok ? host : "localhost");
    }
    buf_printf(&res->body,
               "{\"issuer\":\"%s\",\"token_endpoint\":\"%s/auth/token\","
               "\"revocation_endpoint\":\"%s/auth/revoke\","
               "\"grant_types_supported\":[\"password\",\"refresh_token\"],"
               "\"token_endpoint_auth_methods_supported\":[\"none\"],"
               "\"scopes_supported\":[\"patient/*.rs\",\"user/*.cruds\",\"system/*.cruds\","
               "\"offline_access\",\"fhirUser\"],"
               "\"capabilities\":[\"permission-v2\",\"permission-v1\",\"permission-patient\","
               "\"permission-user\",\"permission-offline\"]}",
               origin, origin, origin);
    res->status = 200;
    res->content_type = "application/json";
}

void auth_endpoint(struct auth_app *app, struct http_request *req, struct http_response *res)
{
    struct auth_request *ar = req->auth;
    const char *p = req->path;
    res->status = 200;
    if (!strcmp(p, "/auth/token"))
        token_endpoint(app, ar, req, res);
    else if (!strcmp(p, "/auth/revoke"))
        revoke_endpoint(app, ar, req, res);
    else if (!strcmp(p, "/auth/password"))
        password_endpoint(app, ar, req, res);
    else if (!strcmp(p, "/auth/me") && !strcmp(req->method, "GET"))
        me_endpoint(app, ar, req, res);
    else if (strstr(p, ".well-known/smart-configuration") && !strcmp(req->method, "GET"))
        smart_configuration(app, req, res);
    else
        auth_error(res, ERR_NOT_FOUND, "no such path / 路径不存在");
}
