/*
 * rest.c - routing and the instance/type interactions of FHIR R4 http.html.
 *
 *   /fhir/metadata                       GET      capabilities
 *   /fhir/_history                       GET      system history
 *   /fhir/{type}                         POST     create
 *   /fhir/{type}/_history                GET      type history
 *   /fhir/{type}/{id}                    GET PUT PATCH DELETE
 *   /fhir/{type}/{id}/_history           GET      instance history
 *   /fhir/{type}/{id}/_history/{vid}     GET      vread
 *
 * Every error is an OperationOutcome with the status from err_codes.def.
 */
#include "fhir/rest.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/capability.h"
#include "fhir/json.h"
#include "fhir/model.h"
#include "fhir/patch.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/validate.h"
#include "fhir/write.h"

#define MAX_SEGMENTS  5
#define PATCH_RETRIES 5

static const char *const FHIR_JSON = "application/fhir+json; charset=utf-8";

enum prefer_return { PREFER_REPRESENTATION, PREFER_MINIMAL, PREFER_OUTCOME };

/* ---- response helpers ---- */

void rest_json_type(struct rest_ctx *c)
{
    c->res->content_type = FHIR_JSON;
}

void rest_error(struct rest_ctx *c, enum err code, const char *location, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->res->status = err_http_status(code);
    buf_reset(&c->res->body);
    fhir_outcome_single(&c->res->body, "error", code, location, msg);
    rest_json_type(c);
}

void rest_diag_error(struct rest_ctx *c)
{
    c->res->status = err_http_status(c->diag.first_error ? c->diag.first_error : ERR_INVALID);
    buf_reset(&c->res->body);
    fhir_outcome_from_diag(&c->res->body, &c->diag);
    rest_json_type(c);
}

void rest_version_headers(struct rest_ctx *c, int64_t version, int64_t last_updated)
{
    struct arena *a = c->req->arena;
    http_response_header(c->res, "ETag", arena_printf(a, "W/\"%lld\"", (long long)version));
    char date[40];
    time_format_http(last_updated, date, sizeof(date));
    http_response_header(c->res, "Last-Modified", arena_strndup(a, date, strlen(date)));
}

void rest_url_encode(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == ':') {
            buf_append(out, p, 1);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, enc, 3);
        }
    }
}

/* ---- request helpers ---- */

/* The media type without parameters, lower-cased, into out. */
static void media_type(const char *header, char *out, size_t size)
{
    size_t n = 0;
    while (*header == ' ')
        header++;
    for (; *header && *header != ';' && *header != ',' && n + 1 < size; header++)
        if (*header != ' ')
            out[n++] = (char)tolower((unsigned char)*header);
    out[n] = '\0';
}

static bool is_json_media(const char *m)
{
    return !strcmp(m, "application/fhir+json") || !strcmp(m, "application/json") ||
           !strcmp(m, "application/json+fhir");
}

/* FHIR R4 http.html#mime-type: _format overrides Accept; we serve JSON only. */
static bool negotiate(struct rest_ctx *c)
{
    const char *fmt = http_request_param(c->req, "_format");
    if (fmt) {
        char m[64];
        media_type(fmt, m, sizeof(m));
        if (!strcmp(m, "json") || is_json_media(m))
            return true;
        rest_error(c, ERR_NOT_ACCEPTABLE, NULL,
                   "format '%.40s' is not supported; this server speaks JSON only", fmt);
        return false;
    }
    const char *accept = http_request_header(c->req, "Accept");
    if (!accept || !*accept)
        return true;
    for (const char *p = accept; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        char m[64];
        media_type(p, m, sizeof(m));
        if (is_json_media(m) || !strcmp(m, "*/*") || !strcmp(m, "application/*"))
            return true;
    }
    rest_error(c, ERR_NOT_ACCEPTABLE, NULL,
               "none of the accepted types is supported; this server speaks JSON only "
               "(application/fhir+json)");
    return false;
}

static bool check_body_type(struct rest_ctx *c, bool is_patch)
{
    const char *ct = http_request_header(c->req, "Content-Type");
    if (!ct || !*ct)
        return true; /* lenient: a body without a type is read as JSON */
    char m[64];
    media_type(ct, m, sizeof(m));
    if (is_patch ? !strcmp(m, "application/json-patch+json") : is_json_media(m))
        return true;
    rest_error(c, ERR_MEDIA_TYPE, NULL, "content type '%s' is not supported here; use %s", m,
               is_patch ? "application/json-patch+json" : "application/fhir+json");
    return false;
}

static enum prefer_return prefer_return(struct rest_ctx *c)
{
    const char *p = http_request_header(c->req, "Prefer");
    if (p && strstr(p, "return=minimal"))
        return PREFER_MINIMAL;
    if (p && strstr(p, "return=OperationOutcome"))
        return PREFER_OUTCOME;
    return PREFER_REPRESENTATION;
}

/* If-Match: W/"3" or "3" -> 3; -1 when absent; false when malformed. */
static bool parse_if_match(struct rest_ctx *c, int64_t *out)
{
    *out = -1;
    const char *h = http_request_header(c->req, "If-Match");
    if (!h)
        return true;
    const char *p = h;
    if (p[0] == 'W' && p[1] == '/')
        p += 2;
    char *end = NULL;
    if (*p == '"')
        p++;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || end == p || v < 1 || (*end != '"' && *end != '\0')) {
        rest_error(c, ERR_INVALID, NULL, "If-Match header '%.40s' is not a version ETag", h);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_body(struct rest_ctx *c, json_object **out)
{
    if (fhir_json_parse(c->req->body.ptr, c->req->body.len, c->app->cfg->max_json_depth, &c->diag,
                        out)) {
        rest_diag_error(c);
        return false;
    }
    return true;
}

/* Parse, check resourceType against the URL, validate. */
static bool parse_resource(struct rest_ctx *c, const char *type, json_object **out)
{
    json_object *obj = NULL;
    if (!parse_body(c, &obj))
        return false;
    json_object *rt = NULL;
    if (json_object_get_type(obj) != json_type_object ||
        !json_object_object_get_ex(obj, "resourceType", &rt) ||
        json_object_get_type(rt) != json_type_string) {
        rest_error(c, ERR_INVALID, NULL, "body is not a FHIR resource (no 'resourceType')");
        json_object_put(obj);
        return false;
    }
    if (strcmp(json_object_get_string(rt), type) != 0) {
        rest_error(c, ERR_INVALID, "resourceType",
                   "resourceType '%.64s' does not match the URL type '%s'",
                   json_object_get_string(rt), type);
        json_object_put(obj);
        return false;
    }
    if (!fhir_validate_resource(obj, &c->diag)) {
        rest_diag_error(c);
        json_object_put(obj);
        return false;
    }
    *out = obj;
    return true;
}

/* ---- answering a write ---- */

static void respond_written(struct rest_ctx *c, const char *type, struct fhir_write *w, int status,
                            bool location)
{
    rest_version_headers(c, w->version, w->last_updated);
    if (location) {
        http_response_header(c->res, "Location",
                             arena_printf(c->req->arena, "%s/%s/%s/_history/%lld", c->base, type,
                                          w->id, (long long)w->version));
    }
    c->res->status = status;
    buf_reset(&c->res->body);
    switch (prefer_return(c)) {
    case PREFER_MINIMAL:
        break;
    case PREFER_OUTCOME:
        fhir_outcome_single(&c->res->body, "information", ERR_OK, NULL,
                            status == 201 ? "resource created" : "resource updated");
        rest_json_type(c);
        break;
    default:
        buf_append(&c->res->body, w->body, w->body_len);
        rest_json_type(c);
    }
}

static void respond_write_error(struct rest_ctx *c, enum err err, const char *type, const char *id)
{
    if (err == ERR_VERSION_CONFLICT)
        rest_error(c, err, NULL, "version of '%s/%s' does not match If-Match", type, id);
    else if (err == ERR_NOT_FOUND)
        rest_error(c, err, NULL, "resource '%s/%s' not found", type, id);
    else
        rest_error(c, err, NULL, "cannot write '%s/%s': %s", type, id, err_message(err));
}

/* ---- interactions ---- */

static void do_read(struct rest_ctx *c, const char *type, const char *id, int64_t version)
{
    struct store_row row;
    buf_reset(&c->res->body);
    enum err err = store_read(c->app->store, type, id, version, &c->res->body, &row);
    if (err == ERR_NOT_FOUND) {
        if (version)
            rest_error(c, err, NULL, "version %lld of '%s/%s' not found", (long long)version, type,
                       id);
        else
            rest_error(c, err, NULL, "resource '%s/%s' not found", type, id);
        return;
    }
    if (err) {
        rest_error(c, err, NULL, "cannot read '%s/%s'", type, id);
        return;
    }
    if (row.deleted) {
        /* FHIR R4 http.html#read: a deleted resource answers 410 Gone. */
        rest_error(c, ERR_GONE, NULL, "resource '%s/%s' was deleted", type, id);
        rest_version_headers(c, row.version, row.last_updated);
        return;
    }
    rest_version_headers(c, row.version, row.last_updated);
    const char *inm = http_request_header(c->req, "If-None-Match");
    const char *ims = http_request_header(c->req, "If-Modified-Since");
    int64_t since;
    bool not_modified = false;
    if (inm) {
        char etag[32], strong[32];
        snprintf(etag, sizeof(etag), "W/\"%lld\"", (long long)row.version);
        snprintf(strong, sizeof(strong), "\"%lld\"", (long long)row.version);
        not_modified = strstr(inm, etag) || strstr(inm, strong) || !strcmp(inm, "*");
    } else if (ims && time_parse_http(ims, &since)) {
        not_modified = row.last_updated / 1000 <= since / 1000;
    }
    if (not_modified) {
        c->res->status = 304;
        buf_reset(&c->res->body);
        return;
    }
    c->res->status = 200;
    rest_json_type(c);
}

static void do_create(struct rest_ctx *c, const char *type)
{
    if (http_request_header(c->req, "If-None-Exist")) {
        rest_error(c, ERR_NOT_IMPLEMENTED, NULL,
                   "conditional create (If-None-Exist) is not supported yet");
        return;
    }
    json_object *obj = NULL;
    if (!check_body_type(c, false) || !parse_resource(c, type, &obj))
        return;
    char id[37];
    fhir_uuid_v4(id);
    /* FHIR R4 http.html#create: an id in the body is ignored; the server assigns one. */
    struct fhir_write w = {
        .kind = FHIR_WRITE_CREATE, .type = type, .id = id, .resource = obj, .if_match = -1};
    enum err err = fhir_write_run(c->app->store, &w, 1, NULL);
    if (err)
        respond_write_error(c, err, type, id);
    else
        respond_written(c, type, &w, 201, true);
    free(w.body);
    json_object_put(obj);
}

static void do_update(struct rest_ctx *c, const char *type, const char *id)
{
    int64_t if_match;
    json_object *obj = NULL;
    if (!check_body_type(c, false) || !parse_if_match(c, &if_match) ||
        !parse_resource(c, type, &obj))
        return;
    json_object *body_id = NULL;
    /* FHIR R4 http.html#update: the body must carry the id of the URL. */
    if (!json_object_object_get_ex(obj, "id", &body_id)) {
        rest_error(c, ERR_INVALID, "id", "resource has no 'id'; an update needs the id '%s'", id);
    } else if (strcmp(json_object_get_string(body_id), id) != 0) {
        rest_error(c, ERR_INVALID, "id", "id '%.64s' in the body does not match '%s' in the URL",
                   json_object_get_string(body_id), id);
    } else {
        struct fhir_write w = {.kind = FHIR_WRITE_UPDATE,
                               .type = type,
                               .id = id,
                               .resource = obj,
                               .if_match = if_match};
        enum err err = fhir_write_run(c->app->store, &w, 1, NULL);
        if (err)
            respond_write_error(c, err, type, id);
        else
            respond_written(c, type, &w, w.created ? 201 : 200, w.created);
        free(w.body);
    }
    json_object_put(obj);
}

static void do_delete(struct rest_ctx *c, const char *type, const char *id)
{
    int64_t if_match;
    if (!parse_if_match(c, &if_match))
        return;
    struct fhir_write w = {.kind = FHIR_WRITE_DELETE, .type = type, .id = id, .if_match = if_match};
    enum err err = fhir_write_run(c->app->store, &w, 1, NULL);
    if (err) {
        respond_write_error(c, err, type, id);
        return;
    }
    rest_version_headers(c, w.version, w.last_updated);
    c->res->status = 204;
    buf_reset(&c->res->body);
}

/* Read, patch, validate and write back; retry if someone wrote in between. */
static void do_patch(struct rest_ctx *c, const char *type, const char *id)
{
    int64_t if_match;
    json_object *patch = NULL;
    if (!check_body_type(c, true) || !parse_if_match(c, &if_match) || !parse_body(c, &patch))
        return;
    for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
        struct buf cur_body;
        buf_init(&cur_body, (size_t)c->app->cfg->max_body_bytes * 4);
        struct store_row row;
        enum err err = store_read(c->app->store, type, id, 0, &cur_body, &row);
        if (!err && row.deleted)
            err = ERR_GONE;
        if (err) {
            buf_release(&cur_body);
            if (err == ERR_GONE)
                rest_error(c, err, NULL, "resource '%s/%s' was deleted", type, id);
            else
                respond_write_error(c, err, type, id);
            break;
        }
        if (if_match >= 0 && if_match != row.version) {
            buf_release(&cur_body);
            respond_write_error(c, ERR_VERSION_CONFLICT, type, id);
            break;
        }
        json_object *current = json_tokener_parse(cur_body.ptr);
        buf_release(&cur_body);
        json_object *patched = NULL;
        err = fhir_json_patch(current, patch, &c->diag, &patched);
        json_object_put(current);
        if (err) {
            rest_diag_error(c);
            break;
        }
        json_object *rt = NULL, *pid = NULL;
        bool same = json_object_get_type(patched) == json_type_object &&
                    json_object_object_get_ex(patched, "resourceType", &rt) &&
                    json_object_object_get_ex(patched, "id", &pid) &&
                    !strcmp(json_object_get_string(rt), type) &&
                    !strcmp(json_object_get_string(pid), id);
        if (!same || !fhir_validate_resource(patched, &c->diag)) {
            if (!same)
                diag_add(&c->diag, ERR_UNPROCESSABLE, NULL,
                         "a patch must not change resourceType or id");
            c->diag.first_error = ERR_UNPROCESSABLE;
            rest_diag_error(c);
            json_object_put(patched);
            break;
        }
        struct fhir_write w = {.kind = FHIR_WRITE_UPDATE,
                               .type = type,
                               .id = id,
                               .resource = patched,
                               .if_match = row.version};
        err = fhir_write_run(c->app->store, &w, 1, NULL);
        json_object_put(patched);
        if (err == ERR_VERSION_CONFLICT && if_match < 0 && attempt + 1 < PATCH_RETRIES)
            continue;
        if (err)
            respond_write_error(c, err, type, id);
        else
            respond_written(c, type, &w, 200, false);
        free(w.body);
        break;
    }
    json_object_put(patch);
}

/* ---- routing ---- */

static void method_not_allowed(struct rest_ctx *c, const char *allow)
{
    rest_error(c, ERR_METHOD, NULL, "method %s is not allowed here; allowed: %s", c->req->method,
               allow);
    http_response_header(c->res, "Allow", allow);
}

static bool method_is(struct rest_ctx *c, const char *m)
{
    return strcmp(c->req->method, m) == 0;
}

static size_t split_path(struct arena *a, const char *path, char **segs, size_t max)
{
    size_t n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == max)
            return max + 1;
        segs[n++] = arena_strndup(a, p, len);
        p += len;
    }
    return n;
}

static const char *base_url(struct rest_ctx *c)
{
    const char *cfg = c->app->cfg->base_url;
    if (cfg && *cfg)
        return cfg;
    const char *host = http_request_header(c->req, "Host");
    bool ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr(".-:[]", *p);
    return arena_printf(c->req->arena, "http://%s/fhir", ok ? host : "localhost");
}

static void route_instance(struct rest_ctx *c, const char *type, char **segs, size_t n)
{
    const char *id = segs[1];
    if (!fhir_id_is_valid(id)) {
        rest_error(c, ERR_INVALID, NULL, "'%.64s' is not a valid resource id", id);
        return;
    }
    if (n == 2) {
        if (method_is(c, "GET") || method_is(c, "HEAD"))
            do_read(c, type, id, 0);
        else if (method_is(c, "PUT"))
            do_update(c, type, id);
        else if (method_is(c, "DELETE"))
            do_delete(c, type, id);
        else if (method_is(c, "PATCH"))
            do_patch(c, type, id);
        else
            method_not_allowed(c, "GET, PUT, PATCH, DELETE");
        return;
    }
    if (strcmp(segs[2], "_history") != 0) {
        rest_error(c, segs[2][0] == '$' ? ERR_NOT_IMPLEMENTED : ERR_NOT_FOUND, NULL,
                   "'%.64s' is not supported on a resource instance", segs[2]);
        return;
    }
    if (!method_is(c, "GET")) {
        method_not_allowed(c, "GET");
        return;
    }
    if (n == 3) {
        rest_history(c, type, id);
        return;
    }
    char *end = NULL;
    errno = 0;
    long long vid = strtoll(segs[3], &end, 10);
    if (n > 4 || errno || *end || vid < 1) {
        rest_error(c, ERR_INVALID, NULL, "'%.64s' is not a version id", segs[3]);
        return;
    }
    do_read(c, type, id, vid);
}

static void route_fhir(struct rest_ctx *c, char **segs, size_t n)
{
    if (n == 0) {
        if (method_is(c, "POST"))
            rest_error(c, ERR_NOT_IMPLEMENTED, NULL,
                       "batch and transaction bundles are not supported yet");
        else
            method_not_allowed(c, "POST");
        return;
    }
    if (!strcmp(segs[0], "metadata") && n == 1) {
        if (!method_is(c, "GET")) {
            method_not_allowed(c, "GET");
            return;
        }
        c->res->status = 200;
        buf_append(&c->res->body, c->app->capability.ptr, c->app->capability.len);
        rest_json_type(c);
        return;
    }
    if (!strcmp(segs[0], "_history") && n == 1) {
        if (method_is(c, "GET"))
            rest_history(c, NULL, NULL);
        else
            method_not_allowed(c, "GET");
        return;
    }
    int t = fhir_resource_type_find(str_from(segs[0]));
    if (t < 0) {
        rest_error(c, ERR_NOT_FOUND, NULL, "unknown resource type '%.64s'", segs[0]);
        return;
    }
    const char *type = fhir_types[t].name;
    if (n == 1) {
        if (method_is(c, "POST"))
            do_create(c, type);
        else if (method_is(c, "GET"))
            rest_error(c, ERR_NOT_IMPLEMENTED, NULL, "search is not supported yet");
        else
            method_not_allowed(c, "GET, POST");
        return;
    }
    if (n == 2 && !strcmp(segs[1], "_history")) {
        if (method_is(c, "GET"))
            rest_history(c, type, NULL);
        else
            method_not_allowed(c, "GET");
        return;
    }
    if (n == 2 && (segs[1][0] == '$' || !strcmp(segs[1], "_search"))) {
        rest_error(c, ERR_NOT_IMPLEMENTED, NULL, "'%.64s' is not supported yet", segs[1]);
        return;
    }
    route_instance(c, type, segs, n);
}

static void landing_page(struct rest_ctx *c)
{
    c->res->status = 200;
    c->res->content_type = "text/html; charset=utf-8";
    buf_append_str(&c->res->body,
                   "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                   "<title>豫健 Yujian</title></head><body><h1>豫健 · 区域卫生健康服务平台</h1>"
                   "<p>Yujian regional health-service platform.</p>"
                   "<p>FHIR R4 接口 (API): <a href=\"/fhir/metadata\">/fhir/metadata</a></p>"
                   "</body></html>");
    http_response_header(c->res, "Content-Security-Policy", "default-src 'self'");
}

void fhir_app_handle(void *appv, struct http_request *req, struct http_response *res)
{
    struct rest_ctx c = {.app = appv, .req = req, .res = res};
    diag_init(&c.diag, req->arena);
    res->status = 200;
    const char *path = req->path;
    if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
        landing_page(&c);
        return;
    }
    if (!strcmp(path, "/healthz")) {
        res->content_type = "application/json";
        buf_append_str(&res->body, "{\"status\":\"ok\"}");
        return;
    }
    if (strncmp(path, "/fhir", 5) != 0 || (path[5] != '/' && path[5] != '\0')) {
        rest_error(&c, ERR_NOT_FOUND, NULL, "no such path; the FHIR API is under /fhir");
        return;
    }
    c.base = base_url(&c);
    if (!negotiate(&c))
        return;
    char *segs[MAX_SEGMENTS];
    size_t n = split_path(req->arena, path + 5, segs, MAX_SEGMENTS);
    if (n > MAX_SEGMENTS) {
        rest_error(&c, ERR_NOT_FOUND, NULL, "no such path");
        return;
    }
    route_fhir(&c, segs, n);
}

struct fhir_app *fhir_app_new(const struct config *cfg, struct store *store)
{
    struct fhir_app *app = xcalloc(1, sizeof(*app));
    app->cfg = cfg;
    app->store = store;
    buf_init(&app->capability, 4u * 1024 * 1024);
    char base[512];
    if (cfg->base_url && *cfg->base_url)
        snprintf(base, sizeof(base), "%s", cfg->base_url);
    else
        snprintf(base, sizeof(base), "http://%s:%d/fhir", cfg->host, cfg->port);
    fhir_capability_write(&app->capability, base);
    return app;
}

void fhir_app_free(struct fhir_app *app)
{
    if (!app)
        return;
    buf_release(&app->capability);
    free(app);
}
