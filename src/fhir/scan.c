/*
 * scan.c - a paged visit of stored resources (scan.h).
 */
#include "fhir/scan.h"

#include "fhir/query.h"

json_object *fhir_parse_body(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_tokener_free(tok);
    return o;
}

#define PAGE 1000 /* resources per store search of fhir_scan_run */

struct visit {
    struct fhir_scan *sc;
    fhir_scan_fn *fn;
    void *arg;
    int64_t last_key;
    int n;     /* hits of this page */
    bool stop; /* the visitor said so, or the limit was reached */
};

static bool on_hit(const struct store_hit *hit, void *arg)
{
    struct visit *v = arg;
    v->last_key = hit->key;
    v->n++;
    if (v->sc->limit && v->sc->seen == v->sc->limit) {
        v->sc->truncated = true;
        v->stop = true;
        return false;
    }
    v->sc->seen++;
    json_object *o = fhir_parse_body(hit->body.ptr, hit->body.len);
    v->stop = o && !v->fn(v->arg, o, hit->last_updated);
    json_object_put(o);
    return !v->stop;
}

enum err fhir_scan_run(struct store *store, const struct config *cfg, struct arena *a,
                       struct fhir_scan *sc, fhir_scan_fn *fn, void *arg)
{
    struct fhir_query q;
    fhir_query_init(&q, a, cfg, sc->type);
    for (size_t i = 0; i < sc->ncriteria; i++)
        if (fhir_query_add(&q, sc->criteria[i][0], sc->criteria[i][1]) != FHIR_QUERY_OK)
            return ERR_INVALID;
    struct store_query sq;
    fhir_query_to_store(&q, PAGE, &sq);
    struct visit v = {sc, fn, arg, 0, PAGE, false};
    sc->seen = 0;
    sc->truncated = false;
    while (v.n == PAGE && !v.stop) {
        v.n = 0;
        if (sc->newest_first) /* up to and including before_key, descending */
            sq.before_key = v.last_key ? v.last_key - 1 : INT64_MAX;
        else
            sq.after_key = v.last_key;
        enum err err = store_search(store, &sq, on_hit, &v, NULL);
        if (err)
            return err;
    }
    return ERR_OK;
}
