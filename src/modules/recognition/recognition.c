/*
 * recognition.c - the rules of result recognition (recognition.h).
 */
#include "modules/recognition/recognition.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

#define DAY_MS 86400000LL
/* a report dated this far in the future is a clock out of step, not the future [A] */
#define CLOCK_SKEW_MS (5 * 60 * 1000LL)
#define MAX_ITEMS     5000  /* items in one catalogue */
#define EQA_MAX       10000 /* EQA outcomes of one laboratory */

const struct recog_reason_text recog_reasons[RECOG__COUNT] = {
    [RECOG_OK] = {"recognisable", "可互认", "may be recognised"},
    [RECOG_NOT_FINAL] = {"not-final", "报告未终审", "the report is not final"},
    [RECOG_NO_DATE] = {"no-date", "报告时间缺失", "the report has no date"},
    [RECOG_FUTURE] = {"future", "报告时间晚于当前时间", "the report is dated in the future"},
    [RECOG_EXPIRED] = {"expired", "超出互认有效期，仅供参考",
                       "older than the item's window: for reference only"},
    [RECOG_NO_LAB] = {"no-lab", "检验/检查机构不明", "the producing laboratory is unknown"},
    [RECOG_NOT_QUALIFIED] = {"not-qualified", "报告日该机构此项目未通过室间质评",
                             "the laboratory had no EQA pass for the item on the report date"},
    [RECOG_OUT_OF_SCOPE] = {"out-of-scope", "不在该项目的互认范围内",
                            "outside the item's recognition scope"},
    [RECOG_NO_IMAGES] = {"no-images", "影像报告无影像，不可互认",
                         "an imaging report without images cannot be recognised"},
    [RECOG_UNIT] = {"unit", "单位无法换算", "the unit cannot be converted"},
    [RECOG_NO_VALUE] = {"no-value", "结果无定量数值", "the result has no quantity"},
};

/* The six national situations [S: NHC press briefing], and the patient's own request. */
const struct recog_retest_reason recog_retest_reasons[] = {
    {"condition-changed", "病情变化，原结果与临床表现或诊断不符",
     "the condition changed: the result no longer fits the presentation or diagnosis", false},
    {"fast-changing", "检查检验项目变化快", "an item that changes fast", false},
    {"major-intervention", "手术、输血等重大诊疗措施前",
     "before a major intervention (surgery, transfusion)", false},
    {"emergency", "急诊、急救", "emergency or rescue", false},
    {"forensic", "司法、伤残、病退鉴定", "forensic, disability or illness-retirement assessment",
     false},
    {"other", "其他合理情形", "another justified case", true},
    {"patient-request", "患者要求", "at the patient's request", true},
};
const size_t recog_retest_reason_count =
    sizeof(recog_retest_reasons) / sizeof(recog_retest_reasons[0]);

const struct recog_retest_reason *recog_retest_find(const char *code)
{
    for (size_t i = 0; code && i < recog_retest_reason_count; i++)
        if (!strcmp(recog_retest_reasons[i].code, code))
            return &recog_retest_reasons[i];
    return NULL;
}

/* ---- catalogue ---- */

const char *recog_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static char *dup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

/* "mg/dL 0.0555": a unit and its factor to the item's unit. */
static bool parse_conversion(const char *text, struct arena *a, struct recog_conversion *out)
{
    const char *space = text ? strrchr(text, ' ') : NULL;
    if (!space || space == text)
        return false;
    char *end = NULL;
    double f = strtod(space + 1, &end);
    if (*end || !isfinite(f) || f <= 0)
        return false;
    out->unit = arena_strndup(a, text, (size_t)(space - text));
    out->factor = f;
    return true;
}

/* One concept property into the item; false if its value is wrong. */
static bool item_property(struct recog_item *it, json_object *prop, struct arena *a)
{
    const char *code = recog_str(prop, "code");
    json_object *v = NULL;
    if (!code)
        return false;
    const char *text = recog_str(prop, "valueCode");
    if (!text)
        text = recog_str(prop, "valueString");
    if (!strcmp(code, "system") && text) {
        it->system = dup(a, text);
    } else if (!strcmp(code, "kind") && text) {
        if (strcmp(text, "lab") != 0 && strcmp(text, "imaging") != 0)
            return false;
        it->kind = !strcmp(text, "lab") ? RECOG_LAB : RECOG_IMAGING;
    } else if (!strcmp(code, "scope") && text) {
        if (!strcmp(text, "province"))
            it->scope = RECOG_SCOPE_PROVINCE;
        else if (!strcmp(text, "city"))
            it->scope = RECOG_SCOPE_CITY;
        else if (!strcmp(text, "alliance"))
            it->scope = RECOG_SCOPE_ALLIANCE;
        else
            return false;
    } else if ((!strcmp(code, "window-days") || !strcmp(code, "price-fen")) &&
               json_object_object_get_ex(prop, "valueInteger", &v)) {
        int64_t n = json_object_get_int64(v);
        if (n < 0 || n > 100000000)
            return false;
        if (code[0] == 'w')
            it->window_days = (int)n;
        else
            it->price_fen = n;
    } else if (!strcmp(code, "unit") && text) {
        it->unit = dup(a, text);
    } else if (!strcmp(code, "convert") && text) {
        if (it->nconv == RECOG_MAX_CONVERSION || !parse_conversion(text, a, &it->conv[it->nconv]))
            return false;
        it->nconv++;
    }
    return true; /* other properties are someone else's */
}

static bool parse_item(json_object *concept, struct arena *a, struct recog_item *it, char *why,
                       size_t size)
{
    memset(it, 0, sizeof(*it));
    it->window_days = -1;
    it->scope = RECOG_SCOPE_PROVINCE;
    it->code = dup(a, recog_str(concept, "code"));
    it->display = dup(a, recog_str(concept, "display"));
    json_object *props = NULL;
    if (!it->code) {
        snprintf(why, size, "a catalogue concept has no code");
        return false;
    }
    if (json_object_object_get_ex(concept, "property", &props) &&
        json_object_is_type(props, json_type_array))
        for (size_t k = 0; k < json_object_array_length(props); k++)
            if (!item_property(it, json_object_array_get_idx(props, k), a)) {
                snprintf(why, size, "item '%.64s': property %zu is not valid", it->code, k);
                return false;
            }
    if (it->window_days < 0) {
        snprintf(why, size, "item '%.64s' has no window-days", it->code);
        return false;
    }
    if (!it->system)
        it->system = "http://loinc.org";
    return true;
}

static const char *province_mark(json_object *cs)
{
    json_object *exts = NULL;
    if (json_object_object_get_ex(cs, "extension", &exts) &&
        json_object_is_type(exts, json_type_array))
        for (size_t i = 0; i < json_object_array_length(exts); i++) {
            json_object *e = json_object_array_get_idx(exts, i);
            const char *url = recog_str(e, "url");
            if (url && !strcmp(url, RECOG_EXT_MARK) && recog_str(e, "valueString"))
                return recog_str(e, "valueString");
        }
    return "豫HR"; /* [A] DOMAIN.md §1 */
}

bool recog_catalogue_parse(json_object *cs, struct arena *a, struct recog_catalogue *out, char *why,
                           size_t size)
{
    json_object *concepts = NULL;
    memset(out, 0, sizeof(*out));
    if (!json_object_object_get_ex(cs, "concept", &concepts) ||
        !json_object_is_type(concepts, json_type_array)) {
        snprintf(why, size, "the catalogue has no concepts");
        return false;
    }
    size_t n = json_object_array_length(concepts);
    if (n > MAX_ITEMS) {
        snprintf(why, size, "the catalogue has more than %d items", MAX_ITEMS);
        return false;
    }
    out->items = arena_alloc(a, sizeof(*out->items) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        if (!parse_item(json_object_array_get_idx(concepts, i), a, &out->items[i], why, size))
            return false;
    out->count = n;
    out->version = dup(a, recog_str(cs, "version"));
    out->province_mark = dup(a, province_mark(cs));
    return true;
}

const struct recog_item *recog_catalogue_find(const struct recog_catalogue *cat, const char *system,
                                              const char *code)
{
    for (size_t i = 0; code && i < cat->count; i++) {
        const struct recog_item *it = &cat->items[i];
        if (!strcmp(it->code, code) && (!system || !strcmp(it->system, system)))
            return it;
    }
    return NULL;
}

bool recog_item_among(const struct recog_item *item, const struct recog_item *const *items,
                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i] == item)
            return true;
    return false;
}

/* ---- EQA ---- */

static bool parse_eqa(json_object *ext, struct recog_eqa *out)
{
    json_object *parts = NULL, *v = NULL;
    memset(out, 0, sizeof(*out));
    out->end = INT64_MAX;
    out->start = INT64_MAX;
    if (!json_object_object_get_ex(ext, "extension", &parts) ||
        !json_object_is_type(parts, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(parts); i++) {
        json_object *p = json_object_array_get_idx(parts, i);
        const char *url = recog_str(p, "url");
        if (!url)
            continue;
        if (!strcmp(url, "item") && json_object_object_get_ex(p, "valueCoding", &v)) {
            out->system = recog_str(v, "system");
            out->code = recog_str(v, "code");
        } else if (!strcmp(url, "period") && json_object_object_get_ex(p, "valuePeriod", &v)) {
            const char *s = recog_str(v, "start"), *e = recog_str(v, "end");
            int64_t lo, hi;
            if (s && time_parse_fhir_range(s, strlen(s), &lo, &hi))
                out->start = lo;
            if (e && time_parse_fhir_range(e, strlen(e), &lo, &hi))
                out->end = hi;
        } else if (!strcmp(url, "result") && recog_str(p, "valueCode")) {
            out->passed = !strcmp(recog_str(p, "valueCode"), "pass");
        }
    }
    return out->code && out->start != INT64_MAX;
}

size_t recog_eqa_parse(json_object *org, struct arena *a, struct recog_eqa **out)
{
    json_object *exts = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(org, "extension", &exts) ||
        !json_object_is_type(exts, json_type_array))
        return 0;
    size_t n = json_object_array_length(exts), k = 0;
    if (n > EQA_MAX)
        n = EQA_MAX;
    struct recog_eqa *list = arena_alloc(a, sizeof(*list) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(exts, i);
        const char *url = recog_str(e, "url");
        if (url && !strcmp(url, RECOG_EXT_EQA) && parse_eqa(e, &list[k])) {
            list[k].system = dup(a, list[k].system);
            list[k].code = dup(a, list[k].code);
            k++;
        }
    }
    *out = list;
    return k;
}

bool recog_eqa_qualified(const struct recog_eqa *eqa, size_t n, const char *system,
                         const char *code, int64_t at)
{
    const struct recog_eqa *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct recog_eqa *e = &eqa[i];
        if (strcmp(e->code, code) != 0 || (e->system && system && strcmp(e->system, system)))
            continue;
        if (at < e->start || at > e->end)
            continue;
        if (!best || e->start > best->start || (e->start == best->start && !e->passed))
            best = e; /* the latest outcome decides; on a tie a failure does */
    }
    return best && best->passed;
}

/* ---- places ---- */

bool recog_city_of_division(const char *division, char out[7])
{
    if (!division || strlen(division) != 6 || strspn(division, "0123456789") != 6)
        return false;
    if (!strncmp(division, "4190", 4)) { /* 济源: a city-level unit with a county code */
        memcpy(out, division, 7);
        return true;
    }
    memcpy(out, division, 4);
    memcpy(out + 4, "00", 3);
    return true;
}

/* ---- evaluation ---- */

static bool final_status(const char *s)
{
    return s && (!strcmp(s, "final") || !strcmp(s, "amended") || !strcmp(s, "corrected") ||
                 !strcmp(s, "appended"));
}

/* The value of r in the item's unit; false when no conversion fits. */
static bool convert(const struct recog_item *item, const struct recog_result *r, double *out)
{
    if (!item->unit || (r->unit && !strcmp(r->unit, item->unit))) {
        *out = r->value;
        return true;
    }
    for (size_t i = 0; r->unit && i < item->nconv; i++)
        if (!strcmp(item->conv[i].unit, r->unit)) {
            *out = r->value * item->conv[i].factor;
            return true;
        }
    return false;
}

static bool same(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Is consumer within the item's scope of the lab? The mark the result carries there. */
static const char *scope_mark(const struct recog_catalogue *cat, const struct recog_item *item,
                              const struct recog_result *r, const struct recog_place *consumer,
                              struct arena *a)
{
    switch (item->scope) {
    case RECOG_SCOPE_PROVINCE:
        return cat->province_mark;
    case RECOG_SCOPE_CITY:
        if (same(consumer->city, r->lab.city) || same(consumer->org, r->lab.org))
            return r->lab.city_name ? arena_printf(a, "%sHR", r->lab.city_name) : "HR";
        return NULL;
    case RECOG_SCOPE_ALLIANCE:
        return same(consumer->alliance, r->lab.alliance) || same(consumer->org, r->lab.org)
                   ? RECOG_ALLIANCE_MARK
                   : NULL;
    }
    return NULL;
}

static enum recog_reason first_failure(const struct recog_item *item, const struct recog_result *r,
                                       int64_t now, double *value)
{
    if (!final_status(r->status))
        return RECOG_NOT_FINAL;
    if (r->reported == INT64_MIN)
        return RECOG_NO_DATE;
    if (r->reported > now + CLOCK_SKEW_MS)
        return RECOG_FUTURE;
    if (!r->lab.org)
        return RECOG_NO_LAB;
    if (item->kind == RECOG_IMAGING && !r->has_images)
        return RECOG_NO_IMAGES;
    if (item->kind == RECOG_LAB && !r->has_value)
        return RECOG_NO_VALUE;
    if (item->kind == RECOG_LAB && !convert(item, r, value))
        return RECOG_UNIT;
    if (!recog_eqa_qualified(r->eqa, r->neqa, item->system, item->code, r->reported))
        return RECOG_NOT_QUALIFIED;
    return RECOG_OK;
}

void recog_evaluate(const struct recog_catalogue *cat, const struct recog_item *item,
                    const struct recog_result *r, const struct recog_place *consumer, int64_t now,
                    struct arena *a, struct recog_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->reason = first_failure(item, r, now, &out->value);
    out->unit = item->unit ? item->unit : r->unit;
    if (r->reported != INT64_MIN)
        out->expires = r->reported + (int64_t)item->window_days * DAY_MS;
    if (out->reason != RECOG_OK)
        return;
    const char *mark = scope_mark(cat, item, r, consumer, a);
    if (!mark)
        out->reason = RECOG_OUT_OF_SCOPE;
    else if (now > out->expires)
        out->reason = RECOG_EXPIRED;
    else
        out->mark = mark;
}

/* ---- decisions ---- */

/* Characters (code points) of UTF-8 text. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

bool recog_decision_check(const struct recog_decision *d, const struct recog_verdict *v,
                          bool emergency, char *why, size_t size)
{
    if (d->note && utf8_chars(d->note) > RECOG_NOTE_MAX) {
        snprintf(why, size, "说明不得超过 %d 字 / the explanation is longer than %d characters",
                 RECOG_NOTE_MAX, RECOG_NOTE_MAX);
        return false;
    }
    if (d->recognised) {
        if (v->reason == RECOG_OK)
            return true;
        snprintf(why, size, "该结果不可互认：%s / the result cannot be recognised: %s",
                 recog_reasons[v->reason].zh, recog_reasons[v->reason].en);
        return false;
    }
    if (emergency || v->reason != RECOG_OK)
        return true; /* not bound, or nothing to recognise: a new test needs no reason */
    const struct recog_retest_reason *r = recog_retest_find(d->reason);
    if (!r) {
        snprintf(why, size,
                 "复查须注明理由（六种情形之一或患者要求） / a re-test of a recognisable result "
                 "needs a reason: one of the six situations or the patient's request");
        return false;
    }
    if (!d->explained) {
        snprintf(why, size,
                 "须向患者说明复查的目的和必要性 / the purpose of the re-test must be explained "
                 "to the patient");
        return false;
    }
    if (r->needs_consent && !d->consent) {
        snprintf(why, size, "此理由须记录患者同意 / this reason needs the patient's consent");
        return false;
    }
    return true;
}

bool recog_is_charge(const char *type, const char *status, const char *intent)
{
    static const char *const orders[] = {"order", "original-order", "reflex-order", "filler-order",
                                         "instance-order"};
    static const char *const charges[] = {"planned", "billable", "billed"};
    if (!type || !status)
        return false;
    if (!strcmp(type, "ServiceRequest")) {
        if (strcmp(status, "active") != 0 || !intent)
            return false;
        for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
            if (!strcmp(intent, orders[i]))
                return true;
        return false;
    }
    if (!strcmp(type, "ChargeItem"))
        for (size_t i = 0; i < sizeof(charges) / sizeof(charges[0]); i++)
            if (!strcmp(status, charges[i]))
                return true;
    return false;
}
