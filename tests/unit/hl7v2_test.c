/*
 * hl7v2_test.c - the HL7 v2 parser (delimiters, escapes, bounds) and the
 * ORU^R01 mapping (times, numbers, statuses, identifiers, ranges,
 * specimens).
 */
#include "test.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "fhir/json.h"
#include "hl7v2/hl7v2.h"
#include "hl7v2/oru.h"

static struct arena A;

static struct hl7_message parse_ok(const char *text)
{
    struct hl7_message m;
    char why[200];
    assert_true(hl7_parse(text, strlen(text), &A, &m, why, sizeof(why)));
    return m;
}

static void fields_components_and_repetitions(void **state)
{
    (void)state;
    struct hl7_message m =
        parse_ok("MSH|^~\\&|LIS|LAB1||YJ|20240501||ORU^R01^ORU_R01|C1|P|2.5.1\r\n"
                 "PID|1||A1^^^CHN^NNCHN~B2^^^H&1.2&ISO^MR||Wang^Fang\n\nOBX|1|NM|x\r");
    assert_int_equal(m.nsegments, 3);
    const struct hl7_segment *msh = &m.segments[0];
    assert_string_equal(hl7_get(&m, msh, 3, 1, 0, 0, &A), "LIS");
    assert_string_equal(hl7_get(&m, msh, 9, 1, 1, 0, &A), "ORU");
    assert_string_equal(hl7_get(&m, msh, 9, 1, 2, 0, &A), "R01");
    assert_string_equal(hl7_get(&m, msh, 10, 0, 0, 0, &A), "C1");
    assert_string_equal(hl7_get(&m, msh, 12, 1, 0, 0, &A), "2.5.1");
    assert_string_equal(hl7_get(&m, msh, 40, 1, 0, 0, &A), ""); /* absent */
    size_t at = 0;
    const struct hl7_segment *pid = hl7_segment_find(&m, "PID", 0, &at);
    assert_non_null(pid);
    assert_int_equal(at, 1);
    assert_int_equal(hl7_repetitions(&m, pid, 3), 2);
    assert_string_equal(hl7_get(&m, pid, 3, 2, 1, 0, &A), "B2");
    assert_string_equal(hl7_get(&m, pid, 3, 2, 4, 2, &A), "1.2");
    assert_string_equal(hl7_get(&m, pid, 3, 1, 5, 0, &A), "NNCHN");
    assert_string_equal(hl7_get(&m, pid, 3, 3, 1, 0, &A), ""); /* no third repetition */
    assert_string_equal(hl7_get(&m, pid, 5, 1, 2, 0, &A), "Fang");
    assert_int_equal(hl7_repetitions(&m, pid, 4), 0);
    assert_null(hl7_segment_find(&m, "OBR", 0, NULL));
}

static void other_delimiters_and_escapes(void **state)
{
    (void)state;
    struct hl7_message m = parse_ok("MSH#$*!%#A#B\rOBX#1#ST#c#!F!!S!!T!!R!!E!!X4142!!.br!!H!x$y*z");
    const struct hl7_segment *obx = &m.segments[1];
    assert_string_equal(hl7_get(&m, obx, 3, 1, 0, 0, &A), "c");
    assert_string_equal(hl7_get(&m, obx, 4, 1, 1, 0, &A), "#$%*!AB\nx");
    assert_string_equal(hl7_get(&m, obx, 4, 1, 2, 0, &A), "y");
    assert_string_equal(hl7_get(&m, obx, 4, 2, 0, 0, &A), "z");
    struct buf out;
    buf_init(&out, 1024);
    hl7_escape(&m, "a#b$c\rd", &out);
    buf_append(&out, "", 1);
    assert_string_equal(out.ptr, "a!F!b!S!c!.br!d");
    buf_release(&out);
}

static void not_messages_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "PID|1\r",
        "MSH|^~\\^|x\r",         /* a delimiter twice */
        "MSH|^~\\&|x\rpid|1\r",  /* lower-case segment id */
        "MSH|^~\\&|x\rPIDX|1\r", /* four letters */
        "MSHa^~\\&|x\r",         /* alphanumeric delimiter */
    };
    char why[200];
    struct hl7_message m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(hl7_parse(bad[i], strlen(bad[i]), &A, &m, why, sizeof(why)));
    const char nul[] = "MSH|^~\\&|x\0y\r";
    assert_false(hl7_parse(nul, sizeof(nul) - 1, &A, &m, why, sizeof(why)));
    struct buf many;
    buf_init(&many, 1u << 20);
    buf_append_str(&many, "MSH|^~\\&|x\rOBX");
    for (int i = 0; i < HL7_MAX_FIELDS + 1; i++)
        buf_append_str(&many, "|f");
    assert_false(hl7_parse(many.ptr, many.len, &A, &m, why, sizeof(why)));
    assert_non_null(strstr(why, "fields"));
    buf_reset(&many);
    buf_append_str(&many, "MSH|^~\\&|x\r");
    for (int i = 0; i < HL7_MAX_SEGMENTS + 1; i++)
        buf_append_str(&many, "NTE|1\r");
    assert_false(hl7_parse(many.ptr, many.len, &A, &m, why, sizeof(why)));
    assert_non_null(strstr(why, "segments"));
    buf_release(&many);
}

static void times_become_fhir_date_times(void **state)
{
    (void)state;
    const char *tz = "+08:00";
    assert_string_equal(oru_time("2024", tz, &A), "2024");
    assert_string_equal(oru_time("202405", tz, &A), "2024-05");
    assert_string_equal(oru_time("20240501", tz, &A), "2024-05-01");
    assert_string_equal(oru_time("2024050112", tz, &A), "2024-05-01T12:00:00+08:00");
    assert_string_equal(oru_time("202405011230", tz, &A), "2024-05-01T12:30:00+08:00");
    assert_string_equal(oru_time("20240501123045", tz, &A), "2024-05-01T12:30:45+08:00");
    assert_string_equal(oru_time("20240501123045.123-0500", tz, &A),
                        "2024-05-01T12:30:45.123-05:00");
    assert_null(oru_time("2024051", tz, &A));
    assert_null(oru_time("20240501T1230", tz, &A));
    assert_null(oru_time("20240501123045+08", tz, &A));
    assert_null(oru_time("20240501123045.", tz, &A));
    assert_null(oru_time("", tz, &A));
}

#define MSH "MSH|^~\\&|LIS|LAB1||YJ|20240501083000||ORU^R01|C1|P|2.5.1\r"
#define PID "PID|1||MRN1^^^LAB1^MR~410105199001011234^^^CHN^NNCHN||张^三||19900101|F\r"
#define OBR "OBR|1|P1|F1|24323-8^生化常规^LN|||20240501080000|||||||||||||||20240501090000|||F\r"

/* Map one message; the Observation at index i (1 = the first OBX) as JSON text, or NULL. */
static const char *map(const char *text, size_t i, char *why, size_t size, size_t *count)
{
    struct hl7_message m = parse_ok(text);
    struct oru_resource out[ORU_MAX_RESOURCES];
    size_t n = 0;
    if (!oru_map(&m, "Patient/p1", "lab1", "+08:00", &A, out, &n, why, size))
        return NULL;
    if (count)
        *count = n;
    size_t len;
    const char *r = i < n ? arena_printf(&A, "%s", fhir_json_text(out[i].resource, &len)) : NULL;
    for (size_t k = 0; k < n; k++)
        json_object_put(out[k].resource);
    return r;
}

static void numbers_units_ranges_and_flags(void **state)
{
    (void)state;
    char why[300];
    size_t n = 0;
    const char *o = map(MSH PID OBR "OBX|1|NM|2345-7^Glu^LN||+05.60|mmol/L^^UCUM|3.9-6.1|H|||F\r",
                        1, why, sizeof(why), &n);
    assert_non_null(o);
    assert_int_equal(n, 2);
    assert_non_null(strstr(o, "\"valueQuantity\":{\"value\":5.60,\"unit\":\"mmol/L\",\"system\":"
                              "\"http://unitsofmeasure.org\",\"code\":\"mmol/L\"}"));
    assert_non_null(strstr(o, "\"low\":{\"value\":3.9"));
    assert_non_null(strstr(o, "\"high\":{\"value\":6.1"));
    assert_non_null(strstr(o, "\"code\":\"H\""));
    assert_non_null(strstr(o, "\"status\":\"final\""));
    assert_non_null(strstr(o, "\"effectiveDateTime\":\"2024-05-01T08:00:00+08:00\""));
    assert_non_null(strstr(o, "\"issued\":\"2024-05-01T09:00:00+08:00\""));
    o = map(MSH PID OBR "OBX|1|SN|x^y^L||<^0.5||<1||||C\r", 1, why, sizeof(why), NULL);
    assert_non_null(strstr(o, "\"comparator\":\"<\""));
    assert_non_null(strstr(o, "\"status\":\"corrected\""));
    assert_non_null(strstr(o, "\"high\":{\"value\":1"));
    assert_non_null(strstr(o, "local/lab1"));
    o = map(MSH PID OBR "OBX|1|NM|x||5.||||||X\r", 1, why, sizeof(why), NULL);
    assert_non_null(strstr(o, "\"value\":5,") ? o : strstr(o, "\"value\":5}"));
    assert_non_null(strstr(o, "\"status\":\"cancelled\""));
    o = map(MSH PID OBR "OBX|1|TX|x||line one~line two||see text\r", 1, why, sizeof(why), NULL);
    assert_non_null(strstr(o, "\"valueString\":\"line one\\nline two\""));
    assert_non_null(strstr(o, "\"text\":\"see text\""));
    o = map(MSH PID OBR "OBX|1|CE|x||POS^阳性^L\r", 1, why, sizeof(why), NULL);
    assert_non_null(strstr(o, "\"valueCodeableConcept\""));
    static const char *const not_numbers[] = {"5,6", "abc", "1e3", "-", "5.x", "0x10", ""};
    for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), MSH PID OBR "OBX|1|NM|x||%s~1\r", not_numbers[i]);
        assert_null(map(text, 1, why, sizeof(why), NULL));
        assert_non_null(strstr(why, "not a number"));
    }
}

static void required_fields_and_bad_times_are_refused(void **state)
{
    (void)state;
    char why[300];
    assert_null(map(MSH PID "OBX|1|NM|x||1\r", 0, why, sizeof(why), NULL));
    assert_non_null(strstr(why, "OBR"));
    assert_null(map(MSH PID OBR "OBX|1|NM|||1\r", 0, why, sizeof(why), NULL));
    assert_non_null(strstr(why, "OBX-3"));
    assert_null(map(MSH PID "OBR|1|||x^y^LN\r", 0, why, sizeof(why), NULL));
    assert_non_null(strstr(why, "OBR-3"));
    assert_null(map(MSH PID OBR "OBX|1|NM|x||1||||||F|||2024-05-01\r", 0, why, sizeof(why), NULL));
    assert_non_null(strstr(why, "OBX-14"));
    /* two orders, each with its results; ids stable and distinct */
    size_t n = 0;
    const char *two = MSH PID OBR "OBX|1|NM|a||1\rOBX|2|NM|b||2\r"
                                  "OBR|2||F2|x^y^LN\rOBX|1|NM|a||3\r";
    assert_non_null(map(two, 0, why, sizeof(why), &n));
    assert_int_equal(n, 5);
    char id1[44], id2[44];
    oru_id("lab1|F|F1", id1);
    oru_id("lab1|F|F1", id2);
    assert_string_equal(id1, id2);
    oru_id("lab1|F|F2", id2);
    assert_string_not_equal(id1, id2);
    assert_int_equal(strlen(id1), 43);
}

/*
 * Specimens: each SPM of an order (v2.5.1) a Specimen with its type, site,
 * accession id and times, pointed at by the report and its results; before
 * v2.5 OBR-15 (specimen source) and OBR-14 (received); none, none.
 */
static void specimens_from_spm_and_obr_15(void **state)
{
    (void)state;
    char why[300];
    size_t n = 0;
    const char *msg = MSH PID OBR "OBX|1|NM|2345-7^Glu^LN||5.6|mmol/L|||||F\r"
                                  "SPM|1|S123^F-998||SER^血清^HL70487||||LA^左臂^HL70163|||||||||"
                                  "20240501074500|20240501081000\r";
    const char *spec = map(msg, 1, why, sizeof(why), &n);
    assert_non_null(spec);
    assert_int_equal(n, 3); /* the report, the specimen, the result */
    assert_non_null(strstr(spec, "\"resourceType\":\"Specimen\""));
    assert_non_null(
        strstr(spec, "\"accessionIdentifier\":{\"system\":"
                     "\"https://fhir.yujian.org.cn/sid/specimen/lab1\",\"value\":\"F-998\"}"));
    assert_non_null(strstr(spec, "\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0487\","
                                 "\"code\":\"SER\",\"display\":\"血清\""));
    assert_non_null(strstr(spec, "\"receivedTime\":\"2024-05-01T08:10:00+08:00\""));
    assert_non_null(strstr(spec, "\"collectedDateTime\":\"2024-05-01T07:45:00+08:00\""));
    assert_non_null(strstr(spec, "v2-0163"));
    assert_non_null(strstr(spec, "\"subject\":{\"reference\":\"Patient/p1\"}"));
    assert_null(strstr(spec, "performer")); /* a Specimen has none */
    char sid[44];
    oru_id("lab1|F|F1|S|F-998", sid);
    char *ref = arena_printf(&A, "\"specimen\":[{\"reference\":\"Specimen/%s\"}]", sid);
    assert_non_null(strstr(map(msg, 0, why, sizeof(why), NULL), ref));
    ref = arena_printf(&A, "\"specimen\":{\"reference\":\"Specimen/%s\"}", sid);
    assert_non_null(strstr(map(msg, 2, why, sizeof(why), NULL), ref));
    /* v2.3: OBR-15 is the specimen source, OBR-14 when it was received; collected at OBR-7 */
    const char *old = "MSH|^~\\&|LIS|LAB1||YJ|20240501083000||ORU^R01|C2|P|2.3\r" PID
                      "OBR|1|P1|F1|24323-8^生化常规^LN|||20240501080000|||||||20240501083000|"
                      "BLD&全血&HL70070||||||||20240501090000|||F\r"
                      "OBX|1|NM|718-7^Hb^LN||130|g/L|||||F\r";
    spec = map(old, 1, why, sizeof(why), &n);
    assert_non_null(spec);
    assert_int_equal(n, 3);
    assert_non_null(strstr(spec, "v2-0070\",\"code\":\"BLD\",\"display\":\"全血\""));
    assert_non_null(strstr(spec, "\"receivedTime\":\"2024-05-01T08:30:00+08:00\""));
    assert_non_null(strstr(spec, "\"collectedDateTime\":\"2024-05-01T08:00:00+08:00\""));
    assert_null(strstr(spec, "accessionIdentifier"));
    /* the same specimen named twice in an order is one Specimen; another is a second */
    const char *twice = MSH PID OBR "OBX|1|NM|x||1\rSPM|1|^A-1||SER\rSPM|2|^A-1||SER\r"
                                    "SPM|3|^A-2||URN\r";
    const char *dr = map(twice, 0, why, sizeof(why), &n);
    assert_int_equal(n, 4); /* the report, two specimens, the result */
    char a1[44], a2[44];
    oru_id("lab1|F|F1|S|A-1", a1);
    oru_id("lab1|F|F1|S|A-2", a2);
    assert_non_null(strstr(dr, arena_printf(&A,
                                            "\"specimen\":[{\"reference\":\"Specimen/%s\"},"
                                            "{\"reference\":\"Specimen/%s\"}]",
                                            a1, a2)));
    /* OBR-15's fourth component is the body site */
    spec = map("MSH|^~\\&|LIS|LAB1||YJ|20240501083000||ORU^R01|C3|P|2.4\r" PID
               "OBR|1|P1|F1|x^y^LN|||||||||||BLD&全血^^^LA&左臂\rOBX|1|NM|x||1\r",
               1, why, sizeof(why), NULL);
    assert_non_null(strstr(spec, "v2-0163\",\"code\":\"LA\",\"display\":\"左臂\""));
    /* no SPM and no OBR-15: no specimen, and no reference to one */
    const char *none = map(MSH PID OBR "OBX|1|NM|x||1\r", 0, why, sizeof(why), &n);
    assert_int_equal(n, 2);
    assert_null(strstr(none, "specimen"));
    /* a malformed time is refused, and says where */
    assert_null(map(MSH PID OBR "OBX|1|NM|x||1\rSPM|1|||SER|||||||||||||2024-05-01\r", 0, why,
                    sizeof(why), NULL));
    assert_non_null(strstr(why, "SPM-17"));
}

static void patients_by_identifier(void **state)
{
    (void)state;
    struct hl7_message m = parse_ok(MSH PID);
    struct oru_patient p;
    char why[200];
    assert_true(oru_read_patient(&m, "lab1", &A, &p, why, sizeof(why)));
    assert_int_equal(p.nids, 2);
    assert_string_equal(p.ids[0].system, ORU_RESIDENT_ID_SYSTEM); /* the resident id first */
    assert_string_equal(p.ids[0].value, "410105199001011234");
    assert_string_equal(p.ids[1].system, ORU_MRN_SYSTEM "lab1");
    assert_string_equal(p.family, "张");
    assert_string_equal(p.gender, "female");
    assert_string_equal(p.birth_date, "1990-01-01");
    json_object *res = oru_patient_resource(&p, "v2-x", "Organization/lab1");
    size_t len;
    assert_non_null(strstr(fhir_json_text(res, &len), "\"text\":\"张三\""));
    json_object_put(res);
    struct hl7_message none = parse_ok(MSH "PID|1||\r");
    assert_false(oru_read_patient(&none, "lab1", &A, &p, why, sizeof(why)));
    assert_non_null(strstr(why, "PID-3"));
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
        cmocka_unit_test(fields_components_and_repetitions),
        cmocka_unit_test(other_delimiters_and_escapes),
        cmocka_unit_test(not_messages_are_refused),
        cmocka_unit_test(times_become_fhir_date_times),
        cmocka_unit_test(numbers_units_ranges_and_flags),
        cmocka_unit_test(required_fields_and_bad_times_are_refused),
        cmocka_unit_test(specimens_from_spm_and_obr_15),
        cmocka_unit_test(patients_by_identifier),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
