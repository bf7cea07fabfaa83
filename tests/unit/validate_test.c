/*
 * validate_test.c - structural validation against the generated R4 model.
 */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/diag.h"
#include "fhir/json.h"
#include "fhir/model.h"
#include "fhir/validate.h"

struct result {
    struct arena arena; /* owns the issues */
    struct diag d;      /* what validation found */
    bool ok;            /* validation verdict */
};

static void validate_text(const char *text, struct result *r)
{
    arena_init(&r->arena, 4096);
    diag_init(&r->d, &r->arena);
    json_object *obj = NULL;
    assert_int_equal(fhir_json_parse(text, strlen(text), 64, &r->d, &obj), ERR_OK);
    r->ok = fhir_validate_resource(obj, &r->d);
    json_object_put(obj);
}

static bool has_issue(const struct result *r, const char *location, const char *needle)
{
    for (size_t i = 0; i < r->d.count; i++) {
        const struct diag_issue *is = &r->d.issues[i];
        bool loc_ok = location ? is->location && !strcmp(is->location, location) : true;
        if (loc_ok && strstr(is->message, needle))
            return true;
    }
    for (size_t i = 0; i < r->d.count; i++)
        fprintf(stderr, "  issue: %s: %s\n", r->d.issues[i].location ? r->d.issues[i].location : "",
                r->d.issues[i].message);
    return false;
}

static void model_knows_every_r4_resource_type(void **state)
{
    (void)state;
    assert_true(fhir_resource_type_count >= 145);
    assert_true(fhir_resource_type_find(str_from("Patient")) >= 0);
    assert_true(fhir_resource_type_find(str_from("MolecularSequence")) >= 0);
    assert_int_equal(fhir_resource_type_find(str_from("patient")), -1);
    assert_int_equal(fhir_resource_type_find(str_from("DomainResource")), -1);
}

static void valid_patient_passes(void **state)
{
    (void)state;
    struct result r;
    validate_text("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,"
                  "\"name\":[{\"family\":\"王\",\"given\":[\"伟\"]}],\"gender\":\"male\","
                  "\"birthDate\":\"1980-02-29\",\"multipleBirthInteger\":2,"
                  "\"_gender\":{\"extension\":[{\"url\":\"http://x\",\"valueString\":\"a\"}]}}",
                  &r);
    assert_true(r.ok);
    arena_release(&r.arena);
}

static void every_problem_is_reported_with_its_path(void **state)
{
    (void)state;
    struct result r;
    validate_text("{\"resourceType\":\"Patient\",\"foo\":1,\"birthDate\":\"1981-02-29\","
                  "\"name\":[{\"given\":\"x\"}],\"gender\":\"\",\"active\":\"yes\","
                  "\"contact\":[{}]}",
                  &r);
    assert_false(r.ok);
    assert_true(has_issue(&r, "Patient.foo", "unknown element"));
    assert_true(has_issue(&r, "Patient.birthDate", "not a valid date"));
    assert_true(has_issue(&r, "Patient.name[0].given", "must be an array"));
    assert_true(has_issue(&r, "Patient.gender", "empty string"));
    assert_true(has_issue(&r, "Patient.active", "expected a boolean"));
    assert_true(has_issue(&r, "Patient.contact[0]", "empty object"));
    assert_int_equal(r.d.count, 6);
    arena_release(&r.arena);
}

static void required_elements_and_choices(void **state)
{
    (void)state;
    struct result r;
    validate_text("{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"}}", &r);
    assert_true(has_issue(&r, "Observation", "missing required element 'status'"));
    arena_release(&r.arena);
    validate_text(
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
        "\"valueString\":\"a\",\"valueBoolean\":true}",
        &r);
    assert_true(has_issue(&r, NULL, "only one of value[x]"));
    arena_release(&r.arena);
    /* Extension.url is required; a required choice (Observation.component.value[x] is not) */
    validate_text("{\"resourceType\":\"Patient\",\"extension\":[{\"valueString\":\"a\"}]}", &r);
    assert_true(has_issue(&r, "Patient.extension[0]", "missing required element 'url'"));
    arena_release(&r.arena);
}

static void cardinality_of_single_elements(void **state)
{
    (void)state;
    struct result r;
    validate_text("{\"resourceType\":\"Patient\",\"gender\":[\"male\"]}", &r);
    assert_true(has_issue(&r, "Patient.gender", "not repeatable"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Patient\",\"name\":[]}", &r);
    assert_true(has_issue(&r, "Patient.name", "empty array"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Patient\",\"name\":[null]}", &r);
    assert_true(has_issue(&r, "Patient.name[0]", "null"));
    arena_release(&r.arena);
}

static void contained_resources_are_validated(void **state)
{
    (void)state;
    struct result r;
    validate_text("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\","
                  "\"id\":\"o1\",\"name\":\"x\",\"bogus\":true},{\"resourceType\":\"Nope\"}]}",
                  &r);
    assert_true(has_issue(&r, NULL, "unknown element 'bogus' in Organization"));
    assert_true(has_issue(&r, "Patient.contained[1]", "unknown resource type 'Nope'"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Patient\","
                  "\"id\":\"c\",\"meta\":{\"versionId\":\"1\"},\"contained\":[{\"resourceType\":"
                  "\"Patient\",\"id\":\"d\"}]}]}",
                  &r);
    assert_true(has_issue(&r, "Patient.contained[0]", "dom-2"));
    assert_true(has_issue(&r, "Patient.contained[0]", "dom-4"));
    arena_release(&r.arena);
    /* a Bundle entry is not contained: it may carry meta.versionId */
    validate_text("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":"
                  "{\"resourceType\":\"Patient\",\"meta\":{\"versionId\":\"3\"}}}]}",
                  &r);
    assert_true(r.ok);
    arena_release(&r.arena);
}

static void primitive_arrays_align_with_their_extensions(void **state)
{
    (void)state;
    struct result r;
    validate_text(
        "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"a\",null],"
        "\"_given\":[null,{\"extension\":[{\"url\":\"http://x\",\"valueCode\":\"b\"}]}]}]}",
        &r);
    assert_true(r.ok);
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"a\",null]}]}", &r);
    assert_true(has_issue(&r, "Patient.name[0].given[1]", "null"));
    arena_release(&r.arena);
}

static void extension_has_value_or_extensions_not_both(void **state)
{
    (void)state;
    struct result r;
    validate_text("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\","
                  "\"valueString\":\"a\",\"extension\":[{\"url\":\"y\",\"valueBoolean\":true}]}]}",
                  &r);
    assert_true(has_issue(&r, "Patient.extension[0]", "ext-1"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\","
                  "\"extension\":[{\"url\":\"y\",\"valueBoolean\":true}]}]}",
                  &r);
    assert_true(r.ok);
    arena_release(&r.arena);
}

static void decimal_and_integer_rules(void **state)
{
    (void)state;
    struct result r;
    validate_text(
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
        "\"valueQuantity\":{\"value\":6.0},\"valueInteger\":1}",
        &r);
    assert_true(has_issue(&r, NULL, "only one of value[x]"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":1.5}", &r);
    assert_true(has_issue(&r, "Patient.multipleBirthInteger", "expected an integer"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":3000000000}", &r);
    assert_true(has_issue(&r, "Patient.multipleBirthInteger", "out of range"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Substance\",\"instance\":[{\"quantity\":"
                  "{\"value\":123456789012345678901234567}}]}",
                  &r);
    assert_true(has_issue(&r, NULL, "too large to store exactly"));
    arena_release(&r.arena);
}

static void primitive_formats(void **state)
{
    (void)state;
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_DATE, "2024", 4));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_DATE, "2024-02-29", 10));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_DATE, "2023-02-29", 10));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_DATE, "2024-13", 7));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_DATETIME, "2024-05-01T08:00:00+08:00", 25));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_DATETIME, "2024-05-01T08:00:00", 19));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_INSTANT, "2024-05-01T08:00:00.123Z", 24));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_INSTANT, "2024-05-01", 10));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_TIME, "23:59:59.5", 10));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_TIME, "24:00:00", 8));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_ID, "a-B.9", 5));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_ID, "a_b", 3));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_CODE, "a b", 3));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_CODE, "a  b", 4));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_CODE, " a", 2));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_OID, "urn:oid:1.2.156", 15));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_OID, "urn:oid:1.02", 12));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_UUID,
                                             "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", 45));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_UUID,
                                              "urn:uuid:C757873D-ec9a-4326-a141-556f43239520", 45));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_URI, "a b", 3));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_BASE64, "aGVsbG8=", 8));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_BASE64, "aGVsbG8", 7));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_STRING, "a\x01", 2));
    assert_false(fhir_primitive_text_is_valid(FHIR_PRIM_STRING, "a\0b", 3));
    assert_true(fhir_primitive_text_is_valid(FHIR_PRIM_STRING, "多行\n文本", 13));
}

static void resource_type_problems(void **state)
{
    (void)state;
    struct result r;
    validate_text("{\"id\":\"x\"}", &r);
    assert_true(has_issue(&r, NULL, "missing 'resourceType'"));
    arena_release(&r.arena);
    validate_text("[1,2]", &r);
    assert_true(has_issue(&r, NULL, "expected a resource object"));
    arena_release(&r.arena);
    validate_text("{\"resourceType\":\"Resource\"}", &r);
    assert_true(has_issue(&r, NULL, "unknown resource type 'Resource'"));
    arena_release(&r.arena);
}

static void json_parser_limits(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024);
    struct diag d;
    diag_init(&d, &a);
    json_object *obj = NULL;
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(fhir_json_parse(deep, 200, 64, &d, &obj), ERR_TOO_LARGE);
    assert_int_equal(fhir_json_parse("{\"a\":1} x", 9, 64, &d, &obj), ERR_STRUCTURE);
    assert_int_equal(fhir_json_parse("{\"a\":\"\xff\"}", 9, 64, &d, &obj), ERR_STRUCTURE);
    assert_int_equal(fhir_json_parse("{\"a\":", 5, 64, &d, &obj), ERR_STRUCTURE);
    assert_int_equal(fhir_json_parse("", 0, 64, &d, &obj), ERR_STRUCTURE);
    assert_int_equal(fhir_json_parse("{\"a\":1.50}", 10, 64, &d, &obj), ERR_OK);
    size_t len;
    assert_string_equal(fhir_json_text(obj, &len), "{\"a\":1.50}");
    json_object_put(obj);
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_knows_every_r4_resource_type),
        cmocka_unit_test(valid_patient_passes),
        cmocka_unit_test(every_problem_is_reported_with_its_path),
        cmocka_unit_test(required_elements_and_choices),
        cmocka_unit_test(cardinality_of_single_elements),
        cmocka_unit_test(contained_resources_are_validated),
        cmocka_unit_test(primitive_arrays_align_with_their_extensions),
        cmocka_unit_test(extension_has_value_or_extensions_not_both),
        cmocka_unit_test(decimal_and_integer_rules),
        cmocka_unit_test(primitive_formats),
        cmocka_unit_test(resource_type_problems),
        cmocka_unit_test(json_parser_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
