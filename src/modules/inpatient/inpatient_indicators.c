/*
 * inpatient_indicators.c - the inpatient indicators of a month per ward,
 * hospital or city (DOMAIN.md §2-3):
 *
 *   GET [base]/MeasureReport/$inpatient-indicators?period=YYYY-MM&level=ward|hospital|city
 *       [&format=csv]
 *
 * Figures, each of the stays, notices and procedures of the caller's own
 * units (fhir/measure.h):
 *   occupancy          occupied bed-minutes / open bed-minutes (the beds in
 *                      use now, over the month so far)
 *   admission-wait     hours from the notice to admission, averaged
 *   preop-days         days from admission to the operation, averaged
 *                      (Σ(surgery − admission) / operated patients; an
 *                      operation before the admission is left out and counted)
 *   borrowed-beds      stays begun in a borrowed bed / stays begun
 *   pre-admission      pre-admissions begun that were settled with the stay
 *   day-surgery-share  日间手术台次 / 同期出院患者择期手术总台次 (国考 #3),
 *                      counted per stay: day-surgery stays discharged within
 *                      24 hours / discharged stays for elective surgery
 *   cancellations      notices withdrawn; overstays: day-surgery stays
 *                      converted to ordinary ones
 *   average-stay       minutes from admission to discharge, averaged over the
 *                      stays that ended in the month; deaths, self-discharges
 *                      (left against advice) of them
 *   readmissions       day-surgery stays that ended in the month followed by an
 *                      unplanned stay (an emergency, or no notice) of the
 *                      patient in the same hospital within
 *                      inpatient.readmission_days (31) [A]
 *   same-day           day-surgery notices cancelled on their planned day
 * A stay's ward is that of its first bed; a hospital is the custodian of the
 * record; a city the organisation the hospital is partOf. Notices and
 * pre-admissions have no ward: they count at the hospital and city levels.
 */
#include "modules/inpatient/inpatient_indicators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/access.h"
#include "fhir/measure.h"
#include "fhir/rest_internal.h"
#include "fhir/scan.h"
#include "modules/inpatient/admission.h"
#include "modules/inpatient/bed_edit.h"
#include "modules/inpatient/inpt_call.h"

#define MAX_UNITS     4096
#define INDICATOR_SYS INPT_BASE "/CodeSystem/inpatient-indicator"
#define MEASURE_URL   INPT_BASE "/Measure/inpatient"

enum level { LEVEL_WARD, LEVEL_HOSPITAL, LEVEL_CITY };

/* One unit's month. */
struct tally {
    int64_t occupied_min, open_min;   /* bed-minutes */
    int64_t admitted, borrowed;       /* stays begun; of them in a borrowed bed */
    int64_t waited, wait_min;         /* admitted from a notice; minutes waited */
    int64_t operated, preop_min;      /* operations after admission; minutes before them */
    int64_t preop_invalid;            /* operations dated before the admission */
    int64_t preadm, preadm_converted; /* pre-admissions begun; settled with the stay */
    int64_t day_done, elective_done;  /* discharged: day surgery within 24 h; elective surgery */
    int64_t cancelled, overstays;
    int64_t discharged, stay_min;       /* stays ended in the month; their minutes */
    int64_t deaths, self_discharged;    /* of them: died; left against advice */
    int64_t day_discharged, readmitted; /* day-surgery stays ended; readmitted unplanned */
    int64_t same_day_cancelled;         /* day-surgery notices cancelled on the planned day */
};

/* A day-surgery stay that ended in the month, to match with later stays. */
struct day_end {
    const char *patient, *hospital;
    int64_t end;
    struct tally *t;
    size_t next; /* the patient's next one, index + 1; 0 none */
    bool readmitted;
};

/* An unplanned stay (an emergency, or no notice). */
struct unplanned {
    const char *patient, *hospital;
    int64_t start;
};

struct unit {
    const char *ref, *name;
    struct tally t;
};

struct run {
    struct rest_ctx *c;
    struct arena *a;
    struct bed_pool *pool;
    enum level level;
    int64_t from, to;      /* the month, ms; to is clipped to now */
    struct strmap allowed; /* the caller's organisations */
    bool all;              /* or everything */
    struct strmap units;   /* ref -> index + 1 in list, as text */
    struct unit *list;
    size_t nunits;
    struct strmap orgs;           /* "Organization/id" -> partOf ("" none) */
    struct strmap names;          /* ref -> display name */
    int64_t readmit_ms;           /* inpatient.readmission_days */
    struct strmap day_by_patient; /* patient -> its first day_end, index + 1, as text */
    struct day_end *ends;         /* xrealloc'd: freed by the caller */
    size_t nends, cap_ends;
    struct unplanned *unplanned; /* likewise */
    size_t nunplanned, cap_unplanned;
};

/* ---- reading ---- */

/* Read an Organization once: its partOf (the city) and name. */
static const char *org_part_of(struct run *r, const char *ref)
{
    const char *known = strmap_get(&r->orgs, ref);
    if (known)
        return *known ? known : NULL;
    int64_t version = 0;
    json_object *org =
        strncmp(ref, "Organization/", 13)
            ? NULL
            : inpt_read_current(r->c->app->store, "Organization", ref + 13, &version);
    const char *part = inpt_ref_text(org, "partOf");
    const char *name = bed_edit_text(org, "name");
    ref = arena_strndup(r->a, ref, strlen(ref)); /* the maps outlive what ref came from */
    strmap_put(&r->orgs, ref, part ? arena_strndup(r->a, part, strlen(part)) : "");
    if (name)
        strmap_put(&r->names, ref, arena_strndup(r->a, name, strlen(name)));
    json_object_put(org);
    return part ? strmap_get(&r->orgs, ref) : NULL;
}

/* The tally of the unit of a record of hospital (ward: a bed's ward), or NULL when not counted. */
static struct tally *tally_of(struct run *r, const char *hospital, const char *ward,
                              const char *ward_name)
{
    if (!hospital || (!r->all && !strmap_get(&r->allowed, hospital)))
        return NULL;
    const char *ref = r->level == LEVEL_WARD       ? ward
                      : r->level == LEVEL_HOSPITAL ? hospital
                                                   : org_part_of(r, hospital);
    if (!ref)
        return NULL;
    const char *at = strmap_get(&r->units, ref);
    if (at)
        return &r->list[strtol(at, NULL, 10) - 1].t;
    if (r->nunits == MAX_UNITS)
        return NULL;
    struct unit *u = &r->list[r->nunits++];
    memset(u, 0, sizeof(*u));
    u->ref = arena_strndup(r->a, ref, strlen(ref));
    if (r->level != LEVEL_WARD)
        org_part_of(r, ref); /* its name */
    u->name = r->level == LEVEL_WARD ? ward_name : strmap_get(&r->names, ref);
    strmap_put(&r->units, u->ref, arena_printf(r->a, "%zu", r->nunits));
    return &u->t;
}

/* ---- the beds ---- */

struct bed_info {
    const char *ward, *ward_name, *hospital;
};

struct bed_lookup {
    struct run *r;
    const char *id;
    struct bed_info out;
};

static void look_up_bed(const struct bed_view *v, void *arg)
{
    struct bed_lookup *l = arg;
    const struct bed_place *b = bed_view_bed(v, l->id);
    if (!b)
        return;
    struct arena *a = l->r->a;
    l->out.ward = b->ward ? arena_printf(a, "Location/%s", b->ward) : NULL;
    l->out.ward_name = b->ward_name ? arena_strndup(a, b->ward_name, strlen(b->ward_name)) : NULL;
    l->out.hospital = b->hospital ? arena_strndup(a, b->hospital, strlen(b->hospital)) : NULL;
}

static struct bed_info bed_info(struct run *r, const char *bed_ref)
{
    struct bed_lookup l = {r, bed_ref ? inpt_id_of(bed_ref, "Location") : NULL, {0}};
    if (l.id)
        bed_pool_visit(r->pool, look_up_bed, &l);
    return l.out;
}

/* Beds in use per ward, counted under the pool's lock and tallied after. */
struct ward_beds {
    const char *ward, *name, *hospital;
    int64_t beds;
};

struct open_count {
    struct run *r;
    struct strmap index; /* ward -> index + 1, as text */
    struct ward_beds *wards;
    size_t n, cap;
};

static void count_open_beds(const struct bed_view *v, void *arg)
{
    struct open_count *o = arg;
    struct arena *a = o->r->a;
    size_t n = 0;
    const struct bed_place *const *beds = bed_view_all_beds(v, &n);
    for (size_t i = 0; i < n; i++) {
        const struct bed_place *b = beds[i];
        if (!b->active || !b->hospital || (!o->r->all && !strmap_get(&o->r->allowed, b->hospital)))
            continue;
        const char *key = b->ward ? b->ward : "";
        const char *at = strmap_get(&o->index, key);
        if (at) {
            o->wards[strtol(at, NULL, 10) - 1].beds++;
            continue;
        }
        if (o->n == o->cap)
            continue; /* more wards than a report holds */
        struct ward_beds *w = &o->wards[o->n++];
        w->ward = b->ward ? arena_printf(a, "Location/%s", b->ward) : NULL;
        w->name = b->ward_name ? arena_strndup(a, b->ward_name, strlen(b->ward_name)) : NULL;
        w->hospital = arena_strndup(a, b->hospital, strlen(b->hospital));
        w->beds = 1;
        strmap_put(&o->index, arena_strndup(a, key, strlen(key)), arena_printf(a, "%zu", o->n));
    }
}

static enum err open_beds(struct run *r)
{
    struct open_count o = {r, {0}, NULL, 0, MAX_UNITS * 4};
    strmap_init(&o.index, r->a, 256);
    o.wards = arena_alloc(r->a, o.cap * sizeof(*o.wards));
    enum err err = bed_pool_visit(r->pool, count_open_beds, &o);
    int64_t minutes = (r->to - r->from) / 60000;
    for (size_t i = 0; !err && i < o.n; i++) {
        struct tally *t = tally_of(r, o.wards[i].hospital, o.wards[i].ward, o.wards[i].name);
        if (t)
            t->open_min += o.wards[i].beds * minutes;
    }
    return err;
}

/* ---- stays, operations, notices ---- */

static bool in_month(const struct run *r, int64_t t)
{
    return t >= r->from && t < r->to;
}

/* The stay's beds: bed-minutes within the month to each bed's ward; the first bed's info. */
static struct bed_info count_beds(struct run *r, json_object *enc, const char *hospital,
                                  bool *borrowed)
{
    struct bed_info first = {0};
    json_object *list = bed_edit_member(enc, "location");
    for (size_t i = 0;
         json_object_is_type(list, json_type_array) && i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        if (!bed_edit_is_bed(e))
            continue;
        struct bed_info b = bed_info(r, inpt_ref_text(e, "location"));
        if (!first.ward && !first.hospital)
            first = b;
        if (bed_edit_ext(e, INPT_EXT_BORROWED, "valueReference"))
            *borrowed = true;
        const char *status = bed_edit_text(e, "status");
        int64_t from = bed_edit_time(bed_edit_member(e, "period"), "start");
        int64_t to = status && !strcmp(status, "active")
                         ? r->to
                         : bed_edit_time(bed_edit_member(e, "period"), "end");
        from = from > r->from ? from : r->from;
        to = to < r->to ? to : r->to;
        struct tally *t = to > from ? tally_of(r, hospital, b.ward, b.ward_name) : NULL;
        if (t)
            t->occupied_min += (to - from) / 60000;
    }
    return first;
}

/* The notice a stay is based on, read; NULL if none. */
static json_object *notice_of(struct run *r, json_object *enc)
{
    json_object *based = bed_edit_member(enc, "basedOn");
    if (!json_object_is_type(based, json_type_array) || !json_object_array_length(based))
        return NULL;
    const char *ref = bed_edit_text(json_object_array_get_idx(based, 0), "reference");
    if (!ref || strncmp(ref, "ServiceRequest/", 15))
        return NULL;
    int64_t version = 0;
    return inpt_read_current(r->c->app->store, "ServiceRequest", ref + 15, &version);
}

static bool is_elective(json_object *sr)
{
    json_object *e = bed_edit_ext(sr, INPT_EXT_ELECTIVE, "valueBoolean");
    return e && json_object_get_boolean(e);
}

/* Does the CodeableConcept (or list of them) cc hold system|code? */
static bool has_code(json_object *cc, const char *system, const char *code)
{
    if (json_object_is_type(cc, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(cc); i++)
            if (has_code(json_object_array_get_idx(cc, i), system, code))
                return true;
        return false;
    }
    json_object *codings = bed_edit_member(cc, "coding");
    for (size_t i = 0;
         json_object_is_type(codings, json_type_array) && i < json_object_array_length(codings);
         i++) {
        json_object *c = json_object_array_get_idx(codings, i);
        const char *s = bed_edit_text(c, "system"), *v = bed_edit_text(c, "code");
        if (s && v && !strcmp(s, system) && !strcmp(v, code))
            return true;
    }
    return false;
}

static bool disposition_is(json_object *enc, const char *code)
{
    json_object *d =
        bed_edit_member(bed_edit_member(enc, "hospitalization"), "dischargeDisposition");
    return has_code(d, ADM_DISPOSITION_SYSTEM, code);
}

static bool is_unplanned(json_object *enc)
{
    json_object *based = bed_edit_member(enc, "basedOn");
    return !json_object_is_type(based, json_type_array) || !json_object_array_length(based) ||
           has_code(bed_edit_member(enc, "priority"), INPT_V3_PRIORITY, "EM");
}

static const char *keep_text(struct run *r, const char *s)
{
    return s ? arena_strndup(r->a, s, strlen(s)) : NULL;
}

/* A day-surgery stay of patient ended at end, counted in t: remembered for readmissions. */
static void day_ended(struct run *r, const char *patient, const char *hospital, int64_t end,
                      struct tally *t)
{
    if (!patient)
        return;
    if (r->nends == r->cap_ends) {
        r->cap_ends = r->cap_ends ? r->cap_ends * 2 : 256;
        r->ends = xrealloc(r->ends, r->cap_ends * sizeof(*r->ends));
    }
    const char *first = strmap_get(&r->day_by_patient, patient);
    struct day_end *d = &r->ends[r->nends++];
    *d = (struct day_end){keep_text(r, patient), keep_text(r, hospital), end, t, 0, false};
    if (!first) {
        strmap_put(&r->day_by_patient, d->patient, arena_printf(r->a, "%zu", r->nends));
        return;
    }
    struct day_end *head = &r->ends[strtoull(first, NULL, 10) - 1]; /* the chain goes on after it */
    d->next = head->next;
    head->next = r->nends;
}

static void unplanned_stay(struct run *r, const char *patient, const char *hospital, int64_t start)
{
    if (!patient || !start)
        return;
    if (r->nunplanned == r->cap_unplanned) {
        r->cap_unplanned = r->cap_unplanned ? r->cap_unplanned * 2 : 256;
        r->unplanned = xrealloc(r->unplanned, r->cap_unplanned * sizeof(*r->unplanned));
    }
    r->unplanned[r->nunplanned++] =
        (struct unplanned){keep_text(r, patient), keep_text(r, hospital), start};
}

/* Each day-surgery stay followed by an unplanned one within the window counts once. */
static void count_readmissions(struct run *r)
{
    for (size_t i = 0; i < r->nunplanned; i++) {
        const struct unplanned *u = &r->unplanned[i];
        const char *last = strmap_get(&r->day_by_patient, u->patient);
        for (size_t at = last ? (size_t)strtoull(last, NULL, 10) : 0; at;
             at = r->ends[at - 1].next) {
            struct day_end *d = &r->ends[at - 1];
            if (!strcmp(d->hospital, u->hospital) && u->start >= d->end &&
                u->start - d->end <= r->readmit_ms)
                d->readmitted = true;
        }
    }
    for (size_t i = 0; i < r->nends; i++)
        r->ends[i].t->readmitted += r->ends[i].readmitted;
}

/* A stay begun or ended in the month. */
static void count_stay(struct run *r, json_object *enc, const char *hospital, bool day)
{
    bool borrowed = false;
    struct bed_info b = count_beds(r, enc, hospital, &borrowed);
    struct tally *t = tally_of(r, hospital, b.ward, b.ward_name);
    if (!t)
        return;
    json_object *period = bed_edit_member(enc, "period");
    int64_t start = bed_edit_time(period, "start"), end = bed_edit_time(period, "end");
    json_object *sr = notice_of(r, enc);
    int64_t authored = bed_edit_time(sr, "authoredOn");
    if (in_month(r, start)) {
        t->admitted++;
        t->borrowed += borrowed;
        if (authored && start >= authored) {
            t->waited++;
            t->wait_min += (start - authored) / 60000;
        }
    }
    const char *status = bed_edit_text(enc, "status");
    if (status && !strcmp(status, "finished") && in_month(r, end)) {
        bool converted = bed_edit_ext(enc, INPT_EXT_CONVERTED, "valueString") != NULL;
        t->overstays += converted;
        t->day_done += day;
        t->elective_done += day || converted || is_elective(sr);
        t->discharged++;
        t->stay_min += start && end > start ? (end - start) / 60000 : 0;
        t->deaths += disposition_is(enc, "exp");
        t->self_discharged += disposition_is(enc, "aadvice");
        if (day || converted) {
            t->day_discharged++;
            day_ended(r, inpt_ref_text(enc, "subject"), hospital, end, t);
        }
    }
    json_object_put(sr);
}

static bool count_encounter(void *arg, json_object *enc, int64_t last_updated)
{
    (void)last_updated;
    struct run *r = arg;
    const char *cls = bed_edit_text(bed_edit_member(enc, "class"), "code");
    const char *hospital = fhir_access_custodian(enc);
    if (!cls || !hospital)
        return true;
    if (!strcmp(cls, "PRENC")) {
        struct tally *t = in_month(r, bed_edit_time(bed_edit_member(enc, "period"), "start"))
                              ? tally_of(r, hospital, NULL, NULL)
                              : NULL;
        json_object *s = bed_edit_ext(enc, INPT_EXT_SETTLEMENT, "valueCode");
        if (t) {
            t->preadm++;
            t->preadm_converted += s && !strcmp(json_object_get_string(s), "inpatient");
        }
    } else if (!strcmp(cls, "IMP") || !strcmp(cls, "SS")) {
        /* the scan reaches past the month by the readmission window: those stays only for that */
        int64_t start = bed_edit_time(bed_edit_member(enc, "period"), "start");
        if (start < r->to)
            count_stay(r, enc, hospital, !strcmp(cls, "SS"));
        if (start >= r->from && is_unplanned(enc))
            unplanned_stay(r, inpt_ref_text(enc, "subject"), hospital, start);
    }
    return true;
}

static bool count_operation(void *arg, json_object *proc, int64_t last_updated)
{
    (void)last_updated;
    struct run *r = arg;
    int64_t done = bed_edit_time(proc, "performedDateTime");
    if (!done)
        done = bed_edit_time(bed_edit_member(proc, "performedPeriod"), "start");
    const char *ref = inpt_ref_text(proc, "encounter");
    if (!done || !in_month(r, done) || !ref || strncmp(ref, "Encounter/", 10))
        return true;
    int64_t version = 0;
    json_object *enc = inpt_read_current(r->c->app->store, "Encounter", ref + 10, &version);
    const char *cls = bed_edit_text(bed_edit_member(enc, "class"), "code");
    if (cls && (!strcmp(cls, "IMP") || !strcmp(cls, "SS"))) {
        struct bed_info b = {0};
        json_object *list = bed_edit_member(enc, "location");
        if (json_object_is_type(list, json_type_array) && json_object_array_length(list))
            b = bed_info(r, inpt_ref_text(json_object_array_get_idx(list, 0), "location"));
        struct tally *t = tally_of(r, fhir_access_custodian(enc), b.ward, b.ward_name);
        int64_t admitted = bed_edit_time(bed_edit_member(enc, "period"), "start");
        if (t && admitted && done >= admitted) {
            t->operated++;
            t->preop_min += (done - admitted) / 60000;
        } else if (t && admitted) {
            t->preop_invalid++; /* surgery dated before the admission: a data error */
        }
    }
    json_object_put(enc);
    return true;
}

static bool count_notice(void *arg, json_object *sr, int64_t last_updated)
{
    (void)last_updated;
    struct run *r = arg;
    json_object *when = bed_edit_ext(sr, INPT_EXT_CANCELLED, "valueDateTime");
    int64_t at = 0;
    const char *text = when ? json_object_get_string(when) : NULL;
    if (!text || !time_parse_fhir(text, strlen(text), &at) || !in_month(r, at))
        return true;
    struct tally *t = tally_of(r, fhir_access_custodian(sr), NULL, NULL);
    if (t) {
        t->cancelled++;
        t->same_day_cancelled +=
            has_code(bed_edit_member(sr, "category"), INPT_REQUEST_SYSTEM, "day-surgery") &&
            adm_same_day(bed_edit_text(sr, "occurrenceDateTime"), at);
    }
    return true;
}

static enum err compute(struct run *r, const char *start, const char *next, int64_t month_end)
{
    const char *ge = arena_printf(r->a, "ge%s", start), *lt = arena_printf(r->a, "lt%s", next);
    char after[40]; /* the stays begun up to the readmission window past the month */
    time_format_instant(month_end + r->readmit_ms, after, sizeof(after));
    const char *stays[][2] = {
        {"class", INPT_V3_ACT "|IMP," INPT_V3_ACT "|SS," INPT_V3_ACT "|PRENC"},
        {"date", ge},
        {"date", arena_printf(r->a, "lt%s", after)}};
    const char *ops[][2] = {{"status", "completed"}, {"date", ge}, {"date", lt}};
    const char *notices[][2] = {
        {"status", "revoked"},
        {"category", INPT_REQUEST_SYSTEM "|admission," INPT_REQUEST_SYSTEM "|day-surgery"}};
    struct fhir_scan scans[] = {{"Encounter", stays, 3, 0, false, 0, false},
                                {"Procedure", ops, 3, 0, false, 0, false},
                                {"ServiceRequest", notices, 2, 0, false, 0, false}};
    fhir_scan_fn *fns[] = {count_encounter, count_operation, count_notice};
    enum err err = open_beds(r);
    for (size_t i = 0; !err && i < 3; i++)
        err = fhir_scan_run(r->c->app->store, r->c->app->cfg, r->a, &scans[i], fns[i], r);
    if (!err)
        count_readmissions(r);
    return err;
}

/* ---- the answer ---- */

#define FIGURES 15

static void figures(const struct tally *t, struct fhir_figure f[FIGURES])
{
    const struct fhir_figure all[FIGURES] = {
        {"occupancy", "病床使用率", "bed occupancy (occupied / open bed-minutes)", t->occupied_min,
         t->open_min, NULL},
        {"admissions", "入院人次", "stays begun", t->admitted, -1, NULL},
        {"admission-wait-minutes", "入院等待时间（分钟，均值）",
         "minutes from the notice to admission, average", t->wait_min, t->waited, NULL},
        {"preop-minutes", "术前等待时间（分钟，均值）",
         "minutes from admission to the operation, average", t->preop_min, t->operated, NULL},
        {"preop-invalid", "手术时间早于入院（数据异常）", "operations dated before the admission",
         t->preop_invalid, -1, NULL},
        {"borrowed-beds", "借床比例", "stays begun in a borrowed bed", t->borrowed, t->admitted,
         NULL},
        {"pre-admission-conversion", "预住院转化率", "pre-admissions settled with the stay",
         t->preadm_converted, t->preadm, NULL},
        {"day-surgery-share", "日间手术占择期手术比例",
         "day surgery / elective surgery of discharged patients (国考 #3)", t->day_done,
         t->elective_done, NULL},
        {"cancellations", "取消入院", "admission notices withdrawn", t->cancelled, -1, NULL},
        {"overstays", "日间手术超24小时转住院", "day-surgery stays past 24 hours, converted",
         t->overstays, -1, NULL},
        {"average-stay-minutes", "平均住院时间（分钟）",
         "minutes from admission to discharge, average of the stays ended", t->stay_min,
         t->discharged, NULL},
        {"deaths", "住院死亡", "stays ended in death", t->deaths, t->discharged, NULL},
        {"self-discharges", "自动出院（非医嘱离院）", "stays ended against medical advice",
         t->self_discharged, t->discharged, NULL},
        {"day-surgery-readmissions", "日间手术非计划再入院",
         "day-surgery stays followed by an unplanned stay within the window", t->readmitted,
         t->day_discharged, NULL},
        {"day-surgery-same-day-cancellations", "日间手术当日取消",
         "day-surgery notices cancelled on their planned day", t->same_day_cancelled, -1, NULL},
    };
    memcpy(f, all, sizeof(all));
}

static void csv_rows(struct buf *out, const char *period, const char *level, const struct unit *u)
{
    struct fhir_figure f[FIGURES];
    figures(&u->t, f);
    for (size_t i = 0; i < FIGURES; i++) {
        buf_printf(out, "%s,%s,", period, level);
        fhir_csv_text(out, u->ref);
        buf_append_str(out, ",");
        fhir_csv_text(out, u->name);
        buf_printf(out, ",%s,%lld,", f[i].code, (long long)f[i].numerator);
        if (f[i].denominator >= 0)
            buf_printf(out, "%lld", (long long)f[i].denominator);
        buf_append_str(out, ",");
        if (f[i].denominator > 0)
            buf_printf(out, "%.4f", (double)f[i].numerator / (double)f[i].denominator);
        else if (f[i].denominator < 0)
            buf_printf(out, "%lld", (long long)f[i].numerator);
        buf_append_str(out, "\r\n");
    }
}

static int unit_order(const void *a, const void *b)
{
    return strcmp(((const struct unit *)a)->ref, ((const struct unit *)b)->ref);
}

static void answer(struct run *r, const char *period, const char *start, const char *end, bool csv)
{
    static const char *const levels[] = {"ward", "hospital", "city"};
    qsort(r->list, r->nunits, sizeof(*r->list), unit_order);
    struct buf *out = &r->c->res->body;
    fhir_measure_begin(r->c, csv, "period,level,unit,name,indicator,numerator,denominator,value");
    for (size_t i = 0; i < r->nunits; i++) {
        if (csv) {
            csv_rows(out, period, levels[r->level], &r->list[i]);
            continue;
        }
        struct fhir_figure f[FIGURES];
        figures(&r->list[i].t, f);
        fhir_measure_next(r->c, i);
        fhir_measure_report(out, MEASURE_URL, INDICATOR_SYS, r->list[i].ref, r->list[i].name, start,
                            end, f, FIGURES);
    }
    fhir_measure_end(r->c, csv);
}

static void run_indicators(struct rest_ctx *c, const char *type, const char *id,
                           json_object *params, void *self)
{
    (void)type;
    (void)id;
    static const char *const levels[] = {"ward", "hospital", "city"};
    const char *period = fhir_params_text(params, "period");
    const char *level = fhir_params_text(params, "level");
    const char *format = fhir_params_text(params, "format");
    struct run *r = arena_alloc(c->req->arena, sizeof(*r));
    *r = (struct run){.c = c, .a = c->req->arena, .pool = self, .level = LEVEL_CITY + 1};
    for (int i = 0; i < 3; i++)
        if (level && !strcmp(level, levels[i]))
            r->level = (enum level)i;
    char start[32], end[32], next[32];
    if (!fhir_measure_month(period, start, end, next) || r->level > LEVEL_CITY ||
        (format && strcmp(format, "csv") && strcmp(format, "json"))) {
        rest_error(c, ERR_INVALID, NULL,
                   "give period=YYYY-MM and level=ward|hospital|city (format=json|csv)");
        return;
    }
    /* the month in China's time */
    char from[48], to[48];
    snprintf(from, sizeof(from), "%sT00:00:00+08:00", start);
    snprintf(to, sizeof(to), "%sT00:00:00+08:00", next);
    time_parse_fhir(from, strlen(from), &r->from);
    time_parse_fhir(to, strlen(to), &r->to);
    int64_t month_end = r->to; /* before it is clipped to now: readmissions look past it */
    int64_t now = time_now_ms();
    if (r->to > now)
        r->to = now > r->from ? now : r->from;
    strmap_init(&r->units, r->a, 256);
    strmap_init(&r->orgs, r->a, 64);
    strmap_init(&r->names, r->a, 64);
    r->list = arena_alloc(r->a, sizeof(*r->list) * MAX_UNITS);
    if (!fhir_measure_scope(c, r->a, &r->allowed, &r->all))
        return;
    r->readmit_ms = (int64_t)c->app->cfg->inpatient_readmission_days * 24 * 3600 * 1000;
    strmap_init(&r->day_by_patient, r->a, 256);
    enum err err = compute(r, start, next, month_end);
    free(r->ends);
    free(r->unplanned);
    if (err)
        rest_error(c, err, NULL, "the indicators could not be computed: %s", err_message(err));
    else
        answer(r, period, start, end, format && !strcmp(format, "csv"));
}

bool inpatient_indicators_register(struct fhir_app *app, struct bed_pool *pool)
{
    const struct fhir_operation op = {.type = "MeasureReport",
                                      .name = "inpatient-indicators",
                                      .on_type = true,
                                      .get = true,
                                      .interaction = 's',
                                      .definition = INPT_BASE
                                      "/OperationDefinition/MeasureReport-inpatient-indicators",
                                      .run = run_indicators,
                                      .self = pool};
    return fhir_app_add_operation(app, &op);
}
