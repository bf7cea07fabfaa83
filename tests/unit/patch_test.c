/*
 * patch_test.c - JSON Patch (RFC 6902) behaviour, including atomicity.
 */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/diag.h"
#include "fhir/json.h"
#include "fhir/patch.h"

static json_object *parse(const char *text)
{
    return json_tokener_parse(text);
}

/* Apply patch to doc; returns the error, and the result text in out (or the unchanged doc). */
static enum err apply(const char *doc, const char *patch, char *out, size_t out_size)
{
    struct arena a;
    arena_init(&a, 1024);
    struct diag d;
    diag_init(&d, &a);
    json_object *target = parse(doc), *p = parse(patch), *result = NULL;
    enum err err = fhir_json_patch(target, p, &d, &result);
    size_t len;
    const char *text = fhir_json_text(err ? target : result, &len);
    snprintf(out, out_size, "%s", text);
    json_object_put(result);
    json_object_put(target);
    json_object_put(p);
    arena_release(&a);
    return err;
}

static void add_replace_remove(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(
        apply("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":[1,2]}]", out, sizeof(out)),
        ERR_OK);
    assert_string_equal(out, "{\"a\":1,\"b\":[1,2]}");
    assert_int_equal(apply("{\"b\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/b/1\",\"value\":9}]", out,
                           sizeof(out)),
                     ERR_OK);
    assert_string_equal(out, "{\"b\":[1,9,2]}");
    assert_int_equal(apply("{\"b\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/b/-\",\"value\":3}]", out,
                           sizeof(out)),
                     ERR_OK);
    assert_string_equal(out, "{\"b\":[1,2,3]}");
    assert_int_equal(apply("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2.50}]",
                           out, sizeof(out)),
                     ERR_OK);
    assert_string_equal(out, "{\"a\":2.50}");
    assert_int_equal(
        apply("{\"a\":1,\"b\":2}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", out, sizeof(out)),
        ERR_OK);
    assert_string_equal(out, "{\"b\":2}");
}

static void move_copy_test(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(apply("{\"a\":{\"x\":1},\"b\":{}}",
                           "[{\"op\":\"move\",\"from\":\"/a/x\",\"path\":\"/b/y\"}]", out,
                           sizeof(out)),
                     ERR_OK);
    assert_string_equal(out, "{\"a\":{},\"b\":{\"y\":1}}");
    assert_int_equal(apply("{\"a\":[1]}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
                           out, sizeof(out)),
                     ERR_OK);
    assert_string_equal(out, "{\"a\":[1],\"c\":[1]}");
    assert_int_equal(apply("{\"a~b\":1}", "[{\"op\":\"test\",\"path\":\"/a~0b\",\"value\":1}]", out,
                           sizeof(out)),
                     ERR_OK);
    assert_int_equal(
        apply("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", out, sizeof(out)),
        ERR_UNPROCESSABLE);
}

static void failure_leaves_document_unchanged(void **state)
{
    (void)state;
    char out[256];
    /* the first op succeeds on the copy, the second fails: the original is untouched */
    assert_int_equal(apply("{\"a\":1}",
                           "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":5},"
                           "{\"op\":\"remove\",\"path\":\"/missing\"}]",
                           out, sizeof(out)),
                     ERR_UNPROCESSABLE);
    assert_string_equal(out, "{\"a\":1}");
}

static void malformed_patches_are_rejected(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(apply("{}", "{\"op\":\"add\"}", out, sizeof(out)), ERR_INVALID);
    assert_int_equal(apply("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", out, sizeof(out)),
                     ERR_INVALID);
    assert_int_equal(apply("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", out, sizeof(out)),
                     ERR_INVALID);
    assert_int_equal(apply("{}", "[{\"op\":\"remove\",\"path\":\"a\"}]", out, sizeof(out)),
                     ERR_INVALID);
    assert_int_equal(
        apply("{\"b\":[1]}", "[{\"op\":\"add\",\"path\":\"/b/01\",\"value\":1}]", out, sizeof(out)),
        ERR_UNPROCESSABLE);
    assert_int_equal(apply("{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]",
                           out, sizeof(out)),
                     ERR_UNPROCESSABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_replace_remove),
        cmocka_unit_test(move_copy_test),
        cmocka_unit_test(failure_leaves_document_unchanged),
        cmocka_unit_test(malformed_patches_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
