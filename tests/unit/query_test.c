/*
 * query_test.c - search parameters into store predicates (query.c): each
 * type, prefix and modifier, chains, _has, the result parameters, and the
 * strict parsing of conditional criteria.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/config.h"
#include "fhir/access.h"
#include "fhir/query.h"

struct fixture {
    struct arena arena;
    struct config cfg;
    struct fhir_query q;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->arena, 64 * 1024);
    config_init(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_release(&f->arena);
    config_release(&f->cfg);
    free(f);
    return 0;
}

static struct fhir_query *query(void **state, const char *type)
{
    struct fixture *f = *state;
    fhir_query_init(&f->q, &f->arena, &f->cfg, type);
    return &f->q;
}

static void tokens(void **state)
{
    struct fhir_query *q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "identifier", "urn:sys|123"), FHIR_QUERY_OK);
    const struct store_predicate *p = &q->clauses[0].preds[0];
    assert_int_equal(p->kind, STORE_IDX_TOKEN);
    assert_string_equal(p->param, "Patient.identifier");
    assert_string_equal(p->text1, "urn:sys");
    assert_string_equal(p->text2, "123");
    assert_int_equal(fhir_query_add(q, "gender:not", "male,female"), FHIR_QUERY_OK);
    assert_int_equal(q->clauses[1].count, 2);
    assert_true(q->clauses[1].preds[1].negate);
    assert_int_equal(fhir_query_add(q, "identifier", "|abc"), FHIR_QUERY_OK);
    assert_null(q->clauses[2].preds[0].text1);
    assert_non_null(q->clauses[2].preds[0].text3); /* no system */
    assert_int_equal(fhir_query_add(q, "identifier", "|"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "gender:text", "Fe"), FHIR_QUERY_OK);
    assert_int_equal(q->clauses[3].preds[0].kind, STORE_IDX_STRING);
    assert_string_equal(q->clauses[3].preds[0].param, "Patient.gender:text");
    assert_string_equal(q->clauses[3].preds[0].text1, "fe");
    /* without a terminology (q->codes), :in and friends are refused, not ignored */
    assert_int_equal(fhir_query_add(q, "gender:in", "http://x"), FHIR_QUERY_UNSUPPORTED);
    assert_non_null(strstr(q->why, "not available"));
    assert_int_equal(fhir_query_add(q, "gender:frob", "x"), FHIR_QUERY_UNSUPPORTED);
    assert_non_null(strstr(q->why, "not a token modifier"));
}

/* An escaped part reads back as itself: one value, one system, one code. */
static void escaped_values_read_back(void **state)
{
    struct fhir_query *q = query(state, "Patient");
    struct buf v;
    buf_init(&v, 1024);
    fhir_query_escape(&v, "urn:a,b");
    buf_append_str(&v, "|");
    fhir_query_escape(&v, "x,y$z\\w|v");
    assert_string_equal(v.ptr, "urn:a\\,b|x\\,y\\$z\\\\w\\|v");
    assert_int_equal(fhir_query_add(q, "identifier", v.ptr), FHIR_QUERY_OK);
    assert_int_equal(q->clauses[0].count, 1);
    assert_string_equal(q->clauses[0].preds[0].text1, "urn:a,b");
    assert_string_equal(q->clauses[0].preds[0].text2, "x,y$z\\w|v");
    buf_release(&v);
}

/* An escaped '|' is part of a system, code or text, in every kind that splits at '|'. */
static void escaped_bars_do_not_separate(void **state)
{
    static const struct {
        const char *param, *value; /* searched */
        const char *text1, *text2; /* read back (NULL: none) */
    } cases[] = {
        {"identifier", "x\\|y", NULL, "x|y"}, /* a code with a bar, any system */
        {"identifier", "a\\|b|c", "a|b", "c"},
        {"value-quantity", "5.4|urn:a\\|b|m\\|g", "urn:a|b", "m|g"},
        {"identifier:of-type", "s\\|1|c|v\\|2", "s|1|c", "v|2"},
        {"code-value-concept", "a$x\\|y", NULL, "x|y"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fhir_query *q = query(state, "Observation");
        assert_int_equal(fhir_query_add(q, cases[i].param, cases[i].value), FHIR_QUERY_OK);
        const struct store_predicate *p = &q->clauses[0].preds[0];
        if (cases[i].text1)
            assert_string_equal(p->text1, cases[i].text1);
        else
            assert_null(p->text1);
        assert_string_equal(p->text2, cases[i].text2);
    }
    struct fhir_query *q = query(state, "Observation");
    assert_int_equal(fhir_query_add(q, "identifier", "x\\|y"), FHIR_QUERY_OK);
    assert_null(q->clauses[0].preds[0].text3); /* any system, not "no system" */
    assert_int_equal(fhir_query_add(q, "code-value-concept", "a$x\\|y"), FHIR_QUERY_OK);
    assert_string_equal(q->clauses[1].preds[0].param, "Observation.code-value-concept$a");
    assert_int_equal(fhir_query_add(q, "value-quantity", "5.4|urn:a\\|b|mg"), FHIR_QUERY_OK);
    assert_true(q->clauses[2].preds[0].number_low < 5.4 &&
                q->clauses[2].preds[0].number_high > 5.4);
    /* other kinds read the value with every escape undone, once */
    q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "family", "A\\|b\\\\c\\$"), FHIR_QUERY_OK);
    assert_string_equal(q->clauses[0].preds[0].text1, "a|b\\c$");
    assert_int_equal(fhir_query_add(q, "_id", "p\\-1"), FHIR_QUERY_OK);
    assert_string_equal(q->clauses[1].preds[0].text2, "p\\-1"); /* not an escape: kept */
}

static void composites(void **state)
{
    struct fhir_query *q = query(state, "Observation");
    assert_int_equal(
        fhir_query_add(q, "code-value-quantity", "http://loinc.org|2345-7$gt6,718-7$lt5"),
        FHIR_QUERY_OK);
    const struct store_clause *cl = &q->clauses[0];
    assert_int_equal(cl->count, 2);
    assert_int_equal(cl->preds[0].kind, STORE_IDX_QUANTITY);
    assert_string_equal(cl->preds[0].param,
                        "Observation.code-value-quantity$http://loinc.org|2345-7");
    assert_int_equal(cl->preds[0].op, STORE_OP_GT);
    assert_true(cl->preds[0].number_low == 6);
    assert_string_equal(cl->preds[1].param, "Observation.code-value-quantity$718-7");
    assert_int_equal(cl->preds[1].op, STORE_OP_LT);
    /* an escaped '$' or ',' stays in its part */
    assert_int_equal(fhir_query_add(q, "code-value-concept", "a\\$b$c\\,d"), FHIR_QUERY_OK);
    cl = &q->clauses[1];
    assert_int_equal(cl->count, 1);
    assert_string_equal(cl->preds[0].param, "Observation.code-value-concept$a$b");
    assert_int_equal(cl->preds[0].kind, STORE_IDX_TOKEN);
    assert_string_equal(cl->preds[0].text2, "c,d");
    assert_int_equal(fhir_query_add(q, "code-value-quantity", "2345-7"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "code-value-quantity", "2345-7$1$2"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "code-value-quantity", "http://loinc.org|$1"),
                     FHIR_QUERY_UNSUPPORTED);
    assert_int_equal(fhir_query_add(q, "code-value-quantity:missing", "true"),
                     FHIR_QUERY_UNSUPPORTED);
    assert_int_equal(q->nclauses, 2);
}

static void identifier_modifiers(void **state)
{
    struct fhir_query *q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "identifier:of-type", "http://t|MR|123"), FHIR_QUERY_OK);
    assert_string_equal(q->clauses[0].preds[0].param, "Patient.identifier:of-type");
    assert_string_equal(q->clauses[0].preds[0].text1, "http://t|MR");
    assert_string_equal(q->clauses[0].preds[0].text2, "123");
    assert_int_equal(fhir_query_add(q, "identifier:of-type", "MR|123"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "general-practitioner:identifier", "urn:x|9"),
                     FHIR_QUERY_OK);
    assert_string_equal(q->clauses[1].preds[0].param, "Patient.general-practitioner:identifier");
    assert_int_equal(q->clauses[1].preds[0].kind, STORE_IDX_TOKEN);
    assert_string_equal(q->clauses[1].preds[0].text1, "urn:x");
}

static void uri_above(void **state)
{
    struct fhir_query *q = query(state, "ValueSet");
    assert_int_equal(fhir_query_add(q, "url:above", "http://a.org/fhir/ValueSet/1/_history/2"),
                     FHIR_QUERY_OK);
    const struct store_clause *cl = &q->clauses[0];
    const char *want[] = {"http://a.org/fhir/ValueSet/1/_history/2",
                          "http://a.org/fhir/ValueSet/1/_history",
                          "http://a.org/fhir/ValueSet/1",
                          "http://a.org/fhir/ValueSet",
                          "http://a.org/fhir",
                          "http://a.org"};
    assert_int_equal(cl->count, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(cl->preds[i].text1, want[i]);
        assert_int_equal(cl->preds[i].op, STORE_OP_EQ);
    }
}

/* A stand-in terminology: each code's expansion is the code and "<code>-child". */
static enum fhir_query_result two_codes(void *ctx, struct fhir_query *q, const char *modifier,
                                        const char *value, struct fhir_code **out, size_t *n)
{
    (void)ctx;
    (void)modifier;
    struct fhir_code *c = arena_alloc(q->arena, 2 * sizeof(*c));
    c[0].system = "urn:s";
    c[0].code = value;
    c[1].system = NULL;
    c[1].code = arena_printf(q->arena, "%s-child", value);
    *out = c;
    *n = 2;
    return FHIR_QUERY_OK;
}

static void terminology_modifiers(void **state)
{
    struct fhir_query *q = query(state, "Observation");
    q->codes = two_codes;
    assert_int_equal(fhir_query_add(q, "code:below", "x"), FHIR_QUERY_OK);
    const struct store_clause *cl = &q->clauses[0];
    assert_int_equal(cl->count, 2); /* OR of the expansion */
    assert_string_equal(cl->preds[0].text1, "urn:s");
    assert_string_equal(cl->preds[1].text2, "x-child");
    assert_non_null(cl->preds[1].text3); /* a code without a system matches only that */
    assert_false(cl->preds[0].negate);
    assert_int_equal(fhir_query_add(q, "code:not-in", "v"), FHIR_QUERY_OK);
    /* not-in: none of the codes, so one negated clause per code (AND) */
    assert_int_equal(q->nclauses, 3);
    assert_true(q->clauses[1].preds[0].negate);
    assert_true(q->clauses[2].preds[0].negate);
    assert_string_equal(q->clauses[2].preds[0].text2, "v-child");
}

static void escaping_and_or(void **state)
{
    struct fhir_query *q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "family", "a\\,b,c"), FHIR_QUERY_OK);
    assert_int_equal(q->clauses[0].count, 2);
    assert_string_equal(q->clauses[0].preds[0].text1, "a,b");
    assert_int_equal(fhir_query_add(q, "family", "x,,y"), FHIR_QUERY_INVALID);
}

static void dates_and_prefixes(void **state)
{
    struct fhir_query *q = query(state, "Observation");
    assert_int_equal(fhir_query_add(q, "date", "ge2024-03"), FHIR_QUERY_OK);
    const struct store_predicate *p = &q->clauses[0].preds[0];
    assert_int_equal(p->op, STORE_OP_GE);
    assert_true(p->low < p->high); /* the month is a range */
    assert_int_equal(fhir_query_add(q, "date", "2024-02-30"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "date", "ap2024-01-01"), FHIR_QUERY_OK);
    const struct store_predicate *ap = &q->clauses[1].preds[0];
    assert_int_equal(ap->op, STORE_OP_EQ);
    assert_true(ap->high - ap->low > 86400000LL); /* widened beyond the day itself */
    assert_int_equal(fhir_query_add(q, "value-quantity", "sa5"), FHIR_QUERY_INVALID);
}

static void numbers_keep_their_precision(void **state)
{
    struct fhir_query *q = query(state, "Observation");
    assert_int_equal(fhir_query_add(q, "value-quantity", "1.50|http://unitsofmeasure.org|mg"),
                     FHIR_QUERY_OK);
    const struct store_predicate *p = &q->clauses[0].preds[0];
    assert_true(p->number_low > 1.494 && p->number_low < 1.4951);
    assert_true(p->number_high > 1.5049 && p->number_high < 1.506);
    assert_string_equal(p->text1, "http://unitsofmeasure.org");
    assert_string_equal(p->text2, "mg");
    assert_int_equal(fhir_query_add(q, "value-quantity", "ap100"), FHIR_QUERY_OK);
    p = &q->clauses[1].preds[0];
    assert_true(p->number_low <= 90.0 && p->number_high >= 110.0);
}

static void references_and_chains(void **state)
{
    struct fhir_query *q = query(state, "Observation");
    assert_int_equal(fhir_query_add(q, "subject", "http://x/fhir/Patient/p1"), FHIR_QUERY_OK);
    assert_string_equal(q->clauses[0].preds[0].text1, "Patient/p1");
    assert_int_equal(fhir_query_add(q, "patient", "p2"), FHIR_QUERY_OK);
    assert_string_equal(q->clauses[1].preds[0].text1, "Patient/p2");
    assert_int_equal(fhir_query_add(q, "subject:Patient.name", "wang"), FHIR_QUERY_OK);
    const struct store_predicate *chain = &q->clauses[2].preds[0];
    assert_non_null(chain->sub);
    assert_string_equal(chain->sub->type, "Patient");
    assert_string_equal(chain->sub->clauses[0].preds[0].param, "Patient.name");
    /* two levels, then too deep */
    assert_int_equal(fhir_query_add(q, "subject:Patient.organization.name", "x"), FHIR_QUERY_OK);
    assert_int_equal(
        fhir_query_add(q, "subject:Patient.organization:Organization.partof:Organization.name",
                       "x"),
        FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "code.name", "x"), FHIR_QUERY_INVALID);
}

static void has(void **state)
{
    struct fhir_query *q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "_has:Observation:patient:code", "1234-5"), FHIR_QUERY_OK);
    const struct store_predicate *p = &q->clauses[0].preds[0];
    assert_int_equal(p->kind, STORE_PRED_HAS);
    assert_string_equal(p->param, "Observation.patient");
    assert_string_equal(p->sub->type, "Observation");
    assert_int_equal(fhir_query_add(q, "_has:Observation:code:code", "x"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "_has:Observation", "x"), FHIR_QUERY_INVALID);
}

static void result_parameters(void **state)
{
    struct fhir_query *q = query(state, "Observation");
    assert_int_equal(fhir_query_add(q, "_sort", "-date,code,_id"), FHIR_QUERY_OK);
    assert_int_equal(q->nsort, 3);
    assert_true(q->sort[0].desc);
    assert_string_equal(q->sort[0].param, "Observation.date");
    assert_int_equal(q->sort[2].kind, STORE_PRED_RESOURCE);
    assert_int_equal(fhir_query_add(q, "_include:iterate", "Observation:subject:Patient"),
                     FHIR_QUERY_OK);
    assert_true(q->includes[0].iterate);
    assert_string_equal(q->includes[0].param, "Observation.subject");
    assert_string_equal(q->includes[0].target_type, "Patient");
    assert_int_equal(fhir_query_add(q, "_include", "Observation:status"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "_summary", "text"), FHIR_QUERY_OK);
    assert_int_equal(q->summary, FHIR_SUMMARY_TEXT);
    assert_int_equal(fhir_query_add(q, "_elements", "Observation.code,status"), FHIR_QUERY_OK);
    assert_string_equal(q->elements[0], "code");
    assert_int_equal(fhir_query_add(q, "_count", "100000"), FHIR_QUERY_OK);
    assert_int_equal(q->count, 1000); /* capped at fhir.max_count */
    assert_int_equal(fhir_query_add(q, "_count", "-1"), FHIR_QUERY_INVALID);
    assert_int_equal(fhir_query_add(q, "_total", "sometimes"), FHIR_QUERY_INVALID);
}

static void unknown_parameters(void **state)
{
    struct fhir_query *q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "frobnicate", "1"), FHIR_QUERY_UNSUPPORTED);
    assert_int_equal(q->nclauses, 0);
    assert_int_equal(fhir_query_add(q, "_contained", "true"), FHIR_QUERY_UNSUPPORTED);
}

static void conditions_are_strict(void **state)
{
    struct fhir_query *q = query(state, "Patient");
    assert_true(fhir_query_parse_condition(q, "identifier=urn%3Asys%7C42&active=true"));
    assert_int_equal(q->nclauses, 2);
    assert_string_equal(q->clauses[0].preds[0].text1, "urn:sys");
    q = query(state, "Patient");
    assert_false(fhir_query_parse_condition(q, "identifier=x&nonsense=1"));
    q = query(state, "Patient");
    assert_false(fhir_query_parse_condition(q, "_count=1"));
    q = query(state, "Patient");
    assert_false(fhir_query_parse_condition(q, ""));
}

/* access.c: the clause each reach adds, and which types are closed to it. */
static void access_clauses(void **state)
{
    struct fixture *f = *state;
    struct fhir_reach org = {.kind = FHIR_REACH_ORG, .org = "Organization/h1"};
    struct fhir_query *q = query(state, "Observation");
    assert_int_equal(fhir_query_add(q, "code", "x"), FHIR_QUERY_OK);
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_READ, 0));
    assert_int_equal(q->nclauses, 2);
    const struct store_clause *cl = &q->clauses[1];
    /* held by h1, or the subject/performer is a shared patient (a chain) */
    assert_string_equal(cl->preds[0].param, "Observation._tag");
    assert_string_equal(cl->preds[0].text2, "Organization/h1");
    assert_true(cl->count >= 3);
    for (size_t i = 1; i < cl->count; i++) {
        assert_int_equal(cl->preds[i].kind, STORE_IDX_REFERENCE);
        assert_non_null(cl->preds[i].sub);
        assert_string_equal(cl->preds[i].sub->type, "Patient");
    }
    /* writes: only what h1 holds */
    q = query(state, "Observation");
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_WRITE, 0));
    assert_int_equal(q->clauses[0].count, 1);
    /* nested criteria (chains, _has): only what h1 holds */
    q = query(state, "Observation");
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_NESTED, 0));
    assert_int_equal(q->clauses[0].count, 1);
    /* an identifier lookup with anything else is not a lookup */
    q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "identifier", "urn:id|410102"), FHIR_QUERY_OK);
    assert_int_equal(fhir_query_add(q, "name", "x"), FHIR_QUERY_OK);
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_READ, 0));
    assert_int_equal(q->nclauses, 3);
    /* directory data is open to reads, not to writes */
    q = query(state, "Organization");
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_READ, 0));
    assert_int_equal(q->nclauses, 0);
    q = query(state, "Organization");
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_WRITE, 0));
    assert_int_equal(q->nclauses, 1);
    /* an exact identifier finds a Patient; a bare value does not */
    q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "identifier", "urn:id|410102"), FHIR_QUERY_OK);
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_READ, 0));
    assert_int_equal(q->nclauses, 1);
    q = query(state, "Patient");
    assert_int_equal(fhir_query_add(q, "identifier", "410102"), FHIR_QUERY_OK);
    assert_true(fhir_access_confine(q, &org, FHIR_ACCESS_READ, 0));
    assert_int_equal(q->nclauses, 2);
    /* residents: their compartments; other types closed; break-glass opens reads */
    struct fhir_reach res = {
        .kind = FHIR_REACH_PATIENTS, .patients = {"Patient/a", "Patient/b"}, .npatients = 2};
    q = query(state, "Device");
    assert_false(fhir_access_confine(q, &res, FHIR_ACCESS_READ, 0));
    q = query(state, "Observation");
    assert_true(fhir_access_confine(q, &res, FHIR_ACCESS_READ, 0));
    for (size_t i = 0; i < q->clauses[0].count; i++)
        assert_true(!strcmp(q->clauses[0].preds[i].text1, "Patient/a") ||
                    !strcmp(q->clauses[0].preds[i].text1, "Patient/b"));
    struct fhir_reach reg = {.kind = FHIR_REACH_REGION, .org = "Organization/hc-410100"};
    q = query(state, "Observation");
    assert_false(fhir_access_confine(q, &reg, FHIR_ACCESS_READ, 0));
    q = query(state, "MeasureReport");
    assert_true(fhir_access_confine(q, &reg, FHIR_ACCESS_READ, 0));
    assert_int_equal(q->clauses[0].count, 4); /* the org itself and three levels beneath */
    reg.break_glass = true;
    q = query(state, "Observation");
    assert_true(fhir_access_confine(q, &reg, FHIR_ACCESS_READ, 0));
    assert_int_equal(q->nclauses, 0);
    assert_false(fhir_access_confine(query(state, "Observation"), &reg, FHIR_ACCESS_WRITE, 0));
    (void)f;
}

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

/* access.c: new content stamped with the custodian, or refused. */
static void access_admission(void **state)
{
    struct fixture *f = *state;
    char why[300];
    struct fhir_reach org = {.kind = FHIR_REACH_ORG, .org = "Organization/h1"};
    json_object *obs = parse(
        "{\"resourceType\":\"Observation\",\"meta\":{\"tag\":[{\"system\":\"" FHIR_CUSTODIAN_SYSTEM
        "\",\"code\":\"Organization/h2\"},{\"code\":\"keep\"}]},\"status\":\"final\","
        "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/b\"}}");
    assert_int_equal(
        fhir_access_admit(NULL, &org, "Observation", "o1", obs, false, &f->arena, why, sizeof(why)),
        ERR_OK);
    assert_string_equal(fhir_access_custodian(obs), "Organization/h1");
    json_object *meta = json_object_object_get(obs, "meta");
    assert_int_equal(json_object_array_length(json_object_object_get(meta, "tag")), 2);
    struct fhir_reach none = {.kind = FHIR_REACH_ORG, .org = "Organization/-"};
    assert_int_equal(fhir_access_admit(NULL, &none, "Observation", "o1", obs, false, &f->arena, why,
                                       sizeof(why)),
                     ERR_FORBIDDEN);
    struct fhir_reach res = {
        .kind = FHIR_REACH_PATIENTS, .patients = {"Patient/a"}, .npatients = 1};
    assert_int_equal(
        fhir_access_admit(NULL, &res, "Observation", "o1", obs, false, &f->arena, why, sizeof(why)),
        ERR_FORBIDDEN);
    res.patients[1] = "Patient/b";
    res.npatients = 2;
    assert_int_equal(
        fhir_access_admit(NULL, &res, "Observation", "o1", obs, false, &f->arena, why, sizeof(why)),
        ERR_OK);
    json_object_put(obs);
    json_object *deny = parse(
        "{\"resourceType\":\"Consent\",\"category\":[{\"coding\":[{\"system\":\"" FHIR_GRANT_SYSTEM
        "\",\"code\":\"" FHIR_GRANT_CODE "\"}]}],\"patient\":{\"reference\":\"Patient/a\"},"
        "\"provision\":{\"type\":\"deny\"}}");
    assert_int_equal(
        fhir_access_admit(NULL, &res, "Consent", "c1", deny, false, &f->arena, why, sizeof(why)),
        ERR_UNPROCESSABLE);
    json_object_object_del(deny, "category"); /* an ordinary Consent: a record like any other */
    assert_int_equal(
        fhir_access_admit(NULL, &res, "Consent", "c1", deny, false, &f->arena, why, sizeof(why)),
        ERR_OK);
    json_object_put(deny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(escaped_values_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(escaped_bars_do_not_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(composites, setup, teardown),
        cmocka_unit_test_setup_teardown(identifier_modifiers, setup, teardown),
        cmocka_unit_test_setup_teardown(uri_above, setup, teardown),
        cmocka_unit_test_setup_teardown(terminology_modifiers, setup, teardown),
        cmocka_unit_test_setup_teardown(escaping_and_or, setup, teardown),
        cmocka_unit_test_setup_teardown(dates_and_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_keep_their_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(references_and_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(has, setup, teardown),
        cmocka_unit_test_setup_teardown(result_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(conditions_are_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(access_clauses, setup, teardown),
        cmocka_unit_test_setup_teardown(access_admission, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
