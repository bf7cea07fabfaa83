/*
 * bed_pool.c - the beds in memory (bed_pool.h). One node per Location,
 * found by id through an open-addressing table; beds and wards resolved
 * from their partOf chain, and listed per hospital in sorted arrays that
 * are rebuilt only when the structure changed (a Location other than a
 * bed, or a bed's place): a status change re-resolves that bed alone.
 */
#include "modules/inpatient/bed_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/access.h"
#include "fhir/scan.h"
#include "modules/inpatient/bed_edit.h"

#define HISTORY_PAGE 4096 /* versions read per step; more since the last: reload */
#define MAX_DEPTH    16   /* partOf links followed (a cycle stops here) */

enum node_kind { NODE_OTHER, NODE_SITE, NODE_BUILDING, NODE_LEVEL, NODE_WARD, NODE_ROOM, NODE_BED };

struct node {
    char *id;               /* Location id */
    enum node_kind kind;    /* from physicalType */
    char *part_of;          /* parent Location id, or NULL */
    char *name;             /* Location.name */
    char *org;              /* managingOrganization reference */
    char *custodian;        /* the custodian tag ("Organization/id") */
    char *group;            /* specialty-group extension */
    char *type;             /* bed type code */
    char *encounter;        /* bed-encounter extension */
    int floor;              /* floor-number extension, or INPT_NO_FLOOR */
    bool isolation;         /* isolation-ward extension */
    char sex;               /* bed-sex: 'm', 'f', 0 */
    int age_min, age_max;   /* bed-age-min/max, or -1 */
    bool active;            /* Location.status is active (or absent) */
    enum bed_status status; /* operationalStatus; free when absent */
    int64_t since_ms;       /* bed-status-since */
    int64_t version;        /* the version read */
    bool gone;              /* deleted */
    bool claimed;           /* a change of it is being written (bed_pool_claim) */
    struct bed_place place; /* NODE_BED, resolved */
    struct bed_ward ward;   /* NODE_WARD, resolved */
};

struct bed_pool {
    struct store *store;      /* borrowed */
    const struct config *cfg; /* borrowed */
    pthread_mutex_t lock;     /* over everything below */
    bool loaded;              /* the first full read was done */
    uint64_t gen;             /* the store's Location generation seen */
    int64_t last_seq;         /* the newest Location row applied */
    struct node **nodes;      /* every Location ever seen */
    size_t count, cap;
    struct node **slots;           /* id -> node; NULL = free */
    size_t nslots;                 /* a power of two */
    const struct bed_place **beds; /* by hospital, then id */
    size_t nbeds;
    const struct bed_ward **wards; /* likewise */
    size_t nwards;
    const struct bed_ward **by_department; /* the same wards by department, then id */
    bool dirty;                            /* the structure changed: resolve and sort again */
    pthread_t warmer;                      /* the first load at start (bed_pool_warm) */
    bool warming;                          /* warmer was started: join it */
    atomic_bool stopping;                  /* bed_pool_free: the warmer's load stops */
};

/* ---- the id table ---- */

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct node *node_find(const struct bed_pool *p, const char *id)
{
    if (!id || !p->nslots)
        return NULL;
    for (size_t i = hash(id) & (p->nslots - 1);; i = (i + 1) & (p->nslots - 1)) {
        if (!p->slots[i])
            return NULL;
        if (!strcmp(p->slots[i]->id, id))
            return p->slots[i];
    }
}

static void slot_put(struct node **slots, size_t nslots, struct node *n)
{
    size_t i = hash(n->id) & (nslots - 1);
    while (slots[i])
        i = (i + 1) & (nslots - 1);
    slots[i] = n;
}

static struct node *node_add(struct bed_pool *p, const char *id)
{
    if ((p->count + 1) * 2 > p->nslots) {
        size_t nslots = p->nslots ? p->nslots * 2 : 1024;
        struct node **slots = xcalloc(nslots, sizeof(*slots));
        for (size_t i = 0; i < p->count; i++)
            slot_put(slots, nslots, p->nodes[i]);
        free(p->slots);
        p->slots = slots;
        p->nslots = nslots;
    }
    if (p->count == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->nodes = xrealloc(p->nodes, p->cap * sizeof(*p->nodes));
    }
    struct node *n = xcalloc(1, sizeof(*n));
    n->id = xstrdup(id);
    p->nodes[p->count++] = n;
    slot_put(p->slots, p->nslots, n);
    return n;
}

static void node_clear(struct node *n)
{
    char **texts[] = {&n->part_of, &n->name, &n->org,      &n->custodian,
                      &n->group,   &n->type, &n->encounter};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        free(*texts[i]);
        *texts[i] = NULL;
    }
    n->kind = NODE_OTHER;
    n->floor = INPT_NO_FLOOR;
    n->isolation = false;
    n->sex = 0;
    n->age_min = n->age_max = -1;
    n->active = false;
    n->status = BED_FREE;
    n->since_ms = 0;
}

/* ---- reading a Location ---- */

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* The reference of member key ("Location/x" -> "x" when strip is given). */
static const char *ref_of(json_object *o, const char *key, const char *strip)
{
    json_object *r = NULL;
    if (!json_object_object_get_ex(o, key, &r))
        return NULL;
    const char *s = bed_edit_text(r, "reference");
    if (s && strip && !strncmp(s, strip, strlen(strip)))
        return s + strlen(strip);
    return strip ? NULL : s;
}

static int ext_int(json_object *res, const char *url, int none)
{
    json_object *v = bed_edit_ext(res, url, "valueInteger");
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int(v) : none;
}

static enum node_kind kind_of(json_object *res)
{
    json_object *pt = NULL;
    json_object_object_get_ex(res, "physicalType", &pt);
    const char *code = bed_edit_code(pt, INPT_PHYSICAL_SYSTEM);
    static const struct {
        const char *code;
        enum node_kind kind;
    } kinds[] = {{"si", NODE_SITE}, {"bu", NODE_BUILDING}, {"lvl", NODE_LEVEL},
                 {"wa", NODE_WARD}, {"ro", NODE_ROOM},     {"bd", NODE_BED}};
    for (size_t i = 0; code && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(code, kinds[i].code))
            return kinds[i].kind;
    return NODE_OTHER;
}

/* The bed's own fields: status, type, restrictions, holder. */
static void read_bed(struct node *n, json_object *res)
{
    json_object *st = NULL;
    json_object_object_get_ex(res, "operationalStatus", &st);
    enum bed_status s;
    if (bed_status_parse(bed_edit_text(st, "system"), bed_edit_text(st, "code"), &s))
        n->status = s;
    json_object *types = NULL;
    if (json_object_object_get_ex(res, "type", &types) &&
        json_object_is_type(types, json_type_array))
        for (size_t i = 0; !n->type && i < json_object_array_length(types); i++)
            n->type =
                dup_or_null(bed_edit_code(json_object_array_get_idx(types, i), INPT_TYPE_SYSTEM));
    json_object *sex = bed_edit_ext(res, INPT_EXT_SEX, "valueCode");
    const char *sx = sex ? json_object_get_string(sex) : NULL;
    n->sex = sx && !strcmp(sx, "male") ? 'm' : sx && !strcmp(sx, "female") ? 'f' : 0;
    n->age_min = ext_int(res, INPT_EXT_AGE_MIN, -1);
    n->age_max = ext_int(res, INPT_EXT_AGE_MAX, -1);
    json_object *enc = bed_edit_ext(res, INPT_EXT_ENCOUNTER, "valueReference");
    n->encounter = dup_or_null(bed_edit_text(enc, "reference"));
    json_object *since = bed_edit_ext(res, INPT_EXT_SINCE, "valueInstant");
    const char *t = since ? json_object_get_string(since) : NULL;
    if (!t || !time_parse_fhir(t, strlen(t), &n->since_ms))
        n->since_ms = 0;
}

/* Was the node's place (what resolution reads) changed by the new content? */
static bool place_differs(const struct node *n, enum node_kind kind, const char *part_of,
                          const char *org, const char *custodian)
{
    return n->kind != kind || strcmp(n->part_of ? n->part_of : "", part_of ? part_of : "") ||
           strcmp(n->org ? n->org : "", org ? org : "") ||
           strcmp(n->custodian ? n->custodian : "", custodian ? custodian : "");
}

/* Take a version of a Location; true when the structure changed (not only a bed's own fields). */
static bool node_read(struct node *n, json_object *res, int64_t version)
{
    enum node_kind kind = kind_of(res);
    const char *part_of = ref_of(res, "partOf", "Location/");
    const char *org = ref_of(res, "managingOrganization", NULL);
    const char *custodian = fhir_access_custodian(res);
    bool moved = n->gone || !n->version || place_differs(n, kind, part_of, org, custodian);
    node_clear(n);
    n->gone = false;
    n->version = version;
    n->kind = kind;
    n->part_of = dup_or_null(part_of);
    n->org = dup_or_null(org);
    n->custodian = dup_or_null(custodian);
    n->name = dup_or_null(bed_edit_text(res, "name"));
    const char *status = bed_edit_text(res, "status");
    n->active = !status || !strcmp(status, "active");
    n->floor = ext_int(res, INPT_EXT_FLOOR, INPT_NO_FLOOR);
    json_object *grp = bed_edit_ext(res, INPT_EXT_GROUP, "valueCode");
    n->group = dup_or_null(grp ? json_object_get_string(grp) : NULL);
    json_object *iso = bed_edit_ext(res, INPT_EXT_ISOLATION, "valueBoolean");
    n->isolation = iso && json_object_get_boolean(iso);
    if (kind == NODE_BED)
        read_bed(n, res);
    return moved || kind != NODE_BED;
}

/* ---- resolving a bed's or a ward's place ---- */

struct climb {
    const struct node *ward; /* the nearest ward */
    struct bed_floor at;     /* building and floor */
    const char *hospital;    /* managingOrganization of a level, building or site */
};

/* Walk up from n's parent. */
static void climb(const struct bed_pool *p, const struct node *n, struct climb *k)
{
    k->ward = NULL;
    k->at = (struct bed_floor){NULL, INPT_NO_FLOOR};
    k->hospital = NULL;
    const struct node *up = node_find(p, n->part_of);
    for (int depth = 0; up && !up->gone && depth < MAX_DEPTH; depth++) {
        if (up->kind == NODE_WARD && !k->ward)
            k->ward = up;
        if (up->kind == NODE_LEVEL && k->at.floor == INPT_NO_FLOOR)
            k->at.floor = up->floor;
        if ((up->kind == NODE_BUILDING || up->kind == NODE_SITE) && !k->at.building)
            k->at.building = up->id;
        if ((up->kind == NODE_LEVEL || up->kind == NODE_BUILDING || up->kind == NODE_SITE) &&
            !k->hospital && up->org)
            k->hospital = up->org;
        up = node_find(p, up->part_of);
    }
}

static void resolve_bed(const struct bed_pool *p, struct node *n)
{
    struct climb k;
    climb(p, n, &k);
    const struct node *w = k.ward;
    if (k.at.floor == INPT_NO_FLOOR && w)
        k.at.floor = w->floor;
    n->place = (struct bed_place){
        .id = n->id,
        .name = n->name ? n->name : n->id,
        .ward = w ? w->id : NULL,
        .ward_name = w ? (w->name ? w->name : w->id) : NULL,
        .department = w ? w->org : NULL,
        .group = w ? w->group : NULL,
        .isolation_ward = w && w->isolation,
        .at = k.at,
        .hospital = k.hospital ? k.hospital : n->custodian,
        .type = n->type,
        .sex = n->sex,
        .age_min = n->age_min,
        .age_max = n->age_max,
        .active = n->active && !n->gone,
        .status = n->status,
        .encounter = n->encounter,
        .since_ms = n->since_ms,
        .version = n->version,
    };
}

static void resolve_ward(const struct bed_pool *p, struct node *n)
{
    struct climb k;
    climb(p, n, &k);
    if (n->floor != INPT_NO_FLOOR)
        k.at.floor = n->floor;
    n->ward = (struct bed_ward){n->id,
                                n->name ? n->name : n->id,
                                n->org,
                                n->group,
                                k.hospital ? k.hospital : n->custodian,
                                k.at,
                                0};
}

static int hospital_cmp(const char *ha, const char *ida, const char *hb, const char *idb)
{
    int c = strcmp(ha ? ha : "", hb ? hb : "");
    return c ? c : strcmp(ida, idb);
}

static int bed_cmp(const void *a, const void *b)
{
    const struct bed_place *x = *(const struct bed_place *const *)a;
    const struct bed_place *y = *(const struct bed_place *const *)b;
    return hospital_cmp(x->hospital, x->id, y->hospital, y->id);
}

static int ward_cmp(const void *a, const void *b)
{
    const struct bed_ward *x = *(const struct bed_ward *const *)a;
    const struct bed_ward *y = *(const struct bed_ward *const *)b;
    return hospital_cmp(x->hospital, x->id, y->hospital, y->id);
}

static int ward_department_cmp(const void *a, const void *b)
{
    const struct bed_ward *x = *(const struct bed_ward *const *)a;
    const struct bed_ward *y = *(const struct bed_ward *const *)b;
    return hospital_cmp(x->department, x->id, y->department, y->id);
}

/* Resolve every bed and ward, count the wards' beds, list both per hospital. */
static void rebuild(struct bed_pool *p)
{
    free(p->beds);
    free(p->wards);
    p->beds = xcalloc(p->count + 1, sizeof(*p->beds));
    p->wards = xcalloc(p->count + 1, sizeof(*p->wards));
    p->nbeds = p->nwards = 0;
    for (size_t i = 0; i < p->count; i++) {
        struct node *n = p->nodes[i];
        if (n->gone || n->kind != NODE_WARD)
            continue;
        resolve_ward(p, n);
        p->wards[p->nwards++] = &n->ward;
    }
    for (size_t i = 0; i < p->count; i++) {
        struct node *n = p->nodes[i];
        if (n->gone || n->kind != NODE_BED)
            continue;
        resolve_bed(p, n);
        p->beds[p->nbeds++] = &n->place;
        struct node *w = node_find(p, n->place.ward);
        if (w)
            w->ward.beds++;
    }
    qsort(p->beds, p->nbeds, sizeof(*p->beds), bed_cmp);
    qsort(p->wards, p->nwards, sizeof(*p->wards), ward_cmp);
    free(p->by_department);
    p->by_department = xmalloc((p->nwards + 1) * sizeof(*p->by_department));
    memcpy(p->by_department, p->wards, p->nwards * sizeof(*p->wards));
    qsort(p->by_department, p->nwards, sizeof(*p->wards), ward_department_cmp);
    p->dirty = false;
}

/* ---- keeping in step with the store ---- */

/* Apply one version; deletions leave the node, gone. */
static void apply(struct bed_pool *p, const char *id, int64_t version, json_object *res)
{
    struct node *n = node_find(p, id);
    if (n && n->version >= version)
        return; /* a newer one is in already */
    if (!n)
        n = node_add(p, id);
    if (!res) {
        n->version = version;
        n->gone = true;
        p->dirty = true;
        return;
    }
    if (node_read(n, res, version))
        p->dirty = true;
    else if (!p->dirty)
        resolve_bed(p, n); /* only the bed's own fields changed */
}

static bool load_one(void *arg, json_object *res, int64_t last_updated)
{
    (void)last_updated;
    struct bed_pool *p = arg;
    const char *id = bed_edit_text(res, "id");
    if (id)
        apply(p, id, bed_edit_version(res), res);
    return !atomic_load(&p->stopping);
}

static bool newest_seq(const struct store_row *row, void *arg)
{
    *(int64_t *)arg = row->seq;
    return false;
}

/* Free every node (the table of ids keeps its slots: clear them). */
static void drop_nodes(struct bed_pool *p)
{
    for (size_t i = 0; i < p->count; i++) {
        node_clear(p->nodes[i]);
        free(p->nodes[i]->id);
        free(p->nodes[i]);
    }
}

/* Read every Location afresh. */
static enum err reload(struct bed_pool *p)
{
    drop_nodes(p);
    p->count = 0;
    if (p->slots)
        memset(p->slots, 0, p->nslots * sizeof(*p->slots));
    p->dirty = true;
    /* the newest row first: what is written during the read is applied again later */
    int64_t seq = 0;
    struct store_history_query hq = {"Location", NULL, INT64_MIN, INT64_MAX, 1, 0};
    enum err err = store_history(p->store, &hq, newest_seq, &seq);
    if (err)
        return err;
    struct arena a;
    arena_init(&a, 4096);
    struct fhir_scan sc = {"Location", NULL, 0, 0, false, 0, false};
    err = fhir_scan_run(p->store, p->cfg, &a, &sc, load_one, p);
    arena_release(&a);
    p->last_seq = seq;
    p->loaded = !err;
    return err;
}

struct changes {
    struct bed_pool *p;
    int rows;       /* seen */
    int64_t newest; /* their highest seq */
};

static bool take_change(const struct store_row *row, void *arg)
{
    struct changes *ch = arg;
    ch->rows++;
    if (row->seq > ch->newest)
        ch->newest = row->seq;
    char id[128];
    if (row->id.len >= sizeof(id))
        return true;
    memcpy(id, row->id.ptr, row->id.len);
    id[row->id.len] = '\0';
    json_object *res = row->deleted ? NULL : fhir_parse_body(row->body.ptr, row->body.len);
    if (row->deleted || res)
        apply(ch->p, id, row->version, res);
    json_object_put(res);
    return true;
}

static enum err refresh(struct bed_pool *p)
{
    uint64_t gen = store_generation(p->store, "Location");
    if (p->loaded && gen == p->gen)
        return ERR_OK;
    enum err err = ERR_OK;
    if (p->loaded) {
        struct changes ch = {p, 0, p->last_seq};
        struct store_history_query hq = {"Location", NULL,         INT64_MIN,
                                         INT64_MAX,  HISTORY_PAGE, p->last_seq};
        err = store_history(p->store, &hq, take_change, &ch);
        if (!err && ch.rows == HISTORY_PAGE)
            err = reload(p); /* too much changed to follow */
        else if (!err)
            p->last_seq = ch.newest;
    } else {
        err = reload(p);
    }
    if (err)
        return err;
    p->gen = gen;
    if (p->dirty)
        rebuild(p);
    return ERR_OK;
}

/* ---- the public face ---- */

struct bed_pool *bed_pool_new(struct store *store, const struct config *cfg)
{
    struct bed_pool *p = xcalloc(1, sizeof(*p));
    p->store = store;
    p->cfg = cfg;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

/*
 * The first load reads every Location (85,000 beds: about a second); done
 * at start on a thread of its own, it no longer makes the first clerk wait.
 */
static void *warm_main(void *arg)
{
    struct bed_pool *p = arg;
    int64_t start = time_now_ms();
    pthread_mutex_lock(&p->lock);
    enum err err = refresh(p);
    size_t locations = p->count, beds = p->nbeds;
    pthread_mutex_unlock(&p->lock);
    if (!err && !atomic_load(&p->stopping))
        log_info(LOG_MAIN, "bed pool loaded locations=%zu beds=%zu ms=%lld", locations, beds,
                 (long long)(time_now_ms() - start));
    if (err)
        log_warn(LOG_MAIN, "the bed pool was not loaded at start err=%s; the first call loads it",
                 err_name(err));
    return NULL;
}

void bed_pool_warm(struct bed_pool *p)
{
    if (!p->warming && pthread_create(&p->warmer, NULL, warm_main, p) == 0)
        p->warming = true;
}

void bed_pool_free(struct bed_pool *p)
{
    if (!p)
        return;
    if (p->warming) {
        atomic_store(&p->stopping, true);
        pthread_join(p->warmer, NULL);
    }
    drop_nodes(p);
    free(p->nodes);
    free(p->slots);
    free(p->beds);
    free(p->wards);
    free(p->by_department);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

enum err bed_pool_visit(struct bed_pool *p, bed_visit_fn *fn, void *arg)
{
    pthread_mutex_lock(&p->lock);
    enum err err = refresh(p);
    if (!err) {
        struct bed_view v = {p};
        fn(&v, arg);
    }
    pthread_mutex_unlock(&p->lock);
    return err;
}

bool bed_pool_claim(struct bed_pool *p, const char *id)
{
    pthread_mutex_lock(&p->lock);
    struct node *n = node_find(p, id);
    bool ok = n && !n->claimed;
    if (ok)
        n->claimed = true;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void bed_pool_release(struct bed_pool *p, const char *id)
{
    pthread_mutex_lock(&p->lock);
    struct node *n = node_find(p, id);
    if (n)
        n->claimed = false;
    pthread_mutex_unlock(&p->lock);
}

const struct bed_place *bed_view_bed(const struct bed_view *v, const char *id)
{
    const struct node *n = node_find(v->pool, id);
    return n && !n->gone && n->kind == NODE_BED ? &n->place : NULL;
}

const struct bed_ward *bed_view_ward(const struct bed_view *v, const char *id)
{
    const struct node *n = node_find(v->pool, id);
    return n && !n->gone && n->kind == NODE_WARD ? &n->ward : NULL;
}

/* The hospital member (at offset off) of item i. */
static const char *hospital_at(const void *const *items, size_t i, size_t off)
{
    const char *h = *(const char *const *)((const char *)items[i] + off);
    return h ? h : "";
}

/* The first of sorted items whose hospital is not below h (above h when past). */
static size_t bound(const void *const *items, size_t n, size_t off, const char *h, bool past)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(hospital_at(items, mid, off), h);
        if (c < 0 || (past && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first of sorted items whose hospital is h; *count of them are h's. */
static size_t range_of(const void *const *items, size_t n, size_t off, const char *h, size_t *count)
{
    size_t first = bound(items, n, off, h, false);
    *count = bound(items, n, off, h, true) - first;
    return first;
}

const struct bed_place *const *bed_view_beds(const struct bed_view *v, const char *hospital,
                                             size_t *count)
{
    *count = 0;
    if (!hospital || !*hospital)
        return NULL;
    size_t first = range_of((const void *const *)v->pool->beds, v->pool->nbeds,
                            offsetof(struct bed_place, hospital), hospital, count);
    return v->pool->beds + first;
}

const struct bed_place *const *bed_view_all_beds(const struct bed_view *v, size_t *count)
{
    *count = v->pool->nbeds;
    return v->pool->beds;
}

const struct bed_ward *const *bed_view_wards(const struct bed_view *v, const char *hospital,
                                             size_t *count)
{
    *count = 0;
    if (!hospital || !*hospital)
        return NULL;
    size_t first = range_of((const void *const *)v->pool->wards, v->pool->nwards,
                            offsetof(struct bed_ward, hospital), hospital, count);
    return v->pool->wards + first;
}

const struct bed_ward *const *bed_view_department_wards(const struct bed_view *v,
                                                        const char *department, size_t *count)
{
    *count = 0;
    if (!department || !*department)
        return NULL;
    size_t first = range_of((const void *const *)v->pool->by_department, v->pool->nwards,
                            offsetof(struct bed_ward, department), department, count);
    return v->pool->by_department + first;
}

const char *bed_view_department_hospital(const struct bed_view *v, const char *department)
{
    size_t n = 0;
    const struct bed_ward *const *wards = bed_view_department_wards(v, department, &n);
    for (size_t i = 0; i < n; i++)
        if (wards[i]->hospital)
            return wards[i]->hospital;
    return NULL;
}
