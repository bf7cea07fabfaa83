/*
 * fuzz_fhirpath.c - libFuzzer target: bytes as a FHIRPath expression;
 * compiled, then (if it compiles) evaluated on a fixed resource.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char resource[] =
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"
    "\"http://loinc.org\",\"code\":\"2345-7\"}]},\"subject\":{\"reference\":\"Patient/1\"},"
    "\"valueQuantity\":{\"value\":5.6},\"extension\":[{\"url\":\"u\",\"valueString\":\"x\"}],"
    "\"contained\":[{\"resourceType\":\"Patient\",\"id\":\"p\",\"deceasedBoolean\":false}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct fhirpath *fp = NULL;
    char why[160];
    if (fhirpath_compile(text, &fp, why, sizeof(why)) == ERR_OK) {
        static json_object *obj;
        if (!obj)
            obj = json_tokener_parse(resource);
        struct fhirpath_result r;
        fhirpath_result_init(&r);
        fhirpath_eval(fp, obj, &r);
        fhirpath_result_release(&r);
        fhirpath_free(fp);
    }
    free(text);
    return 0;
}
