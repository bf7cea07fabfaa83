/*
 * sqlite_auth.c - accounts and tokens in the SQLite back end (the audit
 * trail is in sqlite_audit.c).
 *
 *   auth_user(name PK, password_hash, role, org, subject, disabled,
 *             failed_logins, locked_until, created, must_change)
 *   auth_token(hash PK, kind, user, scope, issued, expires, revoked)
 *
 * Token and account lookups run on every request, so their statements are
 * prepared once per reader (read_one). The rest is rare and prepared per call.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "store/sqlite_internal.h"

const char *sqlite_text_col(sqlite3_stmt *st, int col, struct arena *a)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    if (!a)
        return t ? t : "";
    return arena_strndup(a, t ? t : "", t ? (size_t)sqlite3_column_bytes(st, col) : 0);
}

/* One row of SQLITE_USER_COLUMNS into u (strings in a, or borrowed when a is NULL). */
static void user_from_stmt(sqlite3_stmt *st, struct arena *a, void *out)
{
    struct store_user *u = out;
    u->name = sqlite_text_col(st, 0, a);
    u->password_hash = sqlite_text_col(st, 1, a);
    u->role = sqlite_text_col(st, 2, a);
    u->org = sqlite_text_col(st, 3, a);
    u->subject = sqlite_text_col(st, 4, a);
    u->disabled = sqlite3_column_int(st, 5) != 0;
    u->failed_logins = sqlite3_column_int(st, 6);
    u->locked_until_ms = sqlite3_column_int64(st, 7);
    u->created_ms = sqlite3_column_int64(st, 8);
    u->must_change = sqlite3_column_int(st, 9) != 0;
}

struct user_list {
    store_user_fn *fn; /* called per account */
    void *ctx;         /* its argument */
};

static enum err run_user_list(sqlite3 *db, void *arg)
{
    struct user_list *q = arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM auth_user ORDER BY name", SQLITE_USER_COLUMNS);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_sql_err(db, "prepare user");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_user u;
        user_from_stmt(st, NULL, &u);
        if (!q->fn(&u, q->ctx))
            break;
    }
    enum err err = rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(db, "user");
    sqlite3_finalize(st);
    return err;
}

typedef void row_fn(sqlite3_stmt *st, struct arena *a, void *out);

/*
 * The row of reader statement which for key (its one parameter), read
 * into out by fn: ERR_OK, ERR_NOT_FOUND, or a store error. These run on
 * every request, so their statements are prepared once per reader.
 */
static enum err read_one(struct sqlite_store *s, enum read_stmt which, const char *key,
                         struct arena *a, row_fn *fn, void *out, const char *what)
{
    struct reader *r;
    enum err err = sqlite_reader_get(s, &r);
    if (err)
        return err;
    sqlite3_stmt *st = r->stmts[which];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        fn(st, a, out);
    else
        err = rc == SQLITE_DONE ? ERR_NOT_FOUND : sqlite_sql_err(r->db, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite_reader_put(s, r);
    return err;
}

enum err sqlite_user_get(struct store *base, const char *name, struct arena *a,
                         struct store_user *out)
{
    return read_one((struct sqlite_store *)base, RS_USER, name, a, user_from_stmt, out, "user get");
}

enum err sqlite_user_list(struct store *base, store_user_fn *fn, void *ctx)
{
    struct user_list q = {fn, ctx};
    return sqlite_read_snapshot((struct sqlite_store *)base, run_user_list, &q);
}

/* Writer thread: prepare, bind through fill, step, finalize. */
static enum err write_once(struct sqlite_store *s, const char *sql, const char *what,
                           void (*fill)(sqlite3_stmt *, const void *), const void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_sql_err(s->wdb, what);
    fill(st, arg);
    int rc = sqlite3_step(st);
    enum err err = rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(s->wdb, what);
    sqlite3_finalize(st);
    return err;
}

static void fill_user(sqlite3_stmt *st, const void *arg)
{
    const struct store_user *u = arg;
    sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, u->org ? u->org : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, u->subject ? u->subject : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, u->disabled ? 1 : 0);
    sqlite3_bind_int(st, 7, u->failed_logins);
    sqlite3_bind_int64(st, 8, u->locked_until_ms);
    sqlite3_bind_int64(st, 9, u->created_ms);
    sqlite3_bind_int(st, 10, u->must_change ? 1 : 0);
}

enum err sqlite_tx_user_put(struct store_tx *txbase, const struct store_user *u)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    return write_once(tx->store,
                      "INSERT OR REPLACE INTO auth_user (name, password_hash, role, org, subject, "
                      "disabled, failed_logins, locked_until, created, must_change) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                      "user put", fill_user, u);
}

static void token_from_stmt(sqlite3_stmt *st, struct arena *a, void *arg)
{
    struct store_token *out = arg;
    out->kind = sqlite3_column_int(st, 0);
    out->user = sqlite_text_col(st, 1, a);
    out->scope = sqlite_text_col(st, 2, a);
    out->issued_ms = sqlite3_column_int64(st, 3);
    out->expires_ms = sqlite3_column_int64(st, 4);
    out->revoked = sqlite3_column_int(st, 5) != 0;
}

enum err sqlite_token_get(struct store *base, const char *hash, struct arena *a,
                          struct store_token *out)
{
    enum err err =
        read_one((struct sqlite_store *)base, RS_TOKEN, hash, a, token_from_stmt, out, "token get");
    if (!err)
        out->hash = arena_strndup(a, hash, strlen(hash));
    return err;
}

static void fill_token(sqlite3_stmt *st, const void *arg)
{
    const struct store_token *t = arg;
    sqlite3_bind_text(st, 1, t->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, t->kind);
    sqlite3_bind_text(st, 3, t->user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->scope, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, t->issued_ms);
    sqlite3_bind_int64(st, 6, t->expires_ms);
    sqlite3_bind_int(st, 7, t->revoked ? 1 : 0);
}

enum err sqlite_tx_token_put(struct store_tx *txbase, const struct store_token *t)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    /* expired tokens are of no use to anyone: drop them as new ones come */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(tx->store->wdb, "DELETE FROM auth_token WHERE expires < ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, t->issued_ms - 86400000);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return write_once(tx->store,
                      "INSERT INTO auth_token (hash, kind, user, scope, issued, expires, revoked) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      "token put", fill_token, t);
}

struct revoke_args {
    const char *hash; /* or NULL */
    const char *user; /* or NULL */
};

static void fill_revoke(sqlite3_stmt *st, const void *arg)
{
    const struct revoke_args *r = arg;
    if (r->hash)
        sqlite3_bind_text(st, 1, r->hash, -1, SQLITE_STATIC);
    if (r->user)
        sqlite3_bind_text(st, 2, r->user, -1, SQLITE_STATIC);
}

enum err sqlite_tx_token_revoke(struct store_tx *txbase, const char *hash, const char *user)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    struct revoke_args r = {hash, user};
    /* NULL binds match nothing, so an absent hash or user selects no row */
    return write_once(tx->store, "UPDATE auth_token SET revoked = 1 WHERE hash = ?1 OR user = ?2",
                      "token revoke", fill_revoke, &r);
}
