/*
 * core_test.c - unit tests of core/: buffers, arenas, config, time, errors.
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/diag.h"
#include "core/err.h"
#include "core/timeutil.h"

static void buf_refuses_to_grow_past_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "12345678", 8), ERR_OK);
    assert_int_equal(buf_append(&b, "9", 1), ERR_TOO_LARGE);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.ptr, "12345678");
    assert_int_equal(buf_printf(&b, "%d", 1), ERR_TOO_LARGE);
    buf_release(&b);
}

static void buf_json_string_escapes_quotes_and_controls(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    buf_append_json_string(&b, "a\"b\\c\n\x01", 7);
    assert_string_equal(b.ptr, "\"a\\\"b\\\\c\\u000a\\u0001\"");
    buf_release(&b);
}

static void arena_allocations_are_aligned_and_survive_growth(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 64);
    char *first = arena_strndup(&a, "hello", 5);
    for (int i = 0; i < 100; i++) {
        void *p = arena_alloc(&a, (size_t)i * 7 + 1);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    }
    char *big = arena_alloc(&a, 10000);
    memset(big, 1, 10000);
    assert_string_equal(first, "hello");
    assert_string_equal(arena_printf(&a, "%s-%d", "x", 42), "x-42");
    arena_release(&a);
}

static void config_defaults_and_bounds(void **state)
{
    (void)state;
    struct config c;
    struct buf err;
    buf_init(&err, 256);
    config_init(&c);
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.data_dir, "data");
    assert_int_equal(config_set(&c, "server.port", "70000", &err), ERR_CONFIG);
    assert_non_null(strstr(err.ptr, "outside 0..65535"));
    assert_int_equal(c.port, 8080);
    buf_reset(&err);
    assert_int_equal(config_set(&c, "server.port", "12x", &err), ERR_CONFIG);
    assert_int_equal(config_set(&c, "no.such", "1", &err), ERR_CONFIG);
    assert_int_equal(config_set_flag(&c, "port", "9090", &err), ERR_OK);
    assert_int_equal(c.port, 9090);
    assert_int_equal(config_set_flag(&c, "data", "/tmp/x", &err), ERR_OK);
    assert_string_equal(c.data_dir, "/tmp/x");
    config_release(&c);
    buf_release(&err);
}

static void config_file_then_environment(void **state)
{
    (void)state;
    char path[] = "/tmp/yujian-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\nserver.port = 7000\nserver.threads=8\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct config c;
    struct buf err;
    buf_init(&err, 256);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, &err), ERR_OK);
    assert_int_equal(c.port, 7000);
    assert_int_equal(c.threads, 8);
    setenv("YUJIAN_SERVER_PORT", "7100", 1);
    assert_int_equal(config_load_env(&c, &err), ERR_OK);
    assert_int_equal(c.port, 7100);
    setenv("YUJIAN_SERVER_PORT", "-1", 1);
    assert_int_equal(config_load_env(&c, &err), ERR_CONFIG);
    assert_non_null(strstr(err.ptr, "YUJIAN_SERVER_PORT"));
    unsetenv("YUJIAN_SERVER_PORT");
    config_release(&c);
    buf_release(&err);
    unlink(path);
}

static void config_file_errors_name_the_line(void **state)
{
    (void)state;
    char path[] = "/tmp/yujian-config-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "server.port = 7000\nthis line is wrong\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct config c;
    struct buf err;
    buf_init(&err, 256);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, &err), ERR_CONFIG);
    assert_non_null(strstr(err.ptr, ":2:"));
    config_release(&c);
    buf_release(&err);
    unlink(path);
}

static void time_instant_format_and_parse_round_trip(void **state)
{
    (void)state;
    char out[32];
    time_format_instant(1714550400123, out, sizeof(out));
    assert_string_equal(out, "2024-05-01T08:00:00.123Z");
    int64_t ms = 0;
    assert_true(time_parse_fhir(out, strlen(out), &ms));
    assert_int_equal(ms, 1714550400123);
    assert_true(time_parse_fhir("2024-05-01T16:00:00+08:00", 25, &ms));
    assert_int_equal(ms, 1714550400000);
    assert_true(time_parse_fhir("2024", 4, &ms));
    assert_false(time_parse_fhir("2024-5-1", 8, &ms));
    assert_false(time_parse_fhir("2024-05-01T16:00", 16, &ms));
    /* out-of-range fields are errors, not normalised into another date */
    assert_false(time_parse_fhir("2024-02-30", 10, &ms));
    assert_false(time_parse_fhir("2023-02-29", 10, &ms));
    assert_true(time_parse_fhir("2024-02-29", 10, &ms));
    assert_false(time_parse_fhir("2024-13", 7, &ms));
    assert_false(time_parse_fhir("2024-00-10", 10, &ms));
    assert_false(time_parse_fhir("2024-05-01T24:00:00Z", 20, &ms));
    assert_false(time_parse_fhir("2024-05-01T10:00:00+15:00", 25, &ms));
    /* the day in China: 16:00 UTC is midnight there */
    char day[11];
    time_china_day(1714550400000 + 7 * 3600000 + 59 * 60000, day); /* 15:59Z */
    assert_string_equal(day, "2024-05-01");
    time_china_day(1714550400000 + 8 * 3600000, day); /* 16:00Z */
    assert_string_equal(day, "2024-05-02");
}

/* A deadline is that many ms from now, its nanoseconds kept below a second. */
static void time_deadline_adds_and_carries(void **state)
{
    (void)state;
    for (int64_t ms = 0; ms <= 2999; ms += 333) {
        int64_t before = time_now_ms();
        struct timespec t = time_deadline(ms);
        int64_t after = time_now_ms();
        int64_t at = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
        assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
        assert_true(at >= before + ms && at <= after + ms);
    }
}

static void time_http_date_round_trip(void **state)
{
    (void)state;
    char out[40];
    time_format_http(1714550400000, out, sizeof(out));
    assert_string_equal(out, "Wed, 01 May 2024 08:00:00 GMT");
    int64_t ms = 0;
    assert_true(time_parse_http(out, &ms));
    assert_int_equal(ms, 1714550400000);
    assert_false(time_parse_http("yesterday", &ms));
}

static void err_table_maps_codes_to_http_and_fhir(void **state)
{
    (void)state;
    assert_int_equal(ERR_OK, 0);
    assert_int_equal(err_http_status(ERR_NOT_FOUND), 404);
    assert_int_equal(err_http_status(ERR_GONE), 410);
    assert_int_equal(err_http_status(ERR_VERSION_CONFLICT), 412);
    assert_int_equal(err_http_status(ERR_TOO_LARGE), 413);
    assert_string_equal(err_fhir_code(ERR_GONE), "deleted");
    assert_string_equal(err_message_zh(ERR_NOT_FOUND), "资源不存在");
    assert_int_equal(err_http_status((enum err)9999), 500);
}

static void diag_keeps_first_error_and_caps_issues(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 4096);
    struct diag d;
    diag_init(&d, &a);
    diag_add_severity(&d, DIAG_WARNING, ERR_INVALID, NULL, "just a warning");
    assert_false(diag_has_errors(&d));
    for (int i = 0; i < DIAG_MAX_ISSUES + 5; i++)
        diag_add(&d, i == 0 ? ERR_TOO_LARGE : ERR_INVALID, "X.y", "problem %d", i);
    assert_int_equal(d.first_error, ERR_TOO_LARGE);
    assert_int_equal(d.count, DIAG_MAX_ISSUES);
    assert_int_equal(d.dropped, 6);
    assert_string_equal(d.issues[1].message, "problem 0");
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_refuses_to_grow_past_cap),
        cmocka_unit_test(buf_json_string_escapes_quotes_and_controls),
        cmocka_unit_test(arena_allocations_are_aligned_and_survive_growth),
        cmocka_unit_test(config_defaults_and_bounds),
        cmocka_unit_test(config_file_then_environment),
        cmocka_unit_test(config_file_errors_name_the_line),
        cmocka_unit_test(time_instant_format_and_parse_round_trip),
        cmocka_unit_test(time_http_date_round_trip),
        cmocka_unit_test(time_deadline_adds_and_carries),
        cmocka_unit_test(err_table_maps_codes_to_http_and_fhir),
        cmocka_unit_test(diag_keeps_first_error_and_caps_issues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
