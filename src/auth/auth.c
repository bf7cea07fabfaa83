/*
 * auth.c - accounts and tokens (see auth.h). Password hashing is libsodium's
 * Argon2id with t=2 and m=19 MiB (the OWASP minimum), so a login costs about
 * 40 ms of one core and 19 MiB while it runs; tokens are 256 random bits.
 */
#include "auth/auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

#define PWHASH_OPS 2
#define PWHASH_MEM (19u * 1024 * 1024)

void auth_policy_from_config(struct auth_policy *p, const struct config *cfg)
{
    p->max_failed_logins = cfg->auth_max_failed_logins;
    p->lockout_s = cfg->auth_lockout_s;
    p->access_ttl_s = cfg->auth_access_ttl_s;
    p->refresh_ttl_s = cfg->auth_refresh_ttl_s;
}

bool auth_name_is_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static bool password_ok(const char *password, char *why, size_t size)
{
    size_t n = strlen(password);
    if (n < AUTH_MIN_PASSWORD || n > AUTH_MAX_PASSWORD) {
        snprintf(why, size, "a password has %d to %d characters", AUTH_MIN_PASSWORD,
                 AUTH_MAX_PASSWORD);
        return false;
    }
    return true;
}

static enum err hash_password(const char *password, char out[crypto_pwhash_STRBYTES])
{
    if (crypto_pwhash_str_alg(out, password, strlen(password), PWHASH_OPS, PWHASH_MEM,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return ERR_INTERNAL; /* out of memory */
    return ERR_OK;
}

static enum err put_user(struct store_tx *tx, void *arg)
{
    return store_tx_user_put(tx, arg);
}

static enum err put_user_revoking(struct store_tx *tx, void *arg)
{
    const struct store_user *u = arg;
    enum err err = store_tx_user_put(tx, u);
    return err ? err : store_tx_token_revoke(tx, NULL, u->name);
}

enum err auth_user_add(struct store *s, const char *name, const char *password, const char *role,
                       const char *org, const char *subject, bool must_change, char *why,
                       size_t size)
{
    if (!auth_name_is_valid(name)) {
        snprintf(why, size, "'%.64s' is not an account name (a-z, 0-9, '.', '_', '-')", name);
        return ERR_INVALID;
    }
    if (!auth_role_find(role)) {
        snprintf(why, size, "'%.64s' is not a role", role);
        return ERR_INVALID;
    }
    if (!password_ok(password, why, size))
        return ERR_INVALID;
    struct arena a;
    arena_init(&a, 1024);
    struct store_user existing;
    enum err err = store_user_get(s, name, &a, &existing);
    arena_release(&a);
    if (err != ERR_NOT_FOUND) {
        if (!err)
            snprintf(why, size, "account '%s' exists already", name);
        return err ? err : ERR_CONFLICT;
    }
    char hash[crypto_pwhash_STRBYTES];
    err = hash_password(password, hash);
    if (err)
        return err;
    struct store_user u = {name,  hash, role, org ? org : "", subject ? subject : "",
                           false, 0,    0,    time_now_ms(),  must_change};
    return store_write(s, put_user, &u);
}

enum err auth_user_set_password(struct store *s, const char *name, const char *password,
                                bool must_change, char *why, size_t size)
{
    if (!password_ok(password, why, size))
        return ERR_INVALID;
    struct arena a;
    arena_init(&a, 1024);
    struct store_user u;
    enum err err = store_user_get(s, name, &a, &u);
    char hash[crypto_pwhash_STRBYTES];
    if (!err)
        err = hash_password(password, hash);
    if (!err) {
        u.password_hash = hash;
        u.failed_logins = 0;
        u.locked_until_ms = 0;
        u.must_change = must_change;
        err = store_write(s, put_user_revoking, &u);
    }
    sodium_memzero(hash, sizeof(hash));
    arena_release(&a);
    return err;
}

enum err auth_user_set_disabled(struct store *s, const char *name, bool disabled)
{
    struct arena a;
    arena_init(&a, 1024);
    struct store_user u;
    enum err err = store_user_get(s, name, &a, &u);
    if (!err) {
        u.disabled = disabled;
        err = store_write(s, disabled ? put_user_revoking : put_user, &u);
    }
    arena_release(&a);
    return err;
}

enum err auth_login(struct store *s, const struct auth_policy *p, const char *name,
                    const char *password, struct arena *a, struct store_user *out)
{
    struct store_user u;
    enum err err = store_user_get(s, name, a, &u);
    if (err == ERR_NOT_FOUND) {
        /* spend the same time as a real check, so a missing name does not show */
        char hash[crypto_pwhash_STRBYTES];
        hash_password(password, hash);
        return ERR_UNAUTHORIZED;
    }
    if (err)
        return err;
    int64_t now = time_now_ms();
    if (u.locked_until_ms > now)
        return ERR_TOO_MANY;
    bool ok = crypto_pwhash_str_verify(u.password_hash, password, strlen(password)) == 0;
    if (ok && !u.disabled) {
        if (u.failed_logins) {
            u.failed_logins = 0;
            err = store_write(s, put_user, &u);
        }
        if (!err)
            *out = u;
        return err;
    }
    if (!ok) {
        /* a failure in a row: lock after max_failed_logins, then start counting again */
        u.failed_logins++;
        if (u.failed_logins >= p->max_failed_logins) {
            u.failed_logins = 0;
            u.locked_until_ms = now + (int64_t)p->lockout_s * 1000;
        }
        err = store_write(s, put_user, &u);
        if (err)
            return err;
        if (u.locked_until_ms > now)
            return ERR_TOO_MANY;
    }
    return ERR_UNAUTHORIZED;
}

static void token_hash(const char *token, char out[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, 65, digest, sizeof(digest));
}

static enum err put_token(struct store_tx *tx, void *arg)
{
    return store_tx_token_put(tx, arg);
}

enum err auth_token_issue(struct store *s, const char *user, const char *scope, int kind, int ttl_s,
                          char out[AUTH_TOKEN_CHARS + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    char token[AUTH_TOKEN_CHARS + 1];
    sodium_bin2base64(token, sizeof(token), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    char hash[65];
    token_hash(token, hash);
    int64_t now = time_now_ms();
    struct store_token t = {hash, kind, user, scope, now, now + (int64_t)ttl_s * 1000, false};
    enum err err = store_write(s, put_token, &t);
    if (!err)
        memcpy(out, token, sizeof(token));
    sodium_memzero(token, sizeof(token));
    return err;
}

static bool token_shape_ok(const char *token)
{
    size_t n = strlen(token);
    if (n != AUTH_TOKEN_CHARS)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)token[i]) && token[i] != '-' && token[i] != '_')
            return false;
    return true;
}

enum err auth_token_check(struct store *s, const char *token, int kind, struct arena *a,
                          struct store_token *out)
{
    if (!token_shape_ok(token))
        return ERR_UNAUTHORIZED;
    char hash[65];
    token_hash(token, hash);
    struct store_token t;
    enum err err = store_token_get(s, hash, a, &t);
    if (err == ERR_NOT_FOUND)
        return ERR_UNAUTHORIZED;
    if (err)
        return err;
    if (t.kind != kind || t.revoked || t.expires_ms <= time_now_ms())
        return ERR_UNAUTHORIZED;
    *out = t;
    return ERR_OK;
}

static enum err revoke_token(struct store_tx *tx, void *arg)
{
    return store_tx_token_revoke(tx, arg, NULL);
}

enum err auth_token_revoke(struct store *s, const char *token)
{
    if (!token_shape_ok(token))
        return ERR_OK;
    char hash[65];
    token_hash(token, hash);
    return store_write(s, revoke_token, hash);
}

enum err auth_authenticate(struct store *s, const char *token, struct arena *a,
                           struct auth_principal *out, char *why, size_t size)
{
    struct store_token t;
    enum err err = auth_token_check(s, token, STORE_TOKEN_ACCESS, a, &t);
    if (err) {
        snprintf(why, size, "the access token is not valid (unknown, expired or revoked)");
        return err;
    }
    struct store_user u;
    err = store_user_get(s, t.user, a, &u);
    const struct auth_role *role = err ? NULL : auth_role_find(u.role);
    if (err || u.disabled || !role) {
        snprintf(why, size, "the account of this token is disabled or gone");
        return err && err != ERR_NOT_FOUND ? err : ERR_UNAUTHORIZED;
    }
    char scope_why[128];
    if (auth_scopes_parse(t.scope, &out->scopes, scope_why, sizeof(scope_why))) {
        snprintf(why, size, "the token's scopes are not valid");
        return ERR_UNAUTHORIZED;
    }
    out->user = u.name;
    out->role = role;
    out->org = u.org;
    out->subject = u.subject;
    out->scope_text = t.scope;
    return ERR_OK;
}

static bool count_user(const struct store_user *u, void *arg)
{
    (void)u;
    ++*(size_t *)arg;
    return false;
}

enum err auth_bootstrap(struct store *s, char password_out[25], bool *created)
{
    *created = false;
    size_t users = 0;
    enum err err = store_user_list(s, count_user, &users);
    if (err || users)
        return err;
    unsigned char raw[18];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(password_out, 25, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char why[128];
    err = auth_user_add(s, "admin", password_out, "platform-admin", NULL, NULL, true, why,
                        sizeof(why));
    *created = !err;
    return err;
}
