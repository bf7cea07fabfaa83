/*
 * reindex_test.c - the re-index resumes where a stopped run left off (its
 * position is stored with each batch), rebuilds what follows, and records
 * the index version when done; verification finds entries that are
 * missing or wrong.
 */
#include "test.h"

#include "tmpstore.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "fhir/model.h"
#include "fhir/reindex.h"
#include "fhir/write.h"
#include "store/store.h"

static void write_json(struct store *s, const char *type, const char *id, const char *json)
{
    struct fhir_write w = {.kind = FHIR_WRITE_UPDATE, .type = type, .id = id, .if_match = -1};
    w.resource = json_tokener_parse(json);
    assert_non_null(w.resource);
    assert_int_equal(fhir_write_run(s, &w, 1, NULL), ERR_OK);
    free(w.body);
    json_object_put(w.resource);
}

/* Matches of one token predicate. */
static int64_t count_token(struct store *s, const char *type, const char *param, const char *code)
{
    struct store_predicate p = {
        .kind = STORE_IDX_TOKEN, .param = param, .op = STORE_OP_EQ, .text2 = code};
    struct store_clause cl = {&p, 1};
    struct store_query q = {.type = type, .clauses = &cl, .count = 1, .want_total = true};
    int64_t total = -1;
    assert_int_equal(store_search(s, &q, NULL, NULL, &total), ERR_OK);
    return total;
}

static enum err wipe(struct store_tx *tx, void *arg)
{
    (void)arg;
    static const char *const ids[][2] = {
        {"Patient", "p1"}, {"Patient", "p2"}, {"Observation", "o1"}, {"Observation", "o2"}};
    for (size_t i = 0; i < 4; i++) {
        enum err err = store_tx_reindex(tx, ids[i][0], ids[i][1], NULL, 0);
        if (err)
            return err;
    }
    return ERR_OK;
}

/* As if a run had done every type before Patient and stopped. */
static enum err stopped_before_patient(struct store_tx *tx, void *arg)
{
    (void)arg;
    int64_t patient = -1;
    for (size_t t = 0; t < fhir_resource_type_count; t++)
        if (!strcmp(fhir_types[fhir_resource_types[t]].name, "Patient"))
            patient = (int64_t)t;
    enum err err = store_tx_meta_set(tx, FHIR_REINDEX_PENDING, 1);
    if (!err)
        err = store_tx_meta_set(tx, FHIR_REINDEX_TYPE, patient);
    if (!err)
        err = store_tx_meta_set(tx, FHIR_REINDEX_KEY, 0);
    return err;
}

static void on_progress(const struct fhir_reindex_progress *p, void *arg)
{
    *(int64_t *)arg = p->done;
}

static void a_stopped_run_resumes_where_it_stopped(void **state)
{
    struct tmpstore *f = *state;
    write_json(f->store, "Patient", "p1", "{\"resourceType\":\"Patient\",\"gender\":\"male\"}");
    write_json(f->store, "Patient", "p2", "{\"resourceType\":\"Patient\",\"gender\":\"male\"}");
    const char *obs = "{\"resourceType\":\"Observation\",\"status\":\"final\","
                      "\"code\":{\"coding\":[{\"code\":\"c1\"}]}}";
    write_json(f->store, "Observation", "o1", obs);
    write_json(f->store, "Observation", "o2", obs);
    assert_int_equal(count_token(f->store, "Patient", "Patient.gender", "male"), 2);
    assert_int_equal(count_token(f->store, "Observation", "Observation.code", "c1"), 2);

    assert_int_equal(store_write(f->store, wipe, NULL), ERR_OK);
    assert_int_equal(store_write(f->store, stopped_before_patient, NULL), ERR_OK);
    assert_true(fhir_reindex_needed(f->store));
    int64_t reported = 0;
    size_t done = 0;
    assert_int_equal(fhir_reindex_all(f->store, &done, on_progress, &reported), ERR_OK);
    /* Observation sorts before Patient: the resumed run did not redo it */
    assert_int_equal(count_token(f->store, "Observation", "Observation.code", "c1"), 0);
    assert_int_equal(count_token(f->store, "Patient", "Patient.gender", "male"), 2);
    assert_int_equal(done, 2);
    assert_int_equal(reported, 2);
    assert_false(fhir_reindex_needed(f->store));
    int64_t pending = -1;
    assert_int_equal(store_meta_get(f->store, FHIR_REINDEX_PENDING, &pending), ERR_OK);
    assert_int_equal(pending, 0);

    /* a full run from the start fixes the rest */
    assert_int_equal(fhir_reindex_all(f->store, &done, NULL, NULL), ERR_OK);
    assert_int_equal(done, 4);
    assert_int_equal(count_token(f->store, "Observation", "Observation.code", "c1"), 2);
}

static void the_background_run_reports_progress_and_finishes(void **state)
{
    struct tmpstore *f = *state;
    for (int i = 0; i < 1200; i++) {
        char id[16];
        snprintf(id, sizeof(id), "p%d", i);
        write_json(f->store, "Patient", id, "{\"resourceType\":\"Patient\",\"gender\":\"female\"}");
    }
    struct fhir_reindexer *rx = fhir_reindexer_new(f->store);
    assert_true(fhir_reindexer_start(rx));
    struct fhir_reindex_progress p;
    for (int i = 0; i < 600; i++) {
        fhir_reindexer_progress(rx, &p);
        if (p.state != FHIR_REINDEX_RUNNING)
            break;
        usleep(50000);
    }
    assert_int_equal(p.state, FHIR_REINDEX_DONE);
    assert_int_equal(p.done, 1200);
    assert_int_equal(p.total, 1200);
    assert_true(p.finished_ms >= p.started_ms);
    fhir_reindexer_free(rx);
    assert_int_equal(count_token(f->store, "Patient", "Patient.gender", "female"), 1200);
}

static void on_diff(const char *type, const char *id, void *arg)
{
    char *out = arg;
    snprintf(out + strlen(out), 128 - strlen(out), "%s/%s ", type, id);
}

/* p1 and o1 lose their entries; one wrong entry replaces o2's. */
static enum err tamper(struct store_tx *tx, void *arg)
{
    (void)arg;
    struct store_index_entry e = {
        .kind = STORE_IDX_TOKEN, .param = "Observation.code", .text2 = "not-c1"};
    enum err err = store_tx_reindex(tx, "Patient", "p1", NULL, 0);
    if (!err)
        err = store_tx_reindex(tx, "Observation", "o1", NULL, 0);
    return err ? err : store_tx_reindex(tx, "Observation", "o2", &e, 1);
}

static void verify_finds_missing_and_wrong_entries(void **state)
{
    struct tmpstore *f = *state;
    write_json(f->store, "Patient", "p1", "{\"resourceType\":\"Patient\",\"gender\":\"male\"}");
    /* keys interleave across types: entries of p3 lie between o1's and o2's keys */
    const char *obs = "{\"resourceType\":\"Observation\",\"status\":\"final\","
                      "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"c1\","
                      "\"display\":\"Glucose\"}]},\"valueQuantity\":{\"value\":5.5}}";
    write_json(f->store, "Observation", "o1", obs);
    write_json(f->store, "Patient", "p3", "{\"resourceType\":\"Patient\",\"gender\":\"female\"}");
    write_json(f->store, "Observation", "o2", obs);
    struct fhir_verify_report rep;
    char diffs[128] = "";
    assert_int_equal(fhir_index_verify(f->store, &rep, on_diff, diffs), ERR_OK);
    assert_int_equal(rep.checked, 4);
    assert_int_equal(rep.differ, 0);
    assert_int_equal(rep.stale_keys, 0);

    assert_int_equal(store_write(f->store, tamper, NULL), ERR_OK);
    assert_int_equal(fhir_index_verify(f->store, &rep, on_diff, diffs), ERR_OK);
    assert_int_equal(rep.differ, 3);
    assert_non_null(strstr(diffs, "Observation/o1"));
    assert_non_null(strstr(diffs, "Observation/o2"));
    assert_non_null(strstr(diffs, "Patient/p1"));
    assert_null(strstr(diffs, "p3"));

    size_t done = 0;
    assert_int_equal(fhir_reindex_all(f->store, &done, NULL, NULL), ERR_OK);
    assert_int_equal(fhir_index_verify(f->store, &rep, NULL, NULL), ERR_OK);
    assert_int_equal(rep.differ, 0);
    assert_int_equal(rep.checked, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_stopped_run_resumes_where_it_stopped, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(the_background_run_reports_progress_and_finishes,
                                        tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(verify_finds_missing_and_wrong_entries, tmpstore_open,
                                        tmpstore_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
