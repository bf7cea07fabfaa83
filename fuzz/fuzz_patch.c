/*
 * fuzz_patch.c - libFuzzer target: "document\npatch" -> JSON Patch. The
 * original document must be unchanged whatever the patch does.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/diag.h"
#include "fhir/json.h"
#include "fhir/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    if (!nl)
        return 0;
    struct arena arena;
    arena_init(&arena, 4096);
    struct diag d;
    diag_init(&d, &arena);
    json_object *doc = NULL, *patch = NULL;
    if (fhir_json_parse(text, (size_t)(nl - text), 32, &d, &doc) == ERR_OK &&
        fhir_json_parse(nl + 1, size - (size_t)(nl - text) - 1, 32, &d, &patch) == ERR_OK) {
        json_object *before = NULL;
        json_object_deep_copy(doc, &before, NULL);
        json_object *out = NULL;
        if (fhir_json_patch(doc, patch, &d, &out) == ERR_OK)
            json_object_put(out);
        assert(json_object_equal(doc, before));
        json_object_put(before);
    }
    json_object_put(doc);
    json_object_put(patch);
    arena_release(&arena);
    return 0;
}
