/*
 * main.c - entry point: finds the command, builds the configuration with
 * the precedence default < file < environment < flags, and runs it.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"
#include "fhir/capability.h"

struct command {
    const char *name;   /* as typed */
    cli_command_fn *fn; /* implementation */
    const char *args;   /* positional arguments, for usage */
    const char *help;   /* one line */
};

static const struct command commands[] = {
    {"serve", cmd_serve, "", "run the FHIR server until SIGTERM or SIGINT"},
    {"init", cmd_init, "", "create the data directory and database schema"},
    {"import", cmd_import, "FILE|-", "load a Bundle or NDJSON file of resources"},
    {"demo", cmd_demo, "", "load the deterministic demo data set (Henan hospitals, patients)"},
    {"reindex", cmd_reindex, "[--verify]",
     "rebuild the search index of every resource (--verify: compare it, change nothing)"},
    {"bench-data", cmd_bench_data, "COUNT", "load COUNT generated Observations (for bench/)"},
    {"user", cmd_user,
     "add NAME ROLE [--org REF] [--subject REF] | list | roles | passwd NAME | disable NAME | "
     "enable NAME",
     "manage accounts (a password is read from standard input, or generated)"},
    {"audit", cmd_audit, "verify", "check that the audit trail is whole (hash chain)"},
    {"config-doc", cmd_config_doc, "", "print the configuration reference (docs/config.md)"},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out,
            "yujian %s - regional health-service platform (FHIR R4 server)\n\n"
            "usage: yujian COMMAND [OPTIONS] [ARGS]\n\ncommands:\n",
            YUJIAN_VERSION);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n'yujian COMMAND --help' shows the options of a command.\n");
}

static void command_usage(const struct command *cmd, FILE *out)
{
    fprintf(out, "usage: yujian %s [OPTIONS] %s\n%s\n\noptions:\n  --%-16s %s\n", cmd->name,
            cmd->args, cmd->help, "config FILE", "read options from FILE (lines 'name = value')");
    config_print_help(out);
}

static bool is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "help");
}

/* Flags without a value that belong to a command, not to the configuration. */
static bool is_command_flag(const char *a)
{
    static const char *const flags[] = {"--verify"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strcmp(a, flags[i]))
            return true;
    return false;
}

/* Options with a value that belong to a command (yujian user add ... --org REF). */
static bool is_command_option(const char *a)
{
    return !strcmp(a, "--org") || !strcmp(a, "--subject");
}

/*
 * Split argv into options and positional arguments. Options are
 * "--flag VALUE" or "--flag=VALUE"; "--" ends them.
 */
static int build_config(struct config *cfg, int argc, char **argv, int *out_argc, char **out_argv)
{
    struct buf err;
    buf_init(&err, 1024);
    const char *config_file = NULL;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_file = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            config_file = argv[i] + 9;
    int rc = CLI_EXIT_OK;
    if (config_file && config_load_file(cfg, config_file, &err))
        rc = CLI_EXIT_USAGE;
    if (!rc && config_load_env(cfg, &err))
        rc = CLI_EXIT_USAGE;
    int n = 0;
    bool options_done = false;
    for (int i = 0; !rc && i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && is_command_option(a) && i + 1 < argc) {
            out_argv[n++] = argv[i++];
            out_argv[n++] = argv[i];
            continue;
        }
        if (options_done || strncmp(a, "--", 2) != 0 || !a[2] || is_command_flag(a)) {
            if (!strcmp(a, "--") && !options_done) {
                options_done = true;
                continue;
            }
            out_argv[n++] = argv[i];
            continue;
        }
        char flag[64];
        const char *value;
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(flag, sizeof(flag), "%.*s", (int)(eq - a - 2), a + 2);
            value = eq + 1;
        } else {
            snprintf(flag, sizeof(flag), "%s", a + 2);
            if (i + 1 >= argc) {
                buf_printf(&err, "option '--%s' needs a value", flag);
                rc = CLI_EXIT_USAGE;
                break;
            }
            value = argv[++i];
        }
        if (!strcmp(flag, "config"))
            continue;
        if (config_set_flag(cfg, flag, value, &err))
            rc = CLI_EXIT_USAGE;
    }
    if (!rc && !log_set_level_name(cfg->log_level)) {
        buf_printf(&err, "option 'log.level': '%s' is not one of error, warn, info, debug",
                   cfg->log_level);
        rc = CLI_EXIT_USAGE;
    }
    if (rc)
        fprintf(stderr, "yujian: %s\n", err.ptr ? err.ptr : "bad configuration");
    buf_release(&err);
    *out_argc = n;
    return rc;
}

/*
 * Fixed malloc thresholds. glibc adapts its mmap threshold to the sizes
 * freed so far, so depending on which requests a server happened to serve
 * first, each search could map, fault in and unmap its buffers (and trim
 * heaps with madvise) on every request: the same query measured 4x slower
 * after a warm-up with another. Fixed values keep request memory in the
 * heaps for the life of the process.
 */
static void tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

int main(int argc, char **argv)
{
    tune_malloc();
    if (argc < 2 || is_help(argv[1]) || !strcmp(argv[1], "--version")) {
        if (argc >= 2 && !strcmp(argv[1], "--version")) {
            printf("yujian %s\n", YUJIAN_VERSION);
            return CLI_EXIT_OK;
        }
        if (argc >= 3) {
            for (size_t i = 0; i < COMMAND_COUNT; i++)
                if (!strcmp(argv[2], commands[i].name)) {
                    command_usage(&commands[i], stdout);
                    return CLI_EXIT_OK;
                }
        }
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const struct command *cmd = NULL;
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(argv[1], commands[i].name))
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "yujian: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            command_usage(cmd, stdout);
            return CLI_EXIT_OK;
        }
    struct config cfg;
    config_init(&cfg);
    char *args[256];
    int nargs = 0;
    if (argc - 2 > 256) {
        fprintf(stderr, "yujian: too many arguments\n");
        return CLI_EXIT_USAGE;
    }
    int rc = build_config(&cfg, argc - 2, argv + 2, &nargs, args);
    if (!rc)
        rc = cmd->fn(&cfg, nargs, args);
    config_release(&cfg);
    return rc;
}
