/*
 * bundle.c - batch and transaction Bundles (FHIR R4 http.html#transaction),
 * POST [base].
 *
 * A transaction is all or nothing: its writes go to the store as one unit.
 * Entries are processed in the order the specification gives - DELETE,
 * then POST, then PUT and PATCH, then GET - whatever their order in the
 * Bundle. Before the unit is queued, on the worker thread:
 *
 *   1. each entry is read and checked (method, url, resource valid);
 *   2. ids are decided: a POST gets a new id (or, with ifNoneExist, the id
 *      of the one match: nothing is written), a conditional PUT or DELETE
 *      gets the ids its criteria match;
 *   3. references are rewritten: a reference to another entry's fullUrl
 *      (urn:uuid:..., or an absolute URL) becomes "Type/id", and a
 *      conditional reference "Type?criteria" becomes the id of its one
 *      match (none or several: the transaction fails);
 *   4. two entries changing the same resource are refused.
 *
 * Every search in 2 and 3 becomes a check that the unit repeats (see
 * struct fhir_write_check): when another writer changed the answer in
 * between, the unit fails with ERR_CHANGED and the steps are done again,
 * so a transaction never acts on stale matches.
 *
 * A batch runs each entry on its own: one unit per entry, all queued at
 * once so that they share commits; an entry's failure is its own response.
 * References between batch entries are not resolved (the specification
 * says batch entries must not depend on each other).
 */
#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "core/timeutil.h"
#include "fhir/conditional.h"
#include "fhir/json.h"
#include "fhir/model.h"
#include "fhir/patch.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/validate.h"
#include "fhir/write.h"

#define CHANGED_RETRIES 5 /* attempts when matches changed before the unit ran */

enum action {
    ACT_FAILED,   /* err and why say what went wrong */
    ACT_WRITE,    /* writes */
    ACT_EXISTING, /* POST with ifNoneExist that matched: nothing written */
    ACT_NOTHING,  /* conditional DELETE that matched nothing */
    ACT_GET,      /* GET or HEAD */
};

struct entry {
    size_t index;                    /* position in Bundle.entry */
    const char *method;              /* GET POST PUT PATCH DELETE */
    const char *url;                 /* request.url as given */
    const char *type;                /* resource type of the url */
    const char *id;                  /* id from the url, or decided */
    const char *query;               /* conditional criteria (after '?'), or NULL */
    const char *full_url;            /* entry.fullUrl, or NULL */
    json_object *resource;           /* entry.resource (borrowed); PATCH: the patched result */
    json_object *patch;              /* PATCH: the JSON Patch document (owned) */
    const char *if_none_exist;       /* request.ifNoneExist */
    int64_t if_match;                /* request.ifMatch as a version, or -1 */
    int64_t client_if_match;         /* request.ifMatch as given, or -1 */
    enum action action;              /* what processing decided */
    enum err err;                    /* ACT_FAILED: the error */
    char why[512];                   /* ACT_FAILED: the message */
    struct fhir_write *writes;       /* ACT_WRITE: the writes */
    size_t nwrites;                  /* how many */
    struct fhir_write_check *checks; /* searches to repeat in the unit */
    size_t nchecks;                  /* how many */
    size_t cap_checks;               /* room */
    struct http_response get;        /* ACT_GET: the answer */
    struct fhir_write_job job;       /* batch: this entry's unit */
    enum err result;                 /* batch: its result */
    struct bundle *b;                /* owner */
};

/* A reference rewritten in place, remembered so a retry can start again. */
struct saved_ref {
    json_object *str;  /* the "reference" string */
    const char *value; /* what it said before */
};

struct bundle {
    struct rest_ctx *c;              /* the request */
    json_object *root;               /* the parsed Bundle (owned) */
    bool transaction;                /* transaction, else batch */
    struct entry *entries;           /* in request order */
    size_t count;                    /* how many */
    struct strmap map;               /* fullUrl -> "Type/id"; "#Type/id" -> entry index */
    struct saved_ref *saved;         /* rewritten references */
    size_t nsaved, cap_saved;        /* used, room */
    struct fhir_write *writes;       /* transaction: every write, in processing order */
    struct fhir_write_check *checks; /* transaction: every check */
    struct fhir_write_job job;       /* transaction: the unit */
    enum err result;                 /* transaction: its result */
    size_t failed;                   /* transaction: the write that failed */
    int attempt;                     /* tries so far */
    atomic_size_t outstanding;       /* batch: units not yet done */
};

static void process(struct bundle *b);

/* ---- small helpers ---- */

static bool entry_fail(struct entry *e, enum err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool entry_fail(struct entry *e, enum err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof(e->why), fmt, ap);
    va_end(ap);
    e->action = ACT_FAILED;
    e->err = err;
    return false;
}

static const char *member_string(json_object *obj, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, name, &v) || json_object_get_type(v) != json_type_string)
        return NULL;
    return json_object_get_string(v);
}

static struct fhir_write_check *add_check(struct bundle *b, struct entry *e)
{
    if (e->nchecks == e->cap_checks) {
        size_t cap = e->cap_checks ? e->cap_checks * 2 : 4;
        struct fhir_write_check *v = arena_alloc(b->c->req->arena, sizeof(*v) * cap);
        if (e->nchecks)
            memcpy(v, e->checks, sizeof(*v) * e->nchecks);
        e->checks = v;
        e->cap_checks = cap;
    }
    return &e->checks[e->nchecks++];
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "200 OK";
    case 201:
        return "201 Created";
    case 204:
        return "204 No Content";
    case 304:
        return "304 Not Modified";
    default:
        return NULL;
    }
}

/* ---- 1. reading the entries ---- */

/* request.url: Type, Type/id, Type?criteria, or (GET) anything rest_get_internal takes. */
static bool parse_url(struct bundle *b, struct entry *e)
{
    struct arena *a = b->c->req->arena;
    const char *url = e->url;
    size_t base_len = strlen(b->c->base);
    if (!strncmp(url, b->c->base, base_len) && url[base_len] == '/')
        url += base_len + 1;
    if (!strcmp(e->method, "GET"))
        return true;
    size_t tlen = strcspn(url, "/?");
    int t = fhir_resource_type_find(str_make(url, tlen));
    if (t < 0)
        return entry_fail(e, ERR_INVALID, "request.url '%.80s' does not start with a resource type",
                          e->url);
    e->type = fhir_types[t].name;
    const char *rest = url + tlen;
    if (*rest == '?' && rest[1]) {
        e->query = rest + 1;
    } else if (*rest == '/' && fhir_id_is_valid(rest + 1)) {
        e->id = arena_strndup(a, rest + 1, strlen(rest + 1));
    } else if (*rest != '\0') {
        return entry_fail(e, ERR_INVALID,
                          "request.url '%.80s' is not Type, Type/id or Type?criteria", e->url);
    }
    bool needs_id_or_query = strcmp(e->method, "POST") != 0;
    if (needs_id_or_query && !e->id && !e->query)
        return entry_fail(e, ERR_INVALID, "%s needs Type/id or Type?criteria, not '%.80s'",
                          e->method, e->url);
    if (!needs_id_or_query && (e->id || e->query))
        return entry_fail(e, ERR_INVALID, "POST takes the resource type alone, not '%.80s'",
                          e->url);
    if (!strcmp(e->method, "PATCH") && !e->id)
        return entry_fail(e, ERR_INVALID, "PATCH needs Type/id");
    return true;
}

static bool parse_if_match(struct entry *e, const char *h)
{
    e->if_match = -1;
    e->client_if_match = -1;
    if (!h)
        return true;
    int64_t v;
    if (!fhir_etag_version(h, &v))
        return entry_fail(e, ERR_INVALID, "request.ifMatch '%.40s' is not a version ETag", h);
    e->if_match = v;
    e->client_if_match = v;
    return true;
}

/* PATCH: the resource is a Binary holding a JSON Patch (http.html#transaction). */
static bool take_patch(struct bundle *b, struct entry *e)
{
    const char *ct = e->resource ? member_string(e->resource, "contentType") : NULL;
    const char *data = e->resource ? member_string(e->resource, "data") : NULL;
    if (!ct || strcmp(ct, "application/json-patch+json") != 0 || !data)
        return entry_fail(e, ERR_INVALID,
                          "a PATCH entry carries a Binary with contentType "
                          "application/json-patch+json and the patch in data");
    size_t max = strlen(data), len = 0;
    unsigned char *raw = arena_alloc(b->c->req->arena, max + 1);
    if (sodium_base642bin(raw, max, data, max, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
        0)
        return entry_fail(e, ERR_INVALID, "the PATCH entry's data is not base64");
    if (fhir_json_parse((const char *)raw, len, b->c->app->cfg->max_json_depth, &b->c->diag,
                        &e->patch))
        return entry_fail(e, ERR_INVALID, "the PATCH entry's data is not a JSON Patch document");
    e->resource = NULL;
    return true;
}

static bool check_resource(struct bundle *b, struct entry *e)
{
    if (!e->resource)
        return entry_fail(e, ERR_INVALID, "%s needs a resource", e->method);
    const char *rt = member_string(e->resource, "resourceType");
    if (!rt || strcmp(rt, e->type) != 0)
        return entry_fail(e, ERR_INVALID,
                          "resource type '%.40s' does not match request.url '%.80s'", rt ? rt : "",
                          e->url);
    struct diag d;
    diag_init(&d, b->c->req->arena);
    if (!fhir_validate_resource(e->resource, &d)) {
        const struct diag_issue *first = &d.issues[0];
        return entry_fail(e, ERR_INVALID, "%s%s%s", first->location ? first->location : "",
                          first->location ? ": " : "", first->message);
    }
    if (!strcmp(e->method, "PUT") && e->id) {
        const char *id = member_string(e->resource, "id");
        if (!id || strcmp(id, e->id) != 0)
            return entry_fail(e, ERR_INVALID, "the resource's id '%.64s' is not the id of '%.80s'",
                              id ? id : "", e->url);
    }
    return true;
}

static bool read_entry(struct bundle *b, struct entry *e, json_object *obj)
{
    json_object *req = NULL;
    if (json_object_get_type(obj) != json_type_object ||
        !json_object_object_get_ex(obj, "request", &req))
        return entry_fail(e, ERR_INVALID, "entry has no request");
    e->method = member_string(req, "method");
    e->url = member_string(req, "url");
    if (!e->method || !e->url)
        return entry_fail(e, ERR_INVALID, "request needs method and url");
    if (!strcmp(e->method, "HEAD"))
        e->method = "GET";
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    bool known = false;
    for (size_t i = 0; i < 5; i++)
        known = known || !strcmp(e->method, methods[i]);
    if (!known)
        return entry_fail(e, ERR_INVALID, "request.method '%.20s' is unknown", e->method);
    e->full_url = member_string(obj, "fullUrl");
    e->if_none_exist = member_string(req, "ifNoneExist");
    json_object_object_get_ex(obj, "resource", &e->resource);
    if (!parse_url(b, e) || !parse_if_match(e, member_string(req, "ifMatch")))
        return false;
    e->action = !strcmp(e->method, "GET") ? ACT_GET : ACT_WRITE;
    if (!strcmp(e->method, "PATCH"))
        return take_patch(b, e);
    if (!strcmp(e->method, "POST") || !strcmp(e->method, "PUT"))
        return check_resource(b, e);
    return true;
}

/* ---- 2. deciding ids ---- */

/* Resolve criteria on type for at most max matches, as a check of e; NULL (e failed) on error. */
static struct fhir_condition *criteria(struct bundle *b, struct entry *e, const char *type,
                                       const char *qs, size_t max)
{
    struct rest_ctx *c = b->c;
    struct fhir_condition *cond = arena_alloc(c->req->arena, sizeof(*cond));
    fhir_condition_init(cond, c->req->arena, c->app->cfg, type);
    rest_confine_nested(c, &cond->q);
    if (!fhir_condition_parse(cond, qs)) {
        entry_fail(e, ERR_INVALID, "criteria '%.80s': %s", qs, cond->q.why);
        return NULL;
    }
    char why[512];
    if (!rest_confine_quiet(c, &cond->q, why, sizeof(why))) {
        entry_fail(e, ERR_FORBIDDEN, "criteria '%.80s': %s", qs, why);
        return NULL;
    }
    enum err err = fhir_condition_resolve(c->app->store, cond, max);
    if (err) {
        entry_fail(e, err, "criteria '%.80s': search failed", qs);
        return NULL;
    }
    if (cond->more) {
        entry_fail(e, ERR_MULTIPLE_MATCHES, "criteria '%s?%.80s' match more than %zu resource%s",
                   type, qs, max, max == 1 ? "" : "s");
        return NULL;
    }
    *add_check(b, e) = cond->check;
    return cond;
}

static char *new_id(struct bundle *b)
{
    char *id = arena_alloc(b->c->req->arena, 37);
    fhir_uuid_v7(id);
    return id;
}

static bool decide_post(struct bundle *b, struct entry *e)
{
    if (e->if_none_exist) {
        struct fhir_condition *cond = criteria(b, e, e->type, e->if_none_exist, 1);
        if (!cond)
            return false;
        if (cond->check.count == 1) {
            e->action = ACT_EXISTING;
            e->id = cond->check.ids[0];
            return true;
        }
    }
    e->id = new_id(b);
    return true;
}

static bool decide_put(struct bundle *b, struct entry *e)
{
    if (!e->query)
        return true;
    struct fhir_condition *cond = criteria(b, e, e->type, e->query, 1);
    if (!cond)
        return false;
    const char *given = member_string(e->resource, "id");
    if (cond->check.count == 1) {
        e->id = cond->check.ids[0];
        if (given && strcmp(given, e->id) != 0)
            return entry_fail(e, ERR_INVALID,
                              "the resource's id '%.64s' is not the id '%s' its "
                              "criteria match",
                              given, e->id);
    } else {
        e->id = given ? given : new_id(b);
    }
    return true;
}

static bool decide_delete(struct bundle *b, struct entry *e)
{
    if (!e->query) {
        e->nwrites = 1;
        return true;
    }
    struct fhir_condition *cond =
        criteria(b, e, e->type, e->query, (size_t)b->c->app->cfg->max_conditional_delete);
    if (!cond)
        return false;
    e->nwrites = cond->check.count;
    if (e->nwrites == 0)
        e->action = ACT_NOTHING;
    return true;
}

/* PATCH: the current version, patched and validated; written if still current. */
static bool decide_patch(struct bundle *b, struct entry *e)
{
    struct diag d;
    diag_init(&d, b->c->req->arena);
    json_object_put(e->resource); /* a previous attempt's result */
    e->resource = NULL;
    /* the patch reads the resource: a failed "test" would tell an outsider its content */
    if (!rest_may_read(b->c, e->type, e->id))
        return entry_fail(e, ERR_FORBIDDEN, "'%s/%s' is not among the records you may change",
                          e->type, e->id);
    enum err err = fhir_patch_current(b->c->app->store, e->type, e->id, e->client_if_match,
                                      e->patch, &d, &e->resource, &e->if_match);
    if (err)
        return entry_fail(e, err, "cannot patch %s/%s: %s", e->type, e->id,
                          d.count ? d.issues[0].message : err_message(err));
    return true; /* written with If-Match: the version it was made from */
}

static bool decide(struct bundle *b, struct entry *e)
{
    if (e->action != ACT_WRITE)
        return e->action != ACT_FAILED;
    char why[256];
    char interaction = !strcmp(e->method, "POST") ? 'c' : !strcmp(e->method, "DELETE") ? 'd' : 'u';
    enum err denied = rest_permits(b->c, interaction, e->type, why, sizeof(why));
    if (denied)
        return entry_fail(e, denied, "%s", why);
    bool ok = true;
    if (!strcmp(e->method, "POST"))
        ok = decide_post(b, e);
    else if (!strcmp(e->method, "PUT"))
        ok = decide_put(b, e);
    else if (!strcmp(e->method, "DELETE"))
        ok = decide_delete(b, e);
    else if (!strcmp(e->method, "PATCH"))
        ok = decide_patch(b, e);
    if (ok && b->transaction && e->full_url && e->id && strcmp(e->method, "DELETE") != 0)
        strmap_put(&b->map, e->full_url, arena_printf(b->c->req->arena, "%s/%s", e->type, e->id));
    return ok;
}

/* ---- 3. references ---- */

static bool rewrite_value(struct bundle *b, struct entry *e, json_object *str)
{
    const char *v = json_object_get_string(str);
    const char *to = b->transaction ? strmap_get(&b->map, v) : NULL;
    const char *q = strchr(v, '?');
    if (!to && q && !strchr(v, '/') && fhir_resource_type_find(str_make(v, (size_t)(q - v))) >= 0) {
        /* a conditional reference: Type?criteria must match exactly one resource */
        char *type = arena_strndup(b->c->req->arena, v, (size_t)(q - v));
        struct fhir_condition *cond = criteria(b, e, type, q + 1, 1);
        if (!cond)
            return false;
        if (cond->check.count == 0)
            return entry_fail(e, ERR_INVALID, "conditional reference '%.100s' matches nothing", v);
        to = arena_printf(b->c->req->arena, "%s/%s", type, cond->check.ids[0]);
    }
    if (!to && (!strncmp(v, "urn:uuid:", 9) || !strncmp(v, "urn:oid:", 8)))
        return entry_fail(e, ERR_INVALID, "reference '%.100s' is not the fullUrl of any entry", v);
    if (!to)
        return true;
    if (b->nsaved == b->cap_saved) {
        size_t cap = b->cap_saved ? b->cap_saved * 2 : 64;
        struct saved_ref *s = arena_alloc(b->c->req->arena, sizeof(*s) * cap);
        if (b->nsaved)
            memcpy(s, b->saved, sizeof(*s) * b->nsaved);
        b->saved = s;
        b->cap_saved = cap;
    }
    b->saved[b->nsaved++] = (struct saved_ref){str, arena_strndup(b->c->req->arena, v, strlen(v))};
    json_object_set_string(str, to);
    return true;
}

/* Every "reference" string inside obj. */
static bool rewrite_refs(struct bundle *b, struct entry *e, json_object *obj)
{
    if (json_object_get_type(obj) == json_type_array) {
        size_t n = json_object_array_length(obj);
        for (size_t i = 0; i < n; i++)
            if (!rewrite_refs(b, e, json_object_array_get_idx(obj, i)))
                return false;
        return true;
    }
    if (json_object_get_type(obj) != json_type_object)
        return true;
    json_object_object_foreach(obj, key, val)
    {
        bool ok = true;
        if (!strcmp(key, "reference") && json_object_get_type(val) == json_type_string)
            ok = rewrite_value(b, e, val);
        else if (json_object_get_type(val) == json_type_object ||
                 json_object_get_type(val) == json_type_array)
            ok = rewrite_refs(b, e, val);
        if (!ok)
            return false;
    }
    return true;
}

/* Put back what rewrite_refs changed, for another attempt. */
static void restore_refs(struct bundle *b)
{
    for (size_t i = b->nsaved; i-- > 0;)
        json_object_set_string(b->saved[i].str, b->saved[i].value);
    b->nsaved = 0;
}

/* ---- 4. the writes ---- */

static void make_writes_of(struct entry *e, struct fhir_write *into)
{
    e->writes = into;
    if (!strcmp(e->method, "DELETE")) {
        const struct fhir_write_check *cond = e->query ? &e->checks[0] : NULL;
        for (size_t i = 0; i < e->nwrites; i++)
            into[i] = (struct fhir_write){.kind = FHIR_WRITE_DELETE,
                                          .type = e->type,
                                          .id = cond ? cond->ids[i] : e->id,
                                          .if_match = e->nwrites == 1 ? e->if_match : -1};
        return;
    }
    e->nwrites = 1;
    into[0] = (struct fhir_write){.kind = !strcmp(e->method, "POST") ? FHIR_WRITE_CREATE
                                                                     : FHIR_WRITE_UPDATE,
                                  .type = e->type,
                                  .id = e->id,
                                  .resource = e->resource,
                                  .if_match = e->if_match};
}

/* The writes of e, each limited to what the caller may change. */
static void make_writes(struct bundle *b, struct entry *e, struct fhir_write *into)
{
    make_writes_of(e, into);
    for (size_t i = 0; i < e->nwrites; i++)
        rest_write_limit(b->c, &into[i]);
}

/* The processing order of http.html#trules: DELETE, POST, PUT/PATCH. */
static int phase(const struct entry *e)
{
    if (!strcmp(e->method, "DELETE"))
        return 0;
    return !strcmp(e->method, "POST") ? 1 : 2;
}

/* Two writes to one resource in a transaction are refused (http.html#trules). */
static bool check_duplicates(struct bundle *b)
{
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        if (e->action != ACT_WRITE)
            continue;
        for (size_t k = 0; k < e->nwrites; k++) {
            const char *key =
                arena_printf(b->c->req->arena, "#%s/%s", e->writes[k].type, e->writes[k].id);
            const char *prior = strmap_get(&b->map, key);
            if (prior)
                return entry_fail(e, ERR_INVALID,
                                  "entries %s and %zu both change %s/%s; a transaction may "
                                  "change a resource once",
                                  prior, e->index, e->writes[k].type, e->writes[k].id);
            strmap_put(&b->map, key, arena_printf(b->c->req->arena, "%zu", e->index));
        }
    }
    return true;
}

/* ---- answers ---- */

static const char *reason(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 422:
        return "Unprocessable Entity";
    default:
        return status >= 500 ? "Server Error" : "Error";
    }
}

static void response_status(struct buf *out, int status)
{
    const char *text = status_text(status);
    if (text)
        buf_printf(out, "\"status\":\"%s\"", text);
    else
        buf_printf(out, "\"status\":\"%d %s\"", status, reason(status));
}

static void entry_error(struct buf *out, struct entry *e, enum err err, const char *why)
{
    buf_append_str(out, "{\"response\":{");
    response_status(out, err_http_status(err));
    buf_append_str(out, ",\"outcome\":");
    fhir_outcome_single(out, "error", err, NULL, why);
    buf_append_str(out, "}}");
    (void)e;
}

static void entry_written(struct bundle *b, struct buf *out, struct entry *e, bool representation)
{
    struct fhir_write *w = &e->writes[0];
    int status = w->kind == FHIR_WRITE_DELETE                               ? 204
                 : w->kind == FHIR_WRITE_CREATE || (w->created && !w->noop) ? 201
                                                                            : 200;
    buf_append_str(out, "{");
    if (w->kind != FHIR_WRITE_DELETE) {
        buf_printf(out, "\"fullUrl\":\"%s/%s/%s\",", b->c->base, w->type, w->id);
        if (representation && w->body) {
            buf_append_str(out, "\"resource\":");
            buf_append(out, w->body, w->body_len);
            buf_append_str(out, ",");
        }
    }
    buf_append_str(out, "\"response\":{");
    response_status(out, status);
    if (w->kind != FHIR_WRITE_DELETE || e->nwrites == 1) {
        char when[40];
        time_format_instant(w->last_updated, when, sizeof(when));
        if (w->kind != FHIR_WRITE_DELETE)
            buf_printf(out, ",\"location\":\"%s/%s/_history/%lld\"", w->type, w->id,
                       (long long)w->version);
        buf_printf(out, ",\"etag\":\"W/\\\"%lld\\\"\",\"lastModified\":\"%s\"",
                   (long long)w->version, when);
    }
    buf_append_str(out, "}}");
}

static void entry_existing(struct bundle *b, struct buf *out, struct entry *e, bool representation)
{
    struct buf body;
    buf_init(&body, SIZE_MAX / 2);
    struct store_row row;
    enum err err = store_read(b->c->app->store, e->type, e->id, 0, &body, &row);
    if (err || row.deleted) {
        entry_error(out, e, ERR_CHANGED, "the matching resource changed; retry");
    } else {
        buf_printf(out, "{\"fullUrl\":\"%s/%s/%s\",", b->c->base, e->type, e->id);
        if (representation) {
            buf_append_str(out, "\"resource\":");
            buf_append(out, body.ptr, body.len);
            buf_append_str(out, ",");
        }
        buf_append_str(out, "\"response\":{");
        response_status(out, 200);
        buf_printf(out, ",\"location\":\"%s/%s/_history/%lld\",\"etag\":\"W/\\\"%lld\\\"\"}}",
                   e->type, e->id, (long long)row.version, (long long)row.version);
    }
    buf_release(&body);
}

static void entry_got(struct buf *out, struct entry *e)
{
    struct http_response *g = &e->get;
    bool json = g->content_type && g->body.len && g->body.ptr[0] == '{';
    bool ok = g->status < 300;
    buf_append_str(out, "{");
    if (ok && json) {
        buf_append_str(out, "\"resource\":");
        buf_append(out, g->body.ptr, g->body.len);
        buf_append_str(out, ",");
    }
    buf_append_str(out, "\"response\":{");
    response_status(out, g->status);
    if (!ok && json) {
        buf_append_str(out, ",\"outcome\":");
        buf_append(out, g->body.ptr, g->body.len);
    }
    buf_append_str(out, "}}");
}

static void entry_answer(struct bundle *b, struct buf *out, struct entry *e, bool representation)
{
    switch (e->action) {
    case ACT_FAILED:
        entry_error(out, e, e->err, e->why);
        break;
    case ACT_WRITE:
        if (e->result)
            entry_error(out, e, e->result, err_message(e->result));
        else
            entry_written(b, out, e, representation);
        break;
    case ACT_EXISTING:
        entry_existing(b, out, e, representation);
        break;
    case ACT_NOTHING:
        buf_append_str(out, "{\"response\":{\"status\":\"204 No Content\"}}");
        break;
    case ACT_GET:
        entry_got(out, e);
        break;
    }
}

/* A failed transaction: the error of the entry that failed, naming it. */
static void respond_failed(struct bundle *b, struct entry *e, enum err err, const char *why)
{
    rest_error(b->c, err, arena_printf(b->c->req->arena, "Bundle.entry[%zu]", e->index),
               "transaction failed at entry %zu (%s %.100s): %s; nothing was written", e->index,
               e->method, e->url, why);
}

static void respond(struct bundle *b)
{
    struct rest_ctx *c = b->c;
    const char *prefer = http_request_header(c->req, "Prefer");
    bool representation = prefer && strstr(prefer, "return=representation");
    struct buf *out = &c->res->body;
    buf_reset(out);
    rest_bundle_open(out, b->transaction ? "transaction-response" : "batch-response");
    buf_append_str(out, ",\"entry\":[");
    for (size_t i = 0; i < b->count; i++) {
        if (i)
            buf_append_str(out, ",");
        entry_answer(b, out, &b->entries[i], representation);
    }
    buf_append_str(out, "]}");
    if (!b->count)
        fhir_bundle_drop_empty_entry(out);
    c->res->status = 200;
    rest_json_type(c);
}

/* GET entries, each as its own request; after the writes of a transaction. */
static void run_gets(struct bundle *b)
{
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        if (e->action != ACT_GET)
            continue;
        memset(&e->get, 0, sizeof(e->get));
        buf_init(&e->get.body, 512u * 1024 * 1024);
        rest_get_internal(b->c, e->url, &e->get);
    }
}

static void release(struct bundle *b)
{
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        if (e->action == ACT_GET)
            buf_release(&e->get.body);
        for (size_t k = 0; e->action == ACT_WRITE && k < e->nwrites; k++) {
            free(e->writes[k].body);
            e->writes[k].body = NULL;
        }
        if (e->patch) {
            json_object_put(e->resource);
            json_object_put(e->patch);
        }
    }
    json_object_put(b->root);
}

static void finish(struct bundle *b)
{
    if (b->transaction && b->result) {
        /* find the entry whose write failed; a failed check is a changed match */
        struct entry *culprit = &b->entries[0];
        for (size_t i = 0; i < b->count; i++) {
            struct entry *e = &b->entries[i];
            if (e->action != ACT_WRITE)
                continue;
            if (b->failed >= (size_t)(e->writes - b->writes) &&
                b->failed < (size_t)(e->writes - b->writes) + e->nwrites)
                culprit = e;
        }
        respond_failed(b, culprit, b->result, err_message(b->result));
    } else {
        run_gets(b);
        respond(b);
    }
    release(b);
}

/* ---- processing ---- */

/* Writer thread: the transaction's unit is durable or failed. */
static void on_transaction_done(void *arg, enum err result, size_t failed_index)
{
    struct bundle *b = arg;
    b->result = result;
    b->failed = failed_index;
    http_request_resume(b->c->req);
}

/* Writer thread: one batch entry is durable or failed; the last one wakes the request. */
static void on_entry_done(void *arg, enum err result, size_t failed_index)
{
    (void)failed_index;
    struct entry *e = arg;
    e->result = result;
    if (atomic_fetch_sub(&e->b->outstanding, 1) == 1)
        http_request_resume(e->b->c->req);
}

static void on_resumed(void *app, struct http_request *req, struct http_response *res, void *arg)
{
    (void)app;
    (void)req;
    (void)res;
    struct bundle *b = arg;
    bool changed = b->transaction && b->result == ERR_CHANGED;
    for (size_t i = 0; !b->transaction && i < b->count; i++)
        changed =
            changed || (b->entries[i].action == ACT_WRITE && b->entries[i].result == ERR_CHANGED);
    if (changed && ++b->attempt < CHANGED_RETRIES) {
        process(b); /* matches changed under us: decide again */
        return;
    }
    finish(b);
}

/* Whether processing decides e (again): every write of a transaction, a batch entry once. */
static bool pending_decision(const struct bundle *b, const struct entry *e)
{
    return e->action == ACT_WRITE && !e->writes && (b->transaction || !e->job.writes);
}

/*
 * Undo the decisions of an attempt: all of them in a transaction; in a
 * batch only those of entries whose matches changed (the others are done).
 */
static void reset_attempt(struct bundle *b)
{
    restore_refs(b);
    strmap_init(&b->map, b->c->req->arena, 64);
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        bool redo = b->transaction ? e->action == ACT_WRITE || e->action == ACT_EXISTING ||
                                         e->action == ACT_NOTHING
                                   : e->action == ACT_WRITE && e->result == ERR_CHANGED;
        if (!redo)
            continue;
        for (size_t k = 0; e->writes && k < e->nwrites; k++) {
            free(e->writes[k].body);
            e->writes[k].body = NULL;
        }
        e->action = ACT_WRITE;
        e->writes = NULL;
        e->job.writes = NULL;
        e->nchecks = 0;
        e->nwrites = 0;
        e->result = ERR_OK;
        if (!strcmp(e->method, "POST"))
            e->id = NULL;
    }
}

/* Steps 2-4 for every entry, in processing order; false when an entry failed. */
static bool decide_all(struct bundle *b)
{
    for (int ph = 0; ph < 3; ph++)
        for (size_t i = 0; i < b->count; i++) {
            struct entry *e = &b->entries[i];
            if (pending_decision(b, e) && phase(e) == ph && !decide(b, e) && b->transaction)
                return false;
        }
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        bool has_body = pending_decision(b, e) && e->resource && strcmp(e->method, "PATCH") != 0;
        if (has_body && !rewrite_refs(b, e, e->resource) && b->transaction)
            return false;
    }
    /* the caller's reach over the new content (after references are final) */
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        char why[512];
        enum err err = pending_decision(b, e) && e->resource && strcmp(e->method, "DELETE") != 0
                           ? rest_admit(b->c, e->type, e->id, e->resource,
                                        strcmp(e->method, "POST") != 0, why, sizeof(why))
                           : ERR_OK;
        if (err && !entry_fail(e, err, "%s", why) && b->transaction)
            return false;
    }
    return true;
}

static void submit_transaction(struct bundle *b)
{
    struct arena *a = b->c->req->arena;
    size_t nwrites = 0, nchecks = 0;
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        nwrites += e->action == ACT_WRITE ? (e->nwrites ? e->nwrites : 1) : 0;
        nchecks += e->nchecks;
    }
    b->writes = arena_alloc(a, sizeof(*b->writes) * (nwrites + 1));
    b->checks = arena_alloc(a, sizeof(*b->checks) * (nchecks + 1));
    size_t w = 0, k = 0;
    for (int ph = 0; ph < 3; ph++)
        for (size_t i = 0; i < b->count; i++) {
            struct entry *e = &b->entries[i];
            if (e->action == ACT_WRITE && phase(e) == ph) {
                make_writes(b, e, &b->writes[w]);
                w += e->nwrites;
            }
        }
    for (size_t i = 0; i < b->count; i++)
        for (size_t j = 0; j < b->entries[i].nchecks; j++)
            b->checks[k++] = b->entries[i].checks[j];
    if (!check_duplicates(b)) {
        for (size_t i = 0; i < b->count; i++)
            if (b->entries[i].action == ACT_FAILED)
                respond_failed(b, &b->entries[i], b->entries[i].err, b->entries[i].why);
        release(b);
        return;
    }
    b->result = ERR_OK;
    if (w == 0 && k == 0) {
        finish(b);
        return;
    }
    b->job = (struct fhir_write_job){.writes = b->writes,
                                     .count = w,
                                     .checks = b->checks,
                                     .nchecks = k,
                                     .done = on_transaction_done,
                                     .arg = b};
    for (size_t i = 0; i < w; i++)
        rest_touched(b->c, b->writes[i].type, b->writes[i].id, NULL);
    rest_write_unit(b->c, &b->job.also, &b->job.also_ctx);
    http_request_suspend(b->c->req, on_resumed, b);
    fhir_write_submit(b->c->app->store, &b->job);
}

static void submit_batch(struct bundle *b)
{
    struct arena *a = b->c->req->arena;
    size_t units = 0;
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        if (!pending_decision(b, e))
            continue;
        size_t n = e->nwrites ? e->nwrites : 1;
        make_writes(b, e, arena_alloc(a, sizeof(struct fhir_write) * n));
        units++;
    }
    if (units == 0) {
        finish(b);
        return;
    }
    atomic_store(&b->outstanding, units);
    /* suspend first: the writer may finish every unit before the loop ends */
    http_request_suspend(b->c->req, on_resumed, b);
    for (size_t i = 0; i < b->count; i++) {
        struct entry *e = &b->entries[i];
        if (e->action != ACT_WRITE || e->job.writes == e->writes)
            continue;
        /* no audit unit here: the request's one entry is written when it completes */
        e->job = (struct fhir_write_job){.writes = e->writes,
                                         .count = e->nwrites,
                                         .checks = e->checks,
                                         .nchecks = e->nchecks,
                                         .done = on_entry_done,
                                         .arg = e};
        rest_touched(b->c, e->type, e->id, NULL);
        fhir_write_submit(b->c->app->store, &e->job);
    }
}

static void process(struct bundle *b)
{
    if (b->attempt)
        reset_attempt(b);
    if (!decide_all(b)) {
        for (size_t i = 0; i < b->count; i++)
            if (b->entries[i].action == ACT_FAILED) {
                respond_failed(b, &b->entries[i], b->entries[i].err, b->entries[i].why);
                break;
            }
        release(b);
        return;
    }
    if (b->transaction)
        submit_transaction(b);
    else
        submit_batch(b);
}

/* Step 1: the Bundle and its entries; false when answered with an error. */
static bool read_bundle(struct bundle *b)
{
    struct rest_ctx *c = b->c;
    json_object *root = NULL;
    if (rest_parse_json(c, &root)) {
        rest_diag_error(c);
        return false;
    }
    b->root = root;
    const char *rt = member_string(root, "resourceType");
    const char *type = member_string(root, "type");
    if (!rt || strcmp(rt, "Bundle") != 0 || !type ||
        (strcmp(type, "transaction") != 0 && strcmp(type, "batch") != 0)) {
        rest_error(c, ERR_INVALID, NULL,
                   "POST to the base takes a Bundle of type transaction or batch");
        return false;
    }
    b->transaction = !strcmp(type, "transaction");
    json_object *entries = NULL;
    json_object_object_get_ex(root, "entry", &entries);
    size_t n =
        json_object_get_type(entries) == json_type_array ? json_object_array_length(entries) : 0;
    if (n > (size_t)c->app->cfg->max_bundle_entries) {
        rest_error(c, ERR_TOO_LARGE, "Bundle.entry", "the Bundle has %zu entries; at most %d", n,
                   c->app->cfg->max_bundle_entries);
        return false;
    }
    b->count = n;
    b->entries = arena_alloc(c->req->arena, sizeof(*b->entries) * (n + 1));
    memset(b->entries, 0, sizeof(*b->entries) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &b->entries[i];
        e->index = i;
        e->b = b;
        if (!read_entry(b, e, json_object_array_get_idx(entries, i)) && b->transaction) {
            respond_failed(b, e, e->err, e->why);
            return false;
        }
    }
    return true;
}

void rest_bundle(struct rest_ctx *c)
{
    const char *ct = http_request_header(c->req, "Content-Type");
    char m[64] = "";
    if (ct)
        rest_media_type(ct, m, sizeof(m));
    if (ct && !rest_is_json_media(m)) {
        rest_error(c, ERR_MEDIA_TYPE, NULL,
                   "content type '%s' is not supported; use "
                   "application/fhir+json",
                   m);
        return;
    }
    struct bundle *b = arena_alloc(c->req->arena, sizeof(*b));
    memset(b, 0, sizeof(*b));
    b->c = c;
    strmap_init(&b->map, b->c->req->arena, 64);
    if (!read_bundle(b)) {
        release(b);
        return;
    }
    process(b);
}
