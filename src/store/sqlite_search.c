/*
 * sqlite_search.c - searches and includes of the SQLite back end over the
 * index tables of sqlite_index.c.
 *
 * The smallest positive clause, when small, drives ("SELECT key FROM sp_x
 * WHERE param = ? AND ..." on the (param, value) index) and the others are
 * probed per row ("EXISTS (... WHERE key = c.key ...)" on the key index);
 * when every clause is large the rows are walked in key order and probed
 * (see choose_driver). Results come in key order after a cursor, for
 * stable paging, or in the order of _sort with an offset. A chain or _has
 * nests the same construction as a subquery:
 *
 *   subject:Patient.name=x   target IN (SELECT 'Patient/' || c.id FROM <query of Patient>)
 *   _has:Observation:subject:code=x
 *                            c.id IN (SELECT substr(target, 9) FROM sp_reference
 *                                     WHERE param = 'Observation.subject'
 *                                       AND key IN (SELECT c.key FROM <query of Observation>))
 *
 * Only fixed SQL fragments are concatenated; every value is bound.
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
    sqlite3 *db;                  /* the connection, for planning subqueries */
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
            buf_append_str(&b->sql, " AND system = ''"); /* absent is stored as '' */
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

static void sqlbuild_init(struct sqlbuild *b, sqlite3 *db)
{
    memset(b, 0, sizeof(*b));
    b->db = db;
    buf_init(&b->sql, 1u << 20);
}

static void inner_keys_sql(struct sqlbuild *b, const struct store_query *q, const char *select);

/* The reference value test: equal to text1, or (a chain) pointing at a match of sub. */
static void reference_cond(struct sqlbuild *b, const struct store_predicate *p)
{
    if (!p->sub) {
        and_equals(b, "target", p->text1);
        return;
    }
    buf_append_str(&b->sql, " AND target IN (");
    inner_keys_sql(b, p->sub, "c.type || '/' || c.id");
    buf_append_str(&b->sql, ")");
}

/* _has: the ids of type that a match of p->sub refers to through p->param. */
static void has_ids_sql(struct sqlbuild *b, const struct store_predicate *p, const char *type)
{
    size_t n = strlen(type);
    buf_printf(&b->sql, "SELECT substr(target, %zu) FROM sp_reference WHERE param = ", n + 2);
    add_text(b, p->param);
    /* target starts with "Type/": a range of the (param, target) index */
    char *lo = malloc(n + 2), *hi = malloc(n + 2);
    snprintf(lo, n + 2, "%s/", type);
    snprintf(hi, n + 2, "%s0", type); /* '0' follows '/' */
    buf_append_str(&b->sql, " AND target >= ");
    add_text(b, own(b, lo));
    buf_append_str(&b->sql, " AND target < ");
    add_text(b, own(b, hi));
    buf_append_str(&b->sql, " AND key IN (");
    inner_keys_sql(b, p->sub, "c.key");
    buf_append_str(&b->sql, ")");
}

/* An index predicate as a correlated probe of the entries of row c (uses the key index). */
static void predicate_sql(struct sqlbuild *b, const struct store_predicate *p, const char *type)
{
    if (p->kind == STORE_PRED_RESOURCE) {
        special_pred(b, p);
        return;
    }
    if (p->kind == STORE_PRED_HAS) {
        buf_append_str(&b->sql, "c.id IN (");
        has_ids_sql(b, p, type);
        buf_append_str(&b->sql, ")");
        return;
    }
    bool negate = p->negate || p->op == STORE_OP_NE || p->op == STORE_OP_MISSING;
    /*
     * The table is clustered by key: one seek to the resource's few entries.
     * "+param" keeps SQLite from the (param, value) index, which without
     * statistics it may pick and then scan for a range (a date's).
     */
    buf_printf(&b->sql,
               "%sEXISTS (SELECT 1 FROM %s WHERE key = c.key AND +param = ", negate ? "NOT " : "",
               tables[p->kind]);
    add_text(b, p->param);
    if (p->kind == STORE_IDX_REFERENCE && p->op != STORE_OP_MISSING && p->op != STORE_OP_PRESENT)
        reference_cond(b, p);
    else if (p->op != STORE_OP_MISSING && p->op != STORE_OP_PRESENT)
        value_cond(b, p);
    buf_append_str(&b->sql, ")");
}

/* A positive index predicate as "SELECT key FROM sp_x WHERE ..." (uses the value index). */
static void keys_sql(struct sqlbuild *b, const struct store_predicate *p, const char *type)
{
    if (p->kind == STORE_PRED_HAS) {
        buf_append_str(&b->sql, "SELECT key FROM res_current WHERE type = ");
        add_text(b, type);
        buf_append_str(&b->sql, " AND id IN (");
        has_ids_sql(b, p, type);
        buf_append_str(&b->sql, ")");
        return;
    }
    buf_printf(&b->sql, "SELECT key FROM %s WHERE param = ", tables[p->kind]);
    add_text(b, p->param);
    if (p->kind == STORE_IDX_REFERENCE && p->op != STORE_OP_PRESENT)
        reference_cond(b, p);
    else if (p->op != STORE_OP_PRESENT)
        value_cond(b, p);
}

static bool predicate_is_positive(const struct store_predicate *p)
{
    return p->kind != STORE_PRED_RESOURCE && !p->negate && p->op != STORE_OP_NE &&
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
static void driver_sql(struct sqlbuild *b, const struct store_clause *cl, const char *type)
{
    buf_append_str(&b->sql, "(");
    for (size_t k = 0; k < cl->count; k++) {
        if (k)
            buf_append_str(&b->sql, " UNION ");
        keys_sql(b, &cl->preds[k], type);
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
            predicate_sql(b, &cl->preds[k], q->type);
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

/* Prepare b on db and bind its values. */
static enum err prepare_bound(sqlite3 *db, struct sqlbuild *b, sqlite3_stmt **out)
{
    if (b->overflow)
        return ERR_TOO_LARGE;
    if (sqlite_stmt_get(db, b->sql.ptr, out))
        return sqlite_sql_err(db, "prepare search");
    bind_all(*out, b);
    return ERR_OK;
}

static enum err single_int(sqlite3 *db, struct sqlbuild *b, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    enum err err = prepare_bound(db, b, &st);
    if (!err) {
        if (sqlite3_step(st) == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
        else
            err = sqlite_sql_err(db, "search count");
    }
    sqlite_stmt_release(db, st);
    return err;
}

/* Index entries matching a positive clause, counted up to DRIVER_LIMIT + 1 (cheap). */
static enum err clause_size(sqlite3 *db, const struct store_clause *cl, const char *type,
                            int64_t *out)
{
    struct sqlbuild b;
    sqlbuild_init(&b, db);
    buf_append_str(&b.sql, "SELECT count(*) FROM (");
    for (size_t k = 0; k < cl->count; k++) {
        if (k)
            buf_append_str(&b.sql, " UNION ALL ");
        buf_append_str(&b.sql, "SELECT * FROM (");
        keys_sql(&b, &cl->preds[k], type);
        buf_printf(&b.sql, " LIMIT %d)", DRIVER_LIMIT + 1);
    }
    buf_printf(&b.sql, " LIMIT %d)", DRIVER_LIMIT + 1);
    enum err err = single_int(db, &b, out);
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
    case STORE_PRED_HAS:
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

/* A clause "_id = x": at most one row, found by the (type, id) index; nothing drives better. */
static bool names_one_id(const struct store_query *q)
{
    for (size_t i = 0; i < q->count; i++) {
        const struct store_clause *cl = &q->clauses[i];
        const struct store_predicate *p = &cl->preds[0];
        if (cl->count == 1 && p->kind == STORE_PRED_RESOURCE && !strcmp(p->param, "_id") &&
            p->op == STORE_OP_EQ && !p->negate)
            return true;
    }
    return false;
}

static enum err choose_driver(sqlite3 *db, const struct store_query *q, long *out_driver,
                              int64_t *out_size)
{
    *out_driver = -1;
    *out_size = INT64_MAX;
    if (names_one_id(q))
        return ERR_OK;
    for (int rank = 0; rank <= 3 && *out_size > GOOD_DRIVER; rank++) {
        for (size_t i = 0; i<q->count && * out_size> GOOD_DRIVER; i++) {
            const struct store_clause *cl = &q->clauses[i];
            if (!clause_is_positive(cl) || probe_rank(cl) != rank)
                continue;
            int64_t size = 0;
            enum err err = clause_size(db, cl, q->type, &size);
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
        driver_sql(b, &q->clauses[driver], q->type);
    else
        buf_append_str(&b->sql, "res_current c");
}

/* "SELECT <select> FROM ... WHERE ..." of a nested query, planned on b's connection. */
static void inner_keys_sql(struct sqlbuild *b, const struct store_query *q, const char *select)
{
    long driver = -1;
    int64_t size = 0;
    if (choose_driver(b->db, q, &driver, &size) || size > DRIVER_LIMIT)
        driver = -1;
    buf_printf(&b->sql, "SELECT %s FROM ", select);
    from_sql(b, q, driver);
    where_sql(b, q, driver);
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
    if (p->op != STORE_OP_EQ || p->sub)
        return false;
    if (p->kind == STORE_IDX_TOKEN)
        return p->text1 && p->text2; /* code alone may match two systems of one resource */
    return p->kind == STORE_IDX_REFERENCE || p->kind == STORE_IDX_URI;
}

static enum err run_count(sqlite3 *db, const struct store_query *q, long driver, int64_t *out)
{
    struct sqlbuild b;
    sqlbuild_init(&b, db);
    if (countable_in_index(q)) {
        buf_append_str(&b.sql, "SELECT count(*) FROM (");
        keys_sql(&b, &q->clauses[0].preds[0], q->type);
        buf_append_str(&b.sql, ")");
    } else {
        buf_append_str(&b.sql, "SELECT count(*) FROM ");
        from_sql(&b, q, driver);
        where_sql(&b, q, driver);
    }
    enum err err = single_int(db, &b, out);
    sqlbuild_release(&b);
    return err;
}

/* The column a sort key compares, per index kind. */
static const char *const sort_column[STORE_IDX__COUNT] = {
    "code", "norm", "target", "low", "value", "value", "uri",
};

/* ORDER BY for _sort: lowest value ascending, highest descending, missing last. */
static void order_sql(struct sqlbuild *b, const struct store_query *q)
{
    buf_append_str(&b->sql, " ORDER BY ");
    for (size_t i = 0; i < q->nsort; i++) {
        const struct store_sort *k = &q->sort[i];
        const char *dir = k->desc ? "DESC" : "ASC";
        if (k->kind == STORE_PRED_RESOURCE) {
            buf_printf(&b->sql, "%s %s, ", !strcmp(k->param, "_id") ? "c.id" : "c.last_updated",
                       dir);
            continue;
        }
        const char *col = sort_column[k->kind];
        if (k->kind == STORE_IDX_DATE && k->desc)
            col = "high";
        buf_printf(&b->sql, "(SELECT %s(%s) FROM %s WHERE key = c.key AND +param = ",
                   k->desc ? "max" : "min", col, tables[k->kind]);
        add_text(b, k->param);
        buf_printf(&b->sql, ") %s NULLS LAST, ", dir);
    }
    buf_append_str(&b->sql, "c.key");
}

static void emit_hit(sqlite3_stmt *st, const char *type, struct store_hit *hit)
{
    hit->key = sqlite3_column_int64(st, 0);
    hit->type = str_from(type);
    hit->id =
        str_make((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    hit->version = sqlite3_column_int64(st, 2);
    hit->last_updated = sqlite3_column_int64(st, 3);
    hit->body = str_make(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4));
}

/* The page window in key order: after the cursor ascending, or up to before_key descending. */
static void key_order(struct sqlbuild *b, const struct store_query *q, const char *key)
{
    bool back = q->before_key > 0;
    buf_printf(&b->sql, " AND %s %s ", key, back ? "<=" : ">");
    add_int(b, back ? q->before_key : q->after_key);
    buf_printf(&b->sql, " ORDER BY %s %s LIMIT ", key, back ? "DESC" : "ASC");
    add_int(b, q->limit);
}

/* Run b (selecting key, id, version, last_updated, body) and hand each row to fn. */
static enum err run_hits(sqlite3 *db, struct sqlbuild *b, const char *type, store_hit_fn *fn,
                         void *ctx)
{
    sqlite3_stmt *st = NULL;
    enum err err = prepare_bound(db, b, &st);
    if (!err) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct store_hit hit;
            emit_hit(st, type, &hit);
            if (!fn(&hit, ctx))
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = sqlite_sql_err(db, "search");
    }
    sqlite_stmt_release(db, st);
    return err;
}

static enum err run_page(sqlite3 *db, const struct store_query *q, long driver, store_hit_fn *fn,
                         void *ctx)
{
    struct sqlbuild b;
    sqlbuild_init(&b, db);
    buf_append_str(&b.sql, "SELECT c.key, c.id, c.version, c.last_updated, r.body FROM ");
    from_sql(&b, q, driver);
    buf_append_str(&b.sql, " CROSS JOIN resource r ON r.seq = c.seq");
    where_sql(&b, q, driver);
    if (q->nsort) {
        order_sql(&b, q);
        buf_append_str(&b.sql, " LIMIT ");
        add_int(&b, q->limit);
        buf_append_str(&b.sql, " OFFSET ");
        add_int(&b, q->offset);
    } else {
        key_order(&b, q, "c.key");
    }
    enum err err = run_hits(db, &b, q->type, fn, ctx);
    sqlbuild_release(&b);
    return err;
}

/*
 * One exact value of a token (with its system, or "no system"), reference
 * or uri, unsorted: the lookup index holds its entries in key order, so the
 * page streams straight from it, with no plan to make and nothing to
 * materialise, however many match (the identifier search of a registration
 * desk).
 */
static bool streamable(const struct store_query *q)
{
    if (q->count != 1 || q->clauses[0].count != 1 || q->nsort)
        return false;
    const struct store_predicate *p = &q->clauses[0].preds[0];
    if (!predicate_is_positive(p) || p->op != STORE_OP_EQ || p->sub)
        return false;
    switch (p->kind) {
    case STORE_IDX_TOKEN:
        return p->text2 && (p->text1 || p->text3);
    case STORE_IDX_REFERENCE:
    case STORE_IDX_URI:
        return p->text1 != NULL;
    default:
        return false;
    }
}

static enum err run_stream(sqlite3 *db, const struct store_query *q, store_hit_fn *fn, void *ctx)
{
    const struct store_predicate *p = &q->clauses[0].preds[0];
    struct sqlbuild b;
    sqlbuild_init(&b, db);
    buf_printf(&b.sql,
               "SELECT c.key, c.id, c.version, c.last_updated, r.body FROM %s x "
               "CROSS JOIN res_current c ON c.key = x.key CROSS JOIN resource r ON r.seq = c.seq "
               "WHERE x.param = ",
               tables[p->kind]);
    add_text(&b, p->param);
    if (p->kind == STORE_IDX_REFERENCE)
        reference_cond(&b, p);
    else
        value_cond(&b, p);
    buf_append_str(&b.sql, " AND c.type = ");
    add_text(&b, q->type);
    buf_append_str(&b.sql, " AND c.deleted = 0");
    key_order(&b, q, "x.key");
    enum err err = run_hits(db, &b, q->type, fn, ctx);
    sqlbuild_release(&b);
    return err;
}

/* Plan, page and count on db, inside whatever transaction db is in. */
static enum err search_on(sqlite3 *db, const struct store_query *q, store_hit_fn *fn, void *ctx,
                          int64_t *out_total)
{
    long driver = -1;
    int64_t driver_size = 0;
    if (streamable(q)) {
        enum err err = q->limit > 0 ? run_stream(db, q, fn, ctx) : ERR_OK;
        if (!err && q->want_total && out_total)
            err = run_count(db, q, 0, out_total);
        return err;
    }
    enum err err = choose_driver(db, q, &driver, &driver_size);
    if (!err && q->limit > 0)
        err = run_page(db, q, driver_size <= DRIVER_LIMIT ? driver : -1, fn, ctx);
    if (!err && q->want_total && out_total)
        err = run_count(db, q, driver, out_total);
    return err;
}

enum err sqlite_tx_search(struct store_tx *txbase, const struct store_query *q, store_hit_fn *fn,
                          void *ctx, int64_t *out_total)
{
    struct sqlite_tx *tx = (struct sqlite_tx *)txbase;
    return search_on(tx->store->wdb, q, fn, ctx, out_total);
}

/* ---- includes ---- */

static const char *const forward_sql =
    "SELECT x.target FROM res_current s CROSS JOIN sp_reference x "
    "ON x.key = s.key WHERE s.type = ?1 AND s.id = ?2 AND +x.param = ?3";

static const char *const fetch_sql =
    "SELECT c.key, c.id, c.version, c.last_updated, r.body FROM res_current c "
    "CROSS JOIN resource r ON r.seq = c.seq WHERE c.type = ?1 AND c.id = ?2 AND c.deleted = 0";

static const char *const reverse_sql =
    "SELECT c.key, c.id, c.version, c.last_updated, r.body, c.type FROM sp_reference x "
    "CROSS JOIN res_current c ON c.key = x.key CROSS JOIN resource r ON r.seq = c.seq "
    "WHERE x.param = ?1 AND x.target = ?2 AND c.deleted = 0";

/* Split "Type/id" at the slash into type (copied into buf) and id; false if not that shape. */
static bool split_ref(const char *ref, char *type, size_t size, const char **id)
{
    const char *slash = strchr(ref, '/');
    if (!slash || slash == ref || !slash[1] || strchr(slash + 1, '/') ||
        (size_t)(slash - ref) >= size)
        return false;
    memcpy(type, ref, (size_t)(slash - ref));
    type[slash - ref] = '\0';
    *id = slash + 1;
    return true;
}

/* The resource a forward reference names, when it is here and of the wanted type. */
static int fetch_target(sqlite3_stmt *fetch, const struct store_include_query *q,
                        const char *target, store_hit_fn *fn, void *ctx)
{
    char type[64];
    const char *id;
    if (!split_ref(target, type, sizeof(type), &id) ||
        (q->target_type && strcmp(type, q->target_type) != 0))
        return 0;
    sqlite3_bind_text(fetch, 1, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(fetch, 2, id, -1, SQLITE_TRANSIENT);
    int found = 0;
    if (sqlite3_step(fetch) == SQLITE_ROW) {
        struct store_hit hit;
        emit_hit(fetch, type, &hit);
        found = fn(&hit, ctx) ? 1 : -1;
    }
    sqlite3_reset(fetch);
    return found;
}

static enum err include_forward(sqlite3 *db, const struct store_include_query *q, store_hit_fn *fn,
                                void *ctx)
{
    sqlite3_stmt *refs = NULL, *fetch = NULL;
    enum err err = ERR_OK;
    if (sqlite_stmt_get(db, forward_sql, &refs) || sqlite_stmt_get(db, fetch_sql, &fetch))
        err = sqlite_sql_err(db, "prepare include");
    int hits = 0;
    for (size_t i = 0; !err && i < q->nrefs && hits < q->limit; i++) {
        char type[64];
        const char *id;
        if (!split_ref(q->refs[i], type, sizeof(type), &id))
            continue;
        sqlite3_bind_text(refs, 1, type, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(refs, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(refs, 3, q->param, -1, SQLITE_STATIC);
        while (hits < q->limit && sqlite3_step(refs) == SQLITE_ROW) {
            int got = fetch_target(fetch, q, (const char *)sqlite3_column_text(refs, 0), fn, ctx);
            if (got < 0)
                hits = q->limit;
            hits += got > 0;
        }
        sqlite3_reset(refs);
    }
    sqlite_stmt_release(db, refs);
    sqlite_stmt_release(db, fetch);
    return err;
}

static enum err include_reverse(sqlite3 *db, const struct store_include_query *q, store_hit_fn *fn,
                                void *ctx)
{
    sqlite3_stmt *st = NULL;
    if (sqlite_stmt_get(db, reverse_sql, &st))
        return sqlite_sql_err(db, "prepare revinclude");
    int hits = 0;
    for (size_t i = 0; i < q->nrefs && hits < q->limit; i++) {
        sqlite3_bind_text(st, 1, q->param, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, q->refs[i], -1, SQLITE_STATIC);
        while (hits < q->limit && sqlite3_step(st) == SQLITE_ROW) {
            struct store_hit hit;
            char type[64];
            snprintf(type, sizeof(type), "%s", (const char *)sqlite3_column_text(st, 5));
            emit_hit(st, type, &hit);
            hits++;
            if (!fn(&hit, ctx))
                hits = q->limit;
        }
        sqlite3_reset(st);
    }
    sqlite_stmt_release(db, st);
    return ERR_OK;
}

struct search_args {
    const struct store_query *q;
    const struct store_include_query *iq;
    store_hit_fn *fn;
    void *ctx;
    int64_t *out_total;
};

static enum err search_snapshot(sqlite3 *db, void *arg)
{
    struct search_args *a = arg;
    if (a->iq)
        return a->iq->reverse ? include_reverse(db, a->iq, a->fn, a->ctx)
                              : include_forward(db, a->iq, a->fn, a->ctx);
    return search_on(db, a->q, a->fn, a->ctx, a->out_total);
}

enum err sqlite_search(struct store *base, const struct store_query *q, store_hit_fn *fn, void *ctx,
                       int64_t *out_total)
{
    /* one read transaction, so the plan, the page and the total see the same snapshot */
    struct search_args a = {q, NULL, fn, ctx, out_total};
    return sqlite_read_snapshot((struct sqlite_store *)base, search_snapshot, &a);
}

enum err sqlite_include(struct store *base, const struct store_include_query *q, store_hit_fn *fn,
                        void *ctx)
{
    struct search_args a = {NULL, q, fn, ctx, NULL};
    return sqlite_read_snapshot((struct sqlite_store *)base, search_snapshot, &a);
}
