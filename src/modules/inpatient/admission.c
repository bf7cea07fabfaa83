/*
 * admission.c - the admission centre's and day surgery's rules (admission.h).
 */
#include "modules/inpatient/admission.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

static const char *const PRIORITIES[ADM_PRIORITY__COUNT] = {"stat", "asap", "urgent", "routine"};

enum adm_priority adm_priority_parse(const char *code)
{
    for (int p = 0; code && p < ADM_PRIORITY__COUNT; p++)
        if (!strcmp(code, PRIORITIES[p]))
            return (enum adm_priority)p;
    return ADM_ROUTINE;
}

const char *adm_priority_code(enum adm_priority p)
{
    return p < ADM_PRIORITY__COUNT ? PRIORITIES[p] : "routine";
}

int adm_notice_cmp(const void *pa, const void *pb)
{
    const struct adm_notice *a = pa, *b = pb;
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    if (a->authored_ms != b->authored_ms)
        return a->authored_ms < b->authored_ms ? -1 : 1;
    return strcmp(a->id ? a->id : "", b->id ? b->id : "");
}

static const struct {
    const char *code, *zh;
} ITEMS[ADM_ITEM_COUNT] = {
    [ADM_ITEM_TESTS] = {"tests", "术前检查"},
    [ADM_ITEM_ANAESTHESIA] = {"anaesthesia", "麻醉评估"},
    [ADM_ITEM_EDUCATION] = {"education", "入院宣教"},
};

const char *adm_item_code(enum adm_item i)
{
    return (size_t)i < ADM_ITEM_COUNT ? ITEMS[i].code : "";
}

const char *adm_item_zh(enum adm_item i)
{
    return (size_t)i < ADM_ITEM_COUNT ? ITEMS[i].zh : "";
}

bool adm_item_parse(const char *code, enum adm_item *out)
{
    for (int i = 0; code && i < ADM_ITEM_COUNT; i++)
        if (!strcmp(code, ITEMS[i].code)) {
            *out = (enum adm_item)i;
            return true;
        }
    return false;
}

int64_t adm_preadm_deadline(const struct adm_window *w, int64_t start_ms, bool extended)
{
    return start_ms + (int64_t)(extended ? w->extended_days : w->days) * ADM_DAY_MS;
}

enum adm_preadm_state adm_preadm_state(const struct adm_window *w, int64_t start_ms, bool extended,
                                       int64_t now_ms)
{
    return now_ms <= adm_preadm_deadline(w, start_ms, extended) ? ADM_PREADM_OPEN
                                                                : ADM_PREADM_LAPSED;
}

enum adm_preadm_refusal adm_preadm_check(bool elective, bool diagnosis_confirmed, bool stable)
{
    if (!elective)
        return ADM_PREADM_NOT_ELECTIVE;
    if (!diagnosis_confirmed)
        return ADM_PREADM_NO_DIAGNOSIS;
    return stable ? ADM_PREADM_OK : ADM_PREADM_UNSTABLE;
}

const char *adm_preadm_refusal_text(enum adm_preadm_refusal r)
{
    static const char *const text[] = {
        [ADM_PREADM_OK] = "可预住院 / eligible for pre-admission",
        [ADM_PREADM_NOT_ELECTIVE] =
            "预住院仅限择期手术患者 / pre-admission is for elective surgery",
        [ADM_PREADM_NO_DIAGNOSIS] = "诊断尚未明确 / the diagnosis is not confirmed",
        [ADM_PREADM_UNSTABLE] = "病情不稳定 / the condition is not stable",
    };
    return (size_t)r < sizeof(text) / sizeof(text[0]) ? text[r] : "";
}

enum adm_level adm_level_parse(const char *code)
{
    if (code && !strcmp(code, "3-general"))
        return ADM_LEVEL_3_GENERAL;
    if (code && !strcmp(code, "3-tcm"))
        return ADM_LEVEL_3_TCM;
    if (code && !strcmp(code, "2-general"))
        return ADM_LEVEL_2_GENERAL;
    return ADM_LEVEL_OTHER;
}

int adm_catalogue_minimum(enum adm_level level)
{
    switch (level) {
    case ADM_LEVEL_3_GENERAL:
        return 50;
    case ADM_LEVEL_3_TCM:
        return 25;
    case ADM_LEVEL_2_GENERAL:
        return 20;
    default:
        return 0;
    }
}

enum adm_day_refusal adm_day_check(const struct adm_day_rules *r, bool in_catalogue, int asa,
                                   bool escort)
{
    if (!in_catalogue)
        return ADM_DAY_NOT_IN_CATALOGUE;
    if (asa < 1 || asa > r->max_asa)
        return ADM_DAY_ASA;
    if (r->escort_needed && !escort)
        return ADM_DAY_ESCORT;
    return ADM_DAY_OK;
}

const char *adm_day_refusal_text(enum adm_day_refusal r)
{
    static const char *const text[] = {
        [ADM_DAY_OK] = "符合日间手术条件 / eligible for day surgery",
        [ADM_DAY_NOT_IN_CATALOGUE] = ("该术式不在本院日间手术目录 / the procedure is not in the "
                                      "hospital's day-surgery catalogue"),
        [ADM_DAY_ASA] = "ASA 分级不符（须 I–II 级）/ ASA class out of range (I-II)",
        [ADM_DAY_ESCORT] = "须有成人陪护 / an adult escort is required",
    };
    return (size_t)r < sizeof(text) / sizeof(text[0]) ? text[r] : "";
}

bool adm_day_overstayed(int64_t admit_ms, int64_t now_ms)
{
    return now_ms - admit_ms > ADM_DAY_SURGERY_MS;
}

bool adm_day_may_discharge(const struct adm_day_rules *r, int pads)
{
    return pads >= r->min_pads && pads <= 10;
}

static const struct adm_disposition dispositions[] = {
    {"home", "回家（医嘱离院）", "Home", true},
    {"alt-home", "回其他住所", "Alternative home", true},
    {"other-hcf", "转其他医疗机构（医嘱转院）", "Other healthcare facility", false},
    {"hosp", "转安宁疗护", "Hospice", false},
    {"long", "转长期护理", "Long-term care", false},
    {"aadvice", "自动出院（非医嘱离院）", "Left against advice", false},
    {"exp", "死亡", "Expired", false},
    {"psy", "转精神专科", "Psychiatric hospital", false},
    {"rehab", "转康复机构", "Rehabilitation", false},
    {"snf", "转护理机构", "Skilled nursing facility", false},
    {"oth", "其他", "Other", false},
};

const struct adm_disposition *adm_disposition_find(const char *code)
{
    for (size_t i = 0; code && i < sizeof(dispositions) / sizeof(dispositions[0]); i++)
        if (!strcmp(code, dispositions[i].code))
            return &dispositions[i];
    return NULL;
}

bool adm_disposition_died(const struct adm_disposition *d)
{
    return d && !strcmp(d->code, "exp");
}

bool adm_day_needs_pads(const struct adm_disposition *d)
{
    return !d || d->home;
}

bool adm_same_day(const char *planned, int64_t at_ms)
{
    if (!planned || strlen(planned) < 10)
        return false;
    char day[11], at[11];
    int64_t ms = 0;
    if (strlen(planned) == 10)
        snprintf(day, sizeof(day), "%s", planned); /* a date: China's day already */
    else if (time_parse_fhir(planned, strlen(planned), &ms))
        time_china_day(ms, day);
    else
        return false;
    time_china_day(at_ms, at);
    return !strcmp(day, at);
}
