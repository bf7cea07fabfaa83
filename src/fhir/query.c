/*
 * query.c - search parameters into store predicates (see query.h).
 *
 * Supported: every number, date, string, token, reference, quantity and uri
 * parameter of R4 (search_gen.c) with _id and _lastUpdated; the prefixes
 * eq ne gt lt ge le sa eb ap; composites of two components ("A$B"); the
 * modifiers :missing (all types), :not :text :of-type, and with a
 * terminology (q->codes) :in :not-in :above :below (token), :exact and
 * :contains (string), :[type] and :identifier (reference), :above :below (uri);
 * chains to FHIR_QUERY_MAX_DEPTH levels; _has; and the result parameters _count _sort _include
 * _revinclude _summary _elements _total. Anything else is FHIR_QUERY_UNSUPPORTED with the reason in
 * q->why.
 */
#include "fhir/query.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/model.h"
#include "fhir/search_index.h"
#include "fhir/search_params.h"

#define MAX_TARGETS 8 /* a bare id or a chain expands to one predicate per target type */

typedef enum fhir_query_result result;

static result fail(struct fhir_query *q, result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static result fail(struct fhir_query *q, result r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->why, sizeof(q->why), fmt, ap);
    va_end(ap);
    return r;
}

void fhir_query_init(struct fhir_query *q, struct arena *a, const struct config *cfg,
                     const char *type)
{
    memset(q, 0, sizeof(*q));
    q->arena = a;
    q->cfg = cfg;
    q->type = type;
    q->count = cfg->default_count;
}

/* ---- values ---- */

/*
 * Split at unescaped sep, unescaping "\," "\|" "\$" "\\" (search.html#escaping);
 * with keep, escapes other than of sep stay for a second split.
 */
static size_t split_at(struct arena *a, const char *v, char sep, bool keep, char **out, size_t max)
{
    size_t n = 0, k = 0;
    char *cur = arena_alloc(a, strlen(v) + 1);
    for (const char *p = v;; p++) {
        if (*p == '\\' && p[1] && strchr(",|$\\", p[1])) {
            if (keep && p[1] != sep)
                cur[k++] = *p;
            cur[k++] = *++p;
            continue;
        }
        if (*p != sep && *p != '\0') {
            cur[k++] = *p;
            continue;
        }
        cur[k] = '\0';
        if (n < max)
            out[n++] = cur;
        if (*p == '\0')
            return n;
        cur = arena_alloc(a, strlen(p) + 1);
        k = 0;
    }
}

void fhir_query_escape(struct buf *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (strchr(",|$\\", *p))
            buf_append(out, "\\", 1);
        buf_append(out, p, 1);
    }
}

static size_t split_values(struct arena *a, const char *v, char **out, size_t max)
{
    return split_at(a, v, ',', false, out, max);
}

/* v with every escape undone ("\," "\|" "\$" "\\"). */
static const char *plain(struct fhir_query *q, const char *v)
{
    char *out[1];
    return split_at(q->arena, v, '\0', false, out, 1) ? out[0] : v;
}

/* The first '|' of v that is not escaped, or NULL. */
static const char *find_bar(const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '|')
            return p;
    }
    return NULL;
}

/* v[0..len) with its escapes undone, or NULL when empty. */
static const char *plain_part(struct fhir_query *q, const char *v, size_t len)
{
    return len ? plain(q, arena_strndup(q->arena, v, len)) : NULL;
}

#define OP_AP (-1) /* "ap": approximately; becomes EQ over a widened range */

static const struct {
    const char *text; /* two letters */
    int op;           /* enum store_op, or OP_AP */
} prefixes[] = {
    {"eq", STORE_OP_EQ}, {"ne", STORE_OP_NE}, {"gt", STORE_OP_GT},
    {"lt", STORE_OP_LT}, {"ge", STORE_OP_GE}, {"le", STORE_OP_LE},
    {"sa", STORE_OP_SA}, {"eb", STORE_OP_EB}, {"ap", OP_AP},
};

/* A two-letter prefix before the value; other letters stay and then fail to parse (400). */
static const char *take_prefix(const char *v, int *op)
{
    *op = STORE_OP_EQ;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strncmp(v, prefixes[i].text, 2)) {
            *op = prefixes[i].op;
            return v + 2;
        }
    return v;
}

/* A decimal and its implicit range: 100 is [99.5, 100.5), 1.50 is [1.495, 1.505). */
static bool parse_number(const char *v, double *out, double *lo, double *hi)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d))
        return false;
    int decimals = 0, exponent = 0;
    const char *dot = strchr(v, '.');
    const char *e = strpbrk(v, "eE");
    if (dot)
        decimals = (int)((e ? e : v + strlen(v)) - dot - 1);
    if (e)
        exponent = (int)strtol(e + 1, NULL, 10);
    double half = 0.5 * pow(10.0, exponent - decimals);
    *out = d;
    *lo = d - half;
    *hi = d + half;
    return true;
}

/* ---- predicates by type ---- */

static bool is_special(const struct fhir_search_param *p)
{
    return !strcmp(p->code, "_id") || !strcmp(p->code, "_lastUpdated");
}

static struct store_predicate *new_pred(struct fhir_query *q, struct store_clause *cl,
                                        const char *type, const struct fhir_search_param *p,
                                        int kind)
{
    struct store_predicate *pr = &cl->preds[cl->count++];
    memset(pr, 0, sizeof(*pr));
    pr->kind = kind;
    pr->param = is_special(p) ? p->code : arena_printf(q->arena, "%s.%s", type, p->code);
    pr->op = STORE_OP_EQ;
    return pr;
}

/* identifier:of-type=system|code|value (search.html#modifiers): all three are needed. */
static result of_type_value(struct fhir_query *q, struct store_predicate *pr, const char *v)
{
    const char *b1 = find_bar(v);
    const char *b2 = b1 ? find_bar(b1 + 1) : NULL;
    if (!b2 || b1 == v || b2 == b1 + 1 || !b2[1])
        return fail(q, FHIR_QUERY_INVALID, ":of-type takes system|code|value, not '%.40s'", v);
    pr->param = arena_printf(q->arena, "%s:of-type", pr->param);
    pr->text1 = arena_printf(q->arena, "%s|%s", plain_part(q, v, (size_t)(b1 - v)),
                             plain_part(q, b1 + 1, (size_t)(b2 - b1 - 1)));
    pr->text2 = plain(q, b2 + 1);
    return FHIR_QUERY_OK;
}

static result token_value(struct fhir_query *q, struct store_predicate *pr, const char *v,
                          const char *modifier)
{
    if (modifier && !strcmp(modifier, "text")) {
        /* the display and text of the coded value, matched as a string (its start) */
        pr->kind = STORE_IDX_STRING;
        pr->param = arena_printf(q->arena, "%s:text", pr->param);
        pr->op = STORE_OP_PREFIX;
        v = plain(q, v);
        pr->text1 = fhir_search_normalise(q->arena, v, strlen(v));
        return FHIR_QUERY_OK;
    }
    if (modifier && !strcmp(modifier, "of-type"))
        return of_type_value(q, pr, v);
    if (modifier && strcmp(modifier, "not") != 0) {
        return fail(q, FHIR_QUERY_UNSUPPORTED, "modifier ':%.40s' is not a token modifier",
                    modifier);
    }
    pr->negate = modifier != NULL;
    const char *bar = find_bar(v);
    if (!bar) {
        pr->text2 = plain(q, v);
    } else {
        pr->text1 = plain_part(q, v, (size_t)(bar - v));
        if (!pr->text1)
            pr->text3 = ""; /* "|code": no system */
        pr->text2 = plain_part(q, bar + 1, strlen(bar + 1));
    }
    if (!pr->text1 && !pr->text2)
        return fail(q, FHIR_QUERY_INVALID, "'%.40s' is not a token", v);
    return FHIR_QUERY_OK;
}

static result string_value(struct fhir_query *q, struct store_predicate *pr, const char *v,
                           const char *modifier)
{
    if (!modifier) {
        pr->op = STORE_OP_PREFIX;
        pr->text1 = fhir_search_normalise(q->arena, v, strlen(v));
    } else if (!strcmp(modifier, "exact")) {
        pr->op = STORE_OP_EXACT;
        pr->text2 = v;
    } else if (!strcmp(modifier, "contains")) {
        pr->op = STORE_OP_CONTAINS;
        pr->text1 = fhir_search_normalise(q->arena, v, strlen(v));
    } else {
        return fail(q, FHIR_QUERY_UNSUPPORTED, "modifier ':%.40s' is not supported on strings",
                    modifier);
    }
    return FHIR_QUERY_OK;
}

/*
 * ap on a date: the value's own range widened by 10% of its distance from
 * now (search.html leaves the amount to the server; this is HAPI's rule),
 * and by at least one day.
 */
static void approximate_date(struct store_predicate *pr)
{
    int64_t now = time_now_ms();
    int64_t mid = pr->low / 2 + pr->high / 2;
    int64_t gap = mid > now ? mid - now : now - mid;
    int64_t widen = gap / 10;
    if (widen < 86400000)
        widen = 86400000;
    pr->low = pr->low > INT64_MIN + widen ? pr->low - widen : INT64_MIN;
    pr->high = pr->high < INT64_MAX - widen ? pr->high + widen : INT64_MAX;
    pr->op = STORE_OP_EQ;
}

static result date_value(struct fhir_query *q, struct store_predicate *pr, const char *v)
{
    int op;
    const char *d = take_prefix(v, &op);
    if (!time_parse_fhir_range(d, strlen(d), &pr->low, &pr->high))
        return fail(q, FHIR_QUERY_INVALID, "'%.40s' is not a valid date", d);
    pr->op = op;
    if (op == OP_AP)
        approximate_date(pr);
    return FHIR_QUERY_OK;
}

/* number or [number]|[system]|[code] for quantities */
static result number_value(struct fhir_query *q, struct store_predicate *pr, const char *v,
                           bool quantity)
{
    int op;
    const char *d = take_prefix(v, &op);
    const char *bar = quantity ? find_bar(d) : NULL;
    const char *num = bar ? arena_strndup(q->arena, d, (size_t)(bar - d)) : d;
    if (bar) {
        const char *bar2 = find_bar(bar + 1);
        const char *end = bar2 ? bar2 : bar + 1 + strlen(bar + 1);
        pr->text1 = plain_part(q, bar + 1, (size_t)(end - bar - 1));
        if (bar2)
            pr->text2 = plain_part(q, bar2 + 1, strlen(bar2 + 1));
    }
    double value, lo, hi;
    if (!parse_number(num, &value, &lo, &hi))
        return fail(q, FHIR_QUERY_INVALID, "'%.40s' is not a valid number", num);
    if (op == STORE_OP_SA || op == STORE_OP_EB)
        return fail(q, FHIR_QUERY_INVALID, "prefixes sa and eb apply to dates only");
    if (op == OP_AP) {
        /* ap: within 10% of the value (search.html#prefix), or its precision if wider */
        double tenth = fabs(value) / 10;
        lo = fmin(lo, value - tenth);
        hi = fmax(hi, value + tenth);
        op = STORE_OP_EQ;
    }
    pr->op = op;
    bool range = op == STORE_OP_EQ || op == STORE_OP_NE;
    pr->number_low = range ? lo : value;
    pr->number_high = range ? hi : value;
    return FHIR_QUERY_OK;
}

/* The comma-separated target types of p as an arena array; *n = 0 when "any" or too many. */
static size_t target_types(struct fhir_query *q, const struct fhir_search_param *p,
                           const char **out, size_t max)
{
    size_t n = 0;
    char *targets = arena_strndup(q->arena, p->targets, strlen(p->targets));
    for (char *t = targets; t && *t;) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        if (n == max)
            return 0;
        out[n++] = t;
        t = comma ? comma + 1 : NULL;
    }
    return n;
}

/* "Type/id" of a reference value, also from an absolute URL; NULL for a bare id. The last
 * "Type/id" of a URL is kept, as the index does. */
static const char *reference_key(const char *v)
{
    const char *slash = strrchr(v, '/');
    if (!slash)
        return NULL;
    const char *start = slash;
    while (start > v && start[-1] != '/')
        start--;
    return fhir_resource_type_find(str_make(start, (size_t)(slash - start))) >= 0 ? start : v;
}

/* "Type/id", "id" (with one target type or a :Type modifier), or an absolute URL. */
static result reference_value(struct fhir_query *q, struct store_clause *cl,
                              const struct fhir_search_param *p, const char *v,
                              const char *modifier)
{
    if (modifier && !strcmp(modifier, "identifier")) {
        /* the logical identifier of the reference (Reference.identifier) */
        struct store_predicate *pr = new_pred(q, cl, q->type, p, STORE_IDX_TOKEN);
        pr->param = arena_printf(q->arena, "%s:identifier", pr->param);
        return token_value(q, pr, v, NULL);
    }
    v = plain(q, v);
    if (modifier && fhir_resource_type_find(str_from(modifier)) < 0)
        return fail(q, FHIR_QUERY_UNSUPPORTED, "modifier ':%.40s' is not supported on references",
                    modifier);
    const char *key = reference_key(v);
    if (key) {
        new_pred(q, cl, q->type, p, STORE_IDX_REFERENCE)->text1 = key;
        return FHIR_QUERY_OK;
    }
    if (modifier) {
        new_pred(q, cl, q->type, p, STORE_IDX_REFERENCE)->text1 =
            arena_printf(q->arena, "%s/%s", modifier, v);
        return FHIR_QUERY_OK;
    }
    const char *types[MAX_TARGETS];
    size_t n = target_types(q, p, types, MAX_TARGETS);
    if (n == 0)
        return fail(q, FHIR_QUERY_INVALID, "give the type of the reference: %s=Type/%.40s", p->code,
                    v);
    /* a bare id matches it under each target type */
    for (size_t i = 0; i < n; i++)
        new_pred(q, cl, q->type, p, STORE_IDX_REFERENCE)->text1 =
            arena_printf(q->arena, "%s/%s", types[i], v);
    return FHIR_QUERY_OK;
}

/*
 * The value of one non-reference type into pr. v keeps its escapes: a
 * token's or a quantity's '|' separates only when not escaped.
 */
static result typed_value(struct fhir_query *q, struct store_predicate *pr, int type,
                          const char *modifier, const char *v)
{
    if (type != FHIR_SEARCH_TOKEN && type != FHIR_SEARCH_QUANTITY)
        v = plain(q, v);
    switch (type) {
    case FHIR_SEARCH_TOKEN:
        return token_value(q, pr, v, modifier);
    case FHIR_SEARCH_STRING:
        return string_value(q, pr, v, modifier);
    case FHIR_SEARCH_DATE:
        return modifier ? FHIR_QUERY_UNSUPPORTED : date_value(q, pr, v);
    case FHIR_SEARCH_NUMBER:
    case FHIR_SEARCH_QUANTITY:
        return modifier ? FHIR_QUERY_UNSUPPORTED
                        : number_value(q, pr, v, type == FHIR_SEARCH_QUANTITY);
    case FHIR_SEARCH_URI:
        if (modifier && strcmp(modifier, "below") != 0)
            return FHIR_QUERY_UNSUPPORTED;
        pr->op = modifier ? STORE_OP_PREFIX : STORE_OP_EQ;
        pr->text1 = v;
        return FHIR_QUERY_OK;
    default:
        return FHIR_QUERY_UNSUPPORTED;
    }
}

/*
 * uri:above=V: entries that V starts with, at a path boundary (V itself,
 * then V cut at each '/' back to the host): one equality each, so the
 * index answers it. At most MAX_TARGETS of them (the longest), to stay
 * within the clause's room of MAX_TARGETS predicates per value.
 */
static result uri_above(struct fhir_query *q, struct store_clause *cl,
                        const struct fhir_search_param *p, const char *v)
{
    size_t len = strlen(v);
    const char *scheme = strstr(v, "://");
    size_t floor = scheme ? (size_t)(scheme - v) + 3 : 0;
    for (size_t n = 0; len > floor && n < MAX_TARGETS; n++) {
        new_pred(q, cl, q->type, p, STORE_IDX_URI)->text1 = arena_strndup(q->arena, v, len);
        while (len > floor && v[len - 1] != '/')
            len--;
        while (len > floor && v[len - 1] == '/')
            len--;
    }
    return FHIR_QUERY_OK;
}

#define CLAUSE_ROOM (FHIR_QUERY_MAX_VALUES * MAX_TARGETS) /* predicates of one clause */

static bool is_terminology_modifier(const char *m)
{
    return m &&
           (!strcmp(m, "in") || !strcmp(m, "not-in") || !strcmp(m, "above") || !strcmp(m, "below"));
}

static result expand_codes(struct fhir_query *q, const char *modifier, const char *v,
                           struct fhir_code **codes, size_t *n)
{
    if (!q->codes)
        return fail(q, FHIR_QUERY_UNSUPPORTED, "token modifier ':%s' is not available here",
                    modifier);
    return q->codes(q->codes_ctx, q, modifier, v, codes, n);
}

static void code_pred(struct store_predicate *pr, const struct fhir_code *c)
{
    pr->text1 = c->system;
    pr->text3 = c->system ? NULL : "";
    pr->text2 = c->code;
}

/* :in :above :below: any of the expanded codes (none: nothing matches). */
static result token_codes(struct fhir_query *q, struct store_clause *cl,
                          const struct fhir_search_param *p, const char *modifier, const char *v)
{
    struct fhir_code *codes;
    size_t n;
    result r = expand_codes(q, modifier, v, &codes, &n);
    if (r)
        return r;
    if (cl->count + n + 1 > CLAUSE_ROOM)
        return fail(q, FHIR_QUERY_INVALID, "%s:%s: too many codes (at most %d)", p->code, modifier,
                    CLAUSE_ROOM - 1);
    if (n == 0)
        new_pred(q, cl, q->type, p, STORE_IDX_TOKEN)->text2 = ""; /* no code is empty */
    for (size_t i = 0; i < n; i++)
        code_pred(new_pred(q, cl, q->type, p, STORE_IDX_TOKEN), &codes[i]);
    return FHIR_QUERY_OK;
}

static result one_value(struct fhir_query *q, struct store_clause *cl,
                        const struct fhir_search_param *p, const char *modifier, const char *v)
{
    if (p->type == FHIR_SEARCH_REFERENCE)
        return reference_value(q, cl, p, v, modifier);
    if (is_special(p)) {
        struct store_predicate *pr = new_pred(q, cl, q->type, p, STORE_PRED_RESOURCE);
        v = plain(q, v);
        if (p->type != FHIR_SEARCH_TOKEN)
            return modifier ? FHIR_QUERY_UNSUPPORTED : date_value(q, pr, v);
        pr->text2 = v;
        return modifier ? fail(q, FHIR_QUERY_UNSUPPORTED, "_id takes no modifier") : FHIR_QUERY_OK;
    }
    if (p->type == FHIR_SEARCH_URI && modifier && !strcmp(modifier, "above"))
        return uri_above(q, cl, p, plain(q, v));
    if (p->type == FHIR_SEARCH_TOKEN && is_terminology_modifier(modifier))
        return token_codes(q, cl, p, modifier, plain(q, v));
    return typed_value(q, new_pred(q, cl, q->type, p, fhir_search_index_kind(p->type)), p->type,
                       modifier, v);
}

/*
 * A composite value "A$B" (search.html#composite): the entry of B's type
 * indexed under "Type.code$key(A)", as search_index.c writes it.
 */
static result composite_value(struct fhir_query *q, struct store_clause *cl,
                              const struct fhir_search_param *p,
                              const struct fhir_composite_part *parts, const char *v)
{
    char *half[3];
    /* the second half keeps its escapes for typed_value */
    if (split_at(q->arena, v, '$', true, half, 3) != 2 || !*half[0] || !*half[1])
        return fail(q, FHIR_QUERY_INVALID, "%s takes two values joined by '$': %.*s$%.*s", p->code,
                    STR_FMT(parts[0].code), STR_FMT(parts[1].code));
    const char *key = plain(q, half[0]);
    if (parts[0].type == FHIR_SEARCH_REFERENCE) {
        key = reference_key(key);
        if (!key)
            return fail(q, FHIR_QUERY_INVALID, "%s: give the reference as Type/id", p->code);
    } else if (!strchr(key, '|')) {
        /* "code": any system, as indexed */
    } else if (key[strlen(key) - 1] == '|') {
        return fail(q, FHIR_QUERY_UNSUPPORTED, "%s: give the code of '%.40s'", p->code, key);
    }
    struct store_predicate *pr = new_pred(q, cl, q->type, p, fhir_search_index_kind(parts[1].type));
    pr->param = arena_printf(q->arena, "%s.%s$%s", q->type, p->code, key);
    if (parts[1].type == FHIR_SEARCH_REFERENCE) {
        pr->text1 = reference_key(plain(q, half[1]));
        return pr->text1
                   ? FHIR_QUERY_OK
                   : fail(q, FHIR_QUERY_INVALID, "%s: give the reference as Type/id", p->code);
    }
    return typed_value(q, pr, parts[1].type, NULL, half[1]);
}

/* ---- clauses ---- */

static struct store_clause *new_clause(struct fhir_query *q, size_t preds)
{
    if (q->nclauses == FHIR_QUERY_MAX_PARAMS)
        return NULL;
    struct store_clause *cl = &q->clauses[q->nclauses];
    cl->preds = arena_alloc(q->arena, sizeof(*cl->preds) * preds);
    cl->count = 0;
    return cl;
}

void fhir_query_match_nothing(struct fhir_query *q)
{
    fhir_query_init(q, q->arena, q->cfg, q->type);
    (void)fhir_query_add(q, "_id", "-"); /* '-' is no valid id */
}

void fhir_query_confine(struct fhir_query *q, const struct store_clause *cl)
{
    assert(q->nclauses <= FHIR_QUERY_MAX_PARAMS);
    q->clauses[q->nclauses++] = *cl;
}

bool fhir_query_add_any(struct fhir_query *q, const struct fhir_query_pair *alts, size_t n)
{
    struct store_clause *cl = new_clause(q, n * FHIR_QUERY_MAX_VALUES);
    if (!cl) {
        fail(q, FHIR_QUERY_INVALID, "more than %d search parameters", FHIR_QUERY_MAX_PARAMS);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        struct fhir_query *one = arena_alloc(q->arena, sizeof(*one));
        fhir_query_init(one, q->arena, q->cfg, q->type);
        one->depth = q->depth;
        if (fhir_query_add(one, alts[i].name, alts[i].value) != FHIR_QUERY_OK ||
            one->nclauses != 1) {
            memcpy(q->why, one->why, sizeof(q->why));
            return false;
        }
        for (size_t k = 0; k < one->clauses[0].count; k++)
            cl->preds[cl->count++] = one->clauses[0].preds[k];
    }
    q->nclauses++;
    return true;
}

/* A finished nested query, confined first when the caller asked for it (fhir_query.confine). */
static struct store_query *as_store_query(struct fhir_query *sub)
{
    if (sub->confine && !sub->confine(sub->confine_ctx, sub))
        fhir_query_match_nothing(sub); /* nothing of the type is reachable */
    struct store_query *sq = arena_alloc(sub->arena, sizeof(*sq));
    fhir_query_to_store(sub, 0, sq);
    return sq;
}

/* A query of type nested one level below q, holding the one parameter name=value. */
static result sub_query(struct fhir_query *q, const char *type, const char *name, const char *value,
                        struct fhir_query **out)
{
    if (q->depth + 1 >= FHIR_QUERY_MAX_DEPTH)
        return fail(q, FHIR_QUERY_INVALID, "chains and _has nest at most %d levels",
                    FHIR_QUERY_MAX_DEPTH - 1);
    struct fhir_query *sub = arena_alloc(q->arena, sizeof(*sub));
    fhir_query_init(sub, q->arena, q->cfg, type);
    sub->depth = q->depth + 1;
    sub->codes = q->codes;
    sub->codes_ctx = q->codes_ctx;
    sub->confine = q->confine;
    sub->confine_ctx = q->confine_ctx;
    if (fhir_query_is_result_param(name))
        return fail(q, FHIR_QUERY_INVALID, "'%.40s' cannot be chained", name);
    result r = fhir_query_add(sub, name, value);
    if (r)
        memcpy(q->why, sub->why, sizeof(q->why));
    *out = sub;
    return r;
}

/*
 * A chain: ref[:Type].rest=value. The reference must point at a resource
 * of a target type matching rest=value; with no :Type, each target type
 * that has the parameter counts (at most MAX_TARGETS of them).
 */
static result add_chain(struct fhir_query *q, const struct fhir_search_param *p,
                        const char *type_modifier, const char *rest, const char *value)
{
    const char *types[MAX_TARGETS];
    size_t n = 1;
    types[0] = type_modifier;
    if (!type_modifier)
        n = target_types(q, p, types, MAX_TARGETS);
    if (n == 0)
        return fail(q, FHIR_QUERY_INVALID, "name the target type: %s:Type.%.40s", p->code, rest);
    struct store_clause *cl = new_clause(q, n);
    if (!cl)
        return fail(q, FHIR_QUERY_INVALID, "more than %d search parameters", FHIR_QUERY_MAX_PARAMS);
    size_t code_len = strcspn(rest, ".:");
    for (size_t i = 0; i < n; i++) {
        if (!fhir_search_param_find(types[i], str_make(rest, code_len)))
            continue; /* this target type has no such parameter */
        struct fhir_query *sub;
        result r = sub_query(q, types[i], rest, value, &sub);
        if (r)
            return r;
        struct store_predicate *pr = new_pred(q, cl, q->type, p, STORE_IDX_REFERENCE);
        pr->sub = as_store_query(sub);
    }
    if (cl->count == 0)
        return fail(q, FHIR_QUERY_UNSUPPORTED, "no target of '%s' has a parameter '%.*s'", p->code,
                    (int)code_len, rest);
    q->nclauses++;
    return FHIR_QUERY_OK;
}

/* _has:Type:ref:rest=value: some Type whose ref points here matches rest=value. */
static result add_has(struct fhir_query *q, const char *spec, const char *value)
{
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || !c2[1])
        return fail(q, FHIR_QUERY_INVALID, "_has takes _has:Type:reference:parameter=value");
    char *type = arena_strndup(q->arena, spec, (size_t)(c1 - spec));
    if (fhir_resource_type_find(str_from(type)) < 0)
        return fail(q, FHIR_QUERY_INVALID, "_has: '%.40s' is not a resource type", type);
    struct str ref = str_make(c1 + 1, (size_t)(c2 - c1 - 1));
    const struct fhir_search_param *rp = fhir_search_param_find(type, ref);
    if (!rp || rp->type != FHIR_SEARCH_REFERENCE)
        return fail(q, FHIR_QUERY_INVALID, "_has: '%.*s' is not a reference parameter of %s",
                    (int)ref.len, ref.ptr, type);
    struct fhir_query *sub;
    result r = sub_query(q, type, c2 + 1, value, &sub);
    if (r)
        return r;
    struct store_clause *cl = new_clause(q, 1);
    if (!cl)
        return fail(q, FHIR_QUERY_INVALID, "more than %d search parameters", FHIR_QUERY_MAX_PARAMS);
    struct store_predicate *pr = &cl->preds[cl->count++];
    memset(pr, 0, sizeof(*pr));
    pr->kind = STORE_PRED_HAS;
    pr->op = STORE_OP_EQ;
    pr->param = arena_printf(q->arena, "%s.%s", type, rp->code);
    pr->sub = as_store_query(sub);
    q->nclauses++;
    return FHIR_QUERY_OK;
}

static result add_missing(struct fhir_query *q, const struct fhir_search_param *p, const char *name,
                          const char *value)
{
    if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
        return fail(q, FHIR_QUERY_INVALID, "%s: :missing takes true or false", name);
    if (is_special(p))
        return fail(q, FHIR_QUERY_UNSUPPORTED, "every resource has %s", p->code);
    struct store_clause *cl = new_clause(q, 1);
    if (!cl)
        return fail(q, FHIR_QUERY_INVALID, "more than %d search parameters", FHIR_QUERY_MAX_PARAMS);
    new_pred(q, cl, q->type, p, fhir_search_index_kind(p->type))->op =
        !strcmp(value, "true") ? STORE_OP_MISSING : STORE_OP_PRESENT;
    q->nclauses++;
    return FHIR_QUERY_OK;
}

static result add_composite(struct fhir_query *q, const struct fhir_search_param *p,
                            const char *modifier, const char *value)
{
    struct fhir_composite_part parts[FHIR_COMPOSITE_MAX_PARTS];
    if (!fhir_search_composite_is_indexed(p, parts))
        return fail(q, FHIR_QUERY_UNSUPPORTED,
                    "composite '%s' of more than two components is not supported", p->code);
    if (modifier)
        return fail(q, FHIR_QUERY_UNSUPPORTED, "composite '%s' takes no modifier", p->code);
    struct store_clause *cl = new_clause(q, FHIR_QUERY_MAX_VALUES);
    if (!cl)
        return fail(q, FHIR_QUERY_INVALID, "more than %d search parameters", FHIR_QUERY_MAX_PARAMS);
    char *values[FHIR_QUERY_MAX_VALUES];
    size_t n = split_at(q->arena, value, ',', true, values, FHIR_QUERY_MAX_VALUES);
    for (size_t i = 0; i < n; i++) {
        result r = composite_value(q, cl, p, parts, values[i]);
        if (r)
            return r;
    }
    q->nclauses++;
    return FHIR_QUERY_OK;
}

/* code:not-in=ValueSet: no code of the value set, one negated clause per code. */
static result add_not_in(struct fhir_query *q, const struct fhir_search_param *p, const char *value)
{
    struct fhir_code *codes;
    size_t n;
    result r = expand_codes(q, "not-in", value, &codes, &n);
    if (r)
        return r;
    if (q->nclauses + n > FHIR_QUERY_MAX_PARAMS)
        return fail(q, FHIR_QUERY_INVALID,
                    "%s:not-in: the value set has %zu codes, at most %zu "
                    "can be excluded",
                    p->code, n, FHIR_QUERY_MAX_PARAMS - q->nclauses);
    for (size_t i = 0; i < n; i++) {
        struct store_clause *cl = new_clause(q, 1);
        struct store_predicate *pr = new_pred(q, cl, q->type, p, STORE_IDX_TOKEN);
        code_pred(pr, &codes[i]);
        pr->negate = true;
        q->nclauses++;
    }
    return FHIR_QUERY_OK;
}

/* name[:modifier][.chain]=value: one clause. */
static result add_filter(struct fhir_query *q, const char *name, const char *value)
{
    if (!strncmp(name, "_has:", 5))
        return add_has(q, name + 5, value);
    size_t code_len = strcspn(name, ":.");
    struct str code = str_make(name, code_len);
    const struct fhir_search_param *p = fhir_search_param_find(q->type, code);
    if (!p || p->type == FHIR_SEARCH_SPECIAL)
        return fail(q, FHIR_QUERY_UNSUPPORTED, "unknown or unsupported search parameter '%.64s'",
                    name);
    const char *modifier = NULL;
    const char *dot = strchr(name + code_len, '.');
    if (name[code_len] == ':') {
        size_t mlen = dot ? (size_t)(dot - name - code_len - 1) : strlen(name + code_len + 1);
        modifier = arena_strndup(q->arena, name + code_len + 1, mlen);
    }
    if (dot) {
        if (p->type != FHIR_SEARCH_REFERENCE)
            return fail(q, FHIR_QUERY_INVALID, "'%.*s' is not a reference: it cannot be chained",
                        STR_FMT(code));
        if (modifier && fhir_resource_type_find(str_from(modifier)) < 0)
            return fail(q, FHIR_QUERY_INVALID, "'%s' is not a resource type", modifier);
        return add_chain(q, p, modifier, dot + 1, value);
    }
    if (p->type == FHIR_SEARCH_COMPOSITE)
        return add_composite(q, p, modifier, value);
    if (modifier && !strcmp(modifier, "missing"))
        return add_missing(q, p, name, value);
    if (modifier && !strcmp(modifier, "not-in") && p->type == FHIR_SEARCH_TOKEN)
        return add_not_in(q, p, value);
    struct store_clause *cl = new_clause(q, CLAUSE_ROOM);
    if (!cl)
        return fail(q, FHIR_QUERY_INVALID, "more than %d search parameters", FHIR_QUERY_MAX_PARAMS);
    char *values[FHIR_QUERY_MAX_VALUES];
    /* escapes other than "\," stay: a '|' inside a system or code is "\|" */
    size_t n = split_at(q->arena, value, ',', true, values, FHIR_QUERY_MAX_VALUES);
    for (size_t i = 0; i < n; i++) {
        if (!*values[i])
            return fail(q, FHIR_QUERY_INVALID, "%s: empty value", name);
        q->why[0] = '\0';
        result r = one_value(q, cl, p, modifier, values[i]);
        if (r == FHIR_QUERY_UNSUPPORTED && !q->why[0])
            fail(q, r, "modifier ':%s' is not supported on '%.*s'", modifier ? modifier : "",
                 STR_FMT(code));
        if (r)
            return r;
    }
    q->nclauses++;
    return FHIR_QUERY_OK;
}

/* ---- result parameters ---- */

static result parse_count(struct fhir_query *q, const char *name, const char *v, long long max,
                          long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0)
        return fail(q, FHIR_QUERY_INVALID, "%s: '%.40s' is not a number >= 0", name, v);
    *out = n > max ? max : n;
    return FHIR_QUERY_OK;
}

/* _sort=-date,status: keys in order, '-' for descending. */
static result parse_sort(struct fhir_query *q, const char *v)
{
    char *values[FHIR_QUERY_MAX_VALUES];
    size_t n = split_values(q->arena, v, values, FHIR_QUERY_MAX_VALUES);
    for (size_t i = 0; i < n; i++) {
        const char *key = values[i];
        bool desc = *key == '-';
        if (desc)
            key++;
        const struct fhir_search_param *p = fhir_search_param_find(q->type, str_from(key));
        if (!p || p->type == FHIR_SEARCH_COMPOSITE || p->type == FHIR_SEARCH_SPECIAL)
            return fail(q, FHIR_QUERY_INVALID, "_sort: '%.40s' is not a parameter of %s", key,
                        q->type);
        if (q->nsort == FHIR_QUERY_MAX_SORT)
            return fail(q, FHIR_QUERY_INVALID, "_sort: at most %d keys", FHIR_QUERY_MAX_SORT);
        struct store_sort *s = &q->sort[q->nsort++];
        s->kind = is_special(p) ? STORE_PRED_RESOURCE : fhir_search_index_kind(p->type);
        s->param = is_special(p) ? p->code : arena_printf(q->arena, "%s.%s", q->type, p->code);
        s->desc = desc;
    }
    return FHIR_QUERY_OK;
}

/* _include[:iterate]=Type:param[:target] or *; _revinclude likewise. */
static result parse_include(struct fhir_query *q, const char *name, const char *v)
{
    bool reverse = !strncmp(name, "_revinclude", 11);
    const char *mod = strchr(name, ':');
    bool iterate = mod && (!strcmp(mod, ":iterate") || !strcmp(mod, ":recurse"));
    if (mod && !iterate)
        return fail(q, FHIR_QUERY_UNSUPPORTED, "%s: unknown modifier '%.20s'", name, mod);
    if (q->nincludes == FHIR_QUERY_MAX_INCLUDES)
        return fail(q, FHIR_QUERY_INVALID, "at most %d _include and _revinclude",
                    FHIR_QUERY_MAX_INCLUDES);
    struct fhir_include *inc = &q->includes[q->nincludes];
    memset(inc, 0, sizeof(*inc));
    inc->reverse = reverse;
    inc->iterate = iterate;
    inc->text = v;
    char *copy = arena_strndup(q->arena, v, strlen(v));
    char *parts[3] = {copy, NULL, NULL};
    for (int i = 1; i < 3 && parts[i - 1]; i++) {
        char *c = strchr(parts[i - 1], ':');
        if (c) {
            *c = '\0';
            parts[i] = c + 1;
        }
    }
    if (!strcmp(v, "*") && !reverse) {
        inc->source_type = q->type;
    } else {
        if (!parts[1] || fhir_resource_type_find(str_from(parts[0])) < 0)
            return fail(q, FHIR_QUERY_INVALID, "%s: '%.60s' is not Type:parameter", name, v);
        inc->source_type = parts[0];
        if (strcmp(parts[1], "*") != 0) {
            const struct fhir_search_param *p =
                fhir_search_param_find(parts[0], str_from(parts[1]));
            if (!p || p->type != FHIR_SEARCH_REFERENCE)
                return fail(q, FHIR_QUERY_INVALID, "%s: '%.40s' is not a reference of %s", name,
                            parts[1], parts[0]);
            inc->param = arena_printf(q->arena, "%s.%s", parts[0], p->code);
        }
        if (parts[2] && fhir_resource_type_find(str_from(parts[2])) < 0)
            return fail(q, FHIR_QUERY_INVALID, "%s: '%.40s' is not a resource type", name,
                        parts[2]);
        inc->target_type = parts[2];
    }
    q->nincludes++;
    return FHIR_QUERY_OK;
}

static result parse_summary(struct fhir_query *q, const char *v)
{
    static const char *const names[] = {"false", "true", "text", "data", "count"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(v, names[i])) {
            q->summary = (enum fhir_summary)i;
            if (q->summary == FHIR_SUMMARY_COUNT)
                q->want_total = true;
            return FHIR_QUERY_OK;
        }
    return fail(q, FHIR_QUERY_INVALID, "_summary: '%.20s' is not true, text, data, count or false",
                v);
}

static result parse_elements(struct fhir_query *q, const char *v)
{
    char *values[FHIR_QUERY_MAX_VALUES];
    size_t n = split_values(q->arena, v, values, FHIR_QUERY_MAX_VALUES);
    for (size_t i = 0; i < n; i++) {
        if (!*values[i])
            continue;
        if (q->nelements == FHIR_QUERY_MAX_ELEMENTS)
            return fail(q, FHIR_QUERY_INVALID, "_elements: at most %d names",
                        FHIR_QUERY_MAX_ELEMENTS);
        /* "Patient.name" names the element "name" of the searched type */
        const char *dot = strchr(values[i], '.');
        q->elements[q->nelements++] = dot ? dot + 1 : values[i];
    }
    return FHIR_QUERY_OK;
}

static result parse_total(struct fhir_query *q, const char *v)
{
    if (strcmp(v, "none") && strcmp(v, "estimate") && strcmp(v, "accurate"))
        return fail(q, FHIR_QUERY_INVALID, "_total: '%.20s' is not none, estimate or accurate", v);
    q->want_total = strcmp(v, "none") != 0;
    q->total_none = !q->want_total;
    return FHIR_QUERY_OK;
}

static const char *const result_params[] = {
    "_count", "_cursor",   "_before",  "_format",     "_pretty",    "_total",         "_summary",
    "_sort",  "_elements", "_include", "_revinclude", "_contained", "_containedType",
};

bool fhir_query_is_result_param(const char *name)
{
    size_t len = strcspn(name, ":");
    for (size_t i = 0; i < sizeof(result_params) / sizeof(result_params[0]); i++)
        if (strlen(result_params[i]) == len && !strncmp(name, result_params[i], len))
            return true;
    return false;
}

static result result_param(struct fhir_query *q, const char *name, const char *v)
{
    if (!strcmp(name, "_count")) {
        result r = parse_count(q, name, v, q->cfg->max_count, &q->count);
        if (!r && q->count == 0) /* search.html: _count=0 asks for the total only */
            q->summary = FHIR_SUMMARY_COUNT, q->want_total = true;
        return r;
    }
    if (!strcmp(name, "_cursor"))
        return parse_count(q, name, v, INT64_MAX, &q->cursor);
    if (!strcmp(name, "_before")) /* written by our own "previous" links */
        return parse_count(q, name, v, INT64_MAX, &q->before);
    if (!strcmp(name, "_format") || !strcmp(name, "_pretty"))
        return FHIR_QUERY_OK;
    if (!strcmp(name, "_total"))
        return parse_total(q, v);
    if (!strcmp(name, "_summary"))
        return parse_summary(q, v);
    if (!strcmp(name, "_sort"))
        return parse_sort(q, v);
    if (!strcmp(name, "_elements"))
        return parse_elements(q, v);
    if (!strncmp(name, "_include", 8) || !strncmp(name, "_revinclude", 11))
        return parse_include(q, name, v);
    return fail(q, FHIR_QUERY_UNSUPPORTED, "'%.40s' is not supported", name);
}

enum fhir_query_result fhir_query_add(struct fhir_query *q, const char *name, const char *value)
{
    q->why[0] = '\0';
    if (fhir_query_is_result_param(name))
        return result_param(q, name, value);
    return add_filter(q, name, value);
}

/* ---- conditional URLs ---- */

/* Percent-decode a query-string part in place ("+" is a space). */
static void query_decode(char *s)
{
    char *out = s;
    for (char *p = s; *p; p++) {
        if (*p == '+') {
            *out++ = ' ';
        } else if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], '\0'};
            *out++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

size_t fhir_query_split(struct arena *a, const char *qs, size_t len, struct fhir_query_pair **out)
{
    char *copy = arena_strndup(a, qs ? qs : "", qs ? len : 0);
    size_t max = 1;
    for (const char *p = copy; *p; p++)
        max += *p == '&';
    struct fhir_query_pair *pairs = arena_alloc(a, sizeof(*pairs) * max);
    size_t n = 0;
    for (char *field = copy; field && *field;) {
        char *amp = strchr(field, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(field, '=');
        if (eq)
            *eq = '\0';
        query_decode(field);
        if (eq)
            query_decode(eq + 1);
        if (*field)
            pairs[n++] = (struct fhir_query_pair){field, eq ? eq + 1 : ""};
        field = amp ? amp + 1 : NULL;
    }
    *out = pairs;
    return n;
}

bool fhir_query_parse_condition(struct fhir_query *q, const char *qs)
{
    struct fhir_query_pair *pairs;
    size_t n = fhir_query_split(q->arena, qs, strlen(qs), &pairs);
    for (size_t i = 0; i < n; i++) {
        if (fhir_query_is_result_param(pairs[i].name)) {
            fail(q, FHIR_QUERY_INVALID, "'%.40s' has no place in a condition", pairs[i].name);
            return false;
        }
        if (fhir_query_add(q, pairs[i].name, pairs[i].value) != FHIR_QUERY_OK)
            return false;
    }
    if (q->nclauses == 0) {
        fail(q, FHIR_QUERY_INVALID, "the condition names no search parameter");
        return false;
    }
    return true;
}

void fhir_query_to_store(const struct fhir_query *q, int limit, struct store_query *out)
{
    memset(out, 0, sizeof(*out));
    out->type = q->type;
    out->clauses = q->clauses;
    out->count = q->nclauses;
    out->limit = limit;
    out->sort = q->sort;
    out->nsort = q->nsort;
    if (q->nsort)
        out->offset = q->cursor;
    else if (q->before > 0)
        out->before_key = q->before;
    else
        out->after_key = q->cursor;
}
