/*
 * recognition_routes.c - the recognition operations over the FHIR API:
 *
 *   GET|POST [base]/Patient/[id]/$recognizable?code=system|code,...
 *   GET|POST [base]/Patient/$recognizable?identifier=system|value&code=...
 *        the patient's prior results for the items a doctor is about to
 *        order, each with whether it may be recognised and why (Parameters)
 *   POST [base]/Patient/[id]/$recognize
 *        the doctor's decision per item (recognised, or re-test with a
 *        reason), kept as Basic resources in one durable, audited unit
 *
 * Everything is read as the caller (rest_get_internal): a doctor sees the
 * prior results of a patient shared with their hospital, and each read is
 * in the audit trail. The rules are in recognition.c.
 */
#include "modules/recognition/recognition_routes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/operation.h"
#include "fhir/query.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/validate.h"
#include "modules/recognition/billing.h"
#include "modules/recognition/indicators.h"
#include "modules/recognition/recognition.h"
#include "modules/recognition/recognition_data.h"

#define MAX_DECISIONS    50  /* decisions in one $recognize */
#define MAX_RESULTS      100 /* prior results read per kind */
#define MAX_CODES        64  /* items asked about in one call */
#define CODES_PER_GET    60  /* code values in one search (a query allows 64) */
#define MAX_SEARCHES     24  /* searches of prior results in one call */
#define RESPONSE_BYTES   (8u << 20)
#define DECISION_DEF     RECOG_BASE "/OperationDefinition/Patient-recognize"
#define RECOGNIZABLE_DEF RECOG_BASE "/OperationDefinition/Patient-recognizable"

struct decision;

/* One call of an operation. */
struct call {
    struct rest_ctx *c;
    struct arena *a;
    struct recog_data *data;     /* the reference data kept between calls */
    struct recog_snapshot *snap; /* taken for this call */
    const struct recog_catalogue *cat;
    const char *version; /* the catalogue's, kept past the snapshot */
    struct recog_place consumer;
    const char *patient; /* "Patient/id" */
    bool emergency;      /* an emergency visit: not bound */
    int64_t now;
    struct decision *decisions; /* $recognize: what was submitted */
    size_t ndecisions;
};

/* ---- reading as the caller ---- */

/* GET url as the caller; the parsed body of a 200, else NULL with *status. Caller puts it. */
static json_object *fetch(struct call *k, const char *url, int *status)
{
    struct http_response res;
    memset(&res, 0, sizeof(res));
    buf_init(&res.body, RESPONSE_BYTES);
    rest_get_internal(k->c, url, &res);
    *status = res.status;
    json_object *obj = NULL;
    if (res.status == 200 && res.body.len)
        obj = json_tokener_parse(res.body.ptr);
    buf_release(&res.body);
    return obj;
}

static char *keep(struct call *k, const char *s)
{
    return s ? arena_strndup(k->a, s, strlen(s)) : NULL;
}

/* Search type as the caller would: rest_search_parsed about the call's patient. */
static bool search(struct call *k, const char *type, const char *const criteria[][2], size_t n,
                   json_object **out, size_t max, size_t *found)
{
    return rest_search_parsed(k->c, type, criteria, n, k->patient, out, max, found);
}

/* ---- the call's setting ---- */

/* The caller's institution: their own, or (accounts of no institution) the one named. */
static bool load_consumer(struct call *k, json_object *params)
{
    const struct fhir_reach *r = rest_reach(k->c);
    const char *org = r->kind == FHIR_REACH_ORG ? r->org : fhir_params_text(params, "organization");
    const struct recog_institution *in = org ? recog_data_institution(k->data, k->snap, org) : NULL;
    if (!in) {
        rest_error(k->c, ERR_INVALID, "organization",
                   "须指明就诊机构 / the treating institution is unknown: name it with "
                   "'organization' (Organization/id)");
        return false;
    }
    k->consumer = (struct recog_place){keep(k, in->place.org), keep(k, in->place.name),
                                       keep(k, in->place.city), keep(k, in->place.city_name),
                                       keep(k, in->place.alliance)};
    return true;
}

/* The patient of the call: the instance, or the one patient with the identifier. */
static bool load_patient(struct call *k, const char *id, json_object *params)
{
    if (id) {
        if (!rest_may_read(k->c, "Patient", id)) {
            rest_error(k->c, ERR_FORBIDDEN, NULL, "'Patient/%s' is not in your records", id);
            return false;
        }
        k->patient = arena_printf(k->a, "Patient/%s", id);
        return true;
    }
    const char *ident = fhir_params_text(params, "identifier");
    if (!ident || !*ident) {
        rest_error(k->c, ERR_INVALID, "identifier",
                   "须给出患者 id 或 identifier / give the patient's id or an identifier");
        return false;
    }
    const char *criteria[][2] = {{"identifier", ident}};
    json_object *found[2] = {NULL, NULL};
    size_t n = 0;
    if (!search(k, "Patient", criteria, 1, found, 2, &n))
        return false;
    if (n == 1)
        k->patient = arena_printf(k->a, "Patient/%s", recog_str(found[0], "id"));
    else if (n == 0)
        rest_error(k->c, ERR_NOT_FOUND, "identifier", "no patient has identifier '%.100s'", ident);
    else
        rest_error(k->c, ERR_CONFLICT, "identifier",
                   "该证件号对应多个患者记录，请先合并 / several patients have identifier "
                   "'%.100s': merge them first",
                   ident);
    json_object_put(found[0]);
    json_object_put(found[1]);
    return n == 1;
}

static bool setup(struct call *k, struct rest_ctx *c, const char *id, json_object *params,
                  struct recog_data *data)
{
    memset(k, 0, sizeof(*k));
    k->data = data;
    k->c = c;
    k->a = c->req->arena;
    k->now = time_now_ms();
    const char *em = fhir_params_text(params, "emergency");
    k->emergency = em && !strcmp(em, "true");
    k->snap = recog_data_acquire(k->data);
    k->cat = &k->snap->cat;
    k->version = keep(k, k->cat->version);
    if (!k->snap->ok) {
        rest_error(c, ERR_UNPROCESSABLE, NULL, "%s", k->snap->why);
        return false;
    }
    return load_patient(k, id, params) && load_consumer(k, params);
}

/* The end of a call: the snapshot goes back. */
static void finish(struct call *k)
{
    if (k->snap)
        recog_data_release(k->data, k->snap);
    k->snap = NULL;
}

/* ---- prior results ---- */

/* The first performer that is an institution. */
static const char *performer_org(json_object *res)
{
    json_object *list = NULL;
    if (!json_object_object_get_ex(res, "performer", &list) ||
        !json_object_is_type(list, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        const char *ref = recog_str(json_object_array_get_idx(list, i), "reference");
        if (ref && !strncmp(ref, "Organization/", 13))
            return ref;
    }
    return NULL;
}

/* Does an imaging report point at a study that has a study instance UID? */
static bool has_images(struct call *k, json_object *report)
{
    json_object *list = NULL;
    if (!json_object_object_get_ex(report, "imagingStudy", &list) ||
        !json_object_is_type(list, json_type_array))
        return false;
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(list) && !found && i < 4; i++) {
        const char *ref = recog_str(json_object_array_get_idx(list, i), "reference");
        int status;
        json_object *study =
            ref && !strncmp(ref, "ImagingStudy/", 13) ? fetch(k, ref, &status) : NULL;
        json_object *ids = NULL;
        if (study && json_object_object_get_ex(study, "identifier", &ids) &&
            json_object_is_type(ids, json_type_array))
            for (size_t j = 0; j < json_object_array_length(ids); j++) {
                json_object *id = json_object_array_get_idx(ids, j);
                const char *sys = recog_str(id, "system"), *val = recog_str(id, "value");
                found |= sys && val && !strcmp(sys, "urn:dicom:uid") && *val;
            }
        json_object_put(study);
    }
    return found;
}

/* The value of a lab result. */
static void read_quantity(json_object *res, struct recog_result *r, struct call *k)
{
    json_object *q = NULL, *v = NULL;
    if (!json_object_object_get_ex(res, "valueQuantity", &q) ||
        !json_object_object_get_ex(q, "value", &v))
        return;
    r->value = json_object_get_double(v);
    r->has_value = isfinite(r->value);
    r->unit = keep(k, recog_str(q, "code") ? recog_str(q, "code") : recog_str(q, "unit"));
}

/* A prior result as the rules see it, from an Observation or a DiagnosticReport. */
static void read_result(struct call *k, json_object *res, const struct recog_item *item,
                        struct recog_result *r)
{
    memset(r, 0, sizeof(*r));
    r->ref = arena_printf(k->a, "%s/%s", recog_str(res, "resourceType"), recog_str(res, "id"));
    r->status = keep(k, recog_str(res, "status"));
    r->reported = INT64_MIN;
    const char *when = recog_str(res, "issued");
    if (!when)
        when = recog_str(res, "effectiveDateTime");
    if (when && !time_parse_fhir(when, strlen(when), &r->reported))
        r->reported = INT64_MIN;
    if (item->kind == RECOG_LAB)
        read_quantity(res, r, k);
    else
        r->has_images = has_images(k, res);
    const struct recog_institution *in =
        recog_data_institution(k->data, k->snap, performer_org(res));
    if (in) {
        r->lab = in->place;
        r->eqa = in->eqa;
        r->neqa = in->neqa;
    }
}

/* ---- $recognizable ---- */

struct asked {
    const struct recog_item **items; /* catalogue items asked about */
    size_t n;
    const char **unknown; /* codes asked about that are not in the catalogue */
    size_t nunknown;
    bool all; /* no code given: every item */
};

/* One asked code, "system|code" or "code". */
static void ask_code(struct call *k, struct asked *q, const char *text, size_t len)
{
    char *v = arena_strndup(k->a, text, len);
    char *bar = strchr(v, '|');
    const char *system = NULL, *code = v;
    if (bar) {
        *bar = '\0';
        system = v;
        code = bar + 1;
    }
    const struct recog_item *it = recog_catalogue_find(k->cat, system, code);
    for (size_t i = 0; it && i < q->n; i++)
        if (q->items[i] == it)
            return;
    if (it && q->n < MAX_CODES)
        q->items[q->n++] = it;
    else if (!it && q->nunknown < MAX_CODES)
        q->unknown[q->nunknown++] = arena_strndup(k->a, text, len);
}

/* The items asked about: every "code" parameter, comma-separated; none = the catalogue. */
static bool asked_items(struct call *k, json_object *params, struct asked *q)
{
    json_object *parts[MAX_CODES];
    size_t n = fhir_params_all(params, "code", parts, MAX_CODES);
    q->items = arena_alloc(k->a, sizeof(*q->items) * (k->cat->count + MAX_CODES));
    q->unknown = arena_alloc(k->a, sizeof(*q->unknown) * MAX_CODES);
    q->n = q->nunknown = 0;
    q->all = n == 0;
    if (n > MAX_CODES) {
        rest_error(k->c, ERR_INVALID, "code", "at most %d codes in one call", MAX_CODES);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *coding = NULL;
        const char *text = fhir_params_text(parts[i], "code");
        if (json_object_object_get_ex(parts[i], "valueCoding", &coding))
            text = arena_printf(k->a, "%s|%s",
                                recog_str(coding, "system") ? recog_str(coding, "system") : "",
                                recog_str(coding, "code") ? recog_str(coding, "code") : "");
        else
            text = recog_str(parts[i], "valueString") ? recog_str(parts[i], "valueString")
                                                      : recog_str(parts[i], "valueCode");
        for (const char *p = text; p && *p;) {
            size_t len = strcspn(p, ",");
            if (len)
                ask_code(k, q, p, len);
            p += len + (p[len] == ',');
        }
    }
    for (size_t i = 0; q->all && i < k->cat->count; i++)
        q->items[q->n++] = &k->cat->items[i];
    return true;
}

/* The codes to search for kind: the asked items', then the laboratories' codes mapped to them. */
static size_t codes_of(struct call *k, enum recog_kind kind, const struct asked *q,
                       const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++)
        if (q->items[i]->kind == kind)
            out[n++] = arena_printf(k->a, "%s|%s", q->items[i]->system, q->items[i]->code);
    for (size_t i = 0; i < k->snap->nlocals; i++) {
        const struct recog_local *l = &k->snap->locals[i];
        if (l->item->kind == kind && recog_item_among(l->item, q->items, q->n))
            out[n++] = arena_printf(k->a, "%s|%s", l->system, l->code);
    }
    return n;
}

/*
 * The patient's results of kind for the asked items, newest first, into
 * found[] (owned, *n of them, at most max): one search per CODES_PER_GET
 * codes. False (answered) when a search was refused.
 */
static bool results_of(struct call *k, enum recog_kind kind, const struct asked *q,
                       json_object **found, size_t max, size_t *n)
{
    const char **codes = arena_alloc(k->a, sizeof(*codes) * (q->n + k->snap->nlocals + 1));
    size_t ncodes = q->all ? 0 : codes_of(k, kind, q, codes);
    const char *type = kind == RECOG_LAB ? "Observation" : "DiagnosticReport";
    for (size_t from = 0; (q->all && from == 0) || from < ncodes; from += CODES_PER_GET) {
        struct buf values;
        buf_init(&values, 64u * 1024);
        for (size_t i = from; i < ncodes && i < from + CODES_PER_GET; i++) {
            const char *bar = strchr(codes[i], '|');
            if (i > from)
                buf_append_str(&values, ",");
            fhir_query_escape(&values, arena_strndup(k->a, codes[i], (size_t)(bar - codes[i])));
            buf_append_str(&values, "|");
            fhir_query_escape(&values, bar + 1);
        }
        const char *criteria[][2] = {
            {"subject", k->patient},
            {"_sort", "-date"},
            {"code", arena_printf(k->a, "%s", values.ptr ? values.ptr : "")}};
        size_t got = 0, room = max - *n < MAX_RESULTS ? max - *n : MAX_RESULTS;
        bool ok = room == 0 || search(k, type, criteria, q->all ? 2 : 3, found + *n, room, &got);
        buf_release(&values);
        *n += got;
        if (!ok)
            return false;
        if (q->all)
            break;
    }
    return true;
}

static void json_str(struct buf *out, const char *s)
{
    buf_append_json_string(out, s ? s : "", s ? strlen(s) : 0);
}

static void put_money(struct buf *out, int64_t fen)
{
    buf_printf(out, "{\"value\":%lld.%02lld,\"currency\":\"CNY\"}", (long long)(fen / 100),
               (long long)(fen % 100));
}

static void put_time(struct buf *out, const char *name, int64_t ms)
{
    char when[40];
    time_format_instant(ms, when, sizeof(when));
    buf_printf(out, ",{\"name\":\"%s\",\"valueDateTime\":\"%s\"}", name, when);
}

static void put_result(struct buf *out, const struct recog_result *r, const struct recog_verdict *v)
{
    buf_append_str(out, "{\"name\":\"result\",\"part\":[{\"name\":\"reference\","
                        "\"valueReference\":{\"reference\":");
    json_str(out, r->ref);
    buf_append_str(out, "}},{\"name\":\"status\",\"valueCode\":");
    json_str(out, r->status);
    buf_append_str(out, "}");
    if (r->reported != INT64_MIN)
        put_time(out, "reported", r->reported);
    if (r->lab.org) {
        buf_append_str(out, ",{\"name\":\"performer\",\"valueReference\":{\"reference\":");
        json_str(out, r->lab.org);
        buf_append_str(out, ",\"display\":");
        json_str(out, r->lab.name);
        buf_append_str(out, "}}");
    }
    if (r->has_value && v->unit) {
        buf_printf(out, ",{\"name\":\"value\",\"valueQuantity\":{\"value\":%.10g,\"unit\":",
                   v->reason == RECOG_UNIT ? r->value : v->value);
        json_str(out, v->reason == RECOG_UNIT ? r->unit : v->unit);
        buf_append_str(out, "}}");
    }
    const struct recog_reason_text *t = &recog_reasons[v->reason];
    buf_printf(out,
               ",{\"name\":\"recognisable\",\"valueBoolean\":%s},{\"name\":\"reason\","
               "\"valueCoding\":{\"system\":\"" RECOG_REASON_SYSTEM "\",\"code\":\"%s\","
               "\"display\":\"%s\"}},{\"name\":\"reason-en\",\"valueString\":\"%s\"}",
               v->reason == RECOG_OK ? "true" : "false", t->code, t->zh, t->en);
    if (v->mark) {
        buf_append_str(out, ",{\"name\":\"mark\",\"valueString\":");
        json_str(out, v->mark);
        buf_append_str(out, "}");
    }
    if (v->expires)
        put_time(out, "expires", v->expires);
    buf_append_str(out, "]}");
}

/* A catalogue item as a Coding. */
static void put_coding(struct buf *out, const struct recog_item *it)
{
    buf_append_str(out, "{\"system\":");
    json_str(out, it->system);
    buf_append_str(out, ",\"code\":");
    json_str(out, it->code);
    buf_append_str(out, ",\"display\":");
    json_str(out, it->display);
    buf_append_str(out, "}");
}

static const char *const scope_codes[] = {"alliance", "city", "province"};

/* One item: what it is, then each prior result with its verdict. */
static void put_item(struct call *k, struct buf *out, const struct recog_item *it,
                     json_object **found, size_t nfound, const struct asked *q)
{
    buf_append_str(out, ",{\"name\":\"item\",\"part\":[{\"name\":\"code\",\"valueCoding\":");
    put_coding(out, it);
    buf_printf(out,
               "},{\"name\":\"kind\",\"valueCode\":\"%s\"},{\"name\":\"scope\",\"valueCode\":"
               "\"%s\"},{\"name\":\"window-days\",\"valueInteger\":%d},{\"name\":\"price\","
               "\"valueMoney\":",
               it->kind == RECOG_LAB ? "lab" : "imaging", scope_codes[it->scope], it->window_days);
    put_money(out, it->price_fen);
    buf_append_str(out, "}");
    bool any = false;
    for (size_t i = 0; i < nfound; i++) {
        if (recog_snapshot_item(k->snap, found[i], q->items, q->n) != it)
            continue;
        struct recog_result r;
        struct recog_verdict v;
        read_result(k, found[i], it, &r);
        recog_evaluate(k->cat, it, &r, &k->consumer, k->now, k->a, &v);
        any |= v.reason == RECOG_OK;
        buf_append_str(out, ",");
        put_result(out, &r, &v);
    }
    buf_printf(out, ",{\"name\":\"recognisable\",\"valueBoolean\":%s}]}", any ? "true" : "false");
}

static void put_head(struct call *k, struct buf *out)
{
    buf_append_str(out, "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient\","
                        "\"valueReference\":{\"reference\":");
    json_str(out, k->patient);
    buf_append_str(out, "}},{\"name\":\"organization\",\"valueReference\":{\"reference\":");
    json_str(out, k->consumer.org);
    buf_append_str(out, ",\"display\":");
    json_str(out, k->consumer.name);
    buf_printf(out, "}},{\"name\":\"bound\",\"valueBoolean\":%s}", k->emergency ? "false" : "true");
    if (k->version) {
        buf_append_str(out, ",{\"name\":\"catalogue-version\",\"valueString\":");
        json_str(out, k->version);
        buf_append_str(out, "}");
    }
}

static void run_recognizable(struct rest_ctx *c, const char *type, const char *id,
                             json_object *params, void *self)
{
    (void)type;
    struct call *k = arena_alloc(c->req->arena, sizeof(*k));
    struct asked q;
    size_t cap = MAX_SEARCHES * MAX_RESULTS, n = 0;
    json_object **found = arena_alloc(c->req->arena, sizeof(*found) * cap);
    bool ok = setup(k, c, id, params, self) && asked_items(k, params, &q) &&
              results_of(k, RECOG_LAB, &q, found, cap, &n) &&
              results_of(k, RECOG_IMAGING, &q, found, cap, &n);
    if (ok) {
        struct buf *out = &c->res->body;
        buf_reset(out);
        put_head(k, out);
        for (size_t i = 0; i < q.n; i++)
            put_item(k, out, q.items[i], found, n, &q);
        for (size_t i = 0; i < q.nunknown; i++) {
            buf_append_str(out, ",{\"name\":\"not-in-catalogue\",\"valueString\":");
            json_str(out, q.unknown[i]);
            buf_append_str(out, "}");
        }
        buf_append_str(out, "]}");
        c->res->status = 200;
        rest_json_type(c);
    }
    for (size_t i = 0; i < n; i++)
        json_object_put(found[i]);
    finish(k);
}

/* ---- $recognize ---- */

/* One submitted decision, checked. */
struct decision {
    const struct recog_item *item; /* the snapshot's: NULL once it was given back */
    int64_t saved_fen;             /* the item's price, when recognised */
    struct recog_decision d;
    struct recog_result r; /* the prior result, when one is named */
    struct recog_verdict v;
    bool has_result;
};

/* The item a decision names: valueCoding, or "system|code" text. */
static const struct recog_item *decision_item(struct call *k, json_object *part)
{
    json_object *code[1], *coding = NULL;
    if (!fhir_params_all(part, "code", code, 1))
        return NULL;
    if (json_object_object_get_ex(code[0], "valueCoding", &coding))
        return recog_catalogue_find(k->cat, recog_str(coding, "system"), recog_str(coding, "code"));
    const char *text = fhir_params_text(part, "code");
    const char *bar = text ? strchr(text, '|') : NULL;
    if (!bar)
        return recog_catalogue_find(k->cat, NULL, text);
    return recog_catalogue_find(k->cat, arena_strndup(k->a, text, (size_t)(bar - text)), bar + 1);
}

/* Read and judge the prior result a decision names; false (answered) if it is not the patient's. */
static bool decision_result(struct call *k, struct decision *dc, const char *ref, size_t i)
{
    int status;
    json_object *res = NULL;
    if (!strncmp(ref, "Observation/", 12) || !strncmp(ref, "DiagnosticReport/", 17))
        res = fetch(k, ref, &status);
    json_object *subject = NULL;
    const char *who = res && json_object_object_get_ex(res, "subject", &subject)
                          ? recog_str(subject, "reference")
                          : NULL;
    const struct recog_item *items[1] = {dc->item};
    if (!res || !who || strcmp(who, k->patient) != 0 ||
        recog_snapshot_item(k->snap, res, items, 1) != dc->item) {
        rest_error(k->c, ERR_UNPROCESSABLE, "decision",
                   "决定 %zu：'%.80s' 不是该患者此项目的结果 / decision %zu: '%.80s' is not a "
                   "result of this item for this patient",
                   i + 1, ref, i + 1, ref);
        json_object_put(res);
        return false;
    }
    read_result(k, res, dc->item, &dc->r);
    recog_evaluate(k->cat, dc->item, &dc->r, &k->consumer, k->now, k->a, &dc->v);
    dc->has_result = true;
    json_object_put(res);
    return true;
}

static bool read_decision(struct call *k, json_object *part, size_t i, struct decision *dc)
{
    memset(dc, 0, sizeof(*dc));
    dc->item = decision_item(k, part);
    const char *outcome = fhir_params_text(part, "outcome");
    const char *result = fhir_params_text(part, "result");
    const char *explained = fhir_params_text(part, "explained");
    const char *consent = fhir_params_text(part, "consent");
    if (!dc->item || !outcome || (strcmp(outcome, "recognised") && strcmp(outcome, "retest"))) {
        rest_error(k->c, ERR_INVALID, "decision",
                   "决定 %zu 须有目录内的项目 code 和 outcome（recognised 或 retest） / decision "
                   "%zu needs a catalogue item 'code' and 'outcome' recognised or retest",
                   i + 1, i + 1);
        return false;
    }
    dc->d = (struct recog_decision){.recognised = !strcmp(outcome, "recognised"),
                                    .reason = keep(k, fhir_params_text(part, "reason")),
                                    .note = keep(k, fhir_params_text(part, "note")),
                                    .explained = explained && !strcmp(explained, "true"),
                                    .consent = consent && !strcmp(consent, "true")};
    if (result && !decision_result(k, dc, result, i))
        return false;
    if (!result && dc->d.recognised) {
        rest_error(k->c, ERR_INVALID, "decision", "decision %zu: a recognition names its 'result'",
                   i + 1);
        return false;
    }
    if (!result)
        dc->v.reason = RECOG_NO_VALUE; /* nothing to recognise: a first test */
    char why[400];
    if (!recog_decision_check(&dc->d, &dc->v, k->emergency, why, sizeof(why))) {
        rest_error(k->c, ERR_UNPROCESSABLE, "decision", "决定 %zu / decision %zu: %s", i + 1, i + 1,
                   why);
        return false;
    }
    return true;
}

static void ext_open(struct buf *b, const char *name)
{
    buf_printf(b, ",{\"url\":\"" RECOG_EXT "recognition-%s\",", name);
}

static void ext_string(struct buf *b, const char *name, const char *type, const char *value)
{
    ext_open(b, name);
    buf_printf(b, "\"value%s\":", type);
    json_str(b, value);
    buf_append_str(b, "}");
}

static void ext_ref(struct buf *b, const char *name, const char *ref)
{
    ext_open(b, name);
    buf_append_str(b, "\"valueReference\":{\"reference\":");
    json_str(b, ref);
    buf_append_str(b, "}}");
}

/* The extensions of a decision: what was decided, on what, by whom, and what it saved. */
static void decision_extensions(struct call *k, struct buf *b, const struct decision *dc)
{
    buf_append_str(b, "\"extension\":[{\"url\":\"" RECOG_EXT "recognition-item\",\"valueCoding\":");
    put_coding(b, dc->item);
    buf_append_str(b, "}");
    ext_string(b, "outcome", "Code", dc->d.recognised ? "recognised" : "retest");
    if (dc->has_result)
        ext_ref(b, "result", dc->r.ref);
    if (dc->has_result && dc->r.lab.org)
        ext_ref(b, "performer", dc->r.lab.org);
    ext_ref(b, "organization", k->consumer.org);
    const struct recog_retest_reason *why = recog_retest_find(dc->d.reason);
    if (!dc->d.recognised && why) {
        ext_open(b, "retest-reason");
        buf_printf(b,
                   "\"valueCoding\":{\"system\":\"" RECOG_RETEST_SYSTEM "\",\"code\":\"%s\","
                   "\"display\":\"%s\"}}",
                   why->code, why->zh);
    }
    if (dc->d.note && *dc->d.note)
        ext_string(b, "note", "String", dc->d.note);
    if (dc->v.mark && dc->d.recognised)
        ext_string(b, "mark", "String", dc->v.mark);
    ext_open(b, "fee-saved");
    buf_append_str(b, "\"valueMoney\":");
    put_money(b, dc->d.recognised ? dc->item->price_fen : 0);
    buf_printf(b, "}");
    ext_open(b, "explained");
    buf_printf(b, "\"valueBoolean\":%s}", dc->d.explained ? "true" : "false");
    ext_open(b, "consent");
    buf_printf(b, "\"valueBoolean\":%s}", dc->d.consent ? "true" : "false");
    /* eligible: a recognisable prior result existed (the denominator of the recognition rate) */
    ext_open(b, "eligible");
    buf_printf(b, "\"valueBoolean\":%s}",
               dc->has_result && dc->v.reason == RECOG_OK ? "true" : "false");
    ext_open(b, "emergency");
    buf_printf(b, "\"valueBoolean\":%s}", k->emergency ? "true" : "false");
    char now[40];
    time_format_instant(k->now, now, sizeof(now));
    ext_open(b, "recorded");
    buf_printf(b, "\"valueDateTime\":\"%s\"}]", now);
}

/* A decision as a Basic resource; NULL if it does not validate (a bug: answered). */
static json_object *decision_resource(struct call *k, const struct decision *dc)
{
    struct buf b;
    buf_init(&b, 64u * 1024);
    /* Basic.created is a date: the day in China (UTC+8), the day the indicators count it in */
    char day[11];
    time_china_day(k->now, day);
    buf_printf(&b,
               "{\"resourceType\":\"Basic\",\"code\":{\"coding\":[{\"system\":"
               "\"" RECOG_DECISION_CODE "\",\"code\":\"decision\",\"display\":"
               "\"检查检验结果互认决定\"}]},\"subject\":{\"reference\":\"%s\"},\"created\":\"%s\",",
               k->patient, day);
    const struct fhir_reach *r = rest_reach(k->c);
    if (r->person)
        buf_printf(&b, "\"author\":{\"reference\":\"%s\"},", r->person);
    decision_extensions(k, &b, dc);
    buf_append_str(&b, "}");
    json_object *obj = json_tokener_parse(b.ptr);
    buf_release(&b);
    if (!obj || !fhir_validate_resource(obj, &k->c->diag)) {
        json_object_put(obj);
        rest_diag_error(k->c);
        return NULL;
    }
    return obj;
}

/* After the unit: the decisions recorded, and what they saved. */
static void on_recorded(struct rest_ctx *c, enum err result, struct fhir_write *writes, size_t n,
                        void *arg)
{
    struct call *k = arg;
    if (result) {
        rest_error(c, result, NULL, "未能记录互认决定 / the decisions were not recorded: %s",
                   err_message(result));
        return;
    }
    int64_t saved = 0;
    struct buf *out = &c->res->body;
    buf_reset(out);
    put_head(k, out);
    for (size_t i = 0; i < n; i++) {
        const struct decision *dc = &k->decisions[i];
        saved += dc->saved_fen;
        buf_printf(out, ",{\"name\":\"decision\",\"valueReference\":{\"reference\":\"Basic/%s\"}}",
                   writes[i].id);
    }
    buf_append_str(out, ",{\"name\":\"fee-saved\",\"valueMoney\":");
    put_money(out, saved);
    buf_append_str(out, "}]}");
    c->res->status = 200;
    rest_json_type(c);
}

static void run_recognize(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                          void *self)
{
    (void)type;
    struct call *k = arena_alloc(c->req->arena, sizeof(*k));
    if (!setup(k, c, id, params, self)) {
        finish(k);
        return;
    }
    json_object *parts[MAX_DECISIONS];
    size_t n = fhir_params_all(params, "decision", parts, MAX_DECISIONS);
    if (n == 0 || n > MAX_DECISIONS) {
        rest_error(c, ERR_INVALID, "decision", "give 1 to %d 'decision' parameters", MAX_DECISIONS);
        finish(k);
        return;
    }
    k->decisions = arena_alloc(k->a, sizeof(*k->decisions) * n);
    struct fhir_write *writes = arena_alloc(k->a, sizeof(*writes) * n);
    for (size_t i = 0; i < n; i++)
        if (!read_decision(k, parts[i], i, &k->decisions[i])) {
            finish(k);
            return;
        }
    for (size_t i = 0; i < n; i++) {
        json_object *res = decision_resource(k, &k->decisions[i]);
        k->decisions[i].saved_fen =
            k->decisions[i].d.recognised ? k->decisions[i].item->price_fen : 0;
        k->decisions[i].item = NULL; /* the snapshot goes back before the write */
        if (!res) {
            for (size_t j = 0; j < i; j++)
                json_object_put(writes[j].resource);
            finish(k);
            return;
        }
        char *new_id = arena_alloc(k->a, 37);
        fhir_uuid_v7(new_id);
        writes[i] = (struct fhir_write){.kind = FHIR_WRITE_CREATE,
                                        .type = "Basic",
                                        .id = new_id,
                                        .resource = res,
                                        .if_match = -1};
    }
    k->ndecisions = n;
    finish(k);
    rest_write_many(c, writes, n, on_recorded, k);
}

/* ---- registration ---- */

struct recog_data *recognition_register(struct fhir_app *app)
{
    struct recog_data *data = recog_data_new(app->store, app->cfg);
    const struct fhir_operation ops[] = {
        {.type = "Patient",
         .name = "recognizable",
         .on_type = true,
         .on_instance = true,
         .get = true,
         .interaction = 'r',
         .definition = RECOGNIZABLE_DEF,
         .run = run_recognizable},
        {.type = "Patient",
         .name = "recognize",
         .on_instance = true,
         .interaction = 'r',
         .also_type = "Basic",
         .also_interaction = 'c',
         .definition = DECISION_DEF,
         .run = run_recognize},
    };
    bool ok = fhir_app_add_operations(app, ops, sizeof(ops) / sizeof(ops[0]), data);
    if (ok && recognition_indicators_register(app, data) &&
        recognition_unmapped_register(app, data) && recognition_billing_register(app, data))
        return data;
    recog_data_free(data);
    return NULL;
}

void recognition_free(struct recog_data *data)
{
    recog_data_free(data);
}
