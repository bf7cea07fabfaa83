/*
 * auth_test.c - SMART scopes (parsing, checking, narrowing to a role),
 * passwords with lock-out, token expiry and revocation, and the audit
 * trail's hash chain with its tamper detection, on a real SQLite store.
 */
#include "test.h"

#include "tmpstore.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/audit.h"
#include "auth/auth.h"
#include "core/timeutil.h"
#include "store/schema.h"

static void scopes_are_parsed_in_v2_and_v1_forms(void **state)
{
    (void)state;
    struct auth_scopes s;
    char why[200];
    assert_int_equal(auth_scopes_parse("openid fhirUser launch/patient patient/Observation.rs "
                                       "user/*.cruds system/Patient.read",
                                       &s, why, sizeof(why)),
                     ERR_OK);
    assert_true(s.openid && s.fhir_user);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.items[0].context, AUTH_CONTEXT_PATIENT);
    assert_int_equal(s.items[0].ops, AUTH_OP_R | AUTH_OP_S);
    assert_string_equal(s.items[1].type, "*");
    assert_int_equal(s.items[2].ops, AUTH_OP_R | AUTH_OP_S); /* v1 read = rs */
    const char *bad[] = {"user/Observation.sr", "user/Observation.x", "user/Nope.r",
                         "user/Observation", "patient/Observation.rs?code=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(auth_scopes_parse(bad[i], &s, why, sizeof(why)), ERR_INVALID);
}

static void scopes_decide_per_interaction_and_type(void **state)
{
    (void)state;
    struct auth_scopes s;
    char why[200];
    bool confined;
    assert_int_equal(auth_scopes_parse("user/Observation.crs patient/*.rs", &s, why, sizeof(why)),
                     ERR_OK);
    assert_true(auth_scopes_allow(&s, 'c', "Observation", &confined));
    assert_false(confined);
    assert_false(auth_scopes_allow(&s, 'd', "Observation", &confined));
    assert_true(auth_scopes_allow(&s, 'r', "Condition", &confined));
    assert_true(confined); /* only the patient scope allows it */
    assert_false(auth_scopes_allow(&s, 'u', "Condition", &confined));
    assert_true(auth_scopes_allow(&s, 's', "*", &confined)); /* patient/<star> covers every type */
    assert_true(confined);                                   /* but only inside the compartment */
    assert_int_equal(auth_scopes_parse("user/Observation.rs", &s, why, sizeof(why)), ERR_OK);
    assert_false(auth_scopes_allow(&s, 's', "*", &confined)); /* one type is not every type */
}

static void a_grant_never_exceeds_the_role(void **state)
{
    (void)state;
    struct auth_scopes role, asked;
    char why[200];
    struct buf out;
    buf_init(&out, 4096);
    assert_int_equal(auth_scopes_parse("user/*.rs user/Observation.cu", &role, why, sizeof(why)),
                     ERR_OK);
    assert_int_equal(auth_scopes_parse("user/Observation.cruds patient/Patient.r user/Patient.d",
                                       &asked, why, sizeof(why)),
                     ERR_OK);
    auth_scopes_grant(&role, &asked, &out);
    assert_string_equal(out.ptr, "user/Observation.crus");
    buf_reset(&out);
    memset(&asked, 0, sizeof(asked));
    auth_scopes_grant(&role, &asked, &out);
    assert_string_equal(out.ptr, "user/*.rs user/Observation.cu");
    buf_release(&out);
}

static void every_role_has_valid_scopes(void **state)
{
    (void)state;
    for (size_t i = 0; i < auth_role_count; i++) {
        struct auth_scopes s;
        char why[200] = "";
        assert_int_equal(auth_scopes_parse(auth_roles[i].scopes, &s, why, sizeof(why)), ERR_OK);
        assert_true(s.count > 0);
    }
    assert_non_null(auth_role_find("resident"));
    assert_null(auth_role_find("superuser"));
}

static void logins_lock_after_repeated_failures(void **state)
{
    struct tmpstore *f = *state;
    char why[200];
    assert_int_equal(auth_user_add(f->store, "nurse1", "right-password", "nurse", NULL, NULL, false,
                                   why, sizeof(why)),
                     ERR_OK);
    assert_int_equal(auth_user_add(f->store, "nurse1", "right-password", "nurse", NULL, NULL, false,
                                   why, sizeof(why)),
                     ERR_CONFLICT);
    assert_int_equal(auth_user_add(f->store, "Bad Name", "right-password", "nurse", NULL, NULL,
                                   false, why, sizeof(why)),
                     ERR_INVALID);
    assert_int_equal(
        auth_user_add(f->store, "short", "short", "nurse", NULL, NULL, false, why, sizeof(why)),
        ERR_INVALID);
    struct auth_policy p = {.max_failed_logins = 3, .lockout_s = 60};
    struct arena a;
    arena_init(&a, 4096);
    struct store_user u;
    assert_int_equal(auth_login(f->store, &p, "nurse1", "wrong-one", &a, &u), ERR_UNAUTHORIZED);
    assert_int_equal(auth_login(f->store, &p, "nurse1", "right-password", &a, &u), ERR_OK);
    /* a success resets the count: two more failures do not lock */
    assert_int_equal(auth_login(f->store, &p, "nurse1", "wrong-one", &a, &u), ERR_UNAUTHORIZED);
    assert_int_equal(auth_login(f->store, &p, "nurse1", "wrong-two", &a, &u), ERR_UNAUTHORIZED);
    assert_int_equal(auth_login(f->store, &p, "nurse1", "wrong-three", &a, &u), ERR_TOO_MANY);
    assert_int_equal(auth_login(f->store, &p, "nurse1", "right-password", &a, &u), ERR_TOO_MANY);
    assert_int_equal(auth_login(f->store, &p, "nobody", "right-password", &a, &u),
                     ERR_UNAUTHORIZED);
    arena_release(&a);
}

static void tokens_expire_and_are_revoked(void **state)
{
    struct tmpstore *f = *state;
    char why[200], tok[AUTH_TOKEN_CHARS + 1], old[AUTH_TOKEN_CHARS + 1];
    assert_int_equal(auth_user_add(f->store, "doc", "doctor-password", "doctor", NULL, NULL, false,
                                   why, sizeof(why)),
                     ERR_OK);
    struct arena a;
    arena_init(&a, 4096);
    struct auth_principal who;
    assert_int_equal(
        auth_token_issue(f->store, "doc", "user/Patient.r", STORE_TOKEN_ACCESS, 0, old), ERR_OK);
    assert_int_equal(auth_authenticate(f->store, old, &a, &who, why, sizeof(why)),
                     ERR_UNAUTHORIZED); /* lifetime 0: expired at once */
    assert_int_equal(
        auth_token_issue(f->store, "doc", "user/Patient.r", STORE_TOKEN_ACCESS, 600, tok), ERR_OK);
    assert_int_equal(strlen(tok), AUTH_TOKEN_CHARS);
    assert_int_equal(auth_authenticate(f->store, tok, &a, &who, why, sizeof(why)), ERR_OK);
    assert_string_equal(who.user, "doc");
    assert_string_equal(who.role->code, "doctor");
    struct store_token t;
    assert_int_equal(auth_token_check(f->store, tok, STORE_TOKEN_REFRESH, &a, &t),
                     ERR_UNAUTHORIZED); /* an access token is no refresh token */
    assert_int_equal(auth_token_revoke(f->store, tok), ERR_OK);
    assert_int_equal(auth_authenticate(f->store, tok, &a, &who, why, sizeof(why)),
                     ERR_UNAUTHORIZED);
    assert_int_equal(auth_token_revoke(f->store, "not-a-token"), ERR_OK);
    arena_release(&a);
}

static enum err append_three(struct store_tx *tx, void *arg)
{
    (void)arg;
    enum err err = ERR_OK;
    for (int i = 0; !err && i < 3; i++)
        err = audit_stage_tx(tx, time_now_ms(), "u", i == 1 ? "Patient/p1" : NULL,
                             i == 0   ? "{\"n\":0}"
                             : i == 1 ? "{\"n\":1}"
                                      : "{\"n\":2}");
    return err;
}

static bool collect(const struct store_audit *a, void *arg)
{
    int64_t *n = arg;
    *n = *n * 10 + a->seq;
    return true;
}

static void the_audit_chain_detects_tampering(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(store_write(f->store, append_three, NULL), ERR_OK);
    struct audit_verify_report rep;
    assert_int_equal(audit_verify(f->store, &rep), ERR_OK);
    assert_int_equal(rep.entries, 3);
    assert_int_equal(rep.first_bad, 0);
    char h[65];
    audit_hash("", "{\"n\":0}", h);
    audit_hash(h, "{\"n\":1}", h);
    audit_hash(h, "{\"n\":2}", h);
    assert_string_equal(rep.head_hash, h); /* the chain is the documented formula */
    int64_t seqs = 0;
    assert_int_equal(store_audit_scan(f->store, 0, "Patient/p1", 0, collect, &seqs), ERR_OK);
    assert_int_equal(seqs, 2); /* only the entry about p1 */
    /* the trail's file refuses changes; someone with the file can still drop the guard */
    char path[128];
    snprintf(path, sizeof(path), "%s/audit.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit WHERE seq = 2", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TRIGGER audit_no_update;"
                                  "UPDATE audit SET json = '{\"n\":9}' WHERE seq = 2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(audit_verify(f->store, &rep), ERR_OK);
    assert_int_equal(rep.first_bad, 2);
    assert_int_equal(rep.entries, 1);
}

/* sql on the database file of f (beside the open store), SQLITE_OK expected. */
static void on_database(struct tmpstore *f, const char *file, const char *sql)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->dir, file);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, msg ? msg : "");
    sqlite3_free(msg);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t staged_count(struct tmpstore *f)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/yujian.db", f->dir);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_outbox", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/*
 * A write's entry is staged with the write and moved into the chain once:
 * a crash after the trail took it but before the database forgot it (here
 * the staged rows put back as they were) does not append it again, and
 * entries staged after the table was emptied still get their turn.
 */
static void staged_entries_reach_the_chain_once(void **state)
{
    struct tmpstore *f = *state;
    assert_int_equal(store_write(f->store, append_three, NULL), ERR_OK);
    assert_int_equal(staged_count(f), 3);
    size_t moved = 0;
    assert_int_equal(store_audit_append(f->store, NULL, 0, audit_hash, &moved), ERR_OK);
    assert_int_equal(moved, 3);
    assert_int_equal(staged_count(f), 0); /* durable in the trail, then forgotten */
    store_close(f->store);
    on_database(f, "yujian.db",
                "INSERT INTO audit_outbox (id, time, user, patient, json) VALUES "
                "(1, 1, 'u', '', '{\"n\":0}'), (2, 1, 'u', 'Patient/p1', '{\"n\":1}'), "
                "(3, 1, 'u', '', '{\"n\":2}')");
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    assert_int_equal(store_audit_append(f->store, NULL, 0, audit_hash, &moved), ERR_OK);
    assert_int_equal(moved, 0);
    assert_int_equal(staged_count(f), 0);
    assert_int_equal(store_write(f->store, append_three, NULL), ERR_OK);
    struct audit_verify_report rep;
    assert_int_equal(audit_verify(f->store, &rep), ERR_OK); /* moves them first */
    assert_int_equal(rep.entries, 6);
    assert_int_equal(rep.first_bad, 0);
    /* (moved a moment after the last deletion: deleted at the next one, within a second) */
    assert_int_equal(staged_count(f), 3);
}

/* In f's directory (files matching rm removed first), a database of schema 4 with a trail of two
 * entries, n and n + 1. */
static void schema4_database(struct tmpstore *f, const char *rm, int n, char h2[65])
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -f %s/%s", f->dir, rm);
    assert_int_equal(system(cmd), 0);
    char j1[32], j2[32], h1[65];
    snprintf(j1, sizeof(j1), "{\"n\":%d}", n);
    snprintf(j2, sizeof(j2), "{\"n\":%d}", n + 1);
    audit_hash("", j1, h1);
    audit_hash(h1, j2, h2);
    struct buf sql;
    buf_init(&sql, 1u << 20);
    for (int v = 0; v < 4; v++)
        buf_printf(&sql, "%s;", store_migrations[v]);
    buf_printf(&sql,
               "PRAGMA user_version = 4;"
               "INSERT INTO audit VALUES (1, 1, 'u', '', '%s', '', '%s');"
               "INSERT INTO audit VALUES (2, 2, 'u', 'Patient/p1', '%s', '%s', '%s');",
               j1, h1, j2, h1, h2);
    on_database(f, "yujian.db", sql.ptr);
    buf_release(&sql);
}

/* A database of schema 4 kept the trail itself: it moves to its own file, chain unbroken. */
static void a_trail_in_the_database_moves_to_its_own_file(void **state)
{
    struct tmpstore *f = *state;
    store_close(f->store);
    char h2[65];
    schema4_database(f, "*", 0, h2);
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    struct audit_verify_report rep;
    assert_int_equal(audit_verify(f->store, &rep), ERR_OK);
    assert_int_equal(rep.entries, 2);
    assert_string_equal(rep.head_hash, h2);
    /* the chain goes on from there, and the database no longer has the table */
    assert_int_equal(store_write(f->store, append_three, NULL), ERR_OK);
    assert_int_equal(audit_verify(f->store, &rep), ERR_OK);
    assert_int_equal(rep.entries, 5);
    assert_int_equal(rep.first_bad, 0);
    int64_t seqs = 0;
    assert_int_equal(store_audit_scan(f->store, 0, "Patient/p1", 0, collect, &seqs), ERR_OK);
    assert_int_equal(seqs, 24); /* the moved entry (2) and the new one (4) */
    on_database(f, "yujian.db", "CREATE TABLE audit (x)"); /* the name is free again */
    /* a database of schema 4 beside a trail that is not its own: not started, its trail kept */
    store_close(f->store);
    schema4_database(f, "yujian.db*", 7, h2);
    struct store *other = NULL;
    assert_int_equal(store_sqlite_open(&f->cfg, &other), ERR_IO);
    on_database(f, "yujian.db", "SELECT count(*) FROM audit"); /* still there */
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -f %s/*", f->dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK); /* for the teardown */
}

struct in_order {
    int next; /* index expected in the next entry's user name */
    bool ok;  /* every entry so far was the one expected */
};

static bool check_order(const struct store_audit *a, void *arg)
{
    struct in_order *o = arg;
    char want[16];
    snprintf(want, sizeof(want), "u%d", o->next++);
    o->ok = o->ok && strcmp(a->user, want) == 0;
    return true;
}

/* More entries than one unit takes: every one written, in the order queued, one chain. */
/* A successful read by user now (a search with query, when given), as the gate records it. */
static struct audit_event read_event(const char *user, const char *query)
{
    return (struct audit_event){.time_ms = time_now_ms(),
                                .user = user,
                                .role = "",
                                .org = "",
                                .address = "",
                                .request_id = "r",
                                .action = 'R',
                                .subtype = query ? "search-type" : "read",
                                .query = query,
                                .status = 200};
}

static void queued_entries_are_written_in_order(void **state)
{
    struct tmpstore *f = *state;
    struct audit_log *log = audit_log_new(f->store);
    enum { N = 3 * 64 + 7 };
    for (int i = 0; i < N; i++) {
        char user[16];
        snprintf(user, sizeof(user), "u%d", i);
        struct audit_event ev = read_event(user, NULL);
        audit_log_submit(log, &ev);
    }
    audit_log_free(log); /* writes what is still queued */
    struct audit_verify_report rep;
    assert_int_equal(audit_verify(f->store, &rep), ERR_OK);
    assert_int_equal(rep.entries, N);
    assert_int_equal(rep.first_bad, 0);
    struct in_order o = {0, true};
    assert_int_equal(store_audit_scan(f->store, 0, NULL, 0, check_order, &o), ERR_OK);
    assert_int_equal(o.next, N);
    assert_true(o.ok);
}

/*
 * When the store cannot take the entries (here a database at its size limit),
 * the log says so (audit_log_failing: the gate then refuses requests) and
 * keeps trying; the chain written so far stays intact.
 */
static void a_trail_that_cannot_be_written_says_so(void **state)
{
    struct tmpstore *f = *state;
    store_close(f->store);
    f->cfg.max_db_mb = 1;
    assert_int_equal(store_sqlite_open(&f->cfg, &f->store), ERR_OK);
    struct audit_log *log = audit_log_new(f->store);
    char *query = malloc(100 * 1024);
    memset(query, 'q', 100 * 1024 - 1);
    query[100 * 1024 - 1] = '\0';
    assert_false(audit_log_failing(log));
    for (int i = 0; i < 500 && !audit_log_failing(log); i++) {
        struct audit_event ev = read_event("u", query);
        audit_log_submit(log, &ev);
        usleep(10 * 1000);
    }
    assert_true(audit_log_failing(log));
    audit_log_free(log);
    struct audit_verify_report rep;
    assert_int_equal(audit_verify(f->store, &rep), ERR_OK);
    assert_true(rep.entries > 0);
    assert_int_equal(rep.first_bad, 0);
    free(query);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopes_are_parsed_in_v2_and_v1_forms),
        cmocka_unit_test(scopes_decide_per_interaction_and_type),
        cmocka_unit_test(a_grant_never_exceeds_the_role),
        cmocka_unit_test(every_role_has_valid_scopes),
        cmocka_unit_test_setup_teardown(logins_lock_after_repeated_failures, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(tokens_expire_and_are_revoked, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(staged_entries_reach_the_chain_once, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(a_trail_in_the_database_moves_to_its_own_file,
                                        tmpstore_open, tmpstore_close),
        cmocka_unit_test_setup_teardown(the_audit_chain_detects_tampering, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(queued_entries_are_written_in_order, tmpstore_open,
                                        tmpstore_close),
        cmocka_unit_test_setup_teardown(a_trail_that_cannot_be_written_says_so, tmpstore_open,
                                        tmpstore_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
