/*
 * fuzz_primitive.c - libFuzzer target: the first byte picks a primitive
 * type, the rest is its text; also the FHIR and HTTP date parsers. A date
 * accepted by the validator must be accepted by time_parse_fhir too.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/model.h"
#include "fhir/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum fhir_prim prim = (enum fhir_prim)(data[0] % (FHIR_PRIM_XHTML + 1));
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    bool valid = prim != FHIR_PRIM_NONE && fhir_primitive_text_is_valid(prim, text, len);
    int64_t ms;
    bool parsed = time_parse_fhir(text, len, &ms);
    if (valid &&
        (prim == FHIR_PRIM_DATE || prim == FHIR_PRIM_DATETIME || prim == FHIR_PRIM_INSTANT))
        assert(parsed);
    char *z = xstrndup(text, len);
    (void)time_parse_http(z, &ms);
    free(z);
    return 0;
}
