/*
 * rest_write.c - the write interactions of FHIR R4 http.html: create,
 * update, patch, delete.
 *
 * Each one parses and validates on the worker thread, then submits its
 * write to the store and suspends the request; the store's writer thread
 * resumes it once the write is durable (or failed), and the continuation
 * (finish_*) answers. Meanwhile the worker serves other connections, so
 * concurrent writes from many connections share one commit.
 *
 *   handler ──parse, validate──▶ submit + suspend ··· group commit ···▶ resume ──▶ finish_*
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/json.h"
#include "fhir/patch.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/validate.h"
#include "fhir/write.h"

#define PATCH_RETRIES 5

enum prefer_return { PREFER_REPRESENTATION, PREFER_MINIMAL, PREFER_OUTCOME };

struct pending;
typedef void finish_fn(struct pending *p);

/* One write in flight; lives in the request arena until the response is sent. */
struct pending {
    struct rest_ctx *c;        /* the request */
    const char *type;          /* resource type */
    const char *id;            /* logical id */
    struct fhir_write w;       /* the write */
    struct fhir_write_job job; /* its submission */
    enum err result;           /* set on completion */
    json_object *resource;     /* owned: the resource written */
    json_object *patch;        /* owned: the patch document (patch only) */
    int64_t client_if_match;   /* If-Match of the request, or -1 */
    int attempt;               /* patch: tries so far */
    finish_fn *finish;         /* continuation */
    char new_id[37];           /* create: the assigned id */
};

static const char *const PATCH_MEDIA = "application/json-patch+json";

/* ---- request checks ---- */

static bool check_body_type(struct rest_ctx *c, bool is_patch)
{
    const char *ct = http_request_header(c->req, "Content-Type");
    if (!ct || !*ct)
        return true; /* lenient: a body without a type is read as JSON */
    char m[64];
    rest_media_type(ct, m, sizeof(m));
    if (is_patch ? !strcmp(m, PATCH_MEDIA) : rest_is_json_media(m))
        return true;
    rest_error(c, ERR_MEDIA_TYPE, NULL, "content type '%s' is not supported here; use %s", m,
               is_patch ? PATCH_MEDIA : "application/fhir+json");
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

/* If-Match: W/"3" or "3" -> 3; -1 when absent; false (answered 400) when malformed. */
static bool parse_if_match(struct rest_ctx *c, int64_t *out)
{
    *out = -1;
    const char *h = http_request_header(c->req, "If-Match");
    if (!h)
        return true;
    const char *p = h;
    if (p[0] == 'W' && p[1] == '/')
        p += 2;
    if (*p == '"')
        p++;
    char *end = NULL;
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
    } else if (strcmp(json_object_get_string(rt), type) != 0) {
        rest_error(c, ERR_INVALID, "resourceType",
                   "resourceType '%.64s' does not match the URL type '%s'",
                   json_object_get_string(rt), type);
    } else if (!fhir_validate_resource(obj, &c->diag)) {
        rest_diag_error(c);
    } else {
        *out = obj;
        return true;
    }
    json_object_put(obj);
    return false;
}

/* ---- answers ---- */

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
    else if (err == ERR_GONE)
        rest_error(c, err, NULL, "resource '%s/%s' was deleted", type, id);
    else
        rest_error(c, err, NULL, "cannot write '%s/%s': %s", type, id, err_message(err));
}

/* ---- submission and resumption ---- */

/* Writer thread: record the result and wake the request. */
static void on_written(void *arg, enum err result, size_t failed_index)
{
    (void)failed_index;
    struct pending *p = arg;
    p->result = result;
    http_request_resume(p->c->req);
}

/* Worker thread, after resumption. */
static void on_resumed(void *app, struct http_request *req, struct http_response *res, void *arg)
{
    (void)app;
    (void)req;
    (void)res;
    struct pending *p = arg;
    p->finish(p);
}

static void submit(struct pending *p, finish_fn *finish)
{
    p->finish = finish;
    p->job = (struct fhir_write_job){.writes = &p->w, .count = 1, .done = on_written, .arg = p};
    /* suspend first: the writer may resume us before submit returns */
    http_request_suspend(p->c->req, on_resumed, p);
    fhir_write_submit(p->c->app->store, &p->job);
}

static struct pending *pending_new(struct rest_ctx *c, const char *type, const char *id)
{
    struct pending *p = arena_alloc(c->req->arena, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->c = c;
    p->type = type;
    p->id = id;
    p->client_if_match = -1;
    return p;
}

static void pending_release(struct pending *p)
{
    free(p->w.body);
    p->w.body = NULL;
    json_object_put(p->resource);
    p->resource = NULL;
    json_object_put(p->patch);
    p->patch = NULL;
}

/* ---- create, update, delete ---- */

static void finish_put(struct pending *p)
{
    if (p->result)
        respond_write_error(p->c, p->result, p->type, p->id);
    else if (p->w.kind == FHIR_WRITE_CREATE)
        respond_written(p->c, p->type, &p->w, 201, true);
    else
        respond_written(p->c, p->type, &p->w, p->w.created ? 201 : 200, p->w.created);
    pending_release(p);
}

void rest_create(struct rest_ctx *c, const char *type)
{
    if (http_request_header(c->req, "If-None-Exist")) {
        rest_error(c, ERR_NOT_IMPLEMENTED, NULL,
                   "conditional create (If-None-Exist) is not supported yet");
        return;
    }
    json_object *obj = NULL;
    if (!check_body_type(c, false) || !parse_resource(c, type, &obj))
        return;
    struct pending *p = pending_new(c, type, NULL);
    fhir_uuid_v4(p->new_id);
    p->id = p->new_id;
    p->resource = obj;
    /* FHIR R4 http.html#create: an id in the body is ignored; the server assigns one. */
    p->w = (struct fhir_write){
        .kind = FHIR_WRITE_CREATE, .type = type, .id = p->id, .resource = obj, .if_match = -1};
    submit(p, finish_put);
}

void rest_update(struct rest_ctx *c, const char *type, const char *id)
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
        struct pending *p = pending_new(c, type, id);
        p->resource = obj;
        p->w = (struct fhir_write){.kind = FHIR_WRITE_UPDATE,
                                   .type = type,
                                   .id = id,
                                   .resource = obj,
                                   .if_match = if_match};
        submit(p, finish_put);
        return;
    }
    json_object_put(obj);
}

static void finish_delete(struct pending *p)
{
    if (p->result) {
        respond_write_error(p->c, p->result, p->type, p->id);
    } else {
        rest_version_headers(p->c, p->w.version, p->w.last_updated);
        p->c->res->status = 204;
        buf_reset(&p->c->res->body);
    }
    pending_release(p);
}

void rest_delete(struct rest_ctx *c, const char *type, const char *id)
{
    int64_t if_match;
    if (!parse_if_match(c, &if_match))
        return;
    struct pending *p = pending_new(c, type, id);
    p->w = (struct fhir_write){
        .kind = FHIR_WRITE_DELETE, .type = type, .id = id, .if_match = if_match};
    submit(p, finish_delete);
}

/* ---- patch ---- */

static void patch_attempt(struct pending *p);

/* Another write got in between our read and our write: read again and retry. */
static void finish_patch(struct pending *p)
{
    if (p->result == ERR_VERSION_CONFLICT && p->client_if_match < 0 &&
        p->attempt + 1 < PATCH_RETRIES) {
        p->attempt++;
        json_object_put(p->resource);
        p->resource = NULL;
        patch_attempt(p);
        return;
    }
    if (p->result)
        respond_write_error(p->c, p->result, p->type, p->id);
    else
        respond_written(p->c, p->type, &p->w, 200, false);
    pending_release(p);
}

/* Read the current version, apply the patch, validate; answers and returns NULL on failure. */
static json_object *patched_current(struct pending *p, int64_t *out_version)
{
    struct rest_ctx *c = p->c;
    struct buf cur;
    buf_init(&cur, SIZE_MAX / 2);
    struct store_row row;
    enum err err = store_read(c->app->store, p->type, p->id, 0, &cur, &row);
    if (!err && row.deleted)
        err = ERR_GONE;
    if (!err && p->client_if_match >= 0 && p->client_if_match != row.version)
        err = ERR_VERSION_CONFLICT;
    json_object *current = err ? NULL : json_tokener_parse(cur.ptr);
    buf_release(&cur);
    if (err) {
        respond_write_error(c, err, p->type, p->id);
        return NULL;
    }
    json_object *patched = NULL;
    err = fhir_json_patch(current, p->patch, &c->diag, &patched);
    json_object_put(current);
    if (err) {
        rest_diag_error(c);
        return NULL;
    }
    json_object *rt = NULL, *pid = NULL;
    bool same = json_object_get_type(patched) == json_type_object &&
                json_object_object_get_ex(patched, "resourceType", &rt) &&
                json_object_object_get_ex(patched, "id", &pid) &&
                !strcmp(json_object_get_string(rt), p->type) &&
                !strcmp(json_object_get_string(pid), p->id);
    if (!same || !fhir_validate_resource(patched, &c->diag)) {
        if (!same)
            diag_add(&c->diag, ERR_UNPROCESSABLE, NULL,
                     "a patch must not change resourceType or id");
        /* FHIR R4: a patch whose result is not a valid resource is 422. */
        c->diag.first_error = ERR_UNPROCESSABLE;
        rest_diag_error(c);
        json_object_put(patched);
        return NULL;
    }
    *out_version = row.version;
    return patched;
}

static void patch_attempt(struct pending *p)
{
    int64_t version = 0;
    json_object *patched = patched_current(p, &version);
    if (!patched) {
        pending_release(p);
        return;
    }
    p->resource = patched;
    p->w = (struct fhir_write){.kind = FHIR_WRITE_UPDATE,
                               .type = p->type,
                               .id = p->id,
                               .resource = patched,
                               .if_match = version};
    submit(p, finish_patch);
}

void rest_patch(struct rest_ctx *c, const char *type, const char *id)
{
    int64_t if_match;
    json_object *patch = NULL;
    if (!check_body_type(c, true) || !parse_if_match(c, &if_match) || !parse_body(c, &patch))
        return;
    struct pending *p = pending_new(c, type, id);
    p->patch = patch;
    p->client_if_match = if_match;
    patch_attempt(p);
}
