/*
 * everything.c - Patient/{id}/$everything (FHIR R4
 * patient-operation-everything.html): the patient, every resource in its
 * compartment (CompartmentDefinition-patient, generated into search_gen.c),
 * and the resources those refer to directly (organisations, practitioners,
 * medications ...), as one searchset Bundle.
 *
 * Parameters: _type (only these resource types), _since (only resources
 * changed at or after), _count (at most this many entries; beyond it the
 * Bundle says it was cut short). At most fhir.max_bundle_entries entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "core/timeutil.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/search_index.h"
#include "fhir/search_params.h"

struct everything {
    struct rest_ctx *c; /* the request */
    struct buf *out;    /* Bundle being written */
    const char **refs;  /* "Type/id" of every entry, in order */
    size_t nrefs, cap;  /* used, room */
    const char **types; /* _type, or NULL */
    size_t ntypes;      /* how many */
    int64_t since;      /* _since in ms, or INT64_MIN */
    bool truncated;     /* more than cap resources */
    struct strmap seen; /* refs, for de-duplication */
};

static bool wanted_type(const struct everything *ev, struct str type)
{
    if (!ev->types)
        return true;
    for (size_t i = 0; i < ev->ntypes; i++)
        if (str_eq_cstr(type, ev->types[i]))
            return true;
    return false;
}

static bool on_hit(const struct store_hit *hit, void *arg)
{
    struct everything *ev = arg;
    if (hit->last_updated < ev->since || !wanted_type(ev, hit->type))
        return true;
    /* never more than the caller could read directly */
    if (!rest_may_see(ev->c, hit->type, hit->id))
        return true;
    const char *ref =
        arena_printf(ev->c->req->arena, "%.*s/%.*s", STR_FMT(hit->type), STR_FMT(hit->id));
    if (strmap_get(&ev->seen, ref))
        return true;
    if (ev->nrefs == ev->cap) {
        ev->truncated = true;
        return false;
    }
    strmap_put(&ev->seen, ref, ref);
    ev->refs[ev->nrefs++] = ref;
    buf_printf(ev->out, "%s{\"fullUrl\":\"%s/%s\",\"resource\":", ev->nrefs > 1 ? "," : "",
               ev->c->base, ref);
    buf_append(ev->out, hit->body.ptr, hit->body.len);
    buf_append_str(ev->out, ",\"search\":{\"mode\":\"match\"}}");
    return true;
}

/* The compartment: every resource whose compartment parameter refers to the patient. */
static enum err compartment(struct everything *ev, const char *patient_ref)
{
    struct arena *a = ev->c->req->arena;
    const char *refs[1] = {patient_ref};
    for (size_t i = 0; i < fhir_patient_compartment_count && !ev->truncated; i++) {
        const struct fhir_compartment_link *l = &fhir_patient_compartment[i];
        if (!wanted_type(ev, str_from(l->type)) && strcmp(l->type, "Patient") != 0)
            continue;
        struct store_include_query q = {true, arena_printf(a, "%s.%s", l->type, l->param),
                                        NULL, refs,
                                        1,    (int)(ev->cap - ev->nrefs + 1)};
        enum err err = store_include(ev->c->app->store, &q, on_hit, ev);
        if (err)
            return err;
    }
    return ERR_OK;
}

/* One step out: what the patient and its compartment refer to. */
static enum err referenced(struct everything *ev)
{
    struct arena *a = ev->c->req->arena;
    size_t end = ev->nrefs;
    for (size_t i = 0; i < end && !ev->truncated; i++) {
        const char *slash = strchr(ev->refs[i], '/');
        char *type = arena_strndup(a, ev->refs[i], (size_t)(slash - ev->refs[i]));
        size_t n = 0;
        const struct fhir_search_param *params = fhir_search_params_of(type, &n);
        const char *one[1] = {ev->refs[i]};
        for (size_t k = 0; k < n && !ev->truncated; k++) {
            if (params[k].type != FHIR_SEARCH_REFERENCE)
                continue;
            struct store_include_query q = {false, arena_printf(a, "%s.%s", type, params[k].code),
                                            NULL,  one,
                                            1,     (int)(ev->cap - ev->nrefs + 1)};
            enum err err = store_include(ev->c->app->store, &q, on_hit, ev);
            if (err)
                return err;
        }
    }
    return ERR_OK;
}

/* _type, _since, _count; false when answered with an error. */
static bool parameters(struct everything *ev)
{
    struct rest_ctx *c = ev->c;
    for (size_t i = 0; i < c->req->param_count; i++) {
        const char *name = c->req->params[i].name, *v = c->req->params[i].value;
        if (!strcmp(name, "_since")) {
            int64_t hi;
            if (!time_parse_fhir_range(v, strlen(v), &ev->since, &hi)) {
                rest_error(c, ERR_INVALID, "_since", "'%.40s' is not an instant", v);
                return false;
            }
        } else if (!strcmp(name, "_type")) {
            char *list = arena_strndup(c->req->arena, v, strlen(v));
            ev->types = arena_alloc(c->req->arena, sizeof(*ev->types) * (strlen(v) / 2 + 2));
            for (char *t = strtok_r(list, ",", &list); t; t = strtok_r(NULL, ",", &list)) {
                if (fhir_resource_type_find(str_from(t)) < 0) {
                    rest_error(c, ERR_INVALID, "_type", "'%.40s' is not a resource type", t);
                    return false;
                }
                ev->types[ev->ntypes++] = t;
            }
        } else if (!strcmp(name, "_count")) {
            long n = strtol(v, NULL, 10);
            if (n > 0 && (size_t)n < ev->cap)
                ev->cap = (size_t)n;
        } else if (strcmp(name, "_format") != 0) {
            rest_error(c, ERR_INVALID, name,
                       "$everything takes _type, _since and _count, not '%.40s'", name);
            return false;
        }
    }
    return true;
}

void rest_everything(struct rest_ctx *c, const char *id)
{
    struct everything ev;
    memset(&ev, 0, sizeof(ev));
    ev.c = c;
    ev.out = &c->res->body;
    ev.since = INT64_MIN;
    ev.cap = (size_t)c->app->cfg->max_bundle_entries;
    strmap_init(&ev.seen, c->req->arena, 256);
    if (!parameters(&ev))
        return;
    ev.refs = arena_alloc(c->req->arena, sizeof(*ev.refs) * (ev.cap + 1));
    struct buf body;
    buf_init(&body, SIZE_MAX / 2);
    struct store_row row;
    enum err err = store_read(c->app->store, "Patient", id, 0, &body, &row);
    buf_release(&body);
    if (err || row.deleted) {
        rest_error(c, err ? err : ERR_GONE, NULL, "Patient/%s %s", id,
                   err ? "not found" : "was deleted");
        return;
    }
    buf_reset(ev.out);
    rest_bundle_open(ev.out, "searchset");
    buf_append_str(ev.out, ",\"entry\":[");
    const char *self = arena_printf(c->req->arena, "Patient/%s", id);
    err = compartment(&ev, self);
    if (!err)
        err = referenced(&ev);
    if (err) {
        rest_error(c, err, NULL, "$everything failed: %s", err_message(err));
        return;
    }
    if (ev.truncated)
        buf_printf(ev.out,
                   "%s{\"resource\":{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
                   "\"severity\":\"warning\",\"code\":\"too-costly\",\"diagnostics\":"
                   "\"more than %zu resources; narrow with _type or _since\"}]},"
                   "\"search\":{\"mode\":\"outcome\"}}",
                   ev.nrefs ? "," : "", ev.cap);
    buf_printf(ev.out, "],\"total\":%zu}", ev.nrefs);
    if (!ev.nrefs && !ev.truncated)
        fhir_bundle_drop_empty_entry(ev.out);
    c->res->status = 200;
    rest_json_type(c);
}
