/*
 * subset.c - _summary and _elements on a stored resource (see subset.h).
 */
#include "fhir/subset.h"

#include <json-c/json.h>
#include <string.h>

#include "fhir/json.h"
#include "fhir/model.h"

static const char *const SUBSETTED_SYSTEM =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

bool fhir_subset_wanted(const struct fhir_query *q)
{
    return q->nelements > 0 ||
           (q->summary != FHIR_SUMMARY_FALSE && q->summary != FHIR_SUMMARY_COUNT);
}

static bool listed(const struct fhir_query *q, const char *name)
{
    for (size_t i = 0; i < q->nelements; i++)
        if (!strcmp(q->elements[i], name))
            return true;
    return false;
}

/* Whether top-level element name of a resource of model type t stays. */
static bool keep(const struct fhir_query *q, int t, const char *name)
{
    if (!strcmp(name, "resourceType") || !strcmp(name, "id") || !strcmp(name, "meta"))
        return true;
    /* "_status" (a primitive's extension companion) goes with "status" */
    const char *base = name[0] == '_' ? name + 1 : name;
    if (q->nelements)
        return listed(q, base);
    const struct fhir_element *e = t >= 0 ? fhir_element_find(t, str_from(base)) : NULL;
    switch (q->summary) {
    case FHIR_SUMMARY_TRUE:
        return e && e->summary;
    case FHIR_SUMMARY_TEXT:
        return !strcmp(base, "text") || (e && e->min > 0);
    case FHIR_SUMMARY_DATA:
        return strcmp(base, "text") != 0;
    default:
        return true;
    }
}

static void tag_subsetted(json_object *res)
{
    json_object *meta = NULL;
    if (!json_object_object_get_ex(res, "meta", &meta)) {
        meta = json_object_new_object();
        json_object_object_add(res, "meta", meta);
    }
    json_object *tags = NULL;
    if (!json_object_object_get_ex(meta, "tag", &tags)) {
        tags = json_object_new_array();
        json_object_object_add(meta, "tag", tags);
    }
    json_object *coding = json_object_new_object();
    json_object_object_add(coding, "system", json_object_new_string(SUBSETTED_SYSTEM));
    json_object_object_add(coding, "code", json_object_new_string("SUBSETTED"));
    json_object_object_add(coding, "display", json_object_new_string("subsetted"));
    json_object_array_add(tags, coding);
}

void fhir_subset_append(struct buf *out, struct str body, const struct fhir_query *q)
{
    json_object *res = NULL;
    struct arena a;
    arena_init(&a, 4096);
    struct diag d;
    diag_init(&d, &a);
    enum err err = fhir_json_parse(body.ptr, body.len, 1000, &d, &res);
    arena_release(&a);
    if (err || json_object_get_type(res) != json_type_object) {
        json_object_put(res);
        buf_append(out, body.ptr, body.len);
        return;
    }
    json_object *rt = NULL;
    int t = json_object_object_get_ex(res, "resourceType", &rt)
                ? fhir_resource_type_find(str_from(json_object_get_string(rt)))
                : -1;
    const char *drop[256];
    size_t ndrop = 0;
    json_object_object_foreach(res, key, val)
    {
        (void)val;
        if (!keep(q, t, key) && ndrop < 256)
            drop[ndrop++] = key;
    }
    for (size_t i = 0; i < ndrop; i++)
        json_object_object_del(res, drop[i]);
    tag_subsetted(res);
    size_t len = 0;
    const char *text = fhir_json_text(res, &len);
    buf_append(out, text, len);
    json_object_put(res);
}
