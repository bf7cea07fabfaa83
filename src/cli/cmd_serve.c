/*
 * cmd_serve.c - `yujian serve` and `yujian init`: open the store, start
 * HTTP, and on SIGTERM/SIGINT stop accepting, let requests in flight
 * finish, then close the store cleanly.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/auth.h"
#include "auth/auth_app.h"
#include "hl7v2/hl7_routes.h"
#include "hl7v2/mllp.h"
#include "modules/inpatient/bed_pool.h"
#include "modules/inpatient/bed_routes.h"
#include "modules/inpatient/inpatient_sweep.h"
#include "modules/recognition/recognition_routes.h"
#include "cli/cli.h"
#include "core/log.h"
#include "fhir/reindex.h"
#include "fhir/rest.h"
#include "http/server.h"
#include "store/store.h"

#define SHUTDOWN_GRACE_MS 10000

/* Progress of a foreground re-index on stderr, every 20 batches and at the end. */
static void print_progress(const struct fhir_reindex_progress *p, void *arg)
{
    int64_t *batches = arg;
    if (++*batches % 20 == 0 || p->done >= p->total)
        fprintf(stderr, "\rreindex: %lld of %lld resources (%.1f%%)", (long long)p->done,
                (long long)p->total, p->total ? 100.0 * (double)p->done / (double)p->total : 100.0);
}

int cli_open_store(const struct config *cfg, const char *command, struct store **out)
{
    struct store *store = NULL;
    if (store_sqlite_open(cfg, &store)) {
        fprintf(stderr, "yujian %s: cannot open the database in '%s'\n", command, cfg->data_dir);
        return CLI_EXIT_FAIL;
    }
    if (fhir_reindex_needed(store)) {
        log_info(LOG_MAIN, "search index out of date: rebuilding");
        size_t done = 0;
        if (fhir_reindex_all(store, &done, NULL, NULL)) {
            fprintf(stderr, "yujian %s: cannot rebuild the search index\n", command);
            store_close(store);
            return CLI_EXIT_FAIL;
        }
        log_info(LOG_MAIN, "search index rebuilt resources=%zu", done);
    }
    *out = store;
    return CLI_EXIT_OK;
}

static void print_diff(const char *type, const char *id, void *arg)
{
    int64_t *shown = arg;
    if ((*shown)++ < 20)
        printf("differs: %s/%s\n", type, id);
}

/* yujian reindex --verify: compare the stored index with a fresh computation. */
static int verify(struct store *store)
{
    struct fhir_verify_report rep;
    int64_t shown = 0;
    enum err err = fhir_index_verify(store, &rep, print_diff, &shown);
    store_close(store);
    if (err) {
        fprintf(stderr, "yujian reindex --verify: stopped (%s)\n", err_message(err));
        return CLI_EXIT_FAIL;
    }
    printf("verified %lld resources: %lld differ, %lld stale entries of deleted resources\n",
           (long long)rep.checked, (long long)rep.differ, (long long)rep.stale_keys);
    if (rep.differ || rep.stale_keys)
        printf("run 'yujian reindex' to rebuild the index\n");
    return rep.differ || rep.stale_keys ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cmd_reindex(struct config *cfg, int argc, char **argv)
{
    bool check = argc == 1 && !strcmp(argv[0], "--verify");
    if (argc && !check) {
        fprintf(stderr, "yujian reindex: unexpected argument '%s'\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    struct store *store = NULL;
    if (store_sqlite_open(cfg, &store)) {
        fprintf(stderr, "yujian reindex: cannot open the database in '%s'\n", cfg->data_dir);
        return CLI_EXIT_FAIL;
    }
    if (check)
        return verify(store);
    size_t done = 0;
    int64_t batches = 0;
    enum err err = fhir_reindex_all(store, &done, print_progress, &batches);
    store_close(store);
    fprintf(stderr, "\n");
    if (err)
        fprintf(stderr, "yujian reindex: stopped (%s); run it again to resume\n", err_message(err));
    printf("reindexed %zu resources\n", done);
    return err ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_bootstrap_admin(struct store *store)
{
    char password[25];
    bool created = false;
    if (auth_bootstrap(store, password, &created)) {
        fprintf(stderr, "yujian: cannot create the first administrator account\n");
        return CLI_EXIT_FAIL;
    }
    if (created) {
        /* shown once: only its hash is kept */
        printf("yujian: first run: created the platform administrator 'admin' with the one-time "
               "password %s\n"
               "        首次运行：已创建平台管理员 admin，一次性密码如上；请登录后立即修改 "
               "(POST /auth/password or 'yujian user passwd admin')\n",
               password);
        fflush(stdout);
    }
    return CLI_EXIT_OK;
}

int cmd_init(struct config *cfg, int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "yujian init: unexpected argument '%s'\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    struct store *store = NULL;
    if (cli_open_store(cfg, "init", &store))
        return CLI_EXIT_FAIL;
    int rc = cli_bootstrap_admin(store);
    store_close(store);
    if (rc)
        return rc;
    printf("initialised %s/yujian.db\n", cfg->data_dir);
    return CLI_EXIT_OK;
}

/* What the domain modules keep while serving. */
struct modules {
    struct recog_data *recognition; /* result recognition's reference data */
    struct bed_pool *beds;          /* the inpatient bed pool */
};

static void modules_free(struct modules *m)
{
    recognition_free(m->recognition);
    bed_routes_free(m->beds);
}

int cmd_serve(struct config *cfg, int argc, char **argv)
{
    if (argc) {
        fprintf(stderr, "yujian serve: unexpected argument '%s'\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    /* Block the stop signals in every thread; this one waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct store *store = NULL;
    if (store_sqlite_open(cfg, &store)) {
        fprintf(stderr, "yujian serve: cannot open the database in '%s'\n", cfg->data_dir);
        return CLI_EXIT_FAIL;
    }
    if (cli_bootstrap_admin(store)) {
        store_close(store);
        return CLI_EXIT_FAIL;
    }
    /* an out-of-date search index is rebuilt in the background (see reindex.h) */
    struct fhir_app *app = fhir_app_new(cfg, store);
    struct hl7_service hl7 = {store, cfg};
    /* the modules' operations: the table has room (FHIR_MAX_OPERATIONS) */
    struct modules mods = {recognition_register(app), bed_routes_register(app)};
    hl7_register(app, &hl7);
    struct auth_app *gate = auth_app_new(cfg, store, app);
    struct http_server *server = NULL;
    if (http_server_start(cfg, auth_app_handle, auth_app_finish, gate, &server)) {
        fprintf(stderr, "yujian serve: cannot listen on %s:%d\n", cfg->host, cfg->port);
        auth_app_free(gate);
        fhir_app_free(app);
        modules_free(&mods);
        store_close(store);
        return CLI_EXIT_FAIL;
    }
    struct mllp_server *mllp = NULL;
    if (cfg->hl7_mllp_port >= 0 && mllp_start(cfg, store, &mllp)) {
        fprintf(stderr, "yujian serve: cannot listen for MLLP on %s:%d\n", cfg->hl7_mllp_host,
                cfg->hl7_mllp_port);
        http_server_stop(server, SHUTDOWN_GRACE_MS);
        auth_app_free(gate);
        fhir_app_free(app);
        modules_free(&mods);
        store_close(store);
        return CLI_EXIT_FAIL;
    }
    bed_pool_warm(mods.beds);
    struct inpt_sweep *sweep = inpt_sweep_start(store, cfg);
    if (mllp)
        printf("yujian: HL7 v2 (MLLP) on %s:%d\n", cfg->hl7_mllp_host, mllp_port(mllp));
    printf("yujian: serving http://%s:%u/fhir (data in %s)\n", cfg->host, http_server_port(server),
           cfg->data_dir);
    struct stat web;
    if (*cfg->web_dir && stat(cfg->web_dir, &web) == 0 && S_ISDIR(web.st_mode))
        printf("yujian: console (控制台) at http://%s:%u/console/\n", cfg->host,
               http_server_port(server));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    log_info(LOG_MAIN, "stopping signal=%d", sig);
    inpt_sweep_stop(sweep);
    mllp_stop(mllp);
    http_server_stop(server, SHUTDOWN_GRACE_MS);
    auth_app_free(gate);
    fhir_app_free(app);
    modules_free(&mods);
    store_close(store);
    log_info(LOG_MAIN, "stopped");
    return CLI_EXIT_OK;
}

int cmd_config_doc(struct config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argc;
    (void)argv;
    config_print_markdown(stdout);
    return CLI_EXIT_OK;
}
