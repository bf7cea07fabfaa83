/*
 * fhirpath_test.c - the FHIRPath subset: every R4 search expression
 * compiles, and evaluation of each construct on small resources.
 */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "fhir/model.h"
#include "fhir/search_params.h"

/* Evaluate expr on json; the results as a "|"-joined text of values ("T"/"F" for booleans). */
static void eval_text(const char *expr, const char *json, char *out, size_t size)
{
    struct fhirpath *fp = NULL;
    char why[160];
    assert_int_equal(fhirpath_compile(expr, &fp, why, sizeof(why)), ERR_OK);
    json_object *obj = json_tokener_parse(json);
    assert_non_null(obj);
    struct fhirpath_result r;
    fhirpath_result_init(&r);
    fhirpath_eval(fp, obj, &r);
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r.count; i++) {
        const struct fhirpath_item *it = &r.items[i];
        const char *v =
            it->ref_type ? it->ref_type
            : it->value  ? json_object_to_json_string_ext(
                               it->value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
            : it->boolean ? "T"
                          : "F";
        n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "|" : "", v);
    }
    fhirpath_result_release(&r);
    json_object_put(obj);
    fhirpath_free(fp);
}

static void every_r4_search_expression_compiles(void **state)
{
    (void)state;
    size_t compiled = 0;
    for (size_t i = 0; i < fhir_search_param_count; i++) {
        const struct fhir_search_param *p = &fhir_search_params[i];
        if (!*p->expression)
            continue;
        struct fhirpath *fp = NULL;
        char why[160];
        enum err err = fhirpath_compile(p->expression, &fp, why, sizeof(why));
        if (err)
            fprintf(stderr, "%s.%s: %s\n", p->base, p->code, why);
        assert_int_equal(err, ERR_OK);
        fhirpath_free(fp);
        compiled++;
    }
    assert_true(compiled > 1500);
}

static void paths_choices_and_unions(void **state)
{
    (void)state;
    char out[512];
    const char *obs = "{\"resourceType\":\"Observation\",\"status\":\"final\","
                      "\"code\":{\"coding\":[{\"code\":\"a\"},{\"code\":\"b\"}]},"
                      "\"valueQuantity\":{\"value\":5.60}}";
    eval_text("Observation.code.coding.code", obs, out, sizeof(out));
    assert_string_equal(out, "\"a\"|\"b\"");
    eval_text("Observation.value", obs, out, sizeof(out));
    assert_string_equal(out, "{\"value\":5.60}");
    eval_text("(Observation.value as Quantity).value", obs, out, sizeof(out));
    assert_string_equal(out, "5.60");
    eval_text("Observation.value.as(CodeableConcept)", obs, out, sizeof(out));
    assert_string_equal(out, "");
    eval_text("Observation.status | Observation.code.coding[1].code", obs, out, sizeof(out));
    assert_string_equal(out, "\"final\"|\"b\"");
    eval_text("Patient.name", obs, out, sizeof(out));
    assert_string_equal(out, "");
    eval_text("Resource.status", obs, out, sizeof(out));
    assert_string_equal(out, "\"final\"");
    eval_text("DomainResource.status | String.status | System.String.status", obs, out,
              sizeof(out));
    assert_string_equal(out, "\"final\"");
}

static void where_resolve_and_literals(void **state)
{
    (void)state;
    char out[512];
    const char *p = "{\"resourceType\":\"Account\",\"subject\":[{\"reference\":\"Patient/1\"},"
                    "{\"reference\":\"http://x/fhir/Device/2/_history/3\"}],"
                    "\"identifier\":[{\"system\":\"s1\",\"value\":\"v1\"},{\"system\":\"s2\","
                    "\"value\":\"v2\"}]}";
    eval_text("Account.subject.where(resolve() is Patient).reference", p, out, sizeof(out));
    assert_string_equal(out, "\"Patient/1\"");
    eval_text("Account.subject.where(resolve() is Device).reference", p, out, sizeof(out));
    assert_string_equal(out, "\"http://x/fhir/Device/2/_history/3\"");
    eval_text("Account.identifier.where(system='s2').value", p, out, sizeof(out));
    assert_string_equal(out, "\"v2\"");
}

static void extensions_exists_and_booleans(void **state)
{
    (void)state;
    char out[512];
    const char *p = "{\"resourceType\":\"Patient\",\"deceasedBoolean\":false,\"extension\":["
                    "{\"url\":\"u1\",\"valueString\":\"x\"},{\"url\":\"u2\",\"valueCode\":\"y\"}]}";
    eval_text("Patient.extension('u2').value", p, out, sizeof(out));
    assert_string_equal(out, "\"y\"");
    eval_text("Patient.deceased.exists() and Patient.deceased != false", p, out, sizeof(out));
    assert_string_equal(out, "F");
    eval_text("Patient.hasExtension('u1')", p, out, sizeof(out));
    assert_string_equal(out, "T");
    eval_text("Patient.deceased is boolean", p, out, sizeof(out));
    assert_string_equal(out, "T");
}

/* The implicit code system of the first result of expr on json, or "-" when none. */
static const char *system_of(const char *expr, const char *json)
{
    struct fhirpath *fp = NULL;
    char why[160];
    assert_int_equal(fhirpath_compile(expr, &fp, why, sizeof(why)), ERR_OK);
    json_object *obj = json_tokener_parse(json);
    struct fhirpath_result r;
    fhirpath_result_init(&r);
    fhirpath_eval(fp, obj, &r);
    const char *system = r.count && r.items[0].system ? r.items[0].system : "-";
    fhirpath_result_release(&r);
    json_object_put(obj);
    fhirpath_free(fp);
    return system; /* static data of the model */
}

static void bound_codes_carry_their_code_system(void **state)
{
    (void)state;
    const char *pat = "{\"resourceType\":\"Patient\",\"gender\":\"male\"}";
    assert_string_equal(system_of("Patient.gender", pat),
                        "http://hl7.org/fhir/administrative-gender");
    /* kept through unions and indexers, and found after where() */
    assert_string_equal(system_of("Patient.gender | Person.gender", pat),
                        "http://hl7.org/fhir/administrative-gender");
    assert_string_equal(system_of("Patient.where(gender = 'male').gender", pat),
                        "http://hl7.org/fhir/administrative-gender");
    assert_string_equal(system_of("Patient.gender[0]", pat),
                        "http://hl7.org/fhir/administrative-gender");
    /* a code without a required binding to one system has none */
    const char *obs = "{\"resourceType\":\"Observation\",\"status\":\"final\","
                      "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"code\":\"mg\"}}";
    assert_string_equal(system_of("Observation.status", obs),
                        "http://hl7.org/fhir/observation-status");
    assert_string_equal(system_of("Observation.value.as(Quantity).code", obs), "-");
}

static void syntax_errors_are_reported(void **state)
{
    (void)state;
    struct fhirpath *fp = NULL;
    char why[160];
    assert_int_equal(fhirpath_compile("Patient.name.where(", &fp, why, sizeof(why)), ERR_INVALID);
    assert_non_null(strstr(why, "expected"));
    assert_int_equal(fhirpath_compile("Patient.name[x]", &fp, why, sizeof(why)), ERR_INVALID);
    assert_int_equal(fhirpath_compile("'open", &fp, why, sizeof(why)), ERR_INVALID);
    assert_int_equal(fhirpath_compile("Patient.name )", &fp, why, sizeof(why)), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_r4_search_expression_compiles),
        cmocka_unit_test(paths_choices_and_unions),
        cmocka_unit_test(where_resolve_and_literals),
        cmocka_unit_test(extensions_exists_and_booleans),
        cmocka_unit_test(bound_codes_carry_their_code_system),
        cmocka_unit_test(syntax_errors_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
