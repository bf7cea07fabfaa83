/*
 * operation.c - the modules' operations (operation.h): the table, the call
 * (method, permission, the Parameters of GET or POST) and the Parameters
 * helpers.
 */
#include "fhir/operation.h"

#include <stdio.h>
#include <string.h>

#include "fhir/capability.h"
#include "fhir/query.h"
#include "fhir/scan.h"
#include "fhir/rest_internal.h"
#include "fhir/validate.h"

bool fhir_app_add_operation(struct fhir_app *app, const struct fhir_operation *op)
{
    if (app->nops == FHIR_MAX_OPERATIONS)
        return false;
    app->ops[app->nops++] = *op;
    buf_reset(&app->capability);
    fhir_capability_write(&app->capability, app->base, app->ops, app->nops);
    return true;
}

bool fhir_app_add_operations(struct fhir_app *app, const struct fhir_operation *ops, size_t n,
                             void *self)
{
    for (size_t i = 0; i < n; i++) {
        struct fhir_operation op = ops[i];
        op.self = self;
        if (!fhir_app_add_operation(app, &op))
            return false;
    }
    return true;
}

bool fhir_app_add_rule(struct fhir_app *app, const struct fhir_rule *rule)
{
    if (app->nrules == FHIR_MAX_RULES)
        return false;
    app->rules[app->nrules++] = *rule;
    return true;
}

const struct fhir_operation *rest_find_operation(struct rest_ctx *c, const char *type,
                                                 const char *name, bool instance)
{
    for (size_t i = 0; i < c->app->nops; i++) {
        const struct fhir_operation *op = &c->app->ops[i];
        if (!strcmp(op->type, type) && !strcmp(op->name, name) &&
            (instance ? op->on_instance : op->on_type))
            return op;
    }
    return NULL;
}

/* The query parameters as parts of params ({"name", "valueString"}). */
static void add_query_params(struct rest_ctx *c, json_object *params)
{
    json_object *list = NULL;
    if (!json_object_object_get_ex(params, "parameter", &list)) {
        list = json_object_new_array();
        json_object_object_add(params, "parameter", list);
    }
    for (size_t i = 0; i < c->req->param_count; i++) {
        const struct http_param *p = &c->req->params[i];
        if (p->name[0] == '_') /* _format, _pretty: not the operation's */
            continue;
        json_object *part = json_object_new_object();
        json_object_object_add(part, "name", json_object_new_string(p->name));
        json_object_object_add(part, "valueString", json_object_new_string(p->value));
        json_object_array_add(list, part);
    }
}

/* The call's Parameters: a POST body (a Parameters resource) and/or the query. NULL: answered. */
static json_object *call_params(struct rest_ctx *c)
{
    json_object *params = NULL;
    if (!strcmp(c->req->method, "POST") && c->req->body.len > 0) {
        if (rest_parse_json(c, &params)) {
            rest_diag_error(c);
            return NULL;
        }
        json_object *rt = NULL;
        if (!json_object_object_get_ex(params, "resourceType", &rt) ||
            strcmp(json_object_get_string(rt), "Parameters") != 0) {
            rest_error(c, ERR_INVALID, "resourceType",
                       "操作的请求体须为 Parameters 资源 / the body of an operation must be a "
                       "Parameters resource");
            json_object_put(params);
            return NULL;
        }
        if (!fhir_validate_resource(params, &c->diag)) {
            rest_diag_error(c);
            json_object_put(params);
            return NULL;
        }
    } else {
        params = json_object_new_object();
        json_object_object_add(params, "resourceType", json_object_new_string("Parameters"));
    }
    add_query_params(c, params);
    return params;
}

void rest_operation(struct rest_ctx *c, const struct fhir_operation *op, const char *id)
{
    bool get = !strcmp(c->req->method, "GET");
    if (!(get && op->get) && strcmp(c->req->method, "POST") != 0) {
        const char *allow = op->get ? "GET, POST" : "POST";
        rest_error(c, ERR_METHOD, NULL, "method %s is not allowed here; allowed: %s",
                   c->req->method, allow);
        http_response_header(c->res, "Allow", allow);
        return;
    }
    if (!rest_allow(c, op->interaction, op->type) ||
        (op->also_type && !rest_allow(c, op->also_interaction, op->also_type)))
        return;
    json_object *params = call_params(c);
    if (!params)
        return;
    op->run(c, op->type, id, params, op->self);
    json_object_put(params);
}

/* The value of a parameter or part as text, or NULL. */
static const char *value_text(json_object *part)
{
    static const char *const keys[] = {"valueString",   "valueCode",    "valueUri",
                                       "valueDateTime", "valueDate",    "valueId",
                                       "valueBoolean",  "valueInteger", "valueCanonical"};
    json_object *v = NULL;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (json_object_object_get_ex(part, keys[k], &v))
            return json_object_get_string(v);
    json_object *ref = NULL;
    if (json_object_object_get_ex(part, "valueReference", &v) &&
        json_object_object_get_ex(v, "reference", &ref))
        return json_object_get_string(ref);
    return NULL;
}

size_t fhir_params_all(json_object *params, const char *name, json_object **out, size_t max)
{
    json_object *list = NULL, *n = NULL;
    size_t found = 0;
    /* a Parameters resource has "parameter", one of its parameters "part" */
    if (!params || (!json_object_object_get_ex(params, "parameter", &list) &&
                    !json_object_object_get_ex(params, "part", &list)))
        return 0;
    if (json_object_get_type(list) != json_type_array)
        return 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *part = json_object_array_get_idx(list, i);
        if (json_object_object_get_ex(part, "name", &n) &&
            !strcmp(json_object_get_string(n), name)) {
            if (found < max)
                out[found] = part;
            found++;
        }
    }
    return found;
}

const char *fhir_params_text(json_object *params, const char *name)
{
    json_object *part = NULL;
    return fhir_params_all(params, name, &part, 1) ? value_text(part) : NULL;
}

/* ---- searches for handlers ---- */

/* Hits of a search, parsed. */
struct hits {
    json_object **out;
    size_t n, max;
};

static bool take_hit(const struct store_hit *hit, void *arg)
{
    struct hits *h = arg;
    json_object *o = fhir_parse_body(hit->body.ptr, hit->body.len);
    if (o)
        h->out[h->n++] = o;
    return h->n < h->max;
}

bool rest_search_parsed(struct rest_ctx *c, const char *type, const char *const criteria[][2],
                        size_t n, const char *patient, json_object **out, size_t max, size_t *found)
{
    struct fhir_query q;
    fhir_query_init(&q, c->req->arena, c->app->cfg, type);
    rest_confine_nested(c, &q);
    *found = 0;
    for (size_t i = 0; i < n; i++)
        if (fhir_query_add(&q, criteria[i][0], criteria[i][1]) != FHIR_QUERY_OK) {
            rest_error(c, ERR_INVALID, criteria[i][0], "%s", q.why);
            return false;
        }
    if (!rest_confine(c, &q))
        return false;
    rest_touched(c, type, NULL, patient);
    struct store_query sq;
    fhir_query_to_store(&q, (int)max, &sq);
    struct hits h = {out, 0, max};
    enum err err = store_search(c->app->store, &sq, take_hit, &h, NULL);
    *found = h.n;
    if (err) {
        for (size_t i = 0; i < h.n; i++)
            json_object_put(out[i]);
        *found = 0;
        rest_error(c, err, NULL, "the search failed: %s", err_message(err));
        return false;
    }
    return true;
}
