/*
 * terminology.c - token modifier expansions from the ValueSet and
 * CodeSystem resources held here (see terminology.h).
 */
#include "fhir/terminology.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/diag.h"
#include "fhir/json.h"

struct codes {
    struct fhir_query *q;
    struct fhir_code *items; /* in q->arena */
    size_t count;
    bool full; /* more than FHIR_QUERY_MAX_CODES */
};

static enum fhir_query_result why(struct fhir_query *q, enum fhir_query_result r, const char *fmt,
                                  ...) __attribute__((format(printf, 3, 4)));

static enum fhir_query_result why(struct fhir_query *q, enum fhir_query_result r, const char *fmt,
                                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->why, sizeof(q->why), fmt, ap);
    va_end(ap);
    return r;
}

static const char *text_of(json_object *obj, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, name, &v) || json_object_get_type(v) != json_type_string)
        return NULL;
    return json_object_get_string(v);
}

static json_object *array_of(json_object *obj, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, name, &v) || json_object_get_type(v) != json_type_array)
        return NULL;
    return v;
}

static void add_code(struct codes *c, const char *system, const char *code)
{
    if (!code)
        return;
    if (c->count == FHIR_QUERY_MAX_CODES) {
        c->full = true;
        return;
    }
    struct arena *a = c->q->arena;
    c->items[c->count].system = system ? arena_strndup(a, system, strlen(system)) : NULL;
    c->items[c->count].code = arena_strndup(a, code, strlen(code));
    c->count++;
}

/* ---- finding a resource by canonical url ---- */

struct found {
    struct arena *arena;
    char *body;
    size_t len;
    int hits;
};

static bool on_hit(const struct store_hit *hit, void *ctx)
{
    struct found *f = ctx;
    if (f->hits++ == 0) {
        f->body = arena_strndup(f->arena, hit->body.ptr, hit->body.len);
        f->len = hit->body.len;
    }
    return true;
}

/* The one resource of type whose url is url ("url|version" is cut at '|'), parsed; or NULL. */
static json_object *find_by_url(struct store *s, struct fhir_query *q, const char *type,
                                const char *url, enum fhir_query_result *r)
{
    char *plain = arena_strndup(q->arena, url, strcspn(url, "|"));
    struct store_predicate pred = {
        .kind = STORE_IDX_URI,
        .param = arena_printf(q->arena, "%s.url", type),
        .op = STORE_OP_EQ,
        .text1 = plain,
    };
    struct store_clause clause = {&pred, 1};
    struct store_query sq = {.type = type, .clauses = &clause, .count = 1, .limit = 2};
    struct found f = {q->arena, NULL, 0, 0};
    if (store_search(s, &sq, on_hit, &f, NULL) != ERR_OK) {
        *r = why(q, FHIR_QUERY_INVALID, "could not look up %s %.80s", type, plain);
        return NULL;
    }
    if (f.hits != 1) {
        *r = why(q, FHIR_QUERY_INVALID,
                 f.hits ? "more than one %s has the url %.80s"
                        : "no %s with the url %.80s is on this server",
                 type, plain);
        return NULL;
    }
    struct diag d;
    diag_init(&d, q->arena);
    json_object *root = NULL;
    if (fhir_json_parse(f.body, f.len, q->cfg->max_json_depth, &d, &root) != ERR_OK) {
        *r = why(q, FHIR_QUERY_INVALID, "%s %.80s could not be read", type, plain);
        return NULL;
    }
    return root;
}

/* ---- CodeSystem hierarchy ---- */

static void all_concepts(struct codes *c, const char *system, json_object *concepts)
{
    for (size_t i = 0; concepts && i < json_object_array_length(concepts); i++) {
        json_object *concept = json_object_array_get_idx(concepts, i);
        add_code(c, system, text_of(concept, "code"));
        all_concepts(c, system, array_of(concept, "concept"));
    }
}

/* Find code below concepts; above: add each concept on the path to it (and it). */
static bool walk_to(struct codes *c, const char *system, json_object *concepts, const char *code,
                    bool above)
{
    for (size_t i = 0; concepts && i < json_object_array_length(concepts); i++) {
        json_object *concept = json_object_array_get_idx(concepts, i);
        const char *own = text_of(concept, "code");
        json_object *children = array_of(concept, "concept");
        if (own && !strcmp(own, code)) {
            add_code(c, system, own);
            if (!above)
                all_concepts(c, system, children);
            return true;
        }
        if (walk_to(c, system, children, code, above)) {
            if (above)
                add_code(c, system, own);
            return true;
        }
    }
    return false;
}

static enum fhir_query_result hierarchy(struct store *s, struct codes *c, const char *value,
                                        bool above)
{
    struct fhir_query *q = c->q;
    const char *bar = strchr(value, '|');
    if (!bar || bar == value || !bar[1])
        return why(q, FHIR_QUERY_INVALID, ":%s takes system|code, not '%.60s'",
                   above ? "above" : "below", value);
    char *system = arena_strndup(q->arena, value, (size_t)(bar - value));
    enum fhir_query_result r = FHIR_QUERY_OK;
    json_object *cs = find_by_url(s, q, "CodeSystem", system, &r);
    if (!cs)
        return r;
    if (!walk_to(c, system, array_of(cs, "concept"), bar + 1, above))
        r = why(q, FHIR_QUERY_INVALID, "code %.60s is not in CodeSystem %.80s", bar + 1, system);
    json_object_put(cs);
    return r;
}

/* ---- ValueSet ---- */

static void expansion(struct codes *c, json_object *contains)
{
    for (size_t i = 0; contains && i < json_object_array_length(contains); i++) {
        json_object *item = json_object_array_get_idx(contains, i);
        add_code(c, text_of(item, "system"), text_of(item, "code"));
        expansion(c, array_of(item, "contains"));
    }
}

/* One compose.include: its listed concepts, or every concept of its system held here. */
static enum fhir_query_result include(struct store *s, struct codes *c, json_object *inc)
{
    struct fhir_query *q = c->q;
    const char *system = text_of(inc, "system");
    if (array_of(inc, "filter") || array_of(inc, "valueSet") || !system)
        return why(q, FHIR_QUERY_UNSUPPORTED,
                   "the value set includes by filter or by other value sets; give it an "
                   "expansion to search with it");
    json_object *concepts = array_of(inc, "concept");
    if (concepts) {
        for (size_t i = 0; i < json_object_array_length(concepts); i++)
            add_code(c, system, text_of(json_object_array_get_idx(concepts, i), "code"));
        return FHIR_QUERY_OK;
    }
    enum fhir_query_result r = FHIR_QUERY_OK;
    json_object *cs = find_by_url(s, q, "CodeSystem", system, &r);
    if (!cs)
        return r;
    all_concepts(c, system, array_of(cs, "concept"));
    json_object_put(cs);
    return FHIR_QUERY_OK;
}

static bool excluded(json_object *excludes, const struct fhir_code *code)
{
    for (size_t i = 0; excludes && i < json_object_array_length(excludes); i++) {
        json_object *exc = json_object_array_get_idx(excludes, i);
        const char *system = text_of(exc, "system");
        json_object *concepts = array_of(exc, "concept");
        if (!system || !code->system || strcmp(system, code->system) != 0)
            continue;
        if (!concepts)
            return true; /* the whole system is excluded */
        for (size_t k = 0; k < json_object_array_length(concepts); k++) {
            const char *c = text_of(json_object_array_get_idx(concepts, k), "code");
            if (c && !strcmp(c, code->code))
                return true;
        }
    }
    return false;
}

static enum fhir_query_result compose(struct store *s, struct codes *c, json_object *vs)
{
    json_object *comp = NULL;
    if (!json_object_object_get_ex(vs, "compose", &comp))
        return why(c->q, FHIR_QUERY_INVALID, "the value set has neither expansion nor compose");
    json_object *includes = array_of(comp, "include");
    for (size_t i = 0; includes && i < json_object_array_length(includes); i++) {
        enum fhir_query_result r = include(s, c, json_object_array_get_idx(includes, i));
        if (r)
            return r;
    }
    json_object *excludes = array_of(comp, "exclude");
    for (size_t i = 0; excludes && i < json_object_array_length(excludes); i++)
        if (array_of(json_object_array_get_idx(excludes, i), "filter"))
            return why(c->q, FHIR_QUERY_UNSUPPORTED, "the value set excludes by filter");
    size_t kept = 0;
    for (size_t i = 0; i < c->count; i++)
        if (!excluded(excludes, &c->items[i]))
            c->items[kept++] = c->items[i];
    c->count = kept;
    return FHIR_QUERY_OK;
}

static enum fhir_query_result value_set(struct store *s, struct codes *c, const char *url)
{
    enum fhir_query_result r = FHIR_QUERY_OK;
    json_object *vs = find_by_url(s, c->q, "ValueSet", url, &r);
    if (!vs)
        return r;
    json_object *exp = NULL;
    if (json_object_object_get_ex(vs, "expansion", &exp))
        expansion(c, array_of(exp, "contains"));
    else
        r = compose(s, c, vs);
    json_object_put(vs);
    return r;
}

enum fhir_query_result fhir_terminology_codes(void *s, struct fhir_query *q, const char *modifier,
                                              const char *value, struct fhir_code **out, size_t *n)
{
    struct codes c = {q, arena_alloc(q->arena, sizeof(struct fhir_code) * FHIR_QUERY_MAX_CODES), 0,
                      false};
    enum fhir_query_result r;
    if (!strcmp(modifier, "in") || !strcmp(modifier, "not-in"))
        r = value_set(s, &c, value);
    else
        r = hierarchy(s, &c, value, !strcmp(modifier, "above"));
    if (!r && c.full)
        r = why(q, FHIR_QUERY_INVALID, ":%s expands to more than %d codes", modifier,
                FHIR_QUERY_MAX_CODES);
    *out = c.items;
    *n = c.count;
    return r;
}
