/*
 * recognition_test.c - the rules of result recognition (DOMAIN.md §1):
 * the catalogue as data, EQA at the report date, scope and marks, windows,
 * images, units, and the doctor's decision.
 */
#include "test.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/timeutil.h"
#include "modules/recognition/indicators.h"
#include "modules/recognition/recognition.h"

#define DAY (86400000LL)

static struct arena A;

static int64_t at(const char *fhir_time)
{
    int64_t ms = 0;
    assert_true(time_parse_fhir(fhir_time, strlen(fhir_time), &ms));
    return ms;
}

static const char *CATALOGUE =
    "{\"resourceType\":\"CodeSystem\",\"version\":\"2024\",\"extension\":[{\"url\":"
    "\"" RECOG_EXT_MARK "\",\"valueString\":\"豫HR\"}],\"concept\":["
    "{\"code\":\"2345-7\",\"display\":\"葡萄糖\",\"property\":[{\"code\":\"kind\",\"valueCode\":"
    "\"lab\"},{\"code\":\"window-days\",\"valueInteger\":7},{\"code\":\"price-fen\","
    "\"valueInteger\":500},{\"code\":\"unit\",\"valueString\":\"mmol/L\"},{\"code\":\"convert\","
    "\"valueString\":\"mg/dL 0.0555\"}]},"
    "{\"code\":\"1742-6\",\"property\":[{\"code\":\"scope\",\"valueCode\":\"city\"},{\"code\":"
    "\"window-days\",\"valueInteger\":7}]},"
    "{\"code\":\"718-7\",\"property\":[{\"code\":\"scope\",\"valueCode\":\"alliance\"},{\"code\":"
    "\"window-days\",\"valueInteger\":7}]},"
    "{\"code\":\"CT-CHEST\",\"property\":[{\"code\":\"system\",\"valueString\":\"urn:x\"},"
    "{\"code\":\"kind\",\"valueCode\":\"imaging\"},{\"code\":\"window-days\",\"valueInteger\":30},"
    "{\"code\":\"owner\",\"valueString\":\"someone else's property\"}]}]}";

static struct recog_catalogue load(const char *text)
{
    json_object *cs = json_tokener_parse(text);
    assert_non_null(cs);
    struct recog_catalogue cat;
    char why[200];
    assert_true(recog_catalogue_parse(cs, &A, &cat, why, sizeof(why)));
    json_object_put(cs);
    return cat;
}

static bool refused(const char *concepts, char *why, size_t size)
{
    char text[2048];
    snprintf(text, sizeof(text), "{\"resourceType\":\"CodeSystem\",\"concept\":[%s]}", concepts);
    json_object *cs = json_tokener_parse(text);
    struct recog_catalogue cat;
    bool ok = recog_catalogue_parse(cs, &A, &cat, why, size);
    json_object_put(cs);
    return !ok;
}

static void catalogue_is_data(void **state)
{
    (void)state;
    struct recog_catalogue cat = load(CATALOGUE);
    assert_int_equal(cat.count, 4);
    assert_string_equal(cat.version, "2024");
    assert_string_equal(cat.province_mark, "豫HR");
    const struct recog_item *glu = recog_catalogue_find(&cat, "http://loinc.org", "2345-7");
    assert_non_null(glu);
    assert_string_equal(glu->system, "http://loinc.org"); /* the default system */
    assert_int_equal(glu->kind, RECOG_LAB);
    assert_int_equal(glu->scope, RECOG_SCOPE_PROVINCE); /* the default scope */
    assert_int_equal(glu->window_days, 7);
    assert_int_equal(glu->price_fen, 500);
    assert_int_equal(glu->nconv, 1);
    assert_string_equal(glu->conv[0].unit, "mg/dL");
    assert_true(fabs(glu->conv[0].factor - 0.0555) < 1e-12);
    assert_null(recog_catalogue_find(&cat, "urn:other", "2345-7"));
    assert_non_null(recog_catalogue_find(&cat, NULL, "2345-7"));
    const struct recog_item *ct = recog_catalogue_find(&cat, "urn:x", "CT-CHEST");
    assert_non_null(ct);
    assert_int_equal(ct->kind, RECOG_IMAGING);
    assert_int_equal(recog_catalogue_find(&cat, NULL, "1742-6")->scope, RECOG_SCOPE_CITY);
    assert_int_equal(recog_catalogue_find(&cat, NULL, "718-7")->scope, RECOG_SCOPE_ALLIANCE);
}

static void malformed_catalogues_are_refused_whole(void **state)
{
    (void)state;
    char why[200];
    assert_true(refused("{\"code\":\"a\"}", why, sizeof(why))); /* no window */
    assert_non_null(strstr(why, "window-days"));
    assert_true(refused("{\"code\":\"a\",\"property\":[{\"code\":\"window-days\",\"valueInteger\":"
                        "7},{\"code\":\"kind\",\"valueCode\":\"blood\"}]}",
                        why, sizeof(why)));
    assert_true(refused("{\"code\":\"a\",\"property\":[{\"code\":\"window-days\",\"valueInteger\":"
                        "-1}]}",
                        why, sizeof(why)));
    assert_true(refused("{\"code\":\"a\",\"property\":[{\"code\":\"window-days\",\"valueInteger\":"
                        "7},{\"code\":\"convert\",\"valueString\":\"mg/dL zero\"}]}",
                        why, sizeof(why)));
    assert_true(refused("{\"display\":\"no code\"}", why, sizeof(why)));
    json_object *cs = json_tokener_parse("{\"resourceType\":\"CodeSystem\"}");
    struct recog_catalogue cat;
    assert_false(recog_catalogue_parse(cs, &A, &cat, why, sizeof(why)));
    json_object_put(cs);
}

/* A lab's Organization with EQA outcomes: (code, start, end, result)... */
static size_t eqa_of(const char *outcomes, struct recog_eqa **out)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"resourceType\":\"Organization\",\"extension\":[%s]}",
             outcomes);
    json_object *org = json_tokener_parse(text);
    assert_non_null(org);
    size_t n = recog_eqa_parse(org, &A, out);
    json_object_put(org);
    return n;
}

#define EQA(code, start, end, result)                                                              \
    "{\"url\":\"" RECOG_EXT_EQA "\",\"extension\":[{\"url\":\"item\",\"valueCoding\":{\"system\":" \
    "\"http://loinc.org\",\"code\":\"" code "\"}},{\"url\":\"period\",\"valuePeriod\":{\"start\":" \
    "\"" start "\",\"end\":\"" end "\"}},{\"url\":\"result\",\"valueCode\":\"" result "\"}]}"

static void eqa_status_at_the_report_date_counts(void **state)
{
    (void)state;
    struct recog_eqa *e;
    /* passed for 2024; failed in the June round, published 2024-06-10, from the next day */
    size_t n = eqa_of(EQA("718-7", "2024-01-01", "2024-12-31", "pass") "," EQA(
                          "718-7", "2024-06-11", "2024-12-31", "fail") ","
                                                                       "{\"url\":\"other\"}",
                      &e);
    assert_int_equal(n, 2);
    const char *L = "http://loinc.org";
    assert_true(recog_eqa_qualified(e, n, L, "718-7", at("2024-06-10T23:59:59Z")));
    assert_false(recog_eqa_qualified(e, n, L, "718-7", at("2024-06-11T00:00:00Z")));
    assert_false(recog_eqa_qualified(e, n, L, "718-7", at("2024-12-01")));
    assert_false(recog_eqa_qualified(e, n, L, "718-7", at("2023-12-31T23:59:59Z"))); /* before */
    assert_false(recog_eqa_qualified(e, n, L, "718-7", at("2025-01-01")));           /* after */
    assert_false(recog_eqa_qualified(e, n, L, "2345-7", at("2024-03-01")));          /* other */
    /* re-passed in the autumn round: qualified again from then on */
    n = eqa_of(EQA("718-7", "2024-01-01", "2024-12-31",
                   "pass") "," EQA("718-7", "2024-06-11", "2024-12-31",
                                   "fail") "," EQA("718-7", "2024-10-01", "2024-12-31", "pass"),
               &e);
    assert_false(recog_eqa_qualified(e, n, L, "718-7", at("2024-09-30")));
    assert_true(recog_eqa_qualified(e, n, L, "718-7", at("2024-10-02")));
    /* the same start: the failure decides */
    n = eqa_of(EQA("718-7", "2024-01-01", "2024-12-31", "pass") "," EQA("718-7", "2024-01-01",
                                                                        "2024-12-31", "fail"),
               &e);
    assert_false(recog_eqa_qualified(e, n, L, "718-7", at("2024-03-01")));
    assert_false(recog_eqa_qualified(NULL, 0, L, "718-7", at("2024-03-01")));
}

static void city_of_a_division(void **state)
{
    (void)state;
    char city[7];
    assert_true(recog_city_of_division("410104", city));
    assert_string_equal(city, "410100");
    assert_true(recog_city_of_division("411525", city));
    assert_string_equal(city, "411500");
    assert_true(recog_city_of_division("419001", city)); /* 济源示范区 */
    assert_string_equal(city, "419001");
    assert_false(recog_city_of_division("41010", city));
    assert_false(recog_city_of_division("4101a4", city));
    assert_false(recog_city_of_division(NULL, city));
}

struct fixture {
    struct recog_catalogue cat;
    struct recog_eqa *eqa;
    size_t neqa;
    struct recog_place zz_a, zz_b, zk; /* two Zhengzhou hospitals in an alliance, one Zhoukou */
    int64_t now;
};

static struct fixture fix(void)
{
    struct fixture f;
    f.cat = load(CATALOGUE);
    f.neqa = eqa_of(EQA("2345-7", "2024-01-01", "2024-12-31", "pass") "," EQA(
                        "1742-6", "2024-01-01", "2024-12-31", "pass") "," EQA("718-7", "2024-01-01",
                                                                              "2024-12-31", "pass"),
                    &f.eqa);
    f.zz_a = (struct recog_place){"Organization/a", "A", "410100", "郑州", "Organization/all-1"};
    f.zz_b = (struct recog_place){"Organization/b", "B", "410100", "郑州", "Organization/all-1"};
    f.zk = (struct recog_place){"Organization/c", "C", "411600", "周口", NULL};
    f.now = at("2024-05-10T12:00:00Z");
    return f;
}

/* A final glucose result of 5.4 mmol/L from lab A, two days old. */
static struct recog_result glucose(const struct fixture *f)
{
    return (struct recog_result){.ref = "Observation/o1",
                                 .status = "final",
                                 .reported = f->now - 2 * DAY,
                                 .has_value = true,
                                 .value = 5.4,
                                 .unit = "mmol/L",
                                 .lab = f->zz_a,
                                 .eqa = f->eqa,
                                 .neqa = f->neqa};
}

static enum recog_reason verdict(const struct fixture *f, const char *code,
                                 const struct recog_result *r, const struct recog_place *consumer,
                                 struct recog_verdict *v)
{
    const struct recog_item *it = recog_catalogue_find(&f->cat, NULL, code);
    recog_evaluate(&f->cat, it, r, consumer, f->now, &A, v);
    return v->reason;
}

static void a_qualified_recent_final_result_is_recognisable(void **state)
{
    (void)state;
    struct fixture f = fix();
    struct recog_result r = glucose(&f);
    struct recog_verdict v;
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_OK);
    assert_string_equal(v.mark, "豫HR");
    assert_int_equal(v.expires, r.reported + 7 * DAY);
    assert_true(fabs(v.value - 5.4) < 1e-9);
    r.status = "amended"; /* the latest amended version is what counts */
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_OK);
}

static void each_rule_refuses_for_its_reason(void **state)
{
    (void)state;
    struct fixture f = fix();
    struct recog_verdict v;
    struct recog_result r = glucose(&f);
    r.status = "preliminary";
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_NOT_FINAL);
    assert_null(v.mark);
    r = glucose(&f);
    r.reported = INT64_MIN;
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_NO_DATE);
    r.reported = f.now + 6 * 60 * 1000; /* six minutes ahead */
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_FUTURE);
    r.reported = f.now + 60 * 1000; /* a clock a minute fast */
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_OK);
    r = glucose(&f);
    r.lab.org = NULL;
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_NO_LAB);
    r = glucose(&f);
    r.has_value = false;
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_NO_VALUE);
    r = glucose(&f);
    r.neqa = 0;
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_NOT_QUALIFIED);
}

static void window_boundary_makes_results_reference_only(void **state)
{
    (void)state;
    struct fixture f = fix();
    struct recog_verdict v;
    struct recog_result r = glucose(&f);
    r.reported = f.now - 7 * DAY; /* exactly seven days: still within */
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_OK);
    r.reported = f.now - 7 * DAY - 1;
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_EXPIRED);
    assert_null(v.mark);
}

static void units_are_converted_or_refused(void **state)
{
    (void)state;
    struct fixture f = fix();
    struct recog_verdict v;
    struct recog_result r = glucose(&f);
    r.value = 97.3;
    r.unit = "mg/dL";
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_OK);
    assert_true(fabs(v.value - 97.3 * 0.0555) < 1e-9);
    assert_string_equal(v.unit, "mmol/L");
    r.unit = "g/L";
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_UNIT);
    r.unit = NULL;
    assert_int_equal(verdict(&f, "2345-7", &r, &f.zk, &v), RECOG_UNIT);
}

static void scope_city_and_alliance_with_their_marks(void **state)
{
    (void)state;
    struct fixture f = fix();
    struct recog_verdict v;
    struct recog_result r = glucose(&f);
    /* ALT is recognised within the city only, marked with the city's mark */
    assert_int_equal(verdict(&f, "1742-6", &r, &f.zz_b, &v), RECOG_OK);
    assert_string_equal(v.mark, "郑州HR");
    assert_int_equal(verdict(&f, "1742-6", &r, &f.zk, &v), RECOG_OUT_OF_SCOPE);
    assert_null(v.mark);
    /* haemoglobin within the alliance only */
    assert_int_equal(verdict(&f, "718-7", &r, &f.zz_b, &v), RECOG_OK);
    struct recog_place outside = f.zz_b;
    outside.alliance = NULL;
    assert_int_equal(verdict(&f, "718-7", &r, &outside, &v), RECOG_OUT_OF_SCOPE);
    /* a hospital's own results are always in scope */
    outside.org = "Organization/a";
    assert_int_equal(verdict(&f, "718-7", &r, &outside, &v), RECOG_OK);
    /* a consumer whose city is unknown is outside any city scope */
    struct recog_place nowhere = f.zk;
    nowhere.city = NULL;
    assert_int_equal(verdict(&f, "1742-6", &r, &nowhere, &v), RECOG_OUT_OF_SCOPE);
}

static void imaging_needs_its_images(void **state)
{
    (void)state;
    struct fixture f = fix();
    struct recog_verdict v;
    struct recog_eqa pass = {"urn:x", "CT-CHEST", at("2024-01-01"), at("2024-12-31"), true};
    struct recog_result r = {.ref = "DiagnosticReport/d1",
                             .status = "final",
                             .reported = f.now - 20 * DAY,
                             .lab = f.zz_a,
                             .eqa = &pass,
                             .neqa = 1};
    assert_int_equal(verdict(&f, "CT-CHEST", &r, &f.zk, &v), RECOG_NO_IMAGES);
    r.has_images = true;
    assert_int_equal(verdict(&f, "CT-CHEST", &r, &f.zk, &v), RECOG_OK); /* 30-day window */
}

static void decisions_follow_the_rules(void **state)
{
    (void)state;
    char why[400];
    struct recog_verdict ok = {.reason = RECOG_OK}, expired = {.reason = RECOG_EXPIRED};
    struct recog_decision d = {.recognised = true};
    assert_true(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    assert_false(recog_decision_check(&d, &expired, false, why, sizeof(why)));
    assert_non_null(strstr(why, "reference only"));
    /* a re-test of a recognisable result: a reason, an explanation, sometimes consent */
    d = (struct recog_decision){.recognised = false};
    assert_false(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    d.reason = "not-a-reason";
    assert_false(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    d.reason = "condition-changed";
    assert_false(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    assert_non_null(strstr(why, "explained"));
    d.explained = true;
    assert_true(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    d.reason = "other";
    assert_false(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    assert_non_null(strstr(why, "consent"));
    d.consent = true;
    assert_true(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    /* emergencies are not bound; nothing recognisable needs no reason */
    struct recog_decision bare = {.recognised = false};
    assert_true(recog_decision_check(&bare, &ok, true, why, sizeof(why)));
    assert_true(recog_decision_check(&bare, &expired, false, why, sizeof(why)));
    assert_int_equal(recog_retest_reason_count, 7);
}

static void explanations_are_at_most_200_characters(void **state)
{
    (void)state;
    char note[1024] = "", why[400];
    for (int i = 0; i < 200; i++)
        strcat(note, "查");
    struct recog_verdict ok = {.reason = RECOG_OK};
    struct recog_decision d = {.recognised = true, .note = note};
    assert_true(recog_decision_check(&d, &ok, false, why, sizeof(why)));
    strcat(note, "x");
    assert_false(recog_decision_check(&d, &ok, false, why, sizeof(why)));
}

static json_object *decision(const char *outcome, const char *eligible, const char *mark,
                             const char *fee)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"resourceType\":\"Basic\",\"extension\":["
             "{\"url\":\"" RECOG_EXT "recognition-outcome\",\"valueCode\":\"%s\"},"
             "{\"url\":\"" RECOG_EXT "recognition-organization\",\"valueReference\":"
             "{\"reference\":\"Organization/h\"}}%s%s%s%s%s%s%s]}",
             outcome,
             eligible ? ",{\"url\":\"" RECOG_EXT "recognition-eligible\",\"valueBoolean\":" : "",
             eligible ? eligible : "", eligible ? "}" : "",
             mark ? ",{\"url\":\"" RECOG_EXT "recognition-mark\",\"valueString\":\"" : "",
             mark ? mark : "", mark ? "\"}" : "", fee ? fee : "");
    json_object *d = json_tokener_parse(text);
    assert_non_null(d);
    return d;
}

static void indicators_count_decisions(void **state)
{
    (void)state;
    const char *fee = ",{\"url\":\"" RECOG_EXT "recognition-fee-saved\",\"valueMoney\":{\"value\":"
                      "12.5,\"currency\":\"CNY\"}}";
    struct recog_tally t = {0};
    json_object *list[] = {
        decision("recognised", "true", "豫HR", fee),
        decision("recognised", NULL, "郑州HR", fee), /* older decisions have no 'eligible' */
        decision("recognised", "true", RECOG_ALLIANCE_MARK, NULL),
        decision("retest", "true", NULL, NULL),
        decision("retest", "false", NULL, fee), /* nothing recognisable: not in the rate */
    };
    for (size_t i = 0; i < 5; i++) {
        recog_tally_decision(&t, list[i], "豫HR");
        json_object_put(list[i]);
    }
    assert_int_equal(t.decisions, 5);
    assert_int_equal(t.eligible, 4);
    assert_int_equal(t.recognised, 3);
    assert_int_equal(t.retests, 1);
    assert_int_equal(t.fees_fen, 2500); /* a re-test saves nothing, whatever it says */
    assert_int_equal(t.marked[0], 1);
    assert_int_equal(t.marked[1], 1);
    assert_int_equal(t.marked[2], 1);
    json_object *d = decision("retest", "true", NULL, NULL);
    assert_string_equal(recog_decision_ref(d, "organization"), "Organization/h");
    assert_null(recog_decision_ref(d, "result"));
    json_object_put(d);
}

/* What orders or charges a test (the rule that a recognised item is not billed again). */
static void orders_and_charges_that_bill(void **state)
{
    (void)state;
    assert_true(recog_is_charge("ServiceRequest", "active", "order"));
    assert_true(recog_is_charge("ServiceRequest", "active", "original-order"));
    assert_true(recog_is_charge("ServiceRequest", "active", "filler-order"));
    assert_false(recog_is_charge("ServiceRequest", "draft", "order"));
    assert_false(recog_is_charge("ServiceRequest", "completed", "order"));
    assert_false(recog_is_charge("ServiceRequest", "revoked", "order"));
    assert_false(recog_is_charge("ServiceRequest", "active", "proposal"));
    assert_false(recog_is_charge("ServiceRequest", "active", "plan"));
    assert_false(recog_is_charge("ServiceRequest", "active", NULL));
    assert_true(recog_is_charge("ChargeItem", "planned", NULL));
    assert_true(recog_is_charge("ChargeItem", "billable", NULL));
    assert_true(recog_is_charge("ChargeItem", "billed", NULL));
    assert_false(recog_is_charge("ChargeItem", "not-billable", NULL));
    assert_false(recog_is_charge("ChargeItem", "aborted", NULL));
    assert_false(recog_is_charge("ChargeItem", "entered-in-error", NULL));
    assert_false(recog_is_charge("ChargeItem", NULL, NULL));
    assert_false(recog_is_charge("Observation", "final", NULL));
}

static int setup(void **state)
{
    (void)state;
    arena_init(&A, 64 * 1024);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_release(&A);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalogue_is_data),
        cmocka_unit_test(malformed_catalogues_are_refused_whole),
        cmocka_unit_test(eqa_status_at_the_report_date_counts),
        cmocka_unit_test(city_of_a_division),
        cmocka_unit_test(a_qualified_recent_final_result_is_recognisable),
        cmocka_unit_test(each_rule_refuses_for_its_reason),
        cmocka_unit_test(window_boundary_makes_results_reference_only),
        cmocka_unit_test(units_are_converted_or_refused),
        cmocka_unit_test(scope_city_and_alliance_with_their_marks),
        cmocka_unit_test(imaging_needs_its_images),
        cmocka_unit_test(decisions_follow_the_rules),
        cmocka_unit_test(explanations_are_at_most_200_characters),
        cmocka_unit_test(indicators_count_decisions),
        cmocka_unit_test(orders_and_charges_that_bill),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
