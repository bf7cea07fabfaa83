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

#include "fhir/conditional.h"
#include "fhir/json.h"
#include "fhir/patch.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/search_index.h"
#include "fhir/validate.h"
#include "fhir/write.h"

#define PATCH_RETRIES   5
#define CHANGED_RETRIES 5 /* conditional writes whose matches changed before their unit ran */

enum prefer_return { PREFER_REPRESENTATION, PREFER_MINIMAL, PREFER_OUTCOME };

struct pending;
typedef void finish_fn(struct pending *p);

/* One write in flight; lives in the request arena until the response is sent. */
struct pending {
    struct rest_ctx *c;               /* the request */
    const char *type;                 /* resource type */
    const char *id;                   /* logical id */
    struct fhir_write w;              /* the write */
    struct fhir_write_job job;        /* its submission */
    enum err result;                  /* set on completion */
    json_object *resource;            /* owned: the resource written */
    json_object *patch;               /* owned: the patch document (patch only) */
    int64_t client_if_match;          /* If-Match of the request, or -1 */
    int attempt;                      /* patch, conditional: tries so far */
    finish_fn *finish;                /* continuation */
    struct fhir_condition *cond;      /* conditional interactions: the criteria */
    struct fhir_write *writes;        /* several writes (conditional delete); NULL = &w */
    size_t nwrites;                   /* how many */
    void (*retry)(struct pending *p); /* conditional: resolve and submit again */
    char new_id[37];                  /* create: the assigned id */
    rest_written_fn *written;         /* rest_write_many: the module's continuation */
    void *written_arg;                /* its argument */
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
    if (!fhir_etag_version(h, out)) {
        rest_error(c, ERR_INVALID, NULL, "If-Match header '%.40s' is not a version ETag", h);
        return false;
    }
    return true;
}

static bool parse_body(struct rest_ctx *c, json_object **out)
{
    if (rest_parse_json(c, out)) {
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
    else if (err == ERR_FORBIDDEN)
        rest_error(c, err, NULL,
                   "'%s/%s' 不属于本账号可修改的记录 / '%s/%s' is not among the records you may "
                   "change",
                   type, id, type, id);
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
    /* a conditional write whose matches changed before its unit ran: resolve again */
    if (p->result == ERR_CHANGED && p->retry && ++p->attempt < CHANGED_RETRIES) {
        free(p->w.body);
        p->w.body = NULL;
        p->retry(p);
        return;
    }
    p->finish(p);
}

/* For the audit trail: what the write touches, and whose data it is. */
static void note_writes(struct pending *p)
{
    struct fhir_write *w = p->writes ? p->writes : &p->w;
    size_t n = p->writes ? p->nwrites : 1;
    for (size_t i = 0; i < n; i++) {
        const char *patient = w[i].resource ? fhir_compartment_patient(w[i].resource, w[i].type,
                                                                       w[i].id, p->c->req->arena)
                                            : NULL;
        rest_touched(p->c, w[i].type, w[i].id, patient);
    }
}

static void pending_release(struct pending *p);

/* The caller's reach over the writes: new content admitted, existing content limited. */
static bool admit_writes(struct pending *p)
{
    struct fhir_write *w = p->writes ? p->writes : &p->w;
    size_t n = p->writes ? p->nwrites : 1;
    for (size_t i = 0; i < n; i++) {
        char why[512];
        enum err err = w[i].resource ? rest_admit(p->c, w[i].type, w[i].id, w[i].resource,
                                                  w[i].kind != FHIR_WRITE_CREATE, why, sizeof(why))
                                     : ERR_OK;
        if (err) {
            rest_error(p->c, err, NULL, "%s", why);
            return false;
        }
        rest_write_limit(p->c, &w[i]);
    }
    return true;
}

/* Queue p's unit; false (answered, released) when the caller may not write what it holds. */
static bool submit(struct pending *p, finish_fn *finish)
{
    if (!admit_writes(p)) {
        pending_release(p);
        return false;
    }
    p->finish = finish;
    p->job = (struct fhir_write_job){.writes = p->writes ? p->writes : &p->w,
                                     .count = p->writes ? p->nwrites : 1,
                                     .checks = p->cond ? &p->cond->check : NULL,
                                     .nchecks = p->cond ? 1 : 0,
                                     .done = on_written,
                                     .arg = p};
    note_writes(p);
    rest_write_unit(p->c, &p->job.also, &p->job.also_ctx);
    /* suspend first: the writer may resume us before submit returns */
    http_request_suspend(p->c->req, on_resumed, p);
    fhir_write_submit(p->c->app->store, &p->job);
    return true;
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
    for (size_t i = 0; p->writes && i < p->nwrites; i++) {
        free(p->writes[i].body);
        p->writes[i].body = NULL;
        json_object_put(p->writes[i].resource);
        p->writes[i].resource = NULL;
    }
    json_object_put(p->resource);
    p->resource = NULL;
    json_object_put(p->patch);
    p->patch = NULL;
}

/* ---- a module's writes (operation.h) ---- */

static void finish_many(struct pending *p)
{
    p->written(p->c, p->result, p->writes, p->nwrites, p->written_arg);
    pending_release(p);
}

bool rest_write_many(struct rest_ctx *c, struct fhir_write *writes, size_t n, rest_written_fn *done,
                     void *arg)
{
    struct pending *p = pending_new(c, writes[0].type, writes[0].id);
    p->writes = writes;
    p->nwrites = n;
    p->written = done;
    p->written_arg = arg;
    return submit(p, finish_many);
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

/* Resolve p->cond for at most max matches; false (answered) on error or too many. */
static bool resolve(struct pending *p, size_t max)
{
    struct rest_ctx *c = p->c;
    enum err err = fhir_condition_resolve(c->app->store, p->cond, max);
    if (err) {
        rest_error(c, err, NULL, "conditional search failed: %s", err_message(err));
        return false;
    }
    if (p->cond->more) {
        rest_error(c, ERR_MULTIPLE_MATCHES, NULL,
                   "the criteria match more than %zu %s resource%s; make them more selective", max,
                   p->type, max == 1 ? "" : "s");
        return false;
    }
    return true;
}

/* Criteria from a header or the URL's parameters; false (answered 400) when unusable. */
static bool take_condition(struct pending *p, const char *qs)
{
    struct rest_ctx *c = p->c;
    p->cond = arena_alloc(c->req->arena, sizeof(*p->cond));
    fhir_condition_init(p->cond, c->req->arena, c->app->cfg, p->type);
    rest_confine_nested(c, &p->cond->q);
    bool ok = true;
    if (qs)
        ok = fhir_condition_parse(p->cond, qs);
    for (size_t i = 0; ok && !qs && i < c->req->param_count; i++)
        ok = fhir_condition_add(p->cond, c->req->params[i].name, c->req->params[i].value);
    if (ok && !fhir_condition_has_criteria(p->cond)) {
        snprintf(p->cond->q.why, sizeof(p->cond->q.why), "no search criteria given");
        ok = false;
    }
    if (!ok) {
        rest_error(c, ERR_INVALID, NULL, "conditional criteria: %s", p->cond->q.why);
        return false;
    }
    /* the criteria see only what the caller reaches */
    return rest_confine(c, &p->cond->q);
}

/* If-None-Exist matched one resource: answer it, unchanged (http.html#ccreate). */
static void respond_existing(struct pending *p, const char *id)
{
    struct rest_ctx *c = p->c;
    struct store_row row;
    buf_reset(&c->res->body);
    enum err err = store_read(c->app->store, p->type, id, 0, &c->res->body, &row);
    if (err || row.deleted) {
        rest_error(c, err ? err : ERR_CHANGED, NULL, "the matching resource changed; retry");
        return;
    }
    rest_version_headers(c, row.version, row.last_updated);
    http_response_header(c->res, "Location",
                         arena_printf(c->req->arena, "%s/%s/%s", c->base, p->type, id));
    c->res->status = 200;
    if (prefer_return(c) == PREFER_MINIMAL)
        buf_reset(&c->res->body);
    rest_json_type(c);
}

static void create_attempt(struct pending *p)
{
    if (p->cond) {
        if (!resolve(p, 1)) {
            pending_release(p);
            return;
        }
        if (p->cond->check.count == 1) {
            respond_existing(p, p->cond->check.ids[0]);
            pending_release(p);
            return;
        }
    }
    fhir_uuid_v7(p->new_id);
    p->id = p->new_id;
    /* FHIR R4 http.html#create: an id in the body is ignored; the server assigns one. */
    p->w = (struct fhir_write){.kind = FHIR_WRITE_CREATE,
                               .type = p->type,
                               .id = p->id,
                               .resource = p->resource,
                               .if_match = -1};
    submit(p, finish_put);
}

void rest_create(struct rest_ctx *c, const char *type)
{
    json_object *obj = NULL;
    if (!check_body_type(c, false) || !parse_resource(c, type, &obj))
        return;
    struct pending *p = pending_new(c, type, NULL);
    p->resource = obj;
    const char *ine = http_request_header(c->req, "If-None-Exist");
    if (ine && !take_condition(p, ine)) {
        pending_release(p);
        return;
    }
    p->retry = create_attempt;
    create_attempt(p);
}

static void update_attempt(struct pending *p)
{
    struct rest_ctx *c = p->c;
    if (!resolve(p, 1)) {
        pending_release(p);
        return;
    }
    json_object *body_id = NULL;
    const char *given = json_object_object_get_ex(p->resource, "id", &body_id)
                            ? json_object_get_string(body_id)
                            : NULL;
    if (p->cond->check.count == 1) {
        p->id = p->cond->check.ids[0];
        if (given && strcmp(given, p->id) != 0) {
            rest_error(c, ERR_INVALID, "id",
                       "id '%.64s' in the body is not the id '%s' the criteria match", given,
                       p->id);
            pending_release(p);
            return;
        }
    } else if (given) {
        p->id = arena_strndup(c->req->arena, given, strlen(given)); /* update as create */
    } else {
        fhir_uuid_v7(p->new_id);
        p->id = p->new_id;
    }
    p->w = (struct fhir_write){.kind = FHIR_WRITE_UPDATE,
                               .type = p->type,
                               .id = p->id,
                               .resource = p->resource,
                               .if_match = p->client_if_match};
    submit(p, finish_put);
}

/* PUT [type]?criteria (http.html#cond-update). */
void rest_update_conditional(struct rest_ctx *c, const char *type)
{
    int64_t if_match;
    json_object *obj = NULL;
    if (!check_body_type(c, false) || !parse_if_match(c, &if_match) ||
        !parse_resource(c, type, &obj))
        return;
    struct pending *p = pending_new(c, type, NULL);
    p->resource = obj;
    p->client_if_match = if_match;
    if (!take_condition(p, NULL)) {
        pending_release(p);
        return;
    }
    p->retry = update_attempt;
    update_attempt(p);
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

static void finish_delete_matches(struct pending *p)
{
    if (p->result) {
        respond_write_error(p->c, p->result, p->type, "(matches)");
    } else {
        char msg[128];
        snprintf(msg, sizeof(msg), "deleted %zu %s resource%s", p->nwrites, p->type,
                 p->nwrites == 1 ? "" : "s");
        p->c->res->status = 200;
        buf_reset(&p->c->res->body);
        fhir_outcome_single(&p->c->res->body, "information", ERR_OK, NULL, msg);
        rest_json_type(p->c);
    }
    pending_release(p);
}

static void delete_attempt(struct pending *p)
{
    struct rest_ctx *c = p->c;
    if (!resolve(p, (size_t)c->app->cfg->max_conditional_delete)) {
        pending_release(p);
        return;
    }
    p->nwrites = p->cond->check.count;
    if (p->nwrites == 0) {
        c->res->status = 200;
        buf_reset(&c->res->body);
        fhir_outcome_single(&c->res->body, "information", ERR_OK, NULL,
                            "no resource matched the criteria; nothing was deleted");
        rest_json_type(c);
        return;
    }
    p->writes = arena_alloc(c->req->arena, sizeof(*p->writes) * p->nwrites);
    for (size_t i = 0; i < p->nwrites; i++)
        p->writes[i] = (struct fhir_write){.kind = FHIR_WRITE_DELETE,
                                           .type = p->type,
                                           .id = p->cond->check.ids[i],
                                           .if_match = p->nwrites == 1 ? p->client_if_match : -1};
    submit(p, finish_delete_matches);
}

/* DELETE [type]?criteria (http.html#cdelete): every match, up to the configured maximum. */
void rest_delete_conditional(struct rest_ctx *c, const char *type)
{
    int64_t if_match;
    if (!parse_if_match(c, &if_match))
        return;
    struct pending *p = pending_new(c, type, NULL);
    p->client_if_match = if_match;
    if (!take_condition(p, NULL))
        return;
    p->retry = delete_attempt;
    delete_attempt(p);
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
    json_object *patched = NULL;
    enum err err = fhir_patch_current(c->app->store, p->type, p->id, p->client_if_match, p->patch,
                                      &c->diag, &patched, out_version);
    if (err == ERR_NOT_FOUND || err == ERR_GONE || err == ERR_VERSION_CONFLICT) {
        respond_write_error(c, err, p->type, p->id);
    } else if (err) {
        if (err == ERR_UNPROCESSABLE)
            c->diag.first_error = ERR_UNPROCESSABLE;
        rest_diag_error(c);
    }
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
    /* the patch reads the resource: a failed "test" would tell an outsider its content */
    if (!rest_may_read(c, type, id)) {
        json_object_put(patch);
        respond_write_error(c, ERR_FORBIDDEN, type, id);
        return;
    }
    struct pending *p = pending_new(c, type, id);
    p->patch = patch;
    p->client_if_match = if_match;
    patch_attempt(p);
}
