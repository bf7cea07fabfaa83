/*
 * recognition_data.c - reference data kept between calls (recognition_data.h).
 */
#include "modules/recognition/recognition_data.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "core/xalloc.h"
#include "fhir/query.h"

#define PARTOF_DEPTH   6    /* institution → county → city → province */
#define MAX_MAPS       1000 /* ConceptMaps read into a snapshot */
#define MAX_CATALOGUES 1000 /* catalogue versions looked at for the active one */
#define MAX_LOCALS     8192 /* mapped local codes kept */

static const char *const watched[] = {"CodeSystem", "ConceptMap", "Organization"};
#define NWATCHED (sizeof(watched) / sizeof(watched[0]))

struct snap {
    struct recog_snapshot pub; /* first: a recog_snapshot * is a struct snap * */
    int refs;                  /* the cache's own, and one per call using it */
    uint64_t gens[NWATCHED];   /* the store generations it was read at */
    struct arena a;            /* everything it holds */
    pthread_mutex_t lock;      /* institutions (and the arena after the build) */
    struct strmap institutions;
    struct recog_local *locals;
};

struct recog_data {
    struct store *store;
    const struct config *cfg;
    pthread_mutex_t lock; /* cur and every snapshot's refs */
    struct snap *cur;
};

/* ---- reading ---- */

static char *keep(struct snap *sn, const char *s)
{
    return s ? arena_strndup(&sn->a, s, strlen(s)) : NULL;
}

json_object *recog_data_read(struct store *store, const char *ref)
{
    const char *slash = strchr(ref, '/');
    if (!slash || slash - ref > 60)
        return NULL;
    char type[64];
    snprintf(type, sizeof(type), "%.*s", (int)(slash - ref), ref);
    struct buf body;
    buf_init(&body, 64u << 20);
    struct store_row row;
    json_object *o = NULL;
    if (!store_read(store, type, slash + 1, 0, &body, &row) && !row.deleted)
        o = json_tokener_parse(body.ptr);
    buf_release(&body);
    return o;
}

/* ---- the catalogue and the mappings ---- */

struct newest {
    struct snap *sn;
    int64_t at;
};

/* Keep the active catalogue updated last. */
static bool take_catalogue(void *arg, json_object *cs, int64_t last_updated)
{
    struct newest *n = arg;
    const char *status = recog_str(cs, "status");
    if (!status || strcmp(status, "active") != 0 || last_updated < n->at)
        return true;
    n->at = last_updated;
    n->sn->pub.ok = recog_catalogue_parse(cs, &n->sn->a, &n->sn->pub.cat, n->sn->pub.why,
                                          sizeof(n->sn->pub.why));
    return true;
}

/* One group of a ConceptMap: the elements equivalent (or equal) to a catalogue item. */
static void map_group(struct snap *sn, json_object *group)
{
    const char *source = recog_str(group, "source"), *target = recog_str(group, "target");
    json_object *elements = NULL, *targets = NULL;
    if (!source || !target || !json_object_object_get_ex(group, "element", &elements) ||
        !json_object_is_type(elements, json_type_array))
        return;
    for (size_t e = 0; e < json_object_array_length(elements); e++) {
        json_object *el = json_object_array_get_idx(elements, e);
        const char *code = recog_str(el, "code");
        if (!code || !json_object_object_get_ex(el, "target", &targets) ||
            !json_object_is_type(targets, json_type_array))
            continue;
        for (size_t t = 0; t < json_object_array_length(targets); t++) {
            json_object *tg = json_object_array_get_idx(targets, t);
            const char *eq = recog_str(tg, "equivalence");
            const struct recog_item *it =
                recog_catalogue_find(&sn->pub.cat, target, recog_str(tg, "code"));
            if (!it || !eq || (strcmp(eq, "equivalent") && strcmp(eq, "equal")) ||
                sn->pub.nlocals == MAX_LOCALS)
                continue;
            sn->locals[sn->pub.nlocals++] =
                (struct recog_local){keep(sn, source), keep(sn, code), it};
        }
    }
}

static bool take_map(void *arg, json_object *map, int64_t last_updated)
{
    (void)last_updated;
    struct snap *sn = arg;
    json_object *groups = NULL;
    if (json_object_object_get_ex(map, "group", &groups) &&
        json_object_is_type(groups, json_type_array))
        for (size_t g = 0; g < json_object_array_length(groups); g++)
            map_group(sn, json_object_array_get_idx(groups, g));
    return true;
}

static struct snap *build(struct recog_data *d, const uint64_t gens[NWATCHED])
{
    struct snap *sn = xcalloc(1, sizeof(*sn));
    arena_init(&sn->a, 64u * 1024);
    pthread_mutex_init(&sn->lock, NULL);
    memcpy(sn->gens, gens, sizeof(sn->gens));
    strmap_init(&sn->institutions, &sn->a, 64);
    sn->locals = arena_alloc(&sn->a, sizeof(*sn->locals) * MAX_LOCALS);
    sn->pub.locals = sn->locals;
    snprintf(sn->pub.why, sizeof(sn->pub.why),
             "未配置互认项目目录 / no recognition catalogue is configured (CodeSystem %s)",
             RECOG_CATALOGUE_URL);
    struct newest n = {sn, INT64_MIN};
    const char *cat[][2] = {{"url", RECOG_CATALOGUE_URL}};
    const char *maps[][2] = {{"status", "active,draft"}};
    struct fhir_scan cats = {"CodeSystem", cat, 1, MAX_CATALOGUES, false, 0, false};
    struct fhir_scan cms = {"ConceptMap", maps, 1, MAX_MAPS, false, 0, false};
    enum err err = fhir_scan_run(d->store, d->cfg, &sn->a, &cats, take_catalogue, &n);
    if (!err && sn->pub.ok)
        err = fhir_scan_run(d->store, d->cfg, &sn->a, &cms, take_map, sn);
    if (err) {
        sn->pub.ok = false;
        snprintf(sn->pub.why, sizeof(sn->pub.why), "the catalogue could not be read: %s",
                 err_message(err));
    }
    return sn;
}

static void snap_free(struct snap *sn)
{
    pthread_mutex_destroy(&sn->lock);
    arena_release(&sn->a);
    free(sn);
}

/* ---- snapshots ---- */

struct recog_data *recog_data_new(struct store *store, const struct config *cfg)
{
    struct recog_data *d = xcalloc(1, sizeof(*d));
    d->store = store;
    d->cfg = cfg;
    pthread_mutex_init(&d->lock, NULL);
    return d;
}

void recog_data_free(struct recog_data *d)
{
    if (!d)
        return;
    if (d->cur && --d->cur->refs == 0)
        snap_free(d->cur);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

struct recog_snapshot *recog_data_acquire(struct recog_data *d)
{
    uint64_t gens[NWATCHED];
    for (size_t i = 0; i < NWATCHED; i++) /* before reading: see store_generation */
        gens[i] = store_generation(d->store, watched[i]);
    pthread_mutex_lock(&d->lock);
    struct snap *sn = d->cur;
    if (sn && !memcmp(sn->gens, gens, sizeof(gens))) {
        sn->refs++;
        pthread_mutex_unlock(&d->lock);
        return &sn->pub;
    }
    pthread_mutex_unlock(&d->lock);
    struct snap *fresh = build(d, gens); /* outside the lock: it reads the store */
    pthread_mutex_lock(&d->lock);
    struct snap *old = d->cur;
    d->cur = fresh;
    fresh->refs = 2; /* the cache's and the caller's */
    if (old && --old->refs == 0)
        snap_free(old);
    pthread_mutex_unlock(&d->lock);
    return &fresh->pub;
}

void recog_data_release(struct recog_data *d, struct recog_snapshot *pub)
{
    struct snap *sn = (struct snap *)pub;
    pthread_mutex_lock(&d->lock);
    bool last = --sn->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (last)
        snap_free(sn);
}

/* ---- institutions ---- */

/* The extension url of a resource: its valueReference's reference, or NULL. */
static const char *ext_reference(json_object *res, const char *url)
{
    json_object *exts = NULL, *v = NULL;
    if (!json_object_object_get_ex(res, "extension", &exts) ||
        !json_object_is_type(exts, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(exts); i++) {
        json_object *e = json_object_array_get_idx(exts, i);
        if (recog_str(e, "url") && !strcmp(recog_str(e, "url"), url) &&
            json_object_object_get_ex(e, "valueReference", &v))
            return recog_str(v, "reference");
    }
    return NULL;
}

/* The GB/T 2260 code among an organisation's identifiers, or NULL. */
static const char *division_code(json_object *org)
{
    json_object *ids = NULL;
    if (!json_object_object_get_ex(org, "identifier", &ids) ||
        !json_object_is_type(ids, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(ids); i++) {
        json_object *id = json_object_array_get_idx(ids, i);
        if (recog_str(id, "system") && !strcmp(recog_str(id, "system"), RECOG_DIVISION_OID))
            return recog_str(id, "value");
    }
    return NULL;
}

/* "郑州市卫生健康委员会" → "郑州": the city's short name for its mark. */
static const char *short_city_name(struct snap *sn, const char *name)
{
    static const char *const suffixes[] = {"卫生健康委员会", "卫健委", "市", "示范区"};
    if (!name)
        return NULL;
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && !memcmp(name + len - sl, suffixes[i], sl))
            len -= sl;
    }
    return arena_strndup(&sn->a, name, len);
}

/*
 * Walk partOf from org up to the top: its city (the division code, the
 * commission and its short name) and the top of the tree.
 */
static void locate(struct recog_data *d, struct snap *sn, json_object *org, const char *ref,
                   struct recog_institution *in)
{
    json_object *cur = json_object_get(org);
    char city[7] = "";
    for (int depth = 0; cur && depth < PARTOF_DEPTH; depth++) {
        const char *code = division_code(cur), *name = recog_str(cur, "name");
        if (code && !city[0] && recog_city_of_division(code, city))
            in->place.city = keep(sn, city);
        if (code && city[0] && !strcmp(code, city) && !in->city_org) {
            in->place.city_name = short_city_name(sn, name);
            in->city_org = keep(sn, ref);
            in->city_org_name = keep(sn, name);
        }
        in->top_org = keep(sn, ref);
        in->top_org_name = keep(sn, name);
        json_object *part = NULL;
        ref = json_object_object_get_ex(cur, "partOf", &part) ? recog_str(part, "reference") : NULL;
        json_object *next =
            ref && !strncmp(ref, "Organization/", 13) ? recog_data_read(d->store, ref) : NULL;
        ref = next ? keep(sn, ref) : NULL;
        json_object_put(cur);
        cur = next;
    }
    json_object_put(cur);
}

const struct recog_institution *recog_data_institution(struct recog_data *d,
                                                       struct recog_snapshot *pub, const char *ref)
{
    struct snap *sn = (struct snap *)pub;
    if (!ref || strncmp(ref, "Organization/", 13) != 0)
        return NULL;
    pthread_mutex_lock(&sn->lock);
    struct recog_institution *in = (struct recog_institution *)strmap_get(&sn->institutions, ref);
    if (!in) {
        json_object *org = recog_data_read(d->store, ref);
        if (org) { /* read under the lock: the arena is the snapshot's */
            in = arena_alloc(&sn->a, sizeof(*in));
            memset(in, 0, sizeof(*in));
            in->place.org = keep(sn, ref);
            in->place.name = keep(sn, recog_str(org, "name"));
            in->place.alliance = keep(sn, ext_reference(org, RECOG_EXT_ALLIANCE));
            in->neqa = recog_eqa_parse(org, &sn->a, &in->eqa);
            locate(d, sn, org, ref, in);
            strmap_put(&sn->institutions, in->place.org, (const char *)in);
            json_object_put(org);
        }
    }
    pthread_mutex_unlock(&sn->lock);
    return in;
}

const struct recog_item *recog_snapshot_item(const struct recog_snapshot *sn, json_object *res,
                                             const struct recog_item *const *items, size_t n)
{
    json_object *code = NULL, *codings = NULL;
    if (!sn->ok || !json_object_object_get_ex(res, "code", &code) ||
        !json_object_object_get_ex(code, "coding", &codings) ||
        !json_object_is_type(codings, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(codings); i++) {
        json_object *cd = json_object_array_get_idx(codings, i);
        const char *sys = recog_str(cd, "system"), *c = recog_str(cd, "code");
        if (!sys || !c)
            continue;
        const struct recog_item *it = recog_catalogue_find(&sn->cat, sys, c);
        if (it && (!items || recog_item_among(it, items, n)))
            return it;
        for (size_t j = 0; j < sn->nlocals; j++) {
            const struct recog_local *l = &sn->locals[j];
            if (!strcmp(l->system, sys) && !strcmp(l->code, c) &&
                (!items || recog_item_among(l->item, items, n)))
                return l->item;
        }
    }
    return NULL;
}
