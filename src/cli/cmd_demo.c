/*
 * cmd_demo.c - `yujian demo [PATIENTS]`: load the deterministic demo set.
 * Loading twice gives the same resources (new versions of the same ids).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sys/stat.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "cli/demo_data.h"
#include "core/xalloc.h"

#define DEMO_DEFAULT_PATIENTS 200
#define DEMO_MAX_PATIENTS     9999

/* One demo account per role, linked to the demo data (DESIGN.md section 1). */
static const struct demo_account {
    const char *name;    /* account */
    const char *role;    /* role code */
    const char *org;     /* Organization, or NULL */
    const char *subject; /* Practitioner or Patient, or NULL */
} demo_accounts[] = {
    {"demo-resident", "resident", NULL, "Patient/pat-0001"},
    {"demo-doctor", "doctor", "Organization/org-zzu1", "Practitioner/pr-zzu1-1"},
    {"demo-nurse", "nurse", "Organization/org-zzu1", "Practitioner/pr-zzu1-3"},
    {"demo-lab", "lab", "Organization/org-zzu1", NULL},
    {"demo-admission", "admission", "Organization/org-zzu1", NULL},
    {"demo-dispatcher", "dispatcher", "Organization/org-zz120", NULL},
    {"demo-ambulance", "ambulance", "Organization/org-zz120", NULL},
    {"demo-transport", "transport", "Organization/org-zz120", NULL},
    {"demo-waste", "waste", "Organization/org-zzu1", NULL},
    {"demo-hospital-admin", "hospital-admin", "Organization/org-zzu1", NULL},
    {"demo-regulator", "regulator", "Organization/hc-410000", NULL},
    {"demo-admin", "platform-admin", NULL, NULL},
};

/*
 * Create the demo accounts that do not exist yet, each with a random
 * password, and list them in DATA/demo-accounts.txt (mode 0600; `make run`
 * shows it). The passwords are made here, never kept in the repository.
 */
static int demo_users(const struct config *cfg, struct store *store)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/demo-accounts.txt", cfg->data_dir);
    FILE *out = fopen(path, "a");
    if (!out) {
        fprintf(stderr, "yujian demo: cannot write %s\n", path);
        return CLI_EXIT_FAIL;
    }
    chmod(path, 0600);
    for (size_t i = 0; i < sizeof(demo_accounts) / sizeof(demo_accounts[0]); i++) {
        const struct demo_account *d = &demo_accounts[i];
        unsigned char raw[9];
        char password[16], why[200];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(password, sizeof(password), raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        enum err err = auth_user_add(store, d->name, password, d->role, d->org, d->subject, false,
                                     why, sizeof(why));
        if (err == ERR_CONFLICT)
            continue; /* made by an earlier run: its line is in the file already */
        if (err) {
            fprintf(stderr, "yujian demo: account %s: %s\n", d->name, why);
            fclose(out);
            return CLI_EXIT_FAIL;
        }
        const struct auth_role *r = auth_role_find(d->role);
        fprintf(out, "  %-20s %-14s %-16s %s / %s\n", d->name, password, d->role, r->zh, r->en);
    }
    fclose(out);
    return CLI_EXIT_OK;
}

/* Print the demo accounts (and their passwords) from DATA/demo-accounts.txt. */
static void show_demo_users(const struct config *cfg)
{
    char path[1024], line[256];
    snprintf(path, sizeof(path), "%s/demo-accounts.txt", cfg->data_dir);
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    printf("demo accounts (演示账号; log in at POST /auth/token, grant_type=password):\n");
    while (fgets(line, sizeof(line), in))
        fputs(line, stdout);
    fclose(in);
}

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
    if (!rc)
        rc = demo_users(cfg, store);
    if (!rc)
        show_demo_users(cfg);
    free(im);
    store_close(store);
    return rc;
}
