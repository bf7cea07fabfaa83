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

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/access.h"
#include "fhir/capability.h"
#include "fhir/json.h"
#include "fhir/model.h"
#include "fhir/query.h"
#include "fhir/reindex.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/search_index.h"
#include "fhir/write.h"
#include "http/static.h"

#define MAX_SEGMENTS 5

static const char *const FHIR_JSON = "application/fhir+json; charset=utf-8";

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

void rest_bundle_open(struct buf *out, const char *type)
{
    char id[37], now[32];
    fhir_uuid_v7(id);
    time_format_instant(time_now_ms(), now, sizeof(now));
    buf_printf(out,
               "{\"resourceType\":\"Bundle\",\"id\":\"%s\",\"meta\":{\"lastUpdated\":\"%s\"},"
               "\"type\":\"%s\"",
               id, now, type);
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

enum err rest_parse_json(struct rest_ctx *c, json_object **out)
{
    const struct config *cfg = c->app->cfg;
    enum err err =
        fhir_json_parse(c->req->body.ptr, c->req->body.len, cfg->max_json_depth, &c->diag, out);
    if (!err)
        err = fhir_json_check_sizes(*out, (size_t)cfg->max_string_bytes,
                                    (size_t)cfg->max_array_items, &c->diag);
    if (err && *out) {
        json_object_put(*out);
        *out = NULL;
    }
    return err;
}

/* ---- access (guard.h, access.h) ---- */

enum err rest_permits(struct rest_ctx *c, char interaction, const char *type, char *why,
                      size_t size)
{
    const struct fhir_guard *g = c->app->guard;
    if (size)
        why[0] = '\0';
    return g ? g->allow(g->self, c->req, interaction, type, why, size) : ERR_OK;
}

bool rest_allow(struct rest_ctx *c, char interaction, const char *type)
{
    char why[256];
    enum err err = rest_permits(c, interaction, type, why, sizeof(why));
    if (err)
        rest_error(c, err, NULL, "%s", why);
    return !err;
}

/* Complete r from the store (access.h); on failure it stays as far as it got: narrower. */
static void expand(struct rest_ctx *c, struct fhir_reach *r)
{
    (void)fhir_access_expand(c->app->store, c->app->cfg, c->req->arena, r, time_now_ms());
}

const struct fhir_reach *rest_reach(struct rest_ctx *c)
{
    if (c->reach)
        return c->reach;
    struct fhir_reach *r = arena_alloc(c->req->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->kind = FHIR_REACH_ALL;
    const struct fhir_guard *g = c->app->guard;
    if (g) {
        g->reach(g->self, c->req, r);
        /* a resident's grants count for every request; a region only for counts (below) */
        if (r->kind == FHIR_REACH_PATIENTS)
            expand(c, r);
    }
    c->reach = r;
    return r;
}

const char *rest_own_patient(struct rest_ctx *c)
{
    const struct fhir_reach *r = rest_reach(c);
    return r->kind == FHIR_REACH_PATIENTS && r->npatients == 1 ? r->patients[0] : NULL;
}

/* Is type/id among the records q's confinement in mode lets the caller see? */
static bool reaches(struct rest_ctx *c, const struct fhir_reach *r, const char *type,
                    const char *id, enum fhir_access_mode mode)
{
    struct fhir_query q;
    fhir_query_init(&q, c->req->arena, c->app->cfg, type);
    if (fhir_query_add(&q, "_id", id) != FHIR_QUERY_OK ||
        !fhir_access_confine(&q, r, mode, time_now_ms()))
        return false;
    struct store_query sq;
    fhir_query_to_store(&q, 1, &sq);
    bool found = false;
    enum err err = store_search(c->app->store, &sq, store_hit_found, &found, NULL);
    return !err && found;
}

#define SHARE_CACHE 32 /* patients decided per request */

struct rest_shares {
    const char *patient[SHARE_CACHE]; /* "Patient/id" */
    bool shared[SHARE_CACHE];         /* the decision */
    size_t count;                     /* how many */
};

/* ORG: is patient shared with the caller's organisation? Decided once per request. */
static bool shared_with_caller(struct rest_ctx *c, const struct fhir_reach *r, const char *patient)
{
    if (!c->shares) {
        c->shares = arena_alloc(c->req->arena, sizeof(*c->shares));
        memset(c->shares, 0, sizeof(*c->shares));
    }
    struct rest_shares *cache = c->shares;
    for (size_t i = 0; i < cache->count; i++)
        if (!strcmp(cache->patient[i], patient))
            return cache->shared[i];
    bool yes = false;
    if (fhir_access_shared(c->app->store, c->app->cfg, c->req->arena, r, patient, time_now_ms(),
                           &yes))
        return false; /* undecided is no */
    if (cache->count < SHARE_CACHE) {
        cache->patient[cache->count] = patient;
        cache->shared[cache->count++] = yes;
    }
    return yes;
}

/* ORG: is the current version of type/id in the compartment of a patient shared with the caller? */
static bool in_shared_record(struct rest_ctx *c, const struct fhir_reach *r, const char *type,
                             const char *id)
{
    if (!fhir_access_holds_patient_data(type))
        return false;
    struct buf body;
    buf_init(&body, 64u << 20);
    struct store_row row;
    json_object *res = NULL;
    if (!store_read(c->app->store, type, id, 0, &body, &row) && !row.deleted)
        res = json_tokener_parse(body.ptr);
    buf_release(&body);
    const char *patients[8];
    size_t n = res ? fhir_compartment_patients(res, type, id, c->req->arena, patients, 8) : 0;
    json_object_put(res);
    for (size_t i = 0; i < n; i++)
        if (shared_with_caller(c, r, patients[i]))
            return true;
    return false;
}

bool rest_may_read(struct rest_ctx *c, const char *type, const char *id)
{
    const struct fhir_reach *r = rest_reach(c);
    if (r->kind == FHIR_REACH_ALL || r->break_glass || fhir_access_is_directory(type))
        return true;
    if (r->kind != FHIR_REACH_ORG)
        return reaches(c, r, type, id, FHIR_ACCESS_READ);
    /* held by the caller's organisation (the common case), or in a shared record */
    return reaches(c, r, type, id, FHIR_ACCESS_WRITE) || in_shared_record(c, r, type, id);
}

bool rest_may_read_current(struct rest_ctx *c, const char *type, const char *id,
                           json_object *current)
{
    /* held by the caller's organisation: answered from the custodian tag in hand, no query */
    const struct fhir_reach *r = rest_reach(c);
    const char *custodian = fhir_access_custodian(current);
    if (r->kind == FHIR_REACH_ORG && r->org && custodian && !strcmp(custodian, r->org))
        return true;
    return rest_may_read(c, type, id);
}

static bool confine_nested(void *ctx, struct fhir_query *q)
{
    struct rest_ctx *c = ctx;
    return fhir_access_confine(q, rest_reach(c), FHIR_ACCESS_NESTED, time_now_ms());
}

void rest_confine_nested(struct rest_ctx *c, struct fhir_query *q)
{
    q->confine = confine_nested;
    q->confine_ctx = c;
}

bool rest_confine_quiet(struct rest_ctx *c, struct fhir_query *q, char *why, size_t size)
{
    rest_reach(c);
    struct fhir_reach *r = c->reach;
    if (r->kind == FHIR_REACH_REGION && q->summary == FHIR_SUMMARY_COUNT && !r->region)
        expand(c, r); /* a regulator's count: the organisations of the region */
    if (fhir_access_confine(q, r, FHIR_ACCESS_READ, time_now_ms()))
        return true;
    if (r->kind == FHIR_REACH_REGION)
        snprintf(why, size,
                 "监管账号查看%s记录需紧急授权（X-Break-Glass）/ a regulator reads %s records only "
                 "with a break-glass reason (X-Break-Glass)",
                 q->type, q->type);
    else
        snprintf(why, size,
                 "%s 记录不对本账号开放 / %s resources are not available to your account", q->type,
                 q->type);
    return false;
}

bool rest_confine(struct rest_ctx *c, struct fhir_query *q)
{
    char why[300];
    if (rest_confine_quiet(c, q, why, sizeof(why)))
        return true;
    rest_error(c, ERR_FORBIDDEN, NULL, "%s", why);
    return false;
}

enum err rest_admit(struct rest_ctx *c, const char *type, const char *id, json_object *resource,
                    bool replaces, char *why, size_t size)
{
    enum err err = fhir_access_admit(c->app->store, rest_reach(c), type, id, resource, replaces,
                                     c->req->arena, why, size);
    for (size_t i = 0; !err && i < c->app->nrules; i++) {
        const struct fhir_rule *r = &c->app->rules[i];
        if (!strcmp(r->type, type))
            err = r->check(c, type, id, resource, replaces, why, size, r->self);
    }
    return err;
}

void rest_write_limit(struct rest_ctx *c, struct fhir_write *w)
{
    const struct fhir_reach *r = rest_reach(c);
    w->may_change = NULL;
    if (r->kind == FHIR_REACH_ALL)
        return;
    struct fhir_query *q = arena_alloc(c->req->arena, sizeof(*q));
    fhir_query_init(q, c->req->arena, c->app->cfg, w->type);
    struct store_query *sq = arena_alloc(c->req->arena, sizeof(*sq));
    if (fhir_query_add(q, "_id", w->id) != FHIR_QUERY_OK ||
        !fhir_access_confine(q, r, FHIR_ACCESS_WRITE, time_now_ms()))
        fhir_query_match_nothing(q); /* nothing of the type may be changed */
    fhir_query_to_store(q, 1, sq);
    w->may_change = sq;
}

bool rest_may_see(struct rest_ctx *c, struct str type, struct str id)
{
    const struct fhir_guard *g = c->app->guard;
    if (!g)
        return true;
    struct arena *a = c->req->arena;
    const char *t = arena_strndup(a, type.ptr, type.len);
    char why[256];
    if (rest_permits(c, 'r', t, why, sizeof(why)))
        return false;
    return rest_may_read(c, t, arena_strndup(a, id.ptr, id.len));
}

void rest_touched(struct rest_ctx *c, const char *type, const char *id, const char *patient)
{
    const struct fhir_guard *g = c->app->guard;
    if (!g || !g->touched)
        return;
    /* copies: the guard keeps them until the request's audit entry is written, after the
     * handler has let go of what they came from */
    struct arena *a = c->req->arena;
    const char *resource =
        id ? arena_printf(a, "%s/%s", type, id) : arena_strndup(a, type, strlen(type));
    g->touched(g->self, c->req, resource,
               patient ? arena_strndup(a, patient, strlen(patient)) : NULL);
}

void rest_write_unit(struct rest_ctx *c, store_work_fn **work, void **ctx)
{
    const struct fhir_guard *g = c->app->guard;
    *work = NULL;
    *ctx = NULL;
    if (g && g->write_unit)
        *work = g->write_unit(g->self, c->req, ctx);
}

/* ---- request helpers ---- */

void rest_media_type(const char *header, char *out, size_t size)
{
    size_t n = 0;
    while (*header == ' ')
        header++;
    for (; *header && *header != ';' && *header != ',' && n + 1 < size; header++)
        if (*header != ' ')
            out[n++] = (char)tolower((unsigned char)*header);
    out[n] = '\0';
}

bool rest_is_json_media(const char *m)
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
        rest_media_type(fmt, m, sizeof(m));
        if (!strcmp(m, "json") || rest_is_json_media(m))
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
        rest_media_type(p, m, sizeof(m));
        if (rest_is_json_media(m) || !strcmp(m, "*/*") || !strcmp(m, "application/*"))
            return true;
    }
    rest_error(c, ERR_NOT_ACCEPTABLE, NULL,
               "none of the accepted types is supported; this server speaks JSON only "
               "(application/fhir+json)");
    return false;
}

/* For the audit trail: whose data a read returned. */
static void note_read(struct rest_ctx *c, const char *type, const char *id,
                      const struct store_row *row)
{
    const struct fhir_guard *g = c->app->guard;
    if (!g || !g->touched)
        return;
    const char *patient = NULL;
    if (!strcmp(type, "Patient")) {
        patient = arena_printf(c->req->arena, "Patient/%s", id);
    } else {
        json_object *res =
            json_tokener_parse(arena_strndup(c->req->arena, row->body.ptr, row->body.len));
        if (res)
            patient = fhir_compartment_patient(res, type, id, c->req->arena);
        json_object_put(res);
    }
    rest_touched(c, type, id, patient);
}

static void do_read(struct rest_ctx *c, const char *type, const char *id, int64_t version)
{
    if (!rest_allow(c, 'r', type))
        return;
    if (!rest_may_read(c, type, id)) {
        rest_error(c, ERR_FORBIDDEN, NULL, "'%s/%s' is not in your records", type, id);
        return;
    }
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
    note_read(c, type, id, &row);
}

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

/* $everything: only of a patient the caller reaches (and then only what it reaches). */
static bool everything_allowed(struct rest_ctx *c, const char *id)
{
    if (rest_may_read(c, "Patient", id)) {
        rest_touched(c, "Patient", id, arena_printf(c->req->arena, "Patient/%s", id));
        return true;
    }
    rest_error(c, ERR_FORBIDDEN, NULL, "'Patient/%s' is not in your records", id);
    return false;
}

/* Type and system history list everyone's changes: only for callers who reach everything. */
static bool history_allowed(struct rest_ctx *c, const char *type)
{
    if (!rest_allow(c, 's', type ? type : "*"))
        return false;
    const struct fhir_reach *r = rest_reach(c);
    if (r->kind != FHIR_REACH_ALL && !r->break_glass && !(type && fhir_access_is_directory(type))) {
        rest_error(c, ERR_FORBIDDEN, NULL,
                   "整类或全库的历史仅对平台级账号开放 / the history of a whole type or server is "
                   "available only to accounts that reach every record");
        return false;
    }
    rest_touched(c, type ? type : "*", NULL, NULL);
    return true;
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
        else if (method_is(c, "PUT") && rest_allow(c, 'u', type))
            rest_update(c, type, id);
        else if (method_is(c, "DELETE") && rest_allow(c, 'd', type))
            rest_delete(c, type, id);
        else if (method_is(c, "PATCH") && rest_allow(c, 'u', type))
            rest_patch(c, type, id);
        else if (c->res->status >= 400)
            return; /* refused */
        else
            method_not_allowed(c, "GET, PUT, PATCH, DELETE");
        return;
    }
    if (n == 3 && !strcmp(segs[2], "$everything") && !strcmp(type, "Patient")) {
        if (method_is(c, "GET") && rest_allow(c, 'r', type) && everything_allowed(c, id))
            rest_everything(c, id);
        else if (c->res->status >= 400)
            return;
        else
            method_not_allowed(c, "GET");
        return;
    }
    const struct fhir_operation *op =
        n == 3 && segs[2][0] == '$' ? rest_find_operation(c, type, segs[2] + 1, true) : NULL;
    if (op) {
        rest_operation(c, op, id);
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
    if (!rest_allow(c, 'r', type))
        return;
    if (!rest_may_read(c, type, id)) {
        rest_error(c, ERR_FORBIDDEN, NULL, "'%s/%s' is not in your records", type, id);
        return;
    }
    if (n == 3) {
        rest_touched(c, type, id, NULL);
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

/* [type]/$name: a module's operation. */
static void route_type_operation(struct rest_ctx *c, const char *type, const char *seg)
{
    const struct fhir_operation *op = rest_find_operation(c, type, seg + 1, false);
    if (op)
        rest_operation(c, op, NULL);
    else
        rest_error(c, ERR_NOT_IMPLEMENTED, NULL, "'%.64s' is not supported yet", seg);
}

static void route_fhir(struct rest_ctx *c, char **segs, size_t n)
{
    if (n == 0) {
        if (method_is(c, "POST"))
            rest_bundle(c);
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
    if (!strcmp(segs[0], "$reindex") && n == 1) {
        const struct fhir_guard *g = c->app->guard;
        if (g && !g->is_admin(g->self, c->req))
            rest_error(c, ERR_FORBIDDEN, NULL, "$reindex is for platform administrators");
        else if (method_is(c, "GET") || method_is(c, "POST"))
            rest_reindex(c);
        else
            method_not_allowed(c, "GET, POST");
        return;
    }
    if (!strcmp(segs[0], "_history") && n == 1) {
        if (method_is(c, "GET") && history_allowed(c, NULL))
            rest_history(c, NULL, NULL);
        else if (c->res->status >= 400)
            return;
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
        if (method_is(c, "POST") && rest_allow(c, 'c', type))
            rest_create(c, type);
        else if (method_is(c, "GET") && rest_allow(c, 's', type))
            rest_search(c, type, false);
        else if (method_is(c, "PUT") && rest_allow(c, 'u', type))
            rest_update_conditional(c, type);
        else if (method_is(c, "DELETE") && rest_allow(c, 'd', type))
            rest_delete_conditional(c, type);
        else if (c->res->status >= 400)
            return;
        else
            method_not_allowed(c, "GET, POST, PUT, DELETE");
        return;
    }
    if (n == 2 && !strcmp(segs[1], "_history")) {
        if (method_is(c, "GET") && history_allowed(c, type))
            rest_history(c, type, NULL);
        else if (c->res->status >= 400)
            return;
        else
            method_not_allowed(c, "GET");
        return;
    }
    if (n == 2 && !strcmp(segs[1], "_search")) {
        if (method_is(c, "POST") && rest_allow(c, 's', type))
            rest_search(c, type, true);
        else if (c->res->status >= 400)
            return;
        else
            method_not_allowed(c, "POST");
        return;
    }
    if (n == 2 && segs[1][0] == '$') {
        route_type_operation(c, type, segs[1]);
        return;
    }
    route_instance(c, type, segs, n);
}

/* Split a query string into decoded parameters in the arena. */
static size_t parse_params(struct arena *a, const char *qs, struct http_param **out)
{
    struct fhir_query_pair *pairs;
    size_t n = fhir_query_split(a, qs, strlen(qs), &pairs);
    struct http_param *params = arena_alloc(a, sizeof(*params) * (n + 1));
    for (size_t i = 0; i < n; i++)
        params[i] = (struct http_param){pairs[i].name, pairs[i].value};
    *out = params;
    return n;
}

void rest_get_internal(struct rest_ctx *c, const char *url, struct http_response *res)
{
    struct arena *a = c->req->arena;
    size_t base_len = strlen(c->base);
    if (!strncmp(url, c->base, base_len) && url[base_len] == '/')
        url += base_len + 1;
    char *copy = arena_strndup(a, url, strlen(url));
    char *qmark = strchr(copy, '?');
    if (qmark)
        *qmark++ = '\0';
    struct http_request *req = arena_alloc(a, sizeof(*req));
    *req = *c->req;
    req->method = "GET";
    req->path = arena_printf(a, "/fhir/%s", copy);
    req->body = str_make(NULL, 0);
    req->params = NULL;
    req->param_count = qmark ? parse_params(a, qmark, &req->params) : 0;
    struct rest_ctx *sub = arena_alloc(a, sizeof(*sub));
    *sub = (struct rest_ctx){.app = c->app,
                             .req = req,
                             .res = res,
                             .base = c->base,
                             .reach = c->reach,
                             .shares = c->shares};
    diag_init(&sub->diag, a);
    res->status = 200;
    char *segs[MAX_SEGMENTS];
    size_t n = split_path(a, copy, segs, MAX_SEGMENTS);
    if (n == 0 || n > MAX_SEGMENTS)
        rest_error(sub, ERR_NOT_FOUND, NULL, "'%.64s' is not a resource URL", url);
    else
        route_fhir(sub, segs, n);
}

static const char *const reindex_states[] = {"idle", "running", "done", "failed", "stopped"};

void rest_reindex(struct rest_ctx *c)
{
    bool start = method_is(c, "POST");
    if (start) /* false when a run is going already: that one is reported */
        (void)fhir_reindexer_start(c->app->reindexer);
    struct fhir_reindex_progress p;
    fhir_reindexer_progress(c->app->reindexer, &p);
    char since[40] = "", until[40] = "";
    time_format_instant(p.started_ms, since, sizeof(since));
    if (p.finished_ms)
        time_format_instant(p.finished_ms, until, sizeof(until));
    struct buf *out = &c->res->body;
    buf_reset(out);
    buf_printf(out,
               "{\"resourceType\":\"Parameters\",\"parameter\":["
               "{\"name\":\"status\",\"valueCode\":\"%s\"},"
               "{\"name\":\"done\",\"valueInteger\":%lld},"
               "{\"name\":\"total\",\"valueInteger\":%lld},"
               "{\"name\":\"resumed\",\"valueBoolean\":%s}",
               reindex_states[p.state], (long long)p.done, (long long)p.total,
               p.resumed ? "true" : "false");
    if (p.started_ms)
        buf_printf(out, ",{\"name\":\"started\",\"valueInstant\":\"%s\"}", since);
    if (p.finished_ms)
        buf_printf(out, ",{\"name\":\"finished\",\"valueInstant\":\"%s\"}", until);
    buf_append_str(out, "]}");
    /* 202: a run was started (or is already running, for a POST) */
    c->res->status = start ? 202 : 200;
    rest_json_type(c);
}

static void landing_page(struct rest_ctx *c)
{
    c->res->status = 200;
    c->res->content_type = "text/html; charset=utf-8";
    buf_append_str(&c->res->body,
                   "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                   "<title>豫健 Yujian</title></head><body><h1>豫健 · 区域卫生健康服务平台</h1>"
                   "<p>Yujian regional health-service platform.</p>"
                   "<p>控制台 (console): <a href=\"/console/\">/console/</a></p>"
                   "<p>FHIR R4 接口 (API): <a href=\"/fhir/metadata\">/fhir/metadata</a></p>"
                   "</body></html>");
    http_response_header(c->res, "Content-Security-Policy", "default-src 'self'");
}

void fhir_app_handle(void *appv, struct http_request *req, struct http_response *res)
{
    /* In the arena: a write suspends the request and its continuation needs the context. */
    struct rest_ctx *c = arena_alloc(req->arena, sizeof(*c));
    *c = (struct rest_ctx){.app = appv, .req = req, .res = res};
    diag_init(&c->diag, req->arena);
    res->status = 200;
    const char *path = req->path;
    bool fixed = !strcmp(path, "/") || !strcmp(path, "/index.html") || !strcmp(path, "/healthz");
    if (fixed && !method_is(c, "GET") && !method_is(c, "HEAD")) {
        /* a client posting to the wrong base must not read the page as success */
        method_not_allowed(c, "GET, HEAD");
        return;
    }
    if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
        landing_page(c);
        return;
    }
    if (!strcmp(path, "/healthz")) {
        res->content_type = "application/json";
        buf_append_str(&res->body, "{\"status\":\"ok\"}");
        return;
    }
    if (!strncmp(path, "/console", 8) && (path[8] == '/' || path[8] == '\0')) {
        if (!path[8]) { /* relative links in the page need the slash */
            res->status = 301;
            http_response_header(res, "Location", "/console/");
            return;
        }
        http_static_serve(c->app->cfg->web_dir, "/console", req, res);
        return;
    }
    if (strncmp(path, "/fhir", 5) != 0 || (path[5] != '/' && path[5] != '\0')) {
        rest_error(c, ERR_NOT_FOUND, NULL, "no such path; the FHIR API is under /fhir");
        return;
    }
    c->base = base_url(c);
    if (!negotiate(c))
        return;
    char *segs[MAX_SEGMENTS];
    size_t n = split_path(req->arena, path + 5, segs, MAX_SEGMENTS);
    if (n > MAX_SEGMENTS) {
        rest_error(c, ERR_NOT_FOUND, NULL, "no such path");
        return;
    }
    route_fhir(c, segs, n);
}

struct fhir_app *fhir_app_new(const struct config *cfg, struct store *store)
{
    struct fhir_app *app = xcalloc(1, sizeof(*app));
    app->cfg = cfg;
    app->store = store;
    buf_init(&app->capability, 4u * 1024 * 1024);
    if (cfg->base_url && *cfg->base_url)
        snprintf(app->base, sizeof(app->base), "%s", cfg->base_url);
    else
        snprintf(app->base, sizeof(app->base), "http://%s:%d/fhir", cfg->host, cfg->port);
    fhir_capability_write(&app->capability, app->base, NULL, 0);
    app->reindexer = fhir_reindexer_new(store);
    if (fhir_reindex_needed(store)) {
        log_info(LOG_FHIR, "search index out of date: rebuilding in the background");
        fhir_reindexer_start(app->reindexer);
    }
    return app;
}

void fhir_app_set_guard(struct fhir_app *app, const struct fhir_guard *guard)
{
    app->guard = guard;
}

void fhir_app_free(struct fhir_app *app)
{
    if (!app)
        return;
    fhir_reindexer_free(app->reindexer);
    buf_release(&app->capability);
    free(app);
}
