/*
 * access.c - the records a caller reaches, as search clauses (see access.h).
 *
 * Every clause is built from ordinary search parameters parsed by query.c
 * (_tag, the compartment references, _has, chains), so the store answers
 * an access check exactly as it answers a search.
 */
#include "fhir/access.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "fhir/search_index.h"
#include "fhir/search_params.h"

/*
 * Types that hold no one's health data: organisations, people's
 * professional records, places, catalogues and code systems. Every caller
 * may read them.
 */
static const char *const directory_types[] = {
    "ActivityDefinition",
    "CapabilityStatement",
    "ChargeItemDefinition",
    "CodeSystem",
    "ConceptMap",
    "Endpoint",
    "HealthcareService",
    "Library",
    "Location",
    "Measure",
    "Medication",
    "NamingSystem",
    "Organization",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Questionnaire",
    "SearchParameter",
    "StructureDefinition",
    "Substance",
    "ValueSet",
};

bool fhir_access_is_directory(const char *type)
{
    for (size_t i = 0; i < sizeof(directory_types) / sizeof(directory_types[0]); i++)
        if (!strcmp(type, directory_types[i]))
            return true;
    return false;
}

/* ---- building clauses ---- */

static struct fhir_query *scratch(struct arena *a, const struct config *cfg, const char *type)
{
    struct fhir_query *q = arena_alloc(a, sizeof(*q));
    fhir_query_init(q, a, cfg, type);
    return q;
}

static struct store_query *to_store(struct arena *a, const struct fhir_query *q)
{
    struct store_query *sq = arena_alloc(a, sizeof(*sq));
    fhir_query_to_store(q, 0, sq);
    return sq;
}

/* A clause with room for n predicates. */
static struct store_clause *clause_new(struct arena *a, size_t n)
{
    struct store_clause *cl = arena_alloc(a, sizeof(*cl));
    cl->preds = arena_alloc(a, sizeof(*cl->preds) * (n ? n : 1));
    cl->count = 0;
    return cl;
}

/* Append to cl the predicates of name=value parsed on type (one clause). */
static bool add_parsed(struct store_clause *cl, size_t room, struct arena *a,
                       const struct config *cfg, const char *type, const char *name,
                       const char *value)
{
    struct fhir_query *q = scratch(a, cfg, type);
    if (fhir_query_add(q, name, value) != FHIR_QUERY_OK || q->nclauses != 1)
        return false;
    for (size_t k = 0; k < q->clauses[0].count && cl->count < room; k++)
        cl->preds[cl->count++] = q->clauses[0].preds[k];
    return true;
}

static const char *custodian_token(struct arena *a, const char *org)
{
    return arena_printf(a, "%s|%s", FHIR_CUSTODIAN_SYSTEM, org);
}

/* Status, and a period that has begun and not ended (or none), on q. */
static bool add_active(struct fhir_query *q, const char *status, bool period, int64_t now_ms)
{
    if (fhir_query_add(q, "status", status) != FHIR_QUERY_OK)
        return false;
    if (!period)
        return true;
    char now[40];
    time_format_instant(now_ms, now, sizeof(now));
    struct fhir_query_pair started[] = {{"period:missing", "true"},
                                        {"period", arena_printf(q->arena, "le%s", now)}};
    struct fhir_query_pair running[] = {{"period:missing", "true"},
                                        {"period", arena_printf(q->arena, "ge%s", now)}};
    return fhir_query_add_any(q, started, 2) && fhir_query_add_any(q, running, 2);
}

/* Grants (access.h) naming one of actors ("Type/id", comma-separated), active at now_ms. */
static struct fhir_query *grants_to(struct arena *a, const struct config *cfg, const char *actors,
                                    int64_t now_ms)
{
    struct fhir_query *q = scratch(a, cfg, "Consent");
    bool ok =
        fhir_query_add(q, "actor", actors) == FHIR_QUERY_OK &&
        fhir_query_add(q, "category", FHIR_GRANT_SYSTEM "|" FHIR_GRANT_CODE) == FHIR_QUERY_OK &&
        add_active(q, "active", true, now_ms);
    return ok ? q : NULL; /* NULL only on a bug: the parameters are R4's */
}

/* A _has predicate: some resource of q's type refers here through its param. */
static struct store_predicate has_pred(struct arena *a, const struct fhir_query *q,
                                       const char *param)
{
    struct store_predicate p;
    memset(&p, 0, sizeof(p));
    p.kind = STORE_PRED_HAS;
    p.op = STORE_OP_EQ;
    p.param = arena_printf(a, "%s.%s", q->type, param);
    p.sub = to_store(a, q);
    return p;
}

/* The relations that share a patient with r's organisation (access.h), one query each. */
#define RELATIONS 4

/*
 * The queries of the relations, each narrowed to patient ("Patient/id")
 * when not NULL. False only on a bug (the parameters are R4's).
 */
static bool relations(struct arena *a, const struct config *cfg, const struct fhir_reach *r,
                      int64_t now_ms, const char *patient, struct fhir_query **q)
{
    const char *actors = r->person ? arena_printf(a, "%s,%s", r->org, r->person) : r->org;
    const char *held = custodian_token(a, r->org);
    q[0] = grants_to(a, cfg, actors, now_ms);
    q[1] = scratch(a, cfg, "Encounter");
    q[2] = scratch(a, cfg, "EpisodeOfCare");
    q[3] = scratch(a, cfg, "ServiceRequest");
    bool ok = q[0] != NULL;
    for (int i = 0; ok && patient && i < RELATIONS; i++)
        ok = fhir_query_add(q[i], "patient", patient) == FHIR_QUERY_OK;
    return ok && fhir_query_add(q[1], "_tag", held) == FHIR_QUERY_OK &&
           add_active(q[1], "planned,arrived,triaged,in-progress,onleave", false, 0) &&
           fhir_query_add(q[2], "_tag", held) == FHIR_QUERY_OK &&
           add_active(q[2], "active", false, 0) &&
           fhir_query_add(q[3], "performer", actors) == FHIR_QUERY_OK &&
           add_active(q[3], "active", false, 0);
}

/* The patients shared with r's organisation: a Patient query of one clause, the OR of the
 * relations. */
static struct store_query *shared_patients(struct arena *a, const struct config *cfg,
                                           const struct fhir_reach *r, int64_t now_ms)
{
    struct fhir_query *rel[RELATIONS];
    if (!relations(a, cfg, r, now_ms, NULL, rel))
        return NULL;
    struct fhir_query *patients = scratch(a, cfg, "Patient");
    struct store_clause *cl = clause_new(a, RELATIONS);
    for (int i = 0; i < RELATIONS; i++)
        cl->preds[cl->count++] = has_pred(a, rel[i], "patient");
    fhir_query_confine(patients, cl);
    return to_store(a, patients);
}

enum err fhir_access_shared(struct store *s, const struct config *cfg, struct arena *a,
                            const struct fhir_reach *r, const char *patient, int64_t now_ms,
                            bool *out)
{
    *out = false;
    struct fhir_query *rel[RELATIONS];
    if (r->kind != FHIR_REACH_ORG || !relations(a, cfg, r, now_ms, patient, rel))
        return ERR_OK;
    for (int i = 0; i < RELATIONS && !*out; i++) {
        struct store_query sq;
        fhir_query_to_store(rel[i], 1, &sq);
        enum err err = store_search(s, &sq, store_hit_found, out, NULL);
        if (err)
            return err;
    }
    return ERR_OK;
}

static size_t compartment_params(const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < fhir_patient_compartment_count; i++)
        n += !strcmp(fhir_patient_compartment[i].type, type);
    return n;
}

bool fhir_access_holds_patient_data(const char *type)
{
    return !strcmp(type, "Patient") || compartment_params(type) > 0;
}

/* PATIENTS: the compartments of r's patients. */
static struct store_clause *patients_clause(struct arena *a, const struct config *cfg,
                                            const char *type, const struct fhir_reach *r)
{
    size_t params = compartment_params(type);
    bool is_patient = !strcmp(type, "Patient");
    if (!params && !is_patient)
        return NULL;
    size_t room = (params + 1) * r->npatients * 2;
    struct store_clause *cl = clause_new(a, room);
    for (size_t k = 0; k < r->npatients; k++) {
        const char *ref = r->patients[k];
        if (is_patient)
            add_parsed(cl, room, a, cfg, type, "_id", strchr(ref, '/') + 1);
        for (size_t i = 0; i < fhir_patient_compartment_count; i++)
            if (!strcmp(fhir_patient_compartment[i].type, type))
                add_parsed(cl, room, a, cfg, type, fhir_patient_compartment[i].param, ref);
    }
    return cl;
}

/* ORG reads: what the organisation holds, and the records of patients shared with it. */
static struct store_clause *org_clause(struct arena *a, const struct config *cfg, const char *type,
                                       const struct fhir_reach *r, bool write, int64_t now_ms)
{
    size_t params = compartment_params(type);
    size_t room = params + 8;
    struct store_clause *cl = clause_new(a, room);
    add_parsed(cl, room, a, cfg, type, "_tag", custodian_token(a, r->org));
    if (write)
        return cl;
    bool is_patient = !strcmp(type, "Patient");
    if (!params && !is_patient)
        return cl;
    struct store_query *shared = shared_patients(a, cfg, r, now_ms);
    if (!shared)
        return cl;
    if (is_patient) {
        for (size_t k = 0; k < shared->clauses[0].count && cl->count < room; k++)
            cl->preds[cl->count++] = shared->clauses[0].preds[k];
        return cl;
    }
    for (size_t i = 0; i < fhir_patient_compartment_count; i++) {
        if (strcmp(fhir_patient_compartment[i].type, type) != 0)
            continue;
        struct store_predicate *p = &cl->preds[cl->count++];
        memset(p, 0, sizeof(*p));
        p->kind = STORE_IDX_REFERENCE;
        p->op = STORE_OP_EQ;
        p->param = arena_printf(a, "%s.%s", type, fhir_patient_compartment[i].param);
        p->sub = shared;
    }
    return cl;
}

/* REGION: MeasureReports reported by the regulator's organisation or one beneath it. */
static struct store_clause *region_clause(struct arena *a, const struct config *cfg,
                                          const struct fhir_reach *r)
{
    struct store_clause *cl = clause_new(a, 4);
    add_parsed(cl, 4, a, cfg, "MeasureReport", "reporter", r->org);
    /* Organization?partof=org, then ?partof:Organization.partof=org ... */
    struct store_query *below = NULL;
    for (int level = 0; level < 3; level++) {
        struct fhir_query *q = scratch(a, cfg, "Organization");
        struct store_clause *in = clause_new(a, 1);
        struct store_predicate *p = &in->preds[in->count++];
        memset(p, 0, sizeof(*p));
        p->kind = STORE_IDX_REFERENCE;
        p->op = STORE_OP_EQ;
        p->param = "Organization.partof";
        if (below)
            p->sub = below;
        else
            p->text1 = r->org;
        fhir_query_confine(q, in);
        below = to_store(a, q);
        struct store_predicate *rep = &cl->preds[cl->count++];
        memset(rep, 0, sizeof(*rep));
        rep->kind = STORE_IDX_REFERENCE;
        rep->op = STORE_OP_EQ;
        rep->param = "MeasureReport.reporter";
        rep->sub = below;
    }
    return cl;
}

/* REGION counts: records held by an organisation of the region. */
static struct store_clause *region_holdings(struct arena *a, const struct config *cfg,
                                            const char *type, const struct fhir_reach *r)
{
    if (!r->nregion)
        return NULL;
    struct store_clause *cl = clause_new(a, r->nregion);
    for (size_t i = 0; i < r->nregion; i++)
        add_parsed(cl, r->nregion, a, cfg, type, "_tag", custodian_token(a, r->region[i]));
    return cl;
}

/*
 * An ORG caller looking a patient up by exact identifiers (system|value)
 * and nothing else: any other criterion (a _has, a chain, a name) would
 * make the lookup an oracle about records the caller does not reach.
 */
static bool is_identifier_lookup(const struct fhir_query *q)
{
    if (strcmp(q->type, "Patient") != 0 || q->nclauses == 0)
        return false;
    for (size_t i = 0; i < q->nclauses; i++) {
        const struct store_clause *cl = &q->clauses[i];
        for (size_t k = 0; k < cl->count; k++) {
            const struct store_predicate *p = &cl->preds[k];
            if (p->kind != STORE_IDX_TOKEN || strcmp(p->param, "Patient.identifier") != 0 ||
                p->op != STORE_OP_EQ || p->negate || !p->text1 || !*p->text1 || !p->text2 ||
                !*p->text2)
                return false;
        }
    }
    return true;
}

bool fhir_access_confine(struct fhir_query *q, const struct fhir_reach *r,
                         enum fhir_access_mode mode, int64_t now_ms)
{
    bool write = mode == FHIR_ACCESS_WRITE;
    bool nested = mode == FHIR_ACCESS_NESTED;
    if (r->kind == FHIR_REACH_ALL || (!write && r->break_glass))
        return true;
    bool directory = fhir_access_is_directory(q->type);
    if (directory && !write)
        return true;
    if (nested && r->kind == FHIR_REACH_REGION)
        return false;
    struct store_clause *cl = NULL;
    switch (r->kind) {
    case FHIR_REACH_PATIENTS:
        cl = directory ? NULL : patients_clause(q->arena, q->cfg, q->type, r);
        break;
    case FHIR_REACH_ORG:
        if (mode == FHIR_ACCESS_READ && is_identifier_lookup(q))
            return true;
        cl = org_clause(q->arena, q->cfg, q->type, r, write || nested, now_ms);
        break;
    case FHIR_REACH_REGION:
        if (write)
            break;
        if (!strcmp(q->type, "MeasureReport"))
            cl = region_clause(q->arena, q->cfg, r);
        else if (mode == FHIR_ACCESS_READ && q->summary == FHIR_SUMMARY_COUNT)
            cl = region_holdings(q->arena, q->cfg, q->type, r);
        break;
    default:
        break;
    }
    if (!cl)
        return false;
    fhir_query_confine(q, cl);
    return true;
}

/* ---- grants to residents ---- */

/* What a search adds to a reach as it goes (grants, a region's organisations). */
struct expansion {
    struct fhir_reach *r;
    struct arena *a;
};

static bool on_grant(const struct store_hit *hit, void *arg)
{
    struct expansion *g = arg;
    json_object *consent = json_tokener_parse(arena_strndup(g->a, hit->body.ptr, hit->body.len));
    json_object *patient = NULL, *ref = NULL;
    if (consent && json_object_object_get_ex(consent, "patient", &patient) &&
        json_object_object_get_ex(patient, "reference", &ref)) {
        const char *p = json_object_get_string(ref);
        bool seen = strncmp(p, "Patient/", 8) != 0;
        for (size_t i = 0; i < g->r->npatients && !seen; i++)
            seen = !strcmp(g->r->patients[i], p);
        if (!seen)
            g->r->patients[g->r->npatients++] = arena_strndup(g->a, p, strlen(p));
    }
    json_object_put(consent);
    return g->r->npatients < FHIR_REACH_MAX_PATIENTS;
}

static bool on_child(const struct store_hit *hit, void *arg)
{
    struct expansion *ch = arg;
    struct fhir_reach *r = ch->r;
    if (r->nregion == FHIR_REGION_MAX_ORGS)
        return false;
    r->region[r->nregion++] =
        arena_printf(ch->a, "Organization/%.*s", (int)hit->id.len, hit->id.ptr);
    return true;
}

/* REGION: the organisation and its descendants, level by level (Organization?partof=...). */
static enum err expand_region(struct store *s, const struct config *cfg, struct arena *a,
                              struct fhir_reach *r)
{
    r->region = arena_alloc(a, sizeof(*r->region) * FHIR_REGION_MAX_ORGS);
    r->region[0] = r->org;
    r->nregion = 1;
    size_t from = 0;
    for (int level = 0; level < 3 && from < r->nregion; level++) {
        size_t to = r->nregion;
        for (size_t i = from; i < to; i += FHIR_QUERY_MAX_VALUES) {
            struct buf parents;
            buf_init(&parents, 1u << 20);
            for (size_t k = i; k < to && k < i + FHIR_QUERY_MAX_VALUES; k++)
                buf_printf(&parents, "%s%s", k > i ? "," : "", r->region[k]);
            struct fhir_query *q = scratch(a, cfg, "Organization");
            enum fhir_query_result qr = fhir_query_add(q, "partof", parents.ptr);
            buf_release(&parents);
            if (qr != FHIR_QUERY_OK)
                return ERR_INTERNAL;
            struct store_query sq;
            fhir_query_to_store(q, FHIR_REGION_MAX_ORGS, &sq);
            struct expansion ch = {r, a};
            enum err err = store_search(s, &sq, on_child, &ch, NULL);
            if (err)
                return err;
        }
        from = to;
    }
    return ERR_OK;
}

enum err fhir_access_expand(struct store *s, const struct config *cfg, struct arena *a,
                            struct fhir_reach *r, int64_t now_ms)
{
    if (r->kind == FHIR_REACH_REGION)
        return expand_region(s, cfg, a, r);
    if (r->kind != FHIR_REACH_PATIENTS || r->npatients != 1 || !strcmp(r->patients[0], "Patient/-"))
        return ERR_OK;
    struct fhir_query *q = grants_to(a, cfg, r->patients[0], now_ms);
    if (!q)
        return ERR_INTERNAL;
    struct store_query sq;
    fhir_query_to_store(q, FHIR_REACH_MAX_PATIENTS * 4, &sq);
    struct expansion g = {r, a};
    return store_search(s, &sq, on_grant, &g, NULL);
}

/* ---- writes ---- */

static json_object *tags_of(json_object *resource, bool create)
{
    json_object *meta = NULL, *tags = NULL;
    if (!json_object_object_get_ex(resource, "meta", &meta)) {
        if (!create)
            return NULL;
        meta = json_object_new_object();
        json_object_object_add(resource, "meta", meta);
    }
    if (!json_object_object_get_ex(meta, "tag", &tags)) {
        if (!create)
            return NULL;
        tags = json_object_new_array();
        json_object_object_add(meta, "tag", tags);
    }
    return json_object_is_type(tags, json_type_array) ? tags : NULL;
}

static bool is_custodian_tag(json_object *tag)
{
    json_object *sys = NULL;
    return json_object_object_get_ex(tag, "system", &sys) &&
           !strcmp(json_object_get_string(sys), FHIR_CUSTODIAN_SYSTEM);
}

const char *fhir_access_custodian(json_object *resource)
{
    json_object *tags = tags_of(resource, false);
    for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
        json_object *tag = json_object_array_get_idx(tags, i), *code = NULL;
        if (is_custodian_tag(tag) && json_object_object_get_ex(tag, "code", &code))
            return json_object_get_string(code);
    }
    return NULL;
}

/* Replace the custodian tags of resource by one naming org. */
static void stamp(json_object *resource, const char *org)
{
    json_object *tags = tags_of(resource, true);
    for (size_t i = json_object_array_length(tags); i-- > 0;)
        if (is_custodian_tag(json_object_array_get_idx(tags, i)))
            json_object_array_del_idx(tags, i, 1);
    json_object *tag = json_object_new_object();
    json_object_object_add(tag, "system", json_object_new_string(FHIR_CUSTODIAN_SYSTEM));
    json_object_object_add(tag, "code", json_object_new_string(org));
    json_object_array_add(tags, tag);
}

/* An update without a custodian keeps the current version's. */
static void keep_custodian(struct store *s, const char *type, const char *id, json_object *resource,
                           struct arena *a)
{
    if (fhir_access_custodian(resource))
        return;
    struct buf body;
    buf_init(&body, 64u << 20);
    struct store_row row;
    if (!store_read(s, type, id, 0, &body, &row) && !row.deleted) {
        json_object *cur = json_tokener_parse(body.ptr);
        const char *org = cur ? fhir_access_custodian(cur) : NULL;
        if (org)
            stamp(resource, arena_strndup(a, org, strlen(org)));
        json_object_put(cur);
    }
    buf_release(&body);
}

/* A grant (access.h) whose provision denies: the search above would read it as a permit. */
static bool is_denying_grant(json_object *consent)
{
    json_object *cats = NULL, *provision = NULL, *kind = NULL;
    if (!json_object_object_get_ex(consent, "provision", &provision) ||
        !json_object_object_get_ex(provision, "type", &kind) ||
        strcmp(json_object_get_string(kind), "deny") != 0 ||
        !json_object_object_get_ex(consent, "category", &cats) ||
        !json_object_is_type(cats, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(cats); i++) {
        json_object *codings = NULL;
        if (!json_object_object_get_ex(json_object_array_get_idx(cats, i), "coding", &codings) ||
            !json_object_is_type(codings, json_type_array))
            continue;
        for (size_t k = 0; k < json_object_array_length(codings); k++) {
            json_object *c = json_object_array_get_idx(codings, k), *sys = NULL, *code = NULL;
            if (json_object_object_get_ex(c, "system", &sys) &&
                json_object_object_get_ex(c, "code", &code) &&
                !strcmp(json_object_get_string(sys), FHIR_GRANT_SYSTEM) &&
                !strcmp(json_object_get_string(code), FHIR_GRANT_CODE))
                return true;
        }
    }
    return false;
}

enum err fhir_access_admit(struct store *s, const struct fhir_reach *r, const char *type,
                           const char *id, json_object *resource, bool replaces, struct arena *a,
                           char *why, size_t size)
{
    if (!strcmp(type, "Consent") && is_denying_grant(resource)) {
        snprintf(why, size,
                 "授权须为 permit，撤回请将 status 设为 inactive / an access grant is a permit; "
                 "withdraw it by setting status to 'inactive'");
        return ERR_UNPROCESSABLE;
    }
    switch (r->kind) {
    case FHIR_REACH_ALL:
        if (replaces)
            keep_custodian(s, type, id, resource, a);
        return ERR_OK;
    case FHIR_REACH_ORG:
        if (!strcmp(r->org, "Organization/-")) {
            snprintf(why, size,
                     "账号未关联机构，不能写入 / the account belongs to no organisation");
            return ERR_FORBIDDEN;
        }
        stamp(resource, r->org);
        return ERR_OK;
    case FHIR_REACH_PATIENTS: {
        const char *patient = fhir_compartment_patient(resource, type, id, a);
        for (size_t i = 0; patient && i < r->npatients; i++)
            if (!strcmp(r->patients[i], patient))
                return ERR_OK;
        snprintf(why, size,
                 "只能写入本人（或受托人）的记录 / you may write only your own records%s",
                 r->npatients > 1 ? " and those granted to you" : "");
        return ERR_FORBIDDEN;
    }
    default:
        snprintf(why, size, "监管账号不能写入记录 / a regulator's account writes no records");
        return ERR_FORBIDDEN;
    }
}
