/*
 * cmd_bench_data.c - `yujian bench-data COUNT`: load COUNT Observations of
 * about 1.3 KB each (ids obs-1 .. obs-COUNT, over COUNT/10 patients) through
 * the importer, i.e. validated and durable like any import. Used by bench/.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/importer.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/access.h"
#include "fhir/json.h"

#define BENCH_MAX_COUNT 100000000L

static json_object *bench_observation(long n, char *text, size_t size)
{
    long patient = n / 10 + 1;
    snprintf(text, size,
             "{\"resourceType\":\"Observation\",\"id\":\"obs-%ld\",\"meta\":{\"tag\":[{"
             "\"system\":\"" FHIR_CUSTODIAN_SYSTEM "\",\"code\":\"Organization/org-zzu1\"}]},"
             "\"status\":\"final\","
             "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
             "observation-category\",\"code\":\"laboratory\",\"display\":\"Laboratory\"}]}],"
             "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"2345-7\","
             "\"display\":\"Glucose [Mass/volume] in Serum or Plasma\"}],\"text\":\"葡萄糖\"},"
             "\"subject\":{\"reference\":\"Patient/bench-%ld\"},"
             "\"encounter\":{\"reference\":\"Encounter/enc-%ld\"},"
             "\"effectiveDateTime\":\"2024-%02ld-%02ldT08:30:00+08:00\","
             "\"issued\":\"2024-%02ld-%02ldT10:00:00+08:00\","
             "\"performer\":[{\"reference\":\"Organization/org-zzu1\",\"display\":"
             "\"郑州大学第一附属医院\"}],"
             "\"valueQuantity\":{\"value\":%ld.%02ld,\"unit\":\"mmol/L\",\"system\":"
             "\"http://unitsofmeasure.org\",\"code\":\"mmol/L\"},"
             "\"interpretation\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
             "CodeSystem/v3-ObservationInterpretation\",\"code\":\"N\",\"display\":\"Normal\"}]}],"
             "\"specimen\":{\"reference\":\"Specimen/spec-%ld\"},"
             "\"referenceRange\":[{\"low\":{\"value\":3.90,\"unit\":\"mmol/L\",\"system\":"
             "\"http://unitsofmeasure.org\",\"code\":\"mmol/L\"},\"high\":{\"value\":6.10,"
             "\"unit\":\"mmol/L\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mmol/L\"},"
             "\"text\":\"3.90-6.10 mmol/L\"}]}",
             n, patient, patient, n % 12 + 1, n % 28 + 1, n % 12 + 1, n % 28 + 1, 3 + n % 4,
             n % 100, n);
    return json_tokener_parse(text);
}

int cmd_bench_data(struct config *cfg, int argc, char **argv)
{
    char *end = NULL;
    long count = argc == 1 ? strtol(argv[0], &end, 10) : 0;
    if (argc != 1 || *end || count < 1 || count > BENCH_MAX_COUNT) {
        fprintf(stderr, "usage: yujian bench-data [OPTIONS] COUNT (1..%ld)\n", BENCH_MAX_COUNT);
        return CLI_EXIT_USAGE;
    }
    struct store *store = NULL;
    if (cli_open_store(cfg, "bench-data", &store)) {
        return CLI_EXIT_FAIL;
    }
    struct importer *im = xmalloc(sizeof(*im));
    importer_init(im, cfg, store);
    int64_t start = time_now_ms();
    char text[4096];
    enum err err = ERR_OK;
    for (long n = 1; !err && n <= count; n++) {
        json_object *obj = bench_observation(n, text, sizeof(text));
        err = importer_add(im, obj, "bench");
        json_object_put(obj);
    }
    if (!err)
        err = importer_finish(im);
    double secs = (double)(time_now_ms() - start) / 1000.0;
    printf("bench data: %zu resources in %.1f s (%.0f/s), rejected %zu\n", im->imported, secs,
           secs > 0 ? (double)im->imported / secs : 0.0, im->rejected);
    int rc = err || im->rejected ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    free(im);
    store_close(store);
    return rc;
}
