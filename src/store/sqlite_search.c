/*
 * sqlite_search.c - the search index of the SQLite back end.
 *
 *   res_current(key PK, type, id, version, last_updated, deleted, seq)
 *        │ one row per resource; seq points at its current row in resource
 *        ▼
 *   sp_token(key, param, system, code)     sp_string(key, param, norm, raw)
 *   sp_reference(key, param, target)       sp_date(key, param, low, high)
 *   sp_number(key, param, value)           sp_quantity(key, param, value, system, code)
 *   sp_uri(key, param, uri)                each indexed by (param, value...) and by key
 *
 * Writes (writer thread): the version's row in res_current is upserted and
 * its entries replaced, inside the unit's transaction. Searches (readers):
 * the smallest positive clause, when small, drives ("SELECT key FROM sp_x
 * WHERE param = ? AND ..." on the (param, value) index) and the others are
 * probed per row ("EXISTS (... WHERE key = c.key ...)" on the key index);
 * when every clause is large the rows are walked in key order and probed
 * (see choose_driver). Results come in key order after a cursor, for
 * stable paging. Only fixed SQL fragments are concatenated; every value
 * is bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "store/sqlite_internal.h"

static const char *const tables[STORE_IDX__COUNT] = {
    "sp_token", "sp_string", "sp_reference", "sp_date", "sp_number", "sp_quantity", "sp_uri",
};

/* ?1 key, ?2 param, ?3 text1, ?4 text2, ?5 low, ?6 high, ?7 number */
static const char *const insert_sql[STORE_IDX__COUNT] = {
    "INSERT INTO sp_token (key, param, system, code) VALUES (?1, ?2, ?3, ?4)",
    "INSERT INTO sp_string (key, param, norm, raw) VALUES (?1, ?2, ?3, ?4)",
    "INSERT INTO sp_reference (key, param, target) VALUES (?1, ?2, ?3)",
    "INSERT INTO sp_date (key, param, low, high) VALUES (?1, ?2, ?5, ?6)",
    "INSERT INTO sp_number (key, param, value) VALUES (?1, ?2, ?7)",
    "INSERT INTO sp_quantity (key, param, system, code, value) VALUES (?1, ?2, ?3, ?4, ?7)",
    "INSERT INTO sp_uri (key, param, uri) VALUES (?1, ?2, ?3)",
};

static const char *const upsert_current_sql =
    "INSERT INTO res_current (type, id, version, last_updated, deleted, seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (type, id) DO UPDATE SET "
    "version = excluded.version, last_updated = excluded.last_updated, "
    "deleted = excluded.deleted, seq = excluded.seq RETURNING key";

enum err sqlite_index_prepare(struct sqlite_store *s)
{
    int flags = SQLITE_PREPARE_PERSISTENT;
    if (sqlite3_prepare_v3(s->wdb, upsert_current_sql, -1, flags, &s->w_upsert_current, NULL) ||
        sqlite3_prepare_v3(s->wdb,
                           "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) "
                           "DO UPDATE SET value = excluded.value",
                           -1, flags, &s->w_meta_set, NULL))
        return sqlite_sql_err(s->wdb, "prepare index");
    for (int k = 0; k < STORE_IDX__COUNT; k++) {
        char del[64];
        snprintf(del, sizeof(del), "DELETE FROM %s WHERE key = ?1", tables[k]);
        if (sqlite3_prepare_v3(s->wdb, insert_sql[k], -1, flags, &s->w_index_insert[k], NULL) ||
            sqlite3_prepare_v3(s->wdb, del, -1, flags, &s->w_index_delete[k], NULL))
            return sqlite_sql_err(s->wdb, "prepare index");
    }
    return ERR_OK;
}

void sqlite_index_finalize(struct sqlite_store *s)
{
    sqlite3_finalize(s->w_upsert_current);
    sqlite3_finalize(s->w_meta_set);
    for (int k = 0; k < STORE_IDX__COUNT; k++) {
        sqlite3_finalize(s->w_index_insert[k]);
        sqlite3_finalize(s->w_index_delete[k]);
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

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static enum err insert_entry(struct sqlite_store *s, int64_t key, const struct store_index_entry *e)
{
    sqlite3_stmt *st = s->w_index_insert[e->kind];
    int params = sqlite3_bind_parameter_count(st);
    sqlite3_bind_int64(st, 1, key);
    sqlite3_bind_text(st, 2, e->param, -1, SQLITE_STATIC);
    if (params >= 3)
        bind_text_or_null(st, 3, e->text1);
    if (params >= 4)
        bind_text_or_null(st, 4, e->text2);
    if (params >= 6) {
        sqlite3_bind_int64(st, 5, e->low);
        sqlite3_bind_int64(st, 6, e->high);
    }
    if (params >= 7)
        sqlite3_bind_double(st, 7, e->number);
    return step_done(s, st, "index insert");
}

enum err sqlite_index_put(struct sqlite_store *s, int64_t seq, const struct store_row *row)
{
    sqlite3_stmt *st = s->w_upsert_current;
    sqlite3_bind_text(st, 1, row->type.ptr, (int)row->type.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->id.ptr, (int)row->id.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, row->version);
    sqlite3_bind_int64(st, 4, row->last_updated);
    sqlite3_bind_int(st, 5, row->deleted ? 1 : 0);
    sqlite3_bind_int64(st, 6, seq);
    int rc = sqlite3_step(st);
    int64_t key = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    enum err err = rc == SQLITE_ROW ? ERR_OK : sqlite_sql_err(s->wdb, "upsert current");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    /* a first version has no entries to remove */
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

/* ---- search ---- */

enum bind_kind { BIND_TEXT, BIND_INT, BIND_DOUBLE };

struct bind {
    enum bind_kind kind; /* which field */
    const char *text;    /* BIND_TEXT (borrowed or owned by the query builder) */
    int64_t i;           /* BIND_INT */
    double d;            /* BIND_DOUBLE */
};

#define MAX_BINDS    256
#define DRIVER_LIMIT 1000 /* a clause with at most this many entries drives the query */
#define GOOD_DRIVER  100  /* a clause this small drives; the others are not measured */

struct sqlbuild {
    struct buf sql;               /* the statement */
    struct bind binds[MAX_BINDS]; /* its values, ?1.. in order */
    int nbinds;                   /* used */
    char *owned[MAX_BINDS];       /* strings made here (patterns), freed at the end */
    int nowned;                   /* used */
    bool overflow;                /* too many values */
};

/* Append a placeholder for v to the statement and remember v for binding. */
static void add_bind(struct sqlbuild *b, struct bind v)
{
    if (b->nbinds == MAX_BINDS) {
        b->overflow = true;
        return;
    }
    b->binds[b->nbinds++] = v;
    buf_printf(&b->sql, "?%d", b->nbinds);
}

static void add_text(struct sqlbuild *b, const char *t)
{
    add_bind(b, (struct bind){BIND_TEXT, t, 0, 0});
}

static void add_int(struct sqlbuild *b, int64_t v)
{
    add_bind(b, (struct bind){BIND_INT, NULL, v, 0});
}

static void add_double(struct sqlbuild *b, double v)
{
    add_bind(b, (struct bind){BIND_DOUBLE, NULL, 0, v});
}

static const char *own(struct sqlbuild *b, char *s)
{
    if (b->nowned < MAX_BINDS)
        b->owned[b->nowned++] = s;
    return s;
}

/* The smallest string above every string starting with prefix: prefix + U+10FFFF. */
static const char *upper_bound(struct sqlbuild *b, const char *prefix)
{
    size_t n = strlen(prefix);
    char *u = malloc(n + 5);
    memcpy(u, prefix, n);
    memcpy(u + n, "\xf4\x8f\xbf\xbf", 5);
    return own(b, u);
}

static const char *like_pattern(struct sqlbuild *b, const char *text)
{
    size_t n = strlen(text);
    char *p = malloc(2 * n + 3);
    size_t k = 0;
    p[k++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '%' || text[i] == '_' || text[i] == '\\')
            p[k++] = '\\';
        p[k++] = text[i];
    }
    p[k++] = '%';
    p[k] = '\0';
    return own(b, p);
}

/* Range comparison of [lowcol, highcol] against the predicate's range (dates and numbers). */
static void range_cond(struct sqlbuild *b, const struct store_predicate *p, const char *lowcol,
                       const char *highcol, bool is_date)
{
    int64_t lo = p->low, hi = p->high;
    double dlo = p->number_low, dhi = p->number_high;
#define BOUND(x_int, x_dbl)                                                                        \
    do {                                                                                           \
        if (is_date)                                                                               \
            add_int(b, x_int);                                                                     \
        else                                                                                       \
            add_double(b, x_dbl);                                                                  \
    } while (0)
    switch (p->op) {
    case STORE_OP_GT:
    case STORE_OP_SA:
        buf_printf(&b->sql, " AND %s > ", p->op == STORE_OP_SA ? lowcol : highcol);
        BOUND(hi, dhi);
        break;
    case STORE_OP_LT:
    case STORE_OP_EB:
        buf_printf(&b->sql, " AND %s < ", p->op == STORE_OP_EB ? highcol : lowcol);
        BOUND(lo, dlo);
        break;
    case STORE_OP_GE:
        buf_printf(&b->sql, " AND %s >= ", highcol);
        BOUND(lo, dlo);
        break;
    case STORE_OP_LE:
        buf_printf(&b->sql, " AND %s <= ", lowcol);
        BOUND(hi, dhi);
        break;
    default: /* EQ, and NE (negated by the caller) */
        buf_printf(&b->sql, " AND %s >= ", lowcol);
        BOUND(lo, dlo);
        buf_printf(&b->sql, " AND %s %s ", highcol, is_date ? "<=" : "<");
        BOUND(hi, dhi);
        if (is_date && strcmp(lowcol, highcol) != 0) {
            /* implied by the two above; bounds the (param, low) index range on both sides */
            buf_printf(&b->sql, " AND %s <= ", lowcol);
            BOUND(hi, dhi);
        }
    }
#undef BOUND
}

/* " AND column = ?" with value bound. */
static void and_equals(struct sqlbuild *b, const char *column, const char *value)
{
    buf_printf(&b->sql, " AND %s = ", column);
    add_text(b, value);
}

/* column starts with prefix, as an index range: prefix <= column < prefix + U+10FFFF. */
static void and_prefix(struct sqlbuild *b, const char *column, const char *prefix)
{
    buf_printf(&b->sql, " AND %s >= ", column);
    add_text(b, prefix);
    buf_printf(&b->sql, " AND %s < ", column);
    add_text(b, upper_bound(b, prefix));
}

static void value_cond(struct sqlbuild *b, const struct store_predicate *p)
{
    switch (p->kind) {
    case STORE_IDX_TOKEN:
        if (p->text2)
            and_equals(b, "code", p->text2);
        if (p->text1)
            and_equals(b, "system", p->text1);
        else if (p->text3)
            buf_append_str(&b->sql, " AND system IS NULL");
        break;
    case STORE_IDX_STRING:
        if (p->op == STORE_OP_EXACT) {
            and_equals(b, "raw", p->text2);
        } else if (p->op == STORE_OP_CONTAINS) {
            buf_append_str(&b->sql, " AND norm LIKE ");
            add_text(b, like_pattern(b, p->text1));
            buf_append_str(&b->sql, " ESCAPE '\\'");
        } else {
            and_prefix(b, "norm", p->text1);
        }
        break;
    case STORE_IDX_REFERENCE:
        and_equals(b, "target", p->text1);
        break;
    case STORE_IDX_URI:
        if (p->op == STORE_OP_PREFIX)
            and_prefix(b, "uri", p->text1);
        else
            and_equals(b, "uri", p->text1);
        break;
    case STORE_IDX_DATE:
        range_cond(b, p, "low", "high", true);
        break;
    case STORE_IDX_QUANTITY:
        if (p->text1)
            and_equals(b, "system", p->text1);
        if (p->text2)
            and_equals(b, "code", p->text2);
        range_cond(b, p, "value", "value", false);
        break;
    case STORE_IDX_NUMBER:
        range_cond(b, p, "value", "value", false);
        break;
    default:
        break;
    }
}

/* _id and _lastUpdated test res_current directly. */
static void special_pred(struct sqlbuild *b, const struct store_predicate *p)
{
    if (!strcmp(p->param, "_id")) {
        buf_append_str(&b->sql, p->op == STORE_OP_NE || p->negate ? "c.id <> " : "c.id = ");
        add_text(b, p->text2);
        return;
    }
    buf_append_str(&b->sql, "(1 = 1");
    range_cond(b, p, "c.last_updated", "c.last_updated", true);
    buf_append_str(&b->sql, ")");
}

/* An index predicate as a correlated probe of the entries of row c (uses the key index). */
static void predicate_sql(struct sqlbuild *b, const struct store_predicate *p)
{
    if (p->kind == STORE_IDX__COUNT) {
        special_pred(b, p);
        return;
    }
    bool negate = p->negate || p->op == STORE_OP_NE || p->op == STORE_OP_MISSING;
    /* INDEXED BY: without statistics SQLite would pick the (param, value) index and scan it */
    buf_printf(&b->sql,
               "%sEXISTS (SELECT 1 FROM %s INDEXED BY %s_key WHERE key = c.key AND param = ",
               negate ? "NOT " : "", tables[p->kind], tables[p->kind]);
    add_text(b, p->param);
    if (p->op != STORE_OP_MISSING && p->op != STORE_OP_PRESENT)
        value_cond(b, p);
    buf_append_str(&b->sql, ")");
}

/* A positive index predicate as "SELECT key FROM sp_x WHERE ..." (uses the value index). */
static void keys_sql(struct sqlbuild *b, const struct store_predicate *p)
{
    buf_printf(&b->sql, "SELECT key FROM %s WHERE param = ", tables[p->kind]);
    add_text(b, p->param);
    if (p->op != STORE_OP_PRESENT)
        value_cond(b, p);
}

static bool predicate_is_positive(const struct store_predicate *p)
{
    return p->kind != STORE_IDX__COUNT && !p->negate && p->op != STORE_OP_NE &&
           p->op != STORE_OP_MISSING;
}

static bool clause_is_positive(const struct store_clause *cl)
{
    for (size_t k = 0; k < cl->count; k++)
        if (!predicate_is_positive(&cl->preds[k]))
            return false;
    return cl->count > 0;
}

/* The driver's keys: the union of its predicates' keys (UNION removes duplicates). */
static void driver_sql(struct sqlbuild *b, const struct store_clause *cl)
{
    buf_append_str(&b->sql, "(");
    for (size_t k = 0; k < cl->count; k++) {
        if (k)
            buf_append_str(&b->sql, " UNION ");
        keys_sql(b, &cl->preds[k]);
    }
    /* CROSS JOIN: SQLite keeps the left side as the outer loop (no reordering) */
    buf_append_str(&b->sql, ") d CROSS JOIN res_current c ON c.key = d.key");
}

static void where_sql(struct sqlbuild *b, const struct store_query *q, long driver)
{
    buf_append_str(&b->sql, " WHERE c.type = ");
    add_text(b, q->type);
    buf_append_str(&b->sql, " AND c.deleted = 0");
    for (size_t i = 0; i < q->count; i++) {
        if ((long)i == driver)
            continue;
        const struct store_clause *cl = &q->clauses[i];
        buf_append_str(&b->sql, " AND (");
        for (size_t k = 0; k < cl->count; k++) {
            if (k)
                buf_append_str(&b->sql, " OR ");
            predicate_sql(b, &cl->preds[k]);
        }
        buf_append_str(&b->sql, ")");
    }
}

static void bind_all(sqlite3_stmt *st, const struct sqlbuild *b)
{
    for (int i = 0; i < b->nbinds; i++) {
        const struct bind *v = &b->binds[i];
        if (v->kind == BIND_TEXT)
            sqlite3_bind_text(st, i + 1, v->text, -1, SQLITE_STATIC);
        else if (v->kind == BIND_INT)
            sqlite3_bind_int64(st, i + 1, v->i);
        else
            sqlite3_bind_double(st, i + 1, v->d);
    }
}

static void sqlbuild_release(struct sqlbuild *b)
{
    buf_release(&b->sql);
    for (int i = 0; i < b->nowned; i++)
        free(b->owned[i]);
}

/* Prepare b on r, bind, and step through rows with row_fn (may be NULL for one-row results). */
static enum err prepare_bound(struct reader *r, struct sqlbuild *b, sqlite3_stmt **out)
{
    if (b->overflow)
        return ERR_TOO_LARGE;
    if (sqlite3_prepare_v2(r->db, b->sql.ptr, -1, out, NULL))
        return sqlite_sql_err(r->db, "prepare search");
    bind_all(*out, b);
    return ERR_OK;
}

static enum err single_int(struct reader *r, struct sqlbuild *b, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    enum err err = prepare_bound(r, b, &st);
    if (!err) {
        if (sqlite3_step(st) == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
        else
            err = sqlite_sql_err(r->db, "search count");
    }
    sqlite3_finalize(st);
    return err;
}

/* Index entries matching a positive clause, counted up to DRIVER_LIMIT + 1 (cheap). */
static enum err clause_size(struct reader *r, const struct store_clause *cl, int64_t *out)
{
    struct sqlbuild b;
    memset(&b, 0, sizeof(b));
    buf_init(&b.sql, 1u << 20);
    buf_append_str(&b.sql, "SELECT count(*) FROM (");
    for (size_t k = 0; k < cl->count; k++) {
        if (k)
            buf_append_str(&b.sql, " UNION ALL ");
        buf_append_str(&b.sql, "SELECT * FROM (");
        keys_sql(&b, &cl->preds[k]);
        buf_printf(&b.sql, " LIMIT %d)", DRIVER_LIMIT + 1);
    }
    buf_printf(&b.sql, " LIMIT %d)", DRIVER_LIMIT + 1);
    enum err err = single_int(r, &b, out);
    sqlbuild_release(&b);
    return err;
}

/*
 * The query plan. SQLite materialises an IN or UNION subquery whole, so
 * driving from a predicate that matches a million entries is slow, while
 * walking res_current in key order and probing each row is slow when the
 * matches are few. So measure each positive clause (capped at
 * DRIVER_LIMIT): the smallest one drives when it is small; otherwise the
 * matches are dense and the key-order walk finds a page quickly.
 */
/* The order clauses are measured in: the kinds that are usually selective first. */
static int probe_rank(const struct store_clause *cl)
{
    switch (cl->preds[0].kind) {
    case STORE_IDX_REFERENCE:
        return 0;
    case STORE_IDX_TOKEN:
    case STORE_IDX_URI:
        return 1;
    case STORE_IDX_STRING:
        return 2;
    default:
        return 3;
    }
}

static enum err choose_driver(struct reader *r, const struct store_query *q, long *out_driver,
                              int64_t *out_size)
{
    *out_driver = -1;
    *out_size = INT64_MAX;
    for (int rank = 0; rank <= 3 && *out_size > GOOD_DRIVER; rank++) {
        for (size_t i = 0; i<q->count && * out_size> GOOD_DRIVER; i++) {
            const struct store_clause *cl = &q->clauses[i];
            if (!clause_is_positive(cl) || probe_rank(cl) != rank)
                continue;
            int64_t size = 0;
            enum err err = clause_size(r, cl, &size);
            if (err)
                return err;
            if (size < *out_size) {
                *out_size = size;
                *out_driver = (long)i;
            }
        }
    }
    return ERR_OK;
}

static void from_sql(struct sqlbuild *b, const struct store_query *q, long driver)
{
    if (driver >= 0)
        driver_sql(b, &q->clauses[driver]);
    else
        buf_append_str(&b->sql, "res_current c");
}

/*
 * One positive predicate whose entries are one per matching resource
 * (entries are de-duplicated per resource): count them in the index alone.
 */
static bool countable_in_index(const struct store_query *q)
{
    if (q->count != 1 || q->clauses[0].count != 1 || !clause_is_positive(&q->clauses[0]))
        return false;
    const struct store_predicate *p = &q->clauses[0].preds[0];
    if (p->op != STORE_OP_EQ)
        return false;
    if (p->kind == STORE_IDX_TOKEN)
        return p->text1 && p->text2; /* code alone may match two systems of one resource */
    return p->kind == STORE_IDX_REFERENCE || p->kind == STORE_IDX_URI;
}

static enum err run_count(struct reader *r, const struct store_query *q, long driver, int64_t *out)
{
    struct sqlbuild b;
    memset(&b, 0, sizeof(b));
    buf_init(&b.sql, 1u << 20);
    if (countable_in_index(q)) {
        buf_append_str(&b.sql, "SELECT count(*) FROM (");
        keys_sql(&b, &q->clauses[0].preds[0]);
        buf_append_str(&b.sql, ")");
    } else {
        buf_append_str(&b.sql, "SELECT count(*) FROM ");
        from_sql(&b, q, driver);
        where_sql(&b, q, driver);
    }
    enum err err = single_int(r, &b, out);
    sqlbuild_release(&b);
    return err;
}

static enum err run_page(struct reader *r, const struct store_query *q, long driver,
                         store_hit_fn *fn, void *ctx)
{
    struct sqlbuild b;
    memset(&b, 0, sizeof(b));
    buf_init(&b.sql, 1u << 20);
    buf_append_str(&b.sql, "SELECT c.key, c.id, c.version, c.last_updated, r.body FROM ");
    from_sql(&b, q, driver);
    buf_append_str(&b.sql, " CROSS JOIN resource r ON r.seq = c.seq");
    where_sql(&b, q, driver);
    buf_append_str(&b.sql, " AND c.key > ");
    add_int(&b, q->after_key);
    buf_append_str(&b.sql, " ORDER BY c.key LIMIT ");
    add_int(&b, q->limit);
    sqlite3_stmt *st = NULL;
    enum err err = prepare_bound(r, &b, &st);
    if (!err) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct store_hit hit;
            hit.key = sqlite3_column_int64(st, 0);
            hit.id = str_make((const char *)sqlite3_column_text(st, 1),
                              (size_t)sqlite3_column_bytes(st, 1));
            hit.version = sqlite3_column_int64(st, 2);
            hit.last_updated = sqlite3_column_int64(st, 3);
            hit.body = str_make(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4));
            if (!fn(&hit, ctx))
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = sqlite_sql_err(r->db, "search");
    }
    sqlite3_finalize(st);
    sqlbuild_release(&b);
    return err;
}

enum err sqlite_search(struct store *base, const struct store_query *q, store_hit_fn *fn, void *ctx,
                       int64_t *out_total)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct reader *r;
    enum err err = sqlite_reader_get(s, &r);
    if (err)
        return err;
    /* one read transaction, so the plan, the page and the total see the same snapshot */
    sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
    long driver = -1;
    int64_t driver_size = 0;
    err = choose_driver(r, q, &driver, &driver_size);
    if (!err && q->limit > 0)
        err = run_page(r, q, driver_size <= DRIVER_LIMIT ? driver : -1, fn, ctx);
    if (!err && q->want_total && out_total)
        err = run_count(r, q, driver, out_total);
    sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    sqlite_reader_put(s, r);
    return err;
}
