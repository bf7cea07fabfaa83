/*
 * indicators.c - the recognition indicators (indicators.h).
 */
#include "modules/recognition/indicators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "core/timeutil.h"
#include "fhir/access.h"
#include "fhir/measure.h"
#include "fhir/operation.h"
#include "fhir/query.h"
#include "fhir/rest_internal.h"
#include "modules/recognition/recognition.h"
#include "modules/recognition/recognition_data.h"

#define MAX_UNITS     4096
#define INDICATOR_SYS RECOG_BASE "/CodeSystem/recognition-indicator"
#define MEASURE_URL   RECOG_BASE "/Measure/recognition"

/* ---- one decision ---- */

json_object *recog_decision_ext(json_object *d, const char *name)
{
    char url[160];
    snprintf(url, sizeof(url), RECOG_EXT "recognition-%s", name);
    json_object *exts = NULL, *u = NULL;
    if (!json_object_object_get_ex(d, "extension", &exts) ||
        !json_object_is_type(exts, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(exts); i++) {
        json_object *e = json_object_array_get_idx(exts, i);
        if (json_object_object_get_ex(e, "url", &u) && !strcmp(json_object_get_string(u), url))
            return e;
    }
    return NULL;
}

static const char *ext_value(json_object *e, const char *key)
{
    json_object *v = NULL;
    return e && json_object_object_get_ex(e, key, &v) ? json_object_get_string(v) : NULL;
}

const char *recog_decision_ref(json_object *decision, const char *name)
{
    json_object *v = NULL, *r = NULL;
    json_object *e = recog_decision_ext(decision, name);
    return e && json_object_object_get_ex(e, "valueReference", &v) &&
                   json_object_object_get_ex(v, "reference", &r)
               ? json_object_get_string(r)
               : NULL;
}

/* "12.50" CNY as fen. */
static int64_t fen_of(const char *value)
{
    if (!value)
        return 0;
    char *end = NULL;
    long long yuan = strtoll(value, &end, 10);
    int64_t fen = yuan * 100;
    if (*end == '.' && end[1] >= '0' && end[1] <= '9') {
        fen += (end[1] - '0') * 10;
        if (end[2] >= '0' && end[2] <= '9')
            fen += end[2] - '0';
    }
    return fen;
}

void recog_tally_decision(struct recog_tally *t, json_object *decision, const char *province_mark)
{
    const char *outcome = ext_value(recog_decision_ext(decision, "outcome"), "valueCode");
    const char *eligible = ext_value(recog_decision_ext(decision, "eligible"), "valueBoolean");
    const char *mark = ext_value(recog_decision_ext(decision, "mark"), "valueString");
    bool recognised = outcome && !strcmp(outcome, "recognised");
    /* a recognised result was recognisable; older decisions carry no 'eligible' */
    bool is_eligible = recognised || (eligible && !strcmp(eligible, "true"));
    t->decisions++;
    t->eligible += is_eligible;
    t->recognised += recognised;
    t->retests += !recognised && is_eligible;
    json_object *money = NULL, *value = NULL;
    json_object *fee = recog_decision_ext(decision, "fee-saved");
    if (recognised && fee && json_object_object_get_ex(fee, "valueMoney", &money) &&
        json_object_object_get_ex(money, "value", &value))
        t->fees_fen += fen_of(json_object_get_string(value));
    if (recognised && mark)
        t->marked[!strcmp(mark, province_mark) ? 0 : !strcmp(mark, RECOG_ALLIANCE_MARK) ? 2 : 1]++;
}

struct run {
    struct rest_ctx *c;
    struct store *store;
    struct arena *a;
    struct recog_data *data;     /* institutions, the catalogue, the mappings */
    struct recog_snapshot *snap; /* taken for this call */
    struct strmap allowed;       /* the caller's organisations; NULL set = all */
    bool all;
    int level;          /* 0 hospital, 1 city, 2 province */
    int64_t period_end; /* ms: EQA is counted at this moment */
    const char *province_mark;
    struct strmap units; /* unit ref -> struct unit * */
    struct unit **list;
    size_t nunits;
    int64_t cap;          /* $recognition-unmapped: results scanned at most */
    struct strmap mapped; /* "system|code" mapped to an item */
    struct strmap seen;   /* "system|code" -> struct seen * */
    struct seen **codes;
    size_t ncodes;
};

/* A laboratory's own code seen on its results. */
struct seen {
    const char *system, *code, *display, *last;
    int64_t count;
};

struct unit {
    const char *ref, *name;
    struct recog_tally t;
};

/* ---- units: hospital, city or province ---- */

static struct unit *unit_of(struct run *r, const struct recog_institution *o)
{
    const char *ref = r->level == 0 ? o->place.org : r->level == 1 ? o->city_org : o->top_org;
    const char *name = r->level == 0   ? o->place.name
                       : r->level == 1 ? o->city_org_name
                                       : o->top_org_name;
    if (!ref)
        return NULL; /* a city level without a city commission above it */
    struct unit *u = (struct unit *)strmap_get(&r->units, ref);
    if (u || r->nunits == MAX_UNITS)
        return u;
    u = arena_alloc(r->a, sizeof(*u));
    memset(u, 0, sizeof(*u));
    u->ref = ref;
    u->name = name;
    strmap_put(&r->units, ref, (const char *)u);
    r->list[r->nunits++] = u;
    return u;
}

static bool allowed(struct run *r, const char *ref)
{
    return r->all || (ref && strmap_get(&r->allowed, ref));
}

/* ---- the scans ---- */

static bool count_decision(void *arg, json_object *d, int64_t last_updated)
{
    (void)last_updated;
    struct run *r = arg;
    const char *consumer = recog_decision_ref(d, "organization");
    const struct recog_institution *o =
        allowed(r, consumer) ? recog_data_institution(r->data, r->snap, consumer) : NULL;
    struct unit *u = o ? unit_of(r, o) : NULL;
    if (u)
        recog_tally_decision(&u->t, d, r->province_mark);
    return true;
}

static bool count_lab(void *arg, json_object *org, int64_t last_updated)
{
    (void)last_updated;
    struct run *r = arg;
    const char *id = recog_str(org, "id");
    const char *ref = id ? arena_printf(r->a, "Organization/%s", id) : NULL;
    if (!allowed(r, ref))
        return true;
    struct recog_eqa *eqa;
    size_t n = recog_eqa_parse(org, r->a, &eqa), passed = 0;
    for (size_t i = 0; i < n; i++) /* each item once: the outcome that decides at the end */
        if (recog_eqa_qualified(eqa, n, eqa[i].system, eqa[i].code, r->period_end)) {
            bool seen = false;
            for (size_t k = 0; k < i && !seen; k++)
                seen = !strcmp(eqa[k].code, eqa[i].code) &&
                       recog_eqa_qualified(eqa, n, eqa[k].system, eqa[k].code, r->period_end);
            passed += !seen;
        }
    if (!passed)
        return true;
    const struct recog_institution *o = recog_data_institution(r->data, r->snap, ref);
    struct unit *u = o ? unit_of(r, o) : NULL;
    if (u) {
        u->t.eqa_labs++;
        u->t.eqa_items += (int64_t)passed;
    }
    return true;
}

/* ---- the answer ---- */

static void measure_report(struct run *r, struct buf *out, const struct unit *u, const char *start,
                           const char *end)
{
    const struct recog_tally *t = &u->t;
    const struct fhir_figure f[] = {
        {"recognition-rate", "互认率", "recognition rate", t->recognised, t->eligible, NULL},
        {"avoided-tests", "避免重复检查检验", "avoided repeat tests", t->recognised, -1, NULL},
        {"fees-saved", "节省费用", "fees saved", 0, -1,
         arena_printf(r->a,
                      "{\"value\":%lld.%02lld,\"unit\":\"CNY\",\"system\":\"urn:iso:std:iso:4217\","
                      "\"code\":\"CNY\"}",
                      (long long)(t->fees_fen / 100), (long long)(t->fees_fen % 100))},
        {"retests", "复查（有可互认结果）", "re-tests of recognisable results", t->retests, -1,
         NULL},
        {"marked-province", "省级互认标识项目", "recognised items marked province-wide",
         t->marked[0], -1, NULL},
        {"marked-city", "市级互认标识项目", "recognised items marked city-wide", t->marked[1], -1,
         NULL},
        {"marked-alliance", "医联体互认项目", "recognised items within an alliance", t->marked[2],
         -1, NULL},
        {"eqa-labs", "室间质评合格实验室", "laboratories with an EQA pass", t->eqa_labs, -1, NULL},
        {"eqa-items", "室间质评合格项目数", "EQA-passed items (国考 #13)", t->eqa_items, -1, NULL},
    };
    fhir_measure_report(out, MEASURE_URL, INDICATOR_SYS, u->ref, u->name, start, end, f,
                        sizeof(f) / sizeof(f[0]));
}

static void csv_row(struct buf *out, const char *period, const char *level, const struct unit *u)
{
    const struct recog_tally *t = &u->t;
    buf_printf(out, "%s,%s,", period, level);
    fhir_csv_text(out, u->ref);
    buf_append_str(out, ",");
    fhir_csv_text(out, u->name);
    buf_printf(out, ",%lld,%lld,%lld,", (long long)t->decisions, (long long)t->eligible,
               (long long)t->recognised);
    if (t->eligible)
        buf_printf(out, "%.4f", (double)t->recognised / (double)t->eligible);
    buf_printf(out, ",%lld,%lld.%02lld,%lld,%lld,%lld,%lld,%lld\r\n", (long long)t->retests,
               (long long)(t->fees_fen / 100), (long long)(t->fees_fen % 100),
               (long long)t->marked[0], (long long)t->marked[1], (long long)t->marked[2],
               (long long)t->eqa_labs, (long long)t->eqa_items);
}

/* ---- the operation ---- */

static int unit_order(const void *a, const void *b)
{
    return strcmp((*(struct unit *const *)a)->ref, (*(struct unit *const *)b)->ref);
}

static bool compute(struct run *r, const char *start, const char *next)
{
    const char *dec[][2] = {{"code", RECOG_DECISION_CODE "|decision"},
                            {"created", arena_printf(r->a, "ge%s", start)},
                            {"created", arena_printf(r->a, "lt%s", next)}};
    struct fhir_scan decisions = {"Basic", dec, 3, 0, false, 0, false};
    struct fhir_scan labs = {"Organization", NULL, 0, 0, false, 0, false};
    const struct config *cfg = r->c->app->cfg;
    enum err err = fhir_scan_run(r->store, cfg, r->a, &decisions, count_decision, r);
    if (!err)
        err = fhir_scan_run(r->store, cfg, r->a, &labs, count_lab, r);
    if (err)
        rest_error(r->c, err, NULL, "the indicators could not be computed: %s", err_message(err));
    return !err;
}

static void answer(struct run *r, const char *period, const char *start, const char *end, bool csv)
{
    static const char *const levels[] = {"hospital", "city", "province"};
    qsort(r->list, r->nunits, sizeof(*r->list), unit_order);
    struct buf *out = &r->c->res->body;
    fhir_measure_begin(r->c, csv,
                       "period,level,reporter,name,decisions,eligible,recognised,"
                       "recognition_rate,retests,fees_saved_cny,marked_province,marked_city,"
                       "marked_alliance,eqa_labs,eqa_items");
    for (size_t i = 0; i < r->nunits; i++) {
        if (csv) {
            csv_row(out, period, levels[r->level], r->list[i]);
            continue;
        }
        fhir_measure_next(r->c, i);
        measure_report(r, out, r->list[i], start, end);
    }
    fhir_measure_end(r->c, csv);
}

static void run_indicators(struct rest_ctx *c, const char *type, const char *id,
                           json_object *params, void *self)
{
    (void)type;
    (void)id;
    static const char *const levels[] = {"hospital", "city", "province"};
    const char *period = fhir_params_text(params, "period");
    const char *level = fhir_params_text(params, "level");
    const char *format = fhir_params_text(params, "format");
    struct run *r = arena_alloc(c->req->arena, sizeof(*r));
    *r =
        (struct run){.c = c, .store = c->app->store, .a = c->req->arena, .data = self, .level = -1};
    for (int i = 0; i < 3; i++)
        if (level && !strcmp(level, levels[i]))
            r->level = i;
    char start[32], end[32], next[32], end_at[64];
    if (!fhir_measure_month(period, start, end, next) || r->level < 0 ||
        (format && strcmp(format, "csv") && strcmp(format, "json"))) {
        rest_error(c, ERR_INVALID, NULL,
                   "give period=YYYY-MM and level=hospital|city|province (format=json|csv)");
        return;
    }
    snprintf(end_at, sizeof(end_at), "%sT23:59:59.999+08:00", end);
    time_parse_fhir(end_at, strlen(end_at), &r->period_end);
    strmap_init(&r->units, r->a, 256);
    r->list = arena_alloc(r->a, sizeof(*r->list) * MAX_UNITS);
    r->snap = recog_data_acquire(r->data);
    r->province_mark = r->snap->ok ? r->snap->cat.province_mark : "豫HR";
    if (fhir_measure_scope(c, r->a, &r->allowed, &r->all) && compute(r, start, next))
        answer(r, period, start, end, format && !strcmp(format, "csv"));
    recog_data_release(r->data, r->snap);
}

bool recognition_indicators_register(struct fhir_app *app, struct recog_data *data)
{
    const struct fhir_operation op = {
        .type = "MeasureReport",
        .name = "recognition-indicators",
        .on_type = true,
        .get = true,
        .interaction = 's',
        .definition = RECOG_BASE "/OperationDefinition/MeasureReport-recognition-indicators",
        .run = run_indicators,
        .self = data,
    };
    return fhir_app_add_operation(app, &op);
}

/* ---- $recognition-unmapped: a laboratory's own codes no ConceptMap maps ---- */

#define UNMAPPED_SCAN_DEFAULT 20000
#define UNMAPPED_SCAN_MAX     200000
#define UNMAPPED_MAX_CODES    2000

/* A result: when none of its codes is an item or mapped to one, count its first code. */
static bool note_codes(void *arg, json_object *obs, int64_t last_updated)
{
    (void)last_updated;
    struct run *r = arg;
    json_object *code = NULL, *codings = NULL;
    if (!json_object_object_get_ex(obs, "code", &code) ||
        !json_object_object_get_ex(code, "coding", &codings) ||
        !json_object_is_type(codings, json_type_array) || !json_object_array_length(codings))
        return true;
    for (size_t i = 0; i < json_object_array_length(codings); i++) {
        json_object *cd = json_object_array_get_idx(codings, i);
        const char *sys = recog_str(cd, "system"), *c = recog_str(cd, "code");
        if (sys && c &&
            (recog_catalogue_find(&r->snap->cat, sys, c) ||
             strmap_get(&r->mapped, arena_printf(r->a, "%s|%s", sys, c))))
            return true; /* recognisable by its code */
    }
    json_object *first = json_object_array_get_idx(codings, 0);
    const char *sys = recog_str(first, "system"), *c = recog_str(first, "code");
    if (!c)
        return true;
    const char *key = arena_printf(r->a, "%s|%s", sys ? sys : "", c);
    struct seen *s = (struct seen *)strmap_get(&r->seen, key);
    if (!s && r->ncodes < UNMAPPED_MAX_CODES) {
        s = arena_alloc(r->a, sizeof(*s));
        *s = (struct seen){sys ? arena_printf(r->a, "%s", sys) : NULL, arena_printf(r->a, "%s", c),
                           recog_str(first, "display")
                               ? arena_printf(r->a, "%s", recog_str(first, "display"))
                               : NULL,
                           NULL, 0};
        strmap_put(&r->seen, key, (const char *)s);
        r->codes[r->ncodes++] = s;
    }
    const char *when = recog_str(obs, "issued");
    if (s && ++s->count && when && (!s->last || strcmp(when, s->last) > 0))
        s->last = arena_printf(r->a, "%s", when);
    return true;
}

static int by_count(const void *a, const void *b)
{
    const struct seen *x = *(struct seen *const *)a, *y = *(struct seen *const *)b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->code, y->code);
}

static void put_unmapped(struct run *r, struct buf *out, const char *lab,
                         const struct fhir_scan *scanned)
{
    buf_append_str(out, "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"laboratory\","
                        "\"valueReference\":{\"reference\":");
    buf_append_json_string(out, lab, strlen(lab));
    buf_printf(out,
               "}},{\"name\":\"scanned\",\"valueInteger\":%lld},{\"name\":\"truncated\","
               "\"valueBoolean\":%s}",
               (long long)scanned->seen, scanned->truncated ? "true" : "false");
    for (size_t i = 0; i < r->ncodes; i++) {
        const struct seen *s = r->codes[i];
        buf_append_str(out,
                       ",{\"name\":\"unmapped\",\"part\":[{\"name\":\"code\",\"valueCoding\":{");
        if (s->system) {
            buf_append_str(out, "\"system\":");
            buf_append_json_string(out, s->system, strlen(s->system));
            buf_append_str(out, ",");
        }
        buf_append_str(out, "\"code\":");
        buf_append_json_string(out, s->code, strlen(s->code));
        if (s->display) {
            buf_append_str(out, ",\"display\":");
            buf_append_json_string(out, s->display, strlen(s->display));
        }
        buf_printf(out, "}},{\"name\":\"count\",\"valueInteger\":%lld}", (long long)s->count);
        if (s->last)
            buf_printf(out, ",{\"name\":\"last-seen\",\"valueDateTime\":\"%s\"}", s->last);
        buf_append_str(out, "]}");
    }
    buf_append_str(out, "]}");
}

static void unmapped(struct run *r, const char *lab);

static void run_unmapped(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                         void *self)
{
    (void)type;
    (void)id;
    struct run *r = arena_alloc(c->req->arena, sizeof(*r));
    *r = (struct run){.c = c, .store = c->app->store, .a = c->req->arena, .data = self};
    const char *lab = fhir_params_text(params, "laboratory"),
               *count = fhir_params_text(params, "count");
    long long cap = count ? atoll(count) : UNMAPPED_SCAN_DEFAULT;
    if (!lab || strncmp(lab, "Organization/", 13) || cap < 1 || cap > UNMAPPED_SCAN_MAX) {
        rest_error(c, ERR_INVALID, NULL, "give laboratory=Organization/id (and count 1..%d)",
                   UNMAPPED_SCAN_MAX);
        return;
    }
    if (!fhir_measure_scope(c, r->a, &r->allowed, &r->all))
        return;
    if (!allowed(r, lab)) {
        rest_error(c, ERR_FORBIDDEN, NULL, "'%.80s' is not among your organisations", lab);
        return;
    }
    r->cap = cap;
    r->snap = recog_data_acquire(r->data);
    unmapped(r, lab);
    recog_data_release(r->data, r->snap);
}

/* The scans and the answer of $recognition-unmapped, with r's snapshot. */
static void unmapped(struct run *r, const char *lab)
{
    struct rest_ctx *c = r->c;
    strmap_init(&r->mapped, r->a, 256);
    strmap_init(&r->seen, r->a, 256);
    r->codes = arena_alloc(r->a, sizeof(*r->codes) * UNMAPPED_MAX_CODES);
    const char *obs[][2] = {{"performer", lab}};
    for (size_t i = 0; i < r->snap->nlocals; i++)
        strmap_put(&r->mapped,
                   arena_printf(r->a, "%s|%s", r->snap->locals[i].system, r->snap->locals[i].code),
                   "");
    /* the laboratory's latest results */
    struct fhir_scan results = {"Observation", obs, 1, r->cap, true, 0, false};
    enum err err = fhir_scan_run(r->store, r->c->app->cfg, r->a, &results, note_codes, r);
    if (err) {
        rest_error(c, err, NULL, "the codes could not be read: %s", err_message(err));
        return;
    }
    qsort(r->codes, r->ncodes, sizeof(*r->codes), by_count);
    buf_reset(&c->res->body);
    put_unmapped(r, &c->res->body, lab, &results);
    c->res->status = 200;
    rest_json_type(c);
}

bool recognition_unmapped_register(struct fhir_app *app, struct recog_data *data)
{
    const struct fhir_operation op = {
        .type = "ConceptMap",
        .name = "recognition-unmapped",
        .on_type = true,
        .get = true,
        .interaction = 'r',
        .definition = RECOG_BASE "/OperationDefinition/ConceptMap-recognition-unmapped",
        .run = run_unmapped,
        .self = data,
    };
    return fhir_app_add_operation(app, &op);
}
