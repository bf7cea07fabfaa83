/*
 * cli.h - the yujian command line: one table of commands (git.c style),
 * one file per command. Exit codes: 0 success, 1 failure, 2 usage or
 * configuration error.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "core/config.h"
#include "store/store.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

/*
 * A command gets the loaded config and its positional arguments (options
 * already consumed). It returns the process exit code.
 */
typedef int cli_command_fn(struct config *cfg, int argc, char **argv);

int cmd_serve(struct config *cfg, int argc, char **argv);
int cmd_init(struct config *cfg, int argc, char **argv);
int cmd_import(struct config *cfg, int argc, char **argv);
int cmd_demo(struct config *cfg, int argc, char **argv);
int cmd_bench_data(struct config *cfg, int argc, char **argv);
int cmd_reindex(struct config *cfg, int argc, char **argv);
int cmd_config_doc(struct config *cfg, int argc, char **argv);
int cmd_user(struct config *cfg, int argc, char **argv);
int cmd_audit(struct config *cfg, int argc, char **argv);

/* When the store has no account yet, create 'admin' and print its one-time password. */
int cli_bootstrap_admin(struct store *store);

/*
 * Open the store in cfg->data_dir and bring its search index up to date
 * (rebuilt when this program indexes differently from the data). On
 * failure prints why, prefixed with command, and returns non-zero.
 */
int cli_open_store(const struct config *cfg, const char *command, struct store **out);

#endif
