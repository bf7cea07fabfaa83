/*
 * conditional.c - resolving the criteria of conditional interactions.
 *
 * Criteria are strict: a parameter that is unknown or not supported is an
 * error, never ignored, since ignoring it would widen the match (a
 * conditional delete that drops its only criterion deletes everything).
 */
#include "fhir/conditional.h"

#include <stdio.h>
#include <string.h>

void fhir_condition_init(struct fhir_condition *c, struct arena *a, const struct config *cfg,
                         const char *type)
{
    memset(c, 0, sizeof(*c));
    fhir_query_init(&c->q, a, cfg, type);
}

bool fhir_condition_add(struct fhir_condition *c, const char *name, const char *value)
{
    if (!strcmp(name, "_format") || !strcmp(name, "_pretty"))
        return true;
    if (fhir_query_is_result_param(name)) {
        snprintf(c->q.why, sizeof(c->q.why), "'%.40s' has no place in conditional criteria", name);
        return false;
    }
    return fhir_query_add(&c->q, name, value) == FHIR_QUERY_OK;
}

bool fhir_condition_parse(struct fhir_condition *c, const char *qs)
{
    struct fhir_query_pair *pairs;
    size_t n = fhir_query_split(c->q.arena, qs, strlen(qs), &pairs);
    for (size_t i = 0; i < n; i++)
        if (!fhir_condition_add(c, pairs[i].name, pairs[i].value))
            return false;
    if (!fhir_condition_has_criteria(c)) {
        snprintf(c->q.why, sizeof(c->q.why), "the conditional criteria name no search parameter");
        return false;
    }
    return true;
}

bool fhir_condition_has_criteria(const struct fhir_condition *c)
{
    return c->q.nclauses > 0;
}

struct collect {
    struct fhir_condition *c; /* the condition */
    size_t max;               /* ids wanted */
};

static bool on_hit(const struct store_hit *hit, void *arg)
{
    struct collect *k = arg;
    if (k->c->check.count == k->max) {
        k->c->more = true;
        return false;
    }
    k->c->check.ids[k->c->check.count++] = arena_strndup(k->c->q.arena, hit->id.ptr, hit->id.len);
    return true;
}

enum err fhir_condition_resolve(struct store *s, struct fhir_condition *c, size_t max)
{
    fhir_query_to_store(&c->q, (int)max + 1, &c->check.query);
    c->check.ids = arena_alloc(c->q.arena, sizeof(*c->check.ids) * (max + 1));
    c->check.count = 0;
    c->more = false;
    struct collect k = {c, max};
    return store_search(s, &c->check.query, on_hit, &k, NULL);
}
