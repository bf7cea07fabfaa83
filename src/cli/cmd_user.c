/*
 * cmd_user.c - `yujian user ...` (accounts) and `yujian audit verify`.
 * A password comes from the first line of standard input when that is not a
 * terminal (scripts, tests); otherwise a random one-time password is made,
 * printed once, and must be changed at the first login.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth/audit.h"
#include "auth/auth.h"
#include "cli/cli.h"
#include "core/timeutil.h"

/* The password to set: read (false in *generated) or made (true). */
static bool obtain_password(char *out, size_t size, bool *generated)
{
    *generated = false;
    if (!isatty(STDIN_FILENO)) {
        if (!fgets(out, (int)size, stdin))
            return false;
        out[strcspn(out, "\r\n")] = '\0';
        return true;
    }
    unsigned char raw[18];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, size, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *generated = true;
    return true;
}

static int user_add(struct store *s, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: yujian user add NAME ROLE [--org Organization/ID] "
                        "[--subject Practitioner/ID|Patient/ID]\n");
        return CLI_EXIT_USAGE;
    }
    const char *org = NULL, *subject = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--org") && !strncmp(argv[i + 1], "Organization/", 13))
            org = argv[i + 1];
        else if (!strcmp(argv[i], "--subject") && (!strncmp(argv[i + 1], "Practitioner/", 13) ||
                                                   !strncmp(argv[i + 1], "Patient/", 8)))
            subject = argv[i + 1];
        else {
            fprintf(stderr,
                    "yujian user add: '%s %s' is not --org Organization/ID or "
                    "--subject Practitioner/ID|Patient/ID\n",
                    argv[i], argv[i + 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if ((argc - 2) % 2) {
        fprintf(stderr, "yujian user add: '%s' needs a value\n", argv[argc - 1]);
        return CLI_EXIT_USAGE;
    }
    char password[AUTH_MAX_PASSWORD + 2], why[200];
    bool generated;
    if (!obtain_password(password, sizeof(password), &generated)) {
        fprintf(stderr, "yujian user add: no password on standard input\n");
        return CLI_EXIT_USAGE;
    }
    enum err err =
        auth_user_add(s, argv[0], password, argv[1], org, subject, generated, why, sizeof(why));
    if (err) {
        fprintf(stderr, "yujian user add: %s\n",
                err == ERR_INVALID || err == ERR_CONFLICT ? why : err_message(err));
        sodium_memzero(password, sizeof(password));
        return err == ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    printf("created account '%s' (%s)\n", argv[0], argv[1]);
    if (generated)
        printf("one-time password: %s (to be changed at the first login)\n", password);
    sodium_memzero(password, sizeof(password));
    return CLI_EXIT_OK;
}

static bool print_user(const struct store_user *u, void *arg)
{
    (void)arg;
    const struct auth_role *r = auth_role_find(u->role);
    const char *state = u->disabled                          ? "disabled"
                        : u->locked_until_ms > time_now_ms() ? "locked"
                        : u->must_change                     ? "one-time password"
                                                             : "active";
    printf("%-20s %-15s %-10s %-28s %-26s %s\n", u->name, u->role, r ? r->zh : "?",
           *u->org ? u->org : "-", *u->subject ? u->subject : "-", state);
    return true;
}

static int user_list(struct store *s)
{
    printf("%-20s %-15s %-10s %-28s %-26s %s\n", "NAME", "ROLE", "", "ORGANIZATION", "SUBJECT",
           "STATE");
    return store_user_list(s, print_user, NULL) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int user_roles(void)
{
    for (size_t i = 0; i < auth_role_count; i++)
        printf("%-15s %s / %s\n    %s\n", auth_roles[i].code, auth_roles[i].zh, auth_roles[i].en,
               auth_roles[i].scopes);
    return CLI_EXIT_OK;
}

static int user_passwd(struct store *s, const char *name)
{
    char password[AUTH_MAX_PASSWORD + 2], why[200];
    bool generated;
    if (!obtain_password(password, sizeof(password), &generated)) {
        fprintf(stderr, "yujian user passwd: no password on standard input\n");
        return CLI_EXIT_USAGE;
    }
    enum err err = auth_user_set_password(s, name, password, generated, why, sizeof(why));
    if (err) {
        fprintf(stderr, "yujian user passwd: %s\n",
                err == ERR_INVALID     ? why
                : err == ERR_NOT_FOUND ? "no such account"
                                       : err_message(err));
    } else {
        printf("password of '%s' changed; its tokens are revoked\n", name);
        if (generated)
            printf("one-time password: %s (to be changed at the first login)\n", password);
    }
    sodium_memzero(password, sizeof(password));
    return err ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int run_user(struct store *s, int argc, char **argv)
{
    const char *sub = argv[0];
    if (!strcmp(sub, "add"))
        return user_add(s, argc - 1, argv + 1);
    if (!strcmp(sub, "list") && argc == 1)
        return user_list(s);
    if (!strcmp(sub, "passwd") && argc == 2)
        return user_passwd(s, argv[1]);
    if ((!strcmp(sub, "disable") || !strcmp(sub, "enable")) && argc == 2) {
        enum err err = auth_user_set_disabled(s, argv[1], !strcmp(sub, "disable"));
        if (err)
            fprintf(stderr, "yujian user %s: %s\n", sub,
                    err == ERR_NOT_FOUND ? "no such account" : err_message(err));
        else
            printf("account '%s' %sd\n", argv[1], sub);
        return err ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    fprintf(stderr, "usage: yujian user add NAME ROLE [--org REF] [--subject REF] | list | roles "
                    "| passwd NAME | disable NAME | enable NAME\n");
    return CLI_EXIT_USAGE;
}

int cmd_user(struct config *cfg, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "roles"))
        return user_roles();
    if (argc < 1) {
        fprintf(stderr, "usage: yujian user add|list|roles|passwd|disable|enable ...\n");
        return CLI_EXIT_USAGE;
    }
    struct store *store = NULL;
    if (store_sqlite_open(cfg, &store)) {
        fprintf(stderr, "yujian user: cannot open the database in '%s'\n", cfg->data_dir);
        return CLI_EXIT_FAIL;
    }
    int rc = run_user(store, argc, argv);
    store_close(store);
    return rc;
}

int cmd_audit(struct config *cfg, int argc, char **argv)
{
    if (argc != 1 || strcmp(argv[0], "verify") != 0) {
        fprintf(stderr, "usage: yujian audit verify\n");
        return CLI_EXIT_USAGE;
    }
    struct store *store = NULL;
    if (store_sqlite_open(cfg, &store)) {
        fprintf(stderr, "yujian audit: cannot open the database in '%s'\n", cfg->data_dir);
        return CLI_EXIT_FAIL;
    }
    struct audit_verify_report rep;
    enum err err = audit_verify(store, &rep);
    store_close(store);
    if (err) {
        fprintf(stderr, "yujian audit verify: cannot read the trail (%s)\n", err_message(err));
        return CLI_EXIT_FAIL;
    }
    if (rep.first_bad) {
        printf("audit trail BROKEN at entry %lld: %s (%lld entries before it are whole)\n",
               (long long)rep.first_bad, rep.reason, (long long)rep.entries);
        return CLI_EXIT_FAIL;
    }
    printf("audit trail whole: %lld entries; head %s\n", (long long)rep.entries,
           rep.entries ? rep.head_hash : "(empty)");
    return CLI_EXIT_OK;
}
