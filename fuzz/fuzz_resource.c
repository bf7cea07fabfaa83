/*
 * fuzz_resource.c - libFuzzer target: bytes -> JSON parse -> validation ->
 * (if valid) the stored rendering, which must parse back to the same
 * resource plus meta. Any crash, sanitizer report or broken invariant is a
 * finding.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/diag.h"
#include "fhir/json.h"
#include "fhir/resource.h"
#include "fhir/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena arena;
    arena_init(&arena, 4096);
    struct diag d;
    diag_init(&d, &arena);
    json_object *obj = NULL;
    if (fhir_json_parse((const char *)data, size, 64, &d, &obj) == ERR_OK) {
        if (fhir_validate_resource(obj, &d)) {
            struct fhir_stamp_parts parts;
            fhir_stamp_parts_init(&parts, obj, "fuzz-id");
            size_t len;
            char *text = fhir_stamp_render(&parts, 7, 1714550400123, &len);
            json_object *back = json_tokener_parse(text);
            assert(back);
            json_object *meta = NULL, *vid = NULL;
            assert(json_object_object_get_ex(back, "meta", &meta));
            assert(json_object_object_get_ex(meta, "versionId", &vid));
            assert(strcmp(json_object_get_string(vid), "7") == 0);
            json_object_put(back);
            free(text);
            fhir_stamp_parts_release(&parts);
        }
        json_object_put(obj);
    }
    arena_release(&arena);
    return 0;
}
