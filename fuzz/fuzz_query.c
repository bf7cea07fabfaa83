/*
 * fuzz_query.c - libFuzzer target: bytes as a search query string
 * ("name=value&name=value") against a resource type chosen by the first
 * byte, through the lenient parser and the strict conditional one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/config.h"
#include "fhir/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {"Patient",          "Observation",  "Encounter",
                                    "DiagnosticReport", "Organization", "Provenance"};

/* A stand-in terminology, so that :in :not-in :above :below are parsed through. */
static enum fhir_query_result some_codes(void *ctx, struct fhir_query *q, const char *modifier,
                                         const char *value, struct fhir_code **out, size_t *n)
{
    (void)ctx;
    (void)modifier;
    struct fhir_code *c = arena_alloc(q->arena, 2 * sizeof(*c));
    c[0] = (struct fhir_code){"urn:s", value};
    c[1] = (struct fhir_code){NULL, "x"};
    *out = c;
    *n = strlen(value) % 3; /* none, one or two */
    return FHIR_QUERY_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 8192)
        return 0;
    const char *type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    struct config cfg;
    config_init(&cfg);
    struct arena a;
    arena_init(&a, 16 * 1024);
    struct fhir_query q;
    fhir_query_init(&q, &a, &cfg, type);
    (void)fhir_query_parse_condition(&q, text);
    /* the lenient path: every name=value on its own */
    fhir_query_init(&q, &a, &cfg, type);
    q.codes = some_codes;
    struct fhir_query_pair *pairs;
    size_t n = fhir_query_split(&a, text, strlen(text), &pairs);
    for (size_t i = 0; i < n; i++)
        (void)fhir_query_add(&q, pairs[i].name, pairs[i].value);
    struct store_query sq;
    fhir_query_to_store(&q, 10, &sq);
    arena_release(&a);
    config_release(&cfg);
    free(text);
    return 0;
}
