/*
 * cmd_demo.c - `yujian demo [PATIENTS]`: load the deterministic demo set.
 * Loading twice gives the same resources (new versions of the same ids).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/demo_data.h"
#include "core/xalloc.h"

#define DEMO_DEFAULT_PATIENTS 200
#define DEMO_MAX_PATIENTS     9999

int cmd_demo(struct config *cfg, int argc, char **argv)
{
    long patients = DEMO_DEFAULT_PATIENTS;
    if (argc > 1) {
        fprintf(stderr, "usage: yujian demo [OPTIONS] [PATIENTS]\n");
        return CLI_EXIT_USAGE;
    }
    if (argc == 1) {
        char *end = NULL;
        patients = strtol(argv[0], &end, 10);
        if (*end || patients < 1 || patients > DEMO_MAX_PATIENTS) {
            fprintf(stderr, "yujian demo: PATIENTS must be 1..%d\n", DEMO_MAX_PATIENTS);
            return CLI_EXIT_USAGE;
        }
    }
    struct store *store = NULL;
    if (cli_open_store(cfg, "demo", &store)) {
        return CLI_EXIT_FAIL;
    }
    struct importer *im = xmalloc(sizeof(*im));
    importer_init(im, cfg, store);
    enum err err = demo_data_generate(im, (int)patients, 2024);
    if (!err)
        err = importer_finish(im);
    printf("demo data: %zu resources loaded, %zu rejected\n", im->imported, im->rejected);
    int rc = err || im->rejected ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    free(im);
    store_close(store);
    return rc;
}
