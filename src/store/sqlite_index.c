/*
 * sqlite_index.c - the search index of the SQLite back end: its tables and writes.
 *
 *   res_current(key PK, type, id, version, last_updated, deleted, seq)
 *        │ one row per resource; seq points at its current row in resource
 *        ▼
 *   sp_token(key, param, system, code)     sp_string(key, param, norm, raw)
 *   sp_reference(key, param, target)       sp_date(key, param, low, high)
 *   sp_number(key, param, value)           sp_quantity(key, param, value, system, code)
 *   sp_uri(key, param, uri)                each clustered by key (WITHOUT ROWID, the
 *                                          primary key is every column) and indexed by
 *                                          (param, value...); absent text is ''
 *
 * Writes (writer thread): the version's row in res_current is upserted and
 * its entries brought in line with the new version, inside the unit's
 * transaction: only the entries that changed are deleted or inserted (an
 * update usually changes a few of them, and every entry touched dirties a
 * page of its (param, value) index). Queries over these tables are in
 * sqlite_search.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/sqlite_internal.h"

static const char *const tables[STORE_IDX__COUNT] = {
    "sp_token", "sp_string", "sp_reference", "sp_date", "sp_number", "sp_quantity", "sp_uri",
};

/*
 * ?1 key, ?2 param, ?3 text1, ?4 text2, ?5 low, ?6 high, ?7 number. OR IGNORE: an entry a
 * resource yields twice is one entry, and the statement needs no statement journal.
 */
static const char *const insert_sql[STORE_IDX__COUNT] = {
    "INSERT OR IGNORE INTO sp_token (key, param, system, code) VALUES (?1, ?2, ?3, ?4)",
    "INSERT OR IGNORE INTO sp_string (key, param, norm, raw) VALUES (?1, ?2, ?3, ?4)",
    "INSERT OR IGNORE INTO sp_reference (key, param, target) VALUES (?1, ?2, ?3)",
    "INSERT OR IGNORE INTO sp_date (key, param, low, high) VALUES (?1, ?2, ?5, ?6)",
    "INSERT OR IGNORE INTO sp_number (key, param, value) VALUES (?1, ?2, ?7)",
    ("INSERT OR IGNORE INTO sp_quantity (key, param, system, code, value) "
     "VALUES (?1, ?2, ?3, ?4, ?7)"),
    "INSERT OR IGNORE INTO sp_uri (key, param, uri) VALUES (?1, ?2, ?3)",
};

/* Columns read back per table, in the order of struct store_index_entry's fields. */
static const char *const select_sql[STORE_IDX__COUNT] = {
    "SELECT key, param, nullif(system, ''), code, 0, 0, 0 FROM sp_token",
    "SELECT key, param, norm, raw, 0, 0, 0 FROM sp_string",
    "SELECT key, param, target, NULL, 0, 0, 0 FROM sp_reference",
    "SELECT key, param, NULL, NULL, 0, low, high FROM sp_date",
    "SELECT key, param, NULL, NULL, value, 0, 0 FROM sp_number",
    "SELECT key, param, nullif(system, ''), nullif(code, ''), value, 0, 0 FROM sp_quantity",
    "SELECT key, param, uri, NULL, 0, 0, 0 FROM sp_uri",
};

/* One entry (its whole primary key), bound as insert_sql binds it. */
static const char *const delete_one_sql[STORE_IDX__COUNT] = {
    "DELETE FROM sp_token WHERE key = ?1 AND param = ?2 AND system = ?3 AND code = ?4",
    "DELETE FROM sp_string WHERE key = ?1 AND param = ?2 AND norm = ?3 AND raw = ?4",
    "DELETE FROM sp_reference WHERE key = ?1 AND param = ?2 AND target = ?3",
    "DELETE FROM sp_date WHERE key = ?1 AND param = ?2 AND low = ?5 AND high = ?6",
    "DELETE FROM sp_number WHERE key = ?1 AND param = ?2 AND value = ?7",
    ("DELETE FROM sp_quantity WHERE key = ?1 AND param = ?2 AND system = ?3 AND code = ?4 "
     "AND value = ?7"),
    "DELETE FROM sp_uri WHERE key = ?1 AND param = ?2 AND uri = ?3",
};

/*
 * A resource's row in res_current: inserted for a first version, updated
 * after. Not one upsert: ON CONFLICT DO UPDATE makes SQLite open a statement
 * journal (a savepoint with its page bitmaps) for every write, which was a
 * fifth of the writer's time during ingest. OR IGNORE statements need none;
 * whether they hit is read from what they return.
 */
static const char *const insert_current_sql =
    "INSERT OR IGNORE INTO res_current (type, id, version, last_updated, deleted, seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING key";
static const char *const update_current_sql =
    "UPDATE OR IGNORE res_current SET version = ?3, last_updated = ?4, deleted = ?5, seq = ?6 "
    "WHERE type = ?1 AND id = ?2 RETURNING key";

enum err sqlite_index_prepare(struct sqlite_store *s)
{
    int flags = SQLITE_PREPARE_PERSISTENT;
    if (sqlite3_prepare_v3(s->wdb, insert_current_sql, -1, flags, &s->w_insert_current, NULL) ||
        sqlite3_prepare_v3(s->wdb, update_current_sql, -1, flags, &s->w_update_current, NULL) ||
        sqlite3_prepare_v3(s->wdb,
                           "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) "
                           "DO UPDATE SET value = excluded.value",
                           -1, flags, &s->w_meta_set, NULL))
        return sqlite_sql_err(s->wdb, "prepare index");
    for (int k = 0; k < STORE_IDX__COUNT; k++) {
        char del[64];
        snprintf(del, sizeof(del), "DELETE FROM %s WHERE key = ?1", tables[k]);
        char sel[160];
        snprintf(sel, sizeof(sel), "%s WHERE key = ?1", select_sql[k]);
        if (sqlite3_prepare_v3(s->wdb, insert_sql[k], -1, flags, &s->w_index_insert[k], NULL) ||
            sqlite3_prepare_v3(s->wdb, del, -1, flags, &s->w_index_delete[k], NULL) ||
            sqlite3_prepare_v3(s->wdb, sel, -1, flags, &s->w_index_select[k], NULL) ||
            sqlite3_prepare_v3(s->wdb, delete_one_sql[k], -1, flags, &s->w_index_delete_one[k],
                               NULL))
            return sqlite_sql_err(s->wdb, "prepare index");
    }
    return ERR_OK;
}

void sqlite_index_finalize(struct sqlite_store *s)
{
    sqlite3_finalize(s->w_insert_current);
    sqlite3_finalize(s->w_update_current);
    sqlite3_finalize(s->w_meta_set);
    for (int k = 0; k < STORE_IDX__COUNT; k++) {
        sqlite3_finalize(s->w_index_insert[k]);
        sqlite3_finalize(s->w_index_delete[k]);
        sqlite3_finalize(s->w_index_select[k]);
        sqlite3_finalize(s->w_index_delete_one[k]);
    }
}

static enum err step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    enum err err = rc == SQLITE_DONE || rc == SQLITE_ROW ? ERR_OK : sqlite_sql_err(s->wdb, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

/* Absent text is stored as '' (index columns are part of the primary key, never NULL). */
static void bind_text_or_empty(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

/* Bind key and e to st (one of insert_sql or delete_one_sql of e's kind). */
static void bind_entry(sqlite3_stmt *st, int64_t key, const struct store_index_entry *e)
{
    int params = sqlite3_bind_parameter_count(st);
    sqlite3_bind_int64(st, 1, key);
    sqlite3_bind_text(st, 2, e->param, -1, SQLITE_STATIC);
    if (params >= 3)
        bind_text_or_empty(st, 3, e->text1);
    if (params >= 4)
        bind_text_or_empty(st, 4, e->text2);
    if (params >= 6) {
        sqlite3_bind_int64(st, 5, e->low);
        sqlite3_bind_int64(st, 6, e->high);
    }
    if (params >= 7)
        sqlite3_bind_double(st, 7, e->number);
}

static enum err insert_entry(struct sqlite_store *s, int64_t key, const struct store_index_entry *e)
{
    sqlite3_stmt *st = s->w_index_insert[e->kind];
    bind_entry(st, key, e);
    return step_done(s, st, "index insert");
}

static bool text_eq(sqlite3_stmt *st, int col, const char *v)
{
    const char *have = (const char *)sqlite3_column_text(st, col);
    return strcmp(have ? have : "", v ? v : "") == 0;
}

/* Whether the row st is on (select_sql[kind]: key, param, text1, text2, number, low, high) is e. */
static bool row_is(sqlite3_stmt *st, int kind, const struct store_index_entry *e)
{
    if (e->kind != kind || !text_eq(st, 1, e->param))
        return false;
    switch (kind) {
    case STORE_IDX_DATE:
        return sqlite3_column_int64(st, 5) == e->low && sqlite3_column_int64(st, 6) == e->high;
    case STORE_IDX_NUMBER:
        return sqlite3_column_double(st, 4) == e->number;
    case STORE_IDX_QUANTITY:
        return text_eq(st, 2, e->text1) && text_eq(st, 3, e->text2) &&
               sqlite3_column_double(st, 4) == e->number;
    case STORE_IDX_REFERENCE:
    case STORE_IDX_URI:
        return text_eq(st, 2, e->text1);
    default:
        return text_eq(st, 2, e->text1) && text_eq(st, 3, e->text2);
    }
}

/* Rows to delete, copied out of the statement that found them. */
struct gone {
    struct store_index_entry *e; /* entries (strings owned) */
    size_t n, cap;               /* used, allocated */
};

static void gone_add(struct gone *g, sqlite3_stmt *sel, int kind)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 8;
        g->e = xrealloc(g->e, g->cap * sizeof(*g->e));
    }
    const char *t1 = (const char *)sqlite3_column_text(sel, 2);
    const char *t2 = (const char *)sqlite3_column_text(sel, 3);
    g->e[g->n++] = (struct store_index_entry){kind,
                                              xstrdup((const char *)sqlite3_column_text(sel, 1)),
                                              t1 ? xstrdup(t1) : NULL,
                                              t2 ? xstrdup(t2) : NULL,
                                              sqlite3_column_double(sel, 4),
                                              sqlite3_column_int64(sel, 5),
                                              sqlite3_column_int64(sel, 6)};
}

/* Delete the rows in g (of key), then forget them. */
static enum err gone_delete(struct sqlite_store *s, int64_t key, struct gone *g)
{
    enum err err = ERR_OK;
    for (size_t i = 0; i < g->n; i++) {
        struct store_index_entry *e = &g->e[i];
        if (!err) {
            bind_entry(s->w_index_delete_one[e->kind], key, e);
            err = step_done(s, s->w_index_delete_one[e->kind], "index delete");
        }
        free((char *)e->param);
        free((char *)e->text1);
        free((char *)e->text2);
    }
    g->n = 0;
    return err;
}

/*
 * Entries of a later version: of the rows key has, delete those the new
 * entries do not have (once the rows are read: a table is not changed
 * under a statement reading it); insert the entries not found among them.
 * An entry that is there already is not touched.
 */
enum { DIFF_MAX = 256 }; /* more entries than this: delete all and insert again */
static enum err replace_changed(struct sqlite_store *s, int64_t key, const struct store_row *row)
{
    bool kept[DIFF_MAX] = {false};
    struct gone g = {NULL, 0, 0};
    enum err err = ERR_OK;
    for (int k = 0; !err && k < STORE_IDX__COUNT; k++) {
        sqlite3_stmt *sel = s->w_index_select[k];
        sqlite3_bind_int64(sel, 1, key);
        int rc;
        while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
            size_t i = 0;
            while (i < row->index_count && (kept[i] || !row_is(sel, k, &row->index[i])))
                i++;
            if (i < row->index_count)
                kept[i] = true;
            else
                gone_add(&g, sel, k);
        }
        if (rc != SQLITE_DONE)
            err = sqlite_sql_err(s->wdb, "index read");
        sqlite3_reset(sel);
        enum err derr = gone_delete(s, key, &g);
        if (!err)
            err = derr;
    }
    free(g.e);
    for (size_t i = 0; !err && i < row->index_count; i++)
        if (!kept[i])
            err = insert_entry(s, key, &row->index[i]);
    return err;
}

/* Runs one of the res_current statements; *key is 0 when it touched no row. */
static enum err current_row(struct sqlite_store *s, sqlite3_stmt *st, int64_t seq,
                            const struct store_row *row, int64_t *key)
{
    sqlite3_bind_text(st, 1, row->type.ptr, (int)row->type.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->id.ptr, (int)row->id.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, row->version);
    sqlite3_bind_int64(st, 4, row->last_updated);
    sqlite3_bind_int(st, 5, row->deleted ? 1 : 0);
    sqlite3_bind_int64(st, 6, seq);
    int rc = sqlite3_step(st);
    *key = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st); /* runs the statement to its end */
    enum err err = rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(s->wdb, "current row");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

enum err sqlite_index_put(struct sqlite_store *s, int64_t seq, const struct store_row *row)
{
    /* a first version is usually new, a later one usually has its row */
    sqlite3_stmt *first = row->version == 1 ? s->w_insert_current : s->w_update_current;
    sqlite3_stmt *second = row->version == 1 ? s->w_update_current : s->w_insert_current;
    int64_t key = 0;
    enum err err = current_row(s, first, seq, row, &key);
    if (!err && !key)
        err = current_row(s, second, seq, row, &key);
    if (!err && !key)
        err = sqlite_sql_err(s->wdb, "current row");
    if (err)
        return err;
    if (row->version > 1 && !row->deleted && row->index_count <= DIFF_MAX)
        return replace_changed(s, key, row);
    /* a first version has no entries to remove; a deletion keeps none */
    for (int k = 0; !err && row->version > 1 && k < STORE_IDX__COUNT; k++) {
        sqlite3_bind_int64(s->w_index_delete[k], 1, key);
        err = step_done(s, s->w_index_delete[k], "index delete");
    }
    for (size_t i = 0; !err && !row->deleted && i < row->index_count; i++)
        err = insert_entry(s, key, &row->index[i]);
    return err;
}

enum err sqlite_tx_reindex(struct store_tx *txbase, const char *type, const char *id,
                           const struct store_index_entry *entries, size_t count)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    struct sqlite_store *s = tx->store;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->wdb, "SELECT key FROM res_current WHERE type = ?1 AND id = ?2", -1,
                           &st, NULL))
        return sqlite_sql_err(s->wdb, "reindex");
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t key = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? ERR_NOT_FOUND : sqlite_sql_err(s->wdb, "reindex");
    enum err err = ERR_OK;
    for (int k = 0; !err && k < STORE_IDX__COUNT; k++) {
        sqlite3_bind_int64(s->w_index_delete[k], 1, key);
        err = step_done(s, s->w_index_delete[k], "index delete");
    }
    for (size_t i = 0; !err && i < count; i++)
        err = insert_entry(s, key, &entries[i]);
    return err;
}

/* ---- meta ---- */

enum err sqlite_meta_get(struct store *base, const char *name, int64_t *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct reader *r;
    enum err err = sqlite_reader_get(s, &r);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE name = ?1", -1, &st, NULL)) {
        err = sqlite_sql_err(r->db, "meta get");
    } else {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = sqlite_sql_err(r->db, "meta get");
    }
    sqlite3_finalize(st);
    sqlite_reader_put(s, r);
    return err;
}

enum err sqlite_tx_meta_set(struct store_tx *txbase, const char *name, int64_t value)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    sqlite3_stmt *st = tx->store->w_meta_set;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, value);
    return step_done(tx->store, st, "meta set");
}

static enum err entries_of(sqlite3 *db, int kind, int64_t after_key, int64_t last_key,
                           store_entry_fn *fn, void *ctx)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "%s WHERE key > ?1 AND key <= ?2 ORDER BY key", select_sql[kind]);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_sql_err(db, "prepare entries");
    sqlite3_bind_int64(st, 1, after_key);
    sqlite3_bind_int64(st, 2, last_key);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_index_entry e = {
            .kind = kind,
            .param = (const char *)sqlite3_column_text(st, 1),
            .text1 = (const char *)sqlite3_column_text(st, 2),
            .text2 = (const char *)sqlite3_column_text(st, 3),
            .number = sqlite3_column_double(st, 4),
            .low = sqlite3_column_int64(st, 5),
            .high = sqlite3_column_int64(st, 6),
        };
        if (!fn(sqlite3_column_int64(st, 0), &e, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    enum err err = rc == SQLITE_DONE ? ERR_OK : sqlite_sql_err(db, "read entries");
    sqlite3_finalize(st);
    return err;
}

struct entries_args {
    int64_t after_key, last_key;
    store_entry_fn *fn;
    void *ctx;
};

static enum err all_entries(sqlite3 *db, void *arg)
{
    struct entries_args *a = arg;
    enum err err = ERR_OK;
    for (int k = 0; !err && k < STORE_IDX__COUNT; k++)
        err = entries_of(db, k, a->after_key, a->last_key, a->fn, a->ctx);
    return err;
}

enum err sqlite_entries(struct store *base, int64_t after_key, int64_t last_key, store_entry_fn *fn,
                        void *ctx)
{
    struct entries_args a = {after_key, last_key, fn, ctx};
    return sqlite_read_snapshot((struct sqlite_store *)base, all_entries, &a);
}
