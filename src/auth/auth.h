/*
 * auth.h - accounts and tokens: Argon2id passwords with a lock-out after
 * repeated failures, and bearer tokens that are random, short-lived and
 * stored only as their SHA-256 hash (the database never holds a usable
 * token). Every function may be called from any thread.
 */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/roles.h"
#include "auth/scope.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

#define AUTH_TOKEN_CHARS  43 /* 32 random bytes, base64url without padding */
#define AUTH_MIN_PASSWORD 8
#define AUTH_MAX_PASSWORD 256

/* Who is calling: the account behind a valid access token. Strings in the request arena. */
struct auth_principal {
    const char *user;             /* account name */
    const struct auth_role *role; /* its role */
    const char *org;              /* "Organization/id" or "" */
    const char *subject;          /* "Practitioner/id", "Patient/id" or "" */
    struct auth_scopes scopes;    /* what the token grants */
    const char *scope_text;       /* the same, as granted */
};

/* Lock-out and lifetimes, from the configuration. */
struct auth_policy {
    int max_failed_logins; /* failures in a row before the account locks */
    int lockout_s;         /* how long it stays locked */
    int access_ttl_s;      /* access token lifetime */
    int refresh_ttl_s;     /* refresh token lifetime */
};

void auth_policy_from_config(struct auth_policy *p, const struct config *cfg);

/*
 * Is name a valid account name (1-64 of a-z 0-9 . _ -, starting with a
 * letter or digit)?
 */
bool auth_name_is_valid(const char *name);

/*
 * Create the account name (ERR_CONFLICT if it exists). role must be a
 * role code; org and subject may be NULL. The password (8-256 bytes) is
 * stored as an Argon2id hash. must_change marks a one-time password.
 */
enum err auth_user_add(struct store *s, const char *name, const char *password, const char *role,
                       const char *org, const char *subject, bool must_change, char *why,
                       size_t size);

/*
 * Set a new password, clear the lock-out, revoke every token of the account.
 * must_change marks it a one-time password (set by an administrator).
 */
enum err auth_user_set_password(struct store *s, const char *name, const char *password,
                                bool must_change, char *why, size_t size);

/* Disable (or enable) the account; disabling revokes every token of it. */
enum err auth_user_set_disabled(struct store *s, const char *name, bool disabled);

/*
 * Check a password. ERR_OK with *out (strings in a) when it matches;
 * ERR_UNAUTHORIZED when the name or password is wrong or the account is
 * disabled (one answer for all, so names cannot be probed); ERR_TOO_MANY
 * when the account is locked out. Failures count toward the lock-out.
 */
enum err auth_login(struct store *s, const struct auth_policy *p, const char *name,
                    const char *password, struct arena *a, struct store_user *out);

/*
 * Issue a token of kind for user with scope; the token text is written to
 * out (AUTH_TOKEN_CHARS + 1 bytes). Only its hash is stored.
 */
enum err auth_token_issue(struct store *s, const char *user, const char *scope, int kind, int ttl_s,
                          char out[AUTH_TOKEN_CHARS + 1]);

/*
 * The valid, unrevoked, unexpired token of kind; *out (strings in a).
 * ERR_UNAUTHORIZED otherwise.
 */
enum err auth_token_check(struct store *s, const char *token, int kind, struct arena *a,
                          struct store_token *out);

/* Revoke token (any kind); unknown tokens are no error (RFC 7009). */
enum err auth_token_revoke(struct store *s, const char *token);

/*
 * The principal behind a bearer access token: the token checked, its
 * account enabled, its role known. ERR_UNAUTHORIZED with why otherwise.
 */
enum err auth_authenticate(struct store *s, const char *token, struct arena *a,
                           struct auth_principal *out, char *why, size_t size);

/*
 * First run: when no account exists, create "admin" (platform-admin) with a
 * random one-time password written to password_out (25 bytes). *created
 * tells whether it happened.
 */
enum err auth_bootstrap(struct store *s, char password_out[25], bool *created);

#endif
