/*
 * inpatient_test.c - the bed pool's rules (DOMAIN.md §2): every bed status
 * move allowed and refused, whether a bed serves a patient (hospital, type,
 * sex, age, own department, borrowing within the specialty group and the
 * floor distance, isolation wards, other buildings), the ranking, ages,
 * the edits of a bed and an Encounter; the admission queue's order, the
 * pre-admission window and who may have one; day surgery's catalogue
 * minimum, eligibility, the 24-hour rule as a duration and the PADS score;
 * how a stay ends (dispositions), same-day cancellations; the sweep.
 */
#include "test.h"

#include "tmpstore.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "modules/inpatient/admission.h"
#include "modules/inpatient/bed_edit.h"
#include "modules/inpatient/inpatient.h"
#include "modules/inpatient/inpatient_sweep.h"
#include "fhir/access.h"
#include "fhir/write.h"

static int64_t at(const char *fhir_time)
{
    int64_t ms = 0;
    assert_true(time_parse_fhir(fhir_time, strlen(fhir_time), &ms));
    return ms;
}

static void every_move_of_the_status_table(void **state)
{
    (void)state;
    /* the allowed moves; every other (status, event) pair is refused */
    static const struct {
        enum bed_status from;
        enum bed_event ev;
        enum bed_status to;
    } allowed[] = {
        {BED_FREE, BED_EV_RESERVE, BED_RESERVED},    {BED_FREE, BED_EV_OCCUPY, BED_OCCUPIED},
        {BED_RESERVED, BED_EV_OCCUPY, BED_OCCUPIED}, {BED_RESERVED, BED_EV_RELEASE, BED_FREE},
        {BED_OCCUPIED, BED_EV_VACATE, BED_CLEANING}, {BED_CLEANING, BED_EV_CLEANED, BED_FREE},
        {BED_FREE, BED_EV_BLOCK, BED_BLOCKED},       {BED_CLEANING, BED_EV_BLOCK, BED_BLOCKED},
        {BED_FREE, BED_EV_ISOLATE, BED_ISOLATION},   {BED_CLEANING, BED_EV_ISOLATE, BED_ISOLATION},
        {BED_BLOCKED, BED_EV_UNBLOCK, BED_FREE},     {BED_ISOLATION, BED_EV_UNBLOCK, BED_CLEANING},
    };
    int seen = 0;
    for (int s = 0; s < BED__COUNT; s++)
        for (int e = BED_EV_RESERVE; e <= BED_EV_UNBLOCK; e++) {
            enum bed_status to = BED__COUNT;
            bool ok = bed_transition((enum bed_status)s, (enum bed_event)e, &to);
            bool expect = false;
            for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                if (allowed[i].from == (enum bed_status)s && allowed[i].ev == (enum bed_event)e) {
                    expect = true;
                    assert_int_equal(to, allowed[i].to);
                }
            assert_int_equal(ok, expect);
            seen += ok;
        }
    assert_int_equal(seen, (int)(sizeof(allowed) / sizeof(allowed[0])));
    /* an occupied bed is never handed to someone else, nor blocked under a patient */
    enum bed_status to;
    assert_false(bed_transition(BED_OCCUPIED, BED_EV_OCCUPY, &to));
    assert_false(bed_transition(BED_OCCUPIED, BED_EV_BLOCK, &to));
    assert_false(bed_transition(BED_BLOCKED, BED_EV_OCCUPY, &to));
}

static void statuses_read_our_codes_and_hl7(void **state)
{
    (void)state;
    enum bed_status s;
    assert_true(bed_status_parse(INPT_STATUS_SYSTEM, "cleaning", &s));
    assert_int_equal(s, BED_CLEANING);
    assert_true(bed_status_parse(NULL, "reserved", &s));
    assert_int_equal(s, BED_RESERVED);
    assert_true(bed_status_parse(INPT_V2_0116, "U", &s));
    assert_int_equal(s, BED_FREE);
    assert_true(bed_status_parse(INPT_V2_0116, "O", &s));
    assert_int_equal(s, BED_OCCUPIED);
    assert_true(bed_status_parse(INPT_V2_0116, "H", &s));
    assert_int_equal(s, BED_CLEANING);
    assert_true(bed_status_parse(INPT_V2_0116, "K", &s));
    assert_int_equal(s, BED_BLOCKED);
    assert_true(bed_status_parse(INPT_V2_0116, "I", &s));
    assert_int_equal(s, BED_ISOLATION);
    assert_false(bed_status_parse(INPT_V2_0116, "free", &s));
    assert_false(bed_status_parse(INPT_STATUS_SYSTEM, "U", &s));
    assert_false(bed_status_parse(NULL, NULL, &s));
    assert_string_equal(bed_status_code(BED_ISOLATION), "isolation");
    assert_string_equal(bed_status_zh(BED_FREE), "空床");
}

/* Home: surgery department gs, wards on floors 3 and 5 of building A. */
static const struct bed_floor HOME[] = {{"A", 3}, {"A", 5}};

static struct bed_request request(void)
{
    return (struct bed_request){.hospital = "Organization/h",
                                .department = "Organization/gs",
                                .group = "surgery",
                                .floors = HOME,
                                .nfloors = 2,
                                .sex = 'm',
                                .age = 40,
                                .max_floor_distance = 1};
}

static struct bed_place place(const char *id, const char *dept, const char *group,
                              const char *building, int floor)
{
    return (struct bed_place){.id = id,
                              .name = id,
                              .ward = "w",
                              .ward_name = "w",
                              .department = dept,
                              .group = group,
                              .at = {building, floor},
                              .hospital = "Organization/h",
                              .age_min = -1,
                              .age_max = -1,
                              .active = true,
                              .status = BED_FREE};
}

static void own_beds_and_borrowing_rules(void **state)
{
    (void)state;
    struct bed_request rq = request();
    int d;
    struct bed_place b = place("own", "Organization/gs", "surgery", "A", 9);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_OWN); /* own: any floor */
    b = place("near", "Organization/orth", "surgery", "A", 4);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_BORROW);
    assert_int_equal(d, 1); /* floor 4: one from 3 and from 5 */
    b = place("same-floor", "Organization/orth", "surgery", "A", 5);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_BORROW);
    assert_int_equal(d, 0);
    b = place("two-up", "Organization/orth", "surgery", "A", 7);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_FAR);
    assert_int_equal(d, 2);
    rq.max_floor_distance = 2; /* configuration */
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_BORROW);
    rq.max_floor_distance = 1;
    b = place("other-building", "Organization/orth", "surgery", "B", 3);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_FAR);
    assert_int_equal(d, INT32_MAX);
    b = place("no-floor", "Organization/orth", "surgery", "A", INPT_NO_FLOOR);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_FAR);
    b = place("other-group", "Organization/card", "internal", "A", 3);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_GROUP);
    b = place("no-group", "Organization/x", NULL, "A", 3);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_GROUP);
    b = place("isolation", "Organization/inf", "surgery", "A", 3);
    b.isolation_ward = true;
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_ISOLATION);
    b.department = "Organization/gs"; /* its own isolation ward takes it */
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_OWN);
    /* a department without a group never borrows */
    rq.group = NULL;
    b = place("near", "Organization/orth", NULL, "A", 4);
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_GROUP);
}

static void the_patient_and_the_bed(void **state)
{
    (void)state;
    struct bed_request rq = request();
    int d;
    struct bed_place b = place("b", "Organization/gs", "surgery", "A", 3);
    b.hospital = "Organization/other";
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_HOSPITAL);
    b = place("b", "Organization/gs", "surgery", "A", 3);
    b.status = BED_CLEANING;
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_STATUS);
    b.status = BED_RESERVED; /* reserved for this very encounter */
    assert_int_equal(bed_fit(&rq, &b, true, &d), BED_FIT_OWN);
    b.status = BED_FREE;
    b.active = false;
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_INACTIVE);
    b.active = true;
    b.type = "icu";
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_TYPE);
    rq.type = "icu";
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_OWN);
    b.type = NULL;
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_TYPE);
    rq.type = INPT_GENERAL; /* a bed without type is general */
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_OWN);
    b.sex = 'f';
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_SEX);
    rq.sex = 0; /* unknown sex: not into a bed kept for one */
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_SEX);
    b.sex = 0;
    b.age_max = 14; /* children's bed */
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_AGE);
    rq.age = 14;
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_FIT_OWN);
    rq.age = -1; /* unknown age: not into an age-limited bed */
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_AGE);
    b.age_max = -1;
    b.age_min = 65;
    rq.age = 64;
    assert_int_equal(bed_fit(&rq, &b, false, &d), BED_UNFIT_AGE);
    assert_string_equal(bed_fit_code(BED_UNFIT_AGE), "age");
    assert_non_null(strstr(bed_fit_zh(BED_UNFIT_GROUP), "专科组"));
    assert_non_null(strstr(bed_fit_en(BED_UNFIT_FAR), "floors"));
}

static void ranking_own_first_then_nearer(void **state)
{
    (void)state;
    struct bed_place p[5] = {
        place("z-borrow-far", "o", "s", "A", 4),  place("b-own", "gs", "s", "A", 3),
        place("a-borrow-near", "o", "s", "A", 3), place("a-own", "gs", "s", "A", 9),
        place("b-borrow-near", "o", "s", "A", 3),
    };
    struct bed_candidate c[5] = {
        {&p[0], BED_FIT_BORROW, 1}, {&p[1], BED_FIT_OWN, 0},    {&p[2], BED_FIT_BORROW, 0},
        {&p[3], BED_FIT_OWN, 6},    {&p[4], BED_FIT_BORROW, 0},
    };
    p[2].ward_name = "w2";
    p[4].ward_name = "w1";
    qsort(c, 5, sizeof(c[0]), bed_candidate_cmp);
    const char *want[] = {"a-own", "b-own", "b-borrow-near", "a-borrow-near", "z-borrow-far"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(c[i].bed->id, want[i]);
}

static void ages_in_whole_years_in_china(void **state)
{
    (void)state;
    /* 2024-05-01 00:30 in Beijing is still 2024-04-30 in UTC */
    int64_t now = at("2024-04-30T16:30:00Z");
    assert_int_equal(inpt_age_years("1984-05-01", now), 40);
    assert_int_equal(inpt_age_years("1984-05-02", now), 39);
    assert_int_equal(inpt_age_years("2024-05-01", now), 0);
    assert_int_equal(inpt_age_years("2024-05-02", now), -1); /* not born yet */
    assert_int_equal(inpt_age_years("1984", now), -1);       /* a year alone: unknown */
    assert_int_equal(inpt_age_years(NULL, now), -1);
}

static const char *ext_url(json_object *o, size_t i)
{
    json_object *list = NULL;
    json_object_object_get_ex(o, "extension", &list);
    return bed_edit_text(json_object_array_get_idx(list, i), "url");
}

static void a_bed_status_replaces_the_last(void **state)
{
    (void)state;
    json_object *bed = json_tokener_parse(
        "{\"resourceType\":\"Location\",\"extension\":[{\"url\":\"" INPT_EXT_SEX
        "\",\"valueCode\":\"male\"},{\"url\":\"" INPT_EXT_REASON "\",\"valueString\":\"old\"}]}");
    bed_edit_status(bed, BED_OCCUPIED, "Encounter/e1", at("2024-05-01T08:00:00Z"), NULL, -1);
    json_object *st = NULL, *list = NULL;
    json_object_object_get_ex(bed, "operationalStatus", &st);
    assert_string_equal(bed_edit_text(st, "code"), "occupied");
    assert_string_equal(bed_edit_text(st, "system"), INPT_STATUS_SYSTEM);
    json_object_object_get_ex(bed, "extension", &list);
    assert_int_equal(json_object_array_length(list), 3); /* sex kept, reason gone, holder, since */
    assert_string_equal(ext_url(bed, 0), INPT_EXT_SEX);
    assert_string_equal(ext_url(bed, 1), INPT_EXT_ENCOUNTER);
    assert_string_equal(ext_url(bed, 2), INPT_EXT_SINCE);
    bed_edit_status(bed, BED_FREE, NULL, at("2024-05-01T09:00:00Z"), NULL, 42);
    json_object_object_get_ex(bed, "extension", &list);
    assert_int_equal(json_object_array_length(list), 3); /* sex, since, turnaround */
    assert_string_equal(ext_url(bed, 2), INPT_EXT_TURNAROUND);
    json_object_put(bed);
}

static void an_encounter_moves_between_beds(void **state)
{
    (void)state;
    json_object *enc =
        json_tokener_parse("{\"resourceType\":\"Encounter\",\"status\":\"planned\"}");
    const char *ref = NULL, *status = NULL;
    assert_int_equal(bed_edit_current(enc, &ref, &status), -1);
    int64_t t0 = at("2024-05-01T08:00:00Z");
    bed_edit_place(enc, "Location/b1", "1床", "reserved", NULL, t0);
    assert_int_equal(bed_edit_current(enc, &ref, &status), 0);
    assert_string_equal(ref, "Location/b1");
    assert_string_equal(status, "reserved");
    bed_edit_place(enc, "Location/b1", "1床", "active", NULL, t0); /* the reservation taken up */
    json_object *list = NULL;
    json_object_object_get_ex(enc, "location", &list);
    assert_int_equal(json_object_array_length(list), 1);
    assert_int_equal(bed_edit_current(enc, &ref, &status), 0);
    assert_string_equal(status, "active");
    bed_edit_leave(enc, 0, t0 + 3600000);
    bed_edit_place(enc, "Location/b2", "2床", "active", "Organization/orth", t0 + 3600000);
    assert_int_equal(json_object_array_length(list), 2);
    assert_int_equal(bed_edit_current(enc, &ref, &status), 1);
    assert_string_equal(ref, "Location/b2");
    json_object *old = json_object_array_get_idx(list, 0), *period = NULL;
    assert_string_equal(bed_edit_text(old, "status"), "completed");
    json_object_object_get_ex(old, "period", &period);
    assert_string_equal(bed_edit_text(period, "end"), "2024-05-01T09:00:00.000Z");
    json_object *borrowed = json_object_array_get_idx(list, 1), *exts = NULL;
    json_object_object_get_ex(borrowed, "extension", &exts);
    assert_string_equal(bed_edit_text(json_object_array_get_idx(exts, 0), "url"),
                        INPT_EXT_BORROWED);
    bed_edit_leave(enc, 1, t0 + 7200000);
    assert_int_equal(bed_edit_current(enc, &ref, &status), -1);
    bed_edit_leave(enc, 9, t0); /* out of range: nothing */
    json_object_put(enc);
}

static void the_queue_is_urgency_then_waiting_time(void **state)
{
    (void)state;
    assert_int_equal(adm_priority_parse("stat"), ADM_STAT);
    assert_int_equal(adm_priority_parse("urgent"), ADM_URGENT);
    assert_int_equal(adm_priority_parse(NULL), ADM_ROUTINE);
    assert_int_equal(adm_priority_parse("soon"), ADM_ROUTINE);
    assert_string_equal(adm_priority_code(ADM_ASAP), "asap");
    struct adm_notice n[5] = {
        {"r-new", ADM_ROUTINE, 3000}, {"u", ADM_URGENT, 5000},        {"r-old", ADM_ROUTINE, 1000},
        {"s", ADM_STAT, 9000},        {"r-old-b", ADM_ROUTINE, 1000},
    };
    qsort(n, 5, sizeof(n[0]), adm_notice_cmp);
    const char *want[] = {"s", "u", "r-old", "r-old-b", "r-new"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(n[i].id, want[i]);
}

static void the_pre_admission_window_is_a_duration(void **state)
{
    (void)state;
    struct adm_window w = {5, 7};
    int64_t start = at("2024-05-01T23:00:00Z");
    assert_int_equal(adm_preadm_deadline(&w, start, false), at("2024-05-06T23:00:00Z"));
    assert_int_equal(adm_preadm_deadline(&w, start, true), at("2024-05-08T23:00:00Z"));
    assert_int_equal(adm_preadm_state(&w, start, false, at("2024-05-06T23:00:00Z")),
                     ADM_PREADM_OPEN); /* the last moment counts */
    assert_int_equal(adm_preadm_state(&w, start, false, at("2024-05-06T23:00:00.001Z")),
                     ADM_PREADM_LAPSED);
    assert_int_equal(adm_preadm_state(&w, start, true, at("2024-05-07T10:00:00Z")),
                     ADM_PREADM_OPEN);
    assert_int_equal(adm_preadm_state(&w, start, true, at("2024-05-09T00:00:00Z")),
                     ADM_PREADM_LAPSED);
    assert_int_equal(adm_preadm_check(true, true, true), ADM_PREADM_OK);
    assert_int_equal(adm_preadm_check(false, true, true), ADM_PREADM_NOT_ELECTIVE);
    assert_int_equal(adm_preadm_check(true, false, true), ADM_PREADM_NO_DIAGNOSIS);
    assert_int_equal(adm_preadm_check(true, true, false), ADM_PREADM_UNSTABLE);
    assert_non_null(strstr(adm_preadm_refusal_text(ADM_PREADM_NOT_ELECTIVE), "择期手术"));
    enum adm_item item;
    assert_true(adm_item_parse("anaesthesia", &item));
    assert_int_equal(item, ADM_ITEM_ANAESTHESIA);
    assert_false(adm_item_parse("x-ray", &item));
    assert_string_equal(adm_item_zh(ADM_ITEM_EDUCATION), "入院宣教");
}

static void day_surgery_rules(void **state)
{
    (void)state;
    assert_int_equal(adm_catalogue_minimum(adm_level_parse("3-general")), 50);
    assert_int_equal(adm_catalogue_minimum(adm_level_parse("3-tcm")), 25);
    assert_int_equal(adm_catalogue_minimum(adm_level_parse("2-general")), 20);
    assert_int_equal(adm_catalogue_minimum(adm_level_parse("community")), 0);
    assert_int_equal(adm_catalogue_minimum(adm_level_parse(NULL)), 0);
    struct adm_day_rules r = {2, true, 9};
    assert_int_equal(adm_day_check(&r, true, 2, true), ADM_DAY_OK);
    assert_int_equal(adm_day_check(&r, false, 1, true), ADM_DAY_NOT_IN_CATALOGUE);
    assert_int_equal(adm_day_check(&r, true, 3, true), ADM_DAY_ASA);
    assert_int_equal(adm_day_check(&r, true, 0, true), ADM_DAY_ASA); /* not assessed */
    assert_int_equal(adm_day_check(&r, true, 1, false), ADM_DAY_ESCORT);
    r.escort_needed = false;
    assert_int_equal(adm_day_check(&r, true, 1, false), ADM_DAY_OK);
    /* admitted at 23:00, home at 01:00: two hours, not two calendar days */
    assert_false(
        adm_day_overstayed(at("2024-05-01T23:00:00+08:00"), at("2024-05-02T01:00:00+08:00")));
    assert_false(adm_day_overstayed(at("2024-05-01T08:00:00Z"), at("2024-05-02T08:00:00Z")));
    assert_true(adm_day_overstayed(at("2024-05-01T08:00:00Z"), at("2024-05-02T08:00:00.001Z")));
    assert_false(adm_day_may_discharge(&r, 8));
    assert_true(adm_day_may_discharge(&r, 9));
    assert_true(adm_day_may_discharge(&r, 10));
    assert_false(adm_day_may_discharge(&r, 11));
    assert_non_null(strstr(adm_day_refusal_text(ADM_DAY_ESCORT), "escort"));
}

/* Dispositions: coded ones found, free text not; who needs a PADS score, who died. */
static void how_a_stay_ends(void **state)
{
    (void)state;
    const struct adm_disposition *d = adm_disposition_find("exp");
    assert_non_null(d);
    assert_true(adm_disposition_died(d));
    assert_false(adm_day_needs_pads(d)); /* a death is no discharge home */
    d = adm_disposition_find("aadvice");
    assert_non_null(d);
    assert_false(adm_disposition_died(d));
    assert_false(adm_day_needs_pads(d)); /* left against advice: no score to wait for */
    assert_true(adm_day_needs_pads(adm_disposition_find("home")));
    assert_true(adm_day_needs_pads(adm_disposition_find("alt-home")));
    assert_false(adm_day_needs_pads(adm_disposition_find("other-hcf"))); /* transferred */
    assert_null(adm_disposition_find("治愈出院"));                       /* text, kept as text */
    assert_null(adm_disposition_find(NULL));
    assert_null(adm_disposition_find("EXP"));
    assert_true(adm_day_needs_pads(NULL)); /* not coded: home, as before */
    assert_false(adm_disposition_died(NULL));
    assert_string_equal(adm_disposition_find("exp")->zh, "死亡");
}

/* A same-day cancellation is on the planned day in China, a date or a dateTime. */
static void same_day_in_china(void **state)
{
    (void)state;
    assert_true(adm_same_day("2024-05-02", at("2024-05-02T23:30:00+08:00")));
    assert_true(adm_same_day("2024-05-02", at("2024-05-01T16:00:00Z")));  /* 00:00 on the 2nd */
    assert_false(adm_same_day("2024-05-02", at("2024-05-02T16:00:00Z"))); /* 00:00 on the 3rd */
    assert_false(adm_same_day("2024-05-02", at("2024-05-01T23:59:00+08:00")));
    assert_true(adm_same_day("2024-05-02T09:00:00+08:00", at("2024-05-01T20:00:00Z")));
    assert_false(
        adm_same_day("2024-05-02T01:00:00+08:00", at("2024-05-02T01:00:00Z") + 16 * 3600000LL));
    assert_false(adm_same_day(NULL, at("2024-05-02T01:00:00Z")));
    assert_false(adm_same_day("2024-05", at("2024-05-02T01:00:00Z")));
    assert_false(adm_same_day("2024-05-02Tjunk", at("2024-05-02T01:00:00Z")));
}

/* ---- the sweep, on a real store ---- */

#define SWEEP_DAY (24 * 3600 * 1000LL)

/* An Encounter of patient (NULL: p-id) held by hospital (NULL: none). */
static void put_encounter_of(struct store *s, const char *id, const char *cls, int64_t start,
                             bool extended, const char *patient, const char *hospital)
{
    char t[40], json[1024], subject[80], meta[200] = "";
    time_format_instant(start, t, sizeof(t));
    snprintf(subject, sizeof(subject), patient ? "%s" : "Patient/p-%s", patient ? patient : id);
    if (hospital)
        snprintf(meta, sizeof(meta),
                 ",\"meta\":{\"tag\":[{\"system\":\"" FHIR_CUSTODIAN_SYSTEM "\",\"code\":\"%s\"}]}",
                 hospital);
    snprintf(json, sizeof(json),
             "{\"resourceType\":\"Encounter\",\"id\":\"%s\",\"status\":\"in-progress\","
             "\"class\":{\"system\":\"%s\",\"code\":\"%s\"},"
             "\"subject\":{\"reference\":\"%s\"},\"period\":{\"start\":\"%s\"}%s%s}",
             id, INPT_V3_ACT, cls, subject, t,
             extended ? ",\"extension\":[{\"url\":\"" INPT_EXT_PREADM_EXTENDED
                        "\",\"valueReference\":{\"reference\":\"Practitioner/x\"}}]"
                      : "",
             meta);
    struct fhir_write w = {
        .kind = FHIR_WRITE_UPDATE, .type = "Encounter", .id = id, .if_match = -1};
    w.resource = json_tokener_parse(json);
    assert_non_null(w.resource);
    assert_int_equal(fhir_write_run(s, &w, 1, NULL), ERR_OK);
    free(w.body);
    json_object_put(w.resource);
}

static void put_encounter(struct store *s, const char *id, const char *cls, int64_t start,
                          bool extended)
{
    put_encounter_of(s, id, cls, start, extended, NULL, NULL);
}

/* A first pass at now (stays looked at as far back as a pre-admission can be open). */
static int sweep(struct tmpstore *f, int64_t now)
{
    int64_t since = 0;
    return inpt_sweep_once(f->store, &f->cfg, now, &since);
}

/* The stored Encounter id (the caller puts it). */
static json_object *get_encounter(struct store *s, const char *id)
{
    struct buf b;
    buf_init(&b, 1u << 20);
    struct store_row row;
    assert_int_equal(store_read(s, "Encounter", id, 0, &b, &row), ERR_OK);
    json_object *o = json_tokener_parse(b.ptr);
    buf_release(&b);
    assert_non_null(o);
    return o;
}

static void assert_encounter(struct store *s, const char *id, const char *status, const char *cls)
{
    json_object *e = get_encounter(s, id);
    assert_string_equal(bed_edit_text(e, "status"), status);
    assert_string_equal(bed_edit_text(bed_edit_member(e, "class"), "code"), cls);
    json_object_put(e);
}

/*
 * A pass settles what lapsed at its moment and nothing else: an open
 * pre-admission past 5 days (7 when extended) ends at its deadline as
 * outpatient care, a day-surgery stay past 24 hours becomes IMP; a second
 * pass changes nothing; later, what has lapsed since is settled.
 */
static void the_sweep_settles_what_lapsed_and_only_that(void **state)
{
    struct tmpstore *f = *state;
    int64_t now = time_now_ms();
    put_encounter(f->store, "pre-lapsed", "PRENC", now - 6 * SWEEP_DAY, false);
    put_encounter(f->store, "pre-open", "PRENC", now - 2 * SWEEP_DAY, false);
    put_encounter(f->store, "pre-extended", "PRENC", now - 6 * SWEEP_DAY, true);
    put_encounter(f->store, "day-over", "SS", now - 25 * 3600 * 1000LL, false);
    put_encounter(f->store, "day-ok", "SS", now - 2 * 3600 * 1000LL, false);
    put_encounter(f->store, "stay", "IMP", now - 30 * SWEEP_DAY, false);
    assert_int_equal(sweep(f, now), 2);
    json_object *e = get_encounter(f->store, "pre-lapsed");
    assert_string_equal(bed_edit_text(e, "status"), "finished");
    json_object *code = bed_edit_ext(e, INPT_EXT_SETTLEMENT, "valueCode");
    assert_string_equal(json_object_get_string(code), "outpatient");
    int64_t end = 0;
    const char *end_text = bed_edit_text(bed_edit_member(e, "period"), "end");
    assert_true(time_parse_fhir(end_text, strlen(end_text), &end));
    assert_true(end - (now - 6 * SWEEP_DAY) >= 5 * SWEEP_DAY - 1000 &&
                end - (now - 6 * SWEEP_DAY) <= 5 * SWEEP_DAY + 1000);
    json_object_put(e);
    assert_encounter(f->store, "day-over", "in-progress", "IMP");
    assert_encounter(f->store, "pre-open", "in-progress", "PRENC");
    assert_encounter(f->store, "pre-extended", "in-progress", "PRENC");
    assert_encounter(f->store, "day-ok", "in-progress", "SS");
    assert_encounter(f->store, "stay", "in-progress", "IMP");
    assert_int_equal(sweep(f, now), 0);
    /* two days on: the extended window (7 days) is over too, and the other stay is past 24 hours */
    assert_int_equal(sweep(f, now + 2 * SWEEP_DAY), 2);
    assert_encounter(f->store, "pre-extended", "finished", "PRENC");
    assert_encounter(f->store, "day-ok", "in-progress", "IMP");
    assert_encounter(f->store, "pre-open", "in-progress", "PRENC");
}

/*
 * A patient pre-admitted at one hospital and admitted at another since: the
 * pre-admission ends when the stay began, its costs outpatient costs. Not a
 * stay at the same hospital, nor one begun before the pre-admission, nor one
 * written before the pass's since.
 */
static void a_pre_admission_ends_when_admitted_elsewhere(void **state)
{
    struct tmpstore *f = *state;
    int64_t now = time_now_ms();
    put_encounter_of(f->store, "pre-x", "PRENC", now - 2 * SWEEP_DAY, false, "Patient/x",
                     "Organization/h1");
    put_encounter_of(f->store, "pre-y", "PRENC", now - 2 * SWEEP_DAY, false, "Patient/y",
                     "Organization/h1");
    put_encounter_of(f->store, "pre-z", "PRENC", now - 2 * SWEEP_DAY, false, "Patient/z",
                     "Organization/h1");
    put_encounter_of(f->store, "stay-y", "IMP", now - SWEEP_DAY, false, "Patient/y",
                     "Organization/h1"); /* the same hospital: the pre-admission's own business */
    put_encounter_of(f->store, "stay-z", "IMP", now - 3 * SWEEP_DAY, false, "Patient/z",
                     "Organization/h2"); /* begun before the pre-admission */
    /* the stays were written before since: not looked at */
    put_encounter_of(f->store, "stay-x", "SS", now - SWEEP_DAY, false, "Patient/x",
                     "Organization/h2");
    int64_t since = time_now_ms() + 1000;
    assert_int_equal(inpt_sweep_once(f->store, &f->cfg, now, &since), 0);
    assert_encounter(f->store, "pre-x", "in-progress", "PRENC");
    assert_true(since == now - 60 * 1000); /* the next pass: from this one, less a minute */
    assert_int_equal(sweep(f, now), 1);
    json_object *e = get_encounter(f->store, "pre-x");
    assert_string_equal(bed_edit_text(e, "status"), "finished");
    assert_string_equal(json_object_get_string(bed_edit_ext(e, INPT_EXT_SETTLEMENT, "valueCode")),
                        "outpatient");
    assert_string_equal(json_object_get_string(bed_edit_ext(e, INPT_EXT_PREADM_ENDED, "valueCode")),
                        "admitted-elsewhere");
    const char *end = bed_edit_text(bed_edit_member(e, "period"), "end");
    int64_t end_ms = 0;
    assert_true(end && time_parse_fhir(end, strlen(end), &end_ms));
    assert_true(llabs(end_ms - (now - SWEEP_DAY)) < 1000); /* when the other stay began */
    json_object_put(e);
    assert_encounter(f->store, "pre-y", "in-progress", "PRENC");
    assert_encounter(f->store, "pre-z", "in-progress", "PRENC");
    assert_int_equal(inpt_sweep_once(f->store, &f->cfg, now, &since), 0); /* once */
}

/*
 * A pass changes at most 256 encounters; one cut short leaves where the next
 * starts looking at stays unchanged, so none written meanwhile is missed.
 */
static void a_pass_cut_short_looks_again(void **state)
{
    struct tmpstore *f = *state;
    int64_t now = time_now_ms();
    char id[32];
    for (int i = 0; i < 257; i++) {
        snprintf(id, sizeof(id), "lapsed-%d", i);
        put_encounter(f->store, id, "PRENC", now - 6 * SWEEP_DAY, false);
    }
    int64_t since = 12345;
    assert_int_equal(inpt_sweep_once(f->store, &f->cfg, now, &since), 256);
    assert_true(since == 12345);
    assert_int_equal(inpt_sweep_once(f->store, &f->cfg, now, &since), 1);
    assert_true(since == now - 60 * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_move_of_the_status_table),
        cmocka_unit_test(statuses_read_our_codes_and_hl7),
        cmocka_unit_test(own_beds_and_borrowing_rules),
        cmocka_unit_test(the_patient_and_the_bed),
        cmocka_unit_test(ranking_own_first_then_nearer),
        cmocka_unit_test(ages_in_whole_years_in_china),
        cmocka_unit_test(a_bed_status_replaces_the_last),
        cmocka_unit_test(an_encounter_moves_between_beds),
        cmocka_unit_test(the_queue_is_urgency_then_waiting_time),
        cmocka_unit_test(the_pre_admission_window_is_a_duration),
        cmocka_unit_test(day_surgery_rules),
        cmocka_unit_test(how_a_stay_ends),
        cmocka_unit_test(same_day_in_china),
        cmocka_unit_test_setup_teardown(the_sweep_settles_what_lapsed_and_only_that, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(a_pre_admission_ends_when_admitted_elsewhere, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(a_pass_cut_short_looks_again, tmpstore_open,
                                        tmpstore_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
