/*
 * search.c - the search interaction (FHIR R4 search.html): GET [type]?...
 * and POST [type]/_search with a form body. Parameters become store
 * predicates (an AND of parameters, an OR of each one's comma-separated
 * values); the answer is a Bundle of type "searchset".
 *
 * Supported: every token, string, reference, date, number, quantity and
 * uri parameter of R4 (search_gen.c); _id and _lastUpdated; the prefixes
 * eq ne gt lt ge le sa eb; the modifiers :missing (all types), :not
 * (token), :exact and :contains (string), :[type] (reference), :below
 * (uri); _count, _total, _summary=count. Any other parameter or modifier
 * is not applied: it is listed in an OperationOutcome entry of the Bundle
 * and left out of the self link (lenient, the default), or answered with
 * 400 when the client sends Prefer: handling=strict. An invalid value of a
 * supported parameter is always 400.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/model.h"
#include "fhir/rest_internal.h"
#include "fhir/search_index.h"
#include "fhir/search_params.h"

#define MAX_SEARCH_PARAMS    64
#define MAX_VALUES_PER_PARAM 64
#define MAX_BARE_ID_TARGETS  8 /* a bare id expands to one predicate per target type */

enum outcome { SP_OK, SP_UNSUPPORTED, SP_INVALID };

struct search {
    struct rest_ctx *c;                             /* the request */
    const char *type;                               /* resource type searched */
    struct store_clause clauses[MAX_SEARCH_PARAMS]; /* AND-ed */
    size_t nclauses;                                /* used */
    struct buf used;                                /* parameters applied, for the self link */
    struct buf ignored;                             /* names not applied, JSON-escaped list */
    size_t nignored;                                /* how many */
    bool strict;                                    /* Prefer: handling=strict */
    long long count;                                /* page size */
    long long cursor;                               /* paging cursor (key) */
    bool want_total;                                /* _total or _summary=count */
    bool count_only;                                /* _summary=count */
    char why[256];                                  /* reason of SP_INVALID / SP_UNSUPPORTED */
};

/* ---- values ---- */

/* Split at unescaped commas, unescaping "\," "\|" "\$" "\\" (search.html#escaping). */
static size_t split_values(struct arena *a, const char *v, char **out, size_t max)
{
    size_t n = 0, k = 0;
    char *cur = arena_alloc(a, strlen(v) + 1);
    for (const char *p = v;; p++) {
        if (*p == '\\' && p[1] && strchr(",|$\\", p[1])) {
            cur[k++] = *++p;
            continue;
        }
        if (*p != ',' && *p != '\0') {
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

static const struct {
    const char *text; /* two letters */
    int op;           /* enum store_op */
} prefixes[] = {
    {"eq", STORE_OP_EQ}, {"ne", STORE_OP_NE}, {"gt", STORE_OP_GT}, {"lt", STORE_OP_LT},
    {"ge", STORE_OP_GE}, {"le", STORE_OP_LE}, {"sa", STORE_OP_SA}, {"eb", STORE_OP_EB},
};

/*
 * A two-letter prefix before the value. "ap" (approximately) is not
 * supported and says so; other letters are part of the value, which then
 * fails to parse as a date or number (400).
 */
static const char *take_prefix(struct search *s, const char *v, int *op, enum outcome *res)
{
    *op = STORE_OP_EQ;
    *res = SP_OK;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strncmp(v, prefixes[i].text, 2)) {
            *op = prefixes[i].op;
            return v + 2;
        }
    if (!strncmp(v, "ap", 2)) {
        snprintf(s->why, sizeof(s->why), "prefix 'ap' is not supported");
        *res = SP_UNSUPPORTED;
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

static struct store_predicate *new_pred(struct search *s, struct store_clause *cl,
                                        const struct fhir_search_param *p, int kind)
{
    struct store_predicate *pr = &cl->preds[cl->count++];
    memset(pr, 0, sizeof(*pr));
    pr->kind = kind;
    pr->param = arena_printf(s->c->req->arena, "%s.%s", s->type, p->code);
    pr->op = STORE_OP_EQ;
    return pr;
}

static enum outcome token_value(struct search *s, struct store_predicate *pr, const char *v,
                                const char *modifier)
{
    if (modifier && strcmp(modifier, "not") != 0) {
        snprintf(s->why, sizeof(s->why), "modifier ':%s' is not supported on tokens", modifier);
        return SP_UNSUPPORTED;
    }
    pr->negate = modifier != NULL;
    const char *bar = strchr(v, '|');
    if (!bar) {
        pr->text2 = v;
    } else {
        struct arena *a = s->c->req->arena;
        if (bar > v)
            pr->text1 = arena_strndup(a, v, (size_t)(bar - v));
        else
            pr->text3 = ""; /* "|code": no system */
        if (bar[1])
            pr->text2 = bar + 1;
    }
    return pr->text1 || pr->text2 ? SP_OK : SP_INVALID;
}

static enum outcome string_value(struct search *s, struct store_predicate *pr, const char *v,
                                 const char *modifier)
{
    struct arena *a = s->c->req->arena;
    if (!modifier) {
        pr->op = STORE_OP_PREFIX;
        pr->text1 = fhir_search_normalise(a, v, strlen(v));
    } else if (!strcmp(modifier, "exact")) {
        pr->op = STORE_OP_EXACT;
        pr->text2 = v;
    } else if (!strcmp(modifier, "contains")) {
        pr->op = STORE_OP_CONTAINS;
        pr->text1 = fhir_search_normalise(a, v, strlen(v));
    } else {
        snprintf(s->why, sizeof(s->why), "modifier ':%s' is not supported on strings", modifier);
        return SP_UNSUPPORTED;
    }
    return SP_OK;
}

static enum outcome date_value(struct search *s, struct store_predicate *pr, const char *v)
{
    enum outcome res;
    const char *d = take_prefix(s, v, &pr->op, &res);
    if (res)
        return res;
    if (!time_parse_fhir_range(d, strlen(d), &pr->low, &pr->high)) {
        snprintf(s->why, sizeof(s->why), "'%.40s' is not a valid date", d);
        return SP_INVALID;
    }
    return SP_OK;
}

static enum outcome number_value(struct search *s, struct store_predicate *pr, const char *v,
                                 bool quantity)
{
    enum outcome res;
    const char *d = take_prefix(s, v, &pr->op, &res);
    if (res)
        return res;
    char *num = arena_strndup(s->c->req->arena, d, strlen(d));
    char *bar = quantity ? strchr(num, '|') : NULL;
    if (bar) {
        *bar = '\0';
        char *bar2 = strchr(bar + 1, '|');
        if (bar2) {
            *bar2 = '\0';
            pr->text2 = *(bar2 + 1) ? bar2 + 1 : NULL;
        }
        pr->text1 = *(bar + 1) ? bar + 1 : NULL;
    }
    double value, lo, hi;
    if (!parse_number(num, &value, &lo, &hi)) {
        snprintf(s->why, sizeof(s->why), "'%.40s' is not a valid number", num);
        return SP_INVALID;
    }
    bool range = pr->op == STORE_OP_EQ || pr->op == STORE_OP_NE;
    pr->number_low = range ? lo : value;
    pr->number_high = range ? hi : value;
    if (pr->op == STORE_OP_SA || pr->op == STORE_OP_EB) {
        snprintf(s->why, sizeof(s->why), "prefixes sa and eb apply to dates only");
        return SP_INVALID;
    }
    return SP_OK;
}

/* "Type/id", "id" (with one target type or a :Type modifier), or an absolute URL. */
static enum outcome reference_value(struct search *s, struct store_clause *cl,
                                    const struct fhir_search_param *p, const char *v,
                                    const char *modifier)
{
    struct arena *a = s->c->req->arena;
    const char *type = NULL;
    if (modifier) {
        if (fhir_resource_type_find(str_from(modifier)) < 0) {
            snprintf(s->why, sizeof(s->why), "modifier ':%s' is not supported on references",
                     modifier);
            return SP_UNSUPPORTED;
        }
        type = modifier;
    }
    const char *slash = strrchr(v, '/');
    if (slash) {
        /* keep the last "Type/id" of a URL, as the index does */
        const char *start = slash;
        while (start > v && start[-1] != '/')
            start--;
        if (fhir_resource_type_find(str_make(start, (size_t)(slash - start))) >= 0)
            v = start;
        new_pred(s, cl, p, STORE_IDX_REFERENCE)->text1 = v;
        return SP_OK;
    }
    if (type) {
        new_pred(s, cl, p, STORE_IDX_REFERENCE)->text1 = arena_printf(a, "%s/%s", type, v);
        return SP_OK;
    }
    size_t ntargets = *p->targets ? 1 : 0;
    for (const char *t = p->targets; *t; t++)
        ntargets += *t == ',';
    if (ntargets == 0 || ntargets > MAX_BARE_ID_TARGETS) {
        snprintf(s->why, sizeof(s->why), "give the type of the reference: %s=Type/%.40s", p->code,
                 v);
        return SP_INVALID;
    }
    /* a bare id matches it under each target type */
    char *targets = arena_strndup(a, p->targets, strlen(p->targets));
    for (char *t = targets; t && *t;) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        new_pred(s, cl, p, STORE_IDX_REFERENCE)->text1 = arena_printf(a, "%s/%s", t, v);
        t = comma ? comma + 1 : NULL;
    }
    return SP_OK;
}

static const int kind_of[] = {
    [FHIR_SEARCH_NUMBER] = STORE_IDX_NUMBER,
    [FHIR_SEARCH_DATE] = STORE_IDX_DATE,
    [FHIR_SEARCH_STRING] = STORE_IDX_STRING,
    [FHIR_SEARCH_TOKEN] = STORE_IDX_TOKEN,
    [FHIR_SEARCH_REFERENCE] = STORE_IDX_REFERENCE,
    [FHIR_SEARCH_QUANTITY] = STORE_IDX_QUANTITY,
    [FHIR_SEARCH_URI] = STORE_IDX_URI,
};

static enum outcome one_value(struct search *s, struct store_clause *cl,
                              const struct fhir_search_param *p, const char *modifier,
                              const char *v)
{
    bool special = !strcmp(p->code, "_id") || !strcmp(p->code, "_lastUpdated");
    if (p->type == FHIR_SEARCH_REFERENCE)
        return reference_value(s, cl, p, v, modifier);
    struct store_predicate *pr = new_pred(s, cl, p, special ? STORE_IDX__COUNT : kind_of[p->type]);
    if (special)
        pr->param = p->code;
    switch (p->type) {
    case FHIR_SEARCH_TOKEN:
        if (special) {
            pr->text2 = v;
            return modifier ? SP_UNSUPPORTED : SP_OK;
        }
        return token_value(s, pr, v, modifier);
    case FHIR_SEARCH_STRING:
        return string_value(s, pr, v, modifier);
    case FHIR_SEARCH_DATE:
        return modifier ? SP_UNSUPPORTED : date_value(s, pr, v);
    case FHIR_SEARCH_NUMBER:
    case FHIR_SEARCH_QUANTITY:
        return modifier ? SP_UNSUPPORTED : number_value(s, pr, v, p->type == FHIR_SEARCH_QUANTITY);
    case FHIR_SEARCH_URI:
        if (modifier && strcmp(modifier, "below") != 0)
            return SP_UNSUPPORTED;
        pr->op = modifier ? STORE_OP_PREFIX : STORE_OP_EQ;
        pr->text1 = v;
        return SP_OK;
    default:
        return SP_UNSUPPORTED;
    }
}

/* name[:modifier]=value: one clause. */
static enum outcome add_param(struct search *s, const char *name, const char *value)
{
    struct arena *a = s->c->req->arena;
    const char *colon = strchr(name, ':');
    const char *modifier = colon ? colon + 1 : NULL;
    struct str code = colon ? str_make(name, (size_t)(colon - name)) : str_from(name);
    const struct fhir_search_param *p = fhir_search_param_find(s->type, code);
    if (!p || p->type == FHIR_SEARCH_COMPOSITE || p->type == FHIR_SEARCH_SPECIAL) {
        snprintf(s->why, sizeof(s->why), "unknown or unsupported search parameter '%.64s'", name);
        return SP_UNSUPPORTED;
    }
    if (s->nclauses == MAX_SEARCH_PARAMS) {
        snprintf(s->why, sizeof(s->why), "more than %d search parameters", MAX_SEARCH_PARAMS);
        return SP_INVALID;
    }
    struct store_clause *cl = &s->clauses[s->nclauses];
    cl->preds = arena_alloc(a, sizeof(*cl->preds) * MAX_VALUES_PER_PARAM * MAX_BARE_ID_TARGETS);
    cl->count = 0;
    if (modifier && !strcmp(modifier, "missing")) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            snprintf(s->why, sizeof(s->why), "%s: :missing takes true or false", name);
            return SP_INVALID;
        }
        if (!strcmp(p->code, "_id") || !strcmp(p->code, "_lastUpdated")) {
            snprintf(s->why, sizeof(s->why), "every resource has %s", p->code);
            return SP_UNSUPPORTED;
        }
        struct store_predicate *pr = new_pred(s, cl, p, kind_of[p->type]);
        pr->op = !strcmp(value, "true") ? STORE_OP_MISSING : STORE_OP_PRESENT;
        s->nclauses++;
        return SP_OK;
    }
    char *values[MAX_VALUES_PER_PARAM];
    size_t n = split_values(a, value, values, MAX_VALUES_PER_PARAM);
    for (size_t i = 0; i < n; i++) {
        if (!*values[i]) {
            snprintf(s->why, sizeof(s->why), "%s: empty value", name);
            return SP_INVALID;
        }
        enum outcome res = one_value(s, cl, p, modifier, values[i]);
        if (res == SP_UNSUPPORTED && !s->why[0])
            snprintf(s->why, sizeof(s->why), "modifier ':%s' is not supported on '%.*s'",
                     modifier ? modifier : "", STR_FMT(code));
        if (res)
            return res;
    }
    s->nclauses++;
    return SP_OK;
}

/* ---- result parameters ---- */

static bool parse_count(struct search *s, const char *name, const char *v, long long max,
                        long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0) {
        snprintf(s->why, sizeof(s->why), "%s: '%.40s' is not a number >= 0", name, v);
        return false;
    }
    *out = n > max ? max : n;
    return true;
}

/* _count, _cursor, _total, _summary, and those we accept and ignore (_format, _pretty). */
static enum outcome result_param(struct search *s, const char *name, const char *v, bool *handled)
{
    *handled = true;
    const struct config *cfg = s->c->app->cfg;
    if (!strcmp(name, "_count")) {
        if (!parse_count(s, name, v, cfg->max_count, &s->count))
            return SP_INVALID;
        /* search.html: _count=0 asks for the total only */
        if (s->count == 0)
            s->want_total = s->count_only = true;
        return SP_OK;
    }
    if (!strcmp(name, "_cursor"))
        return parse_count(s, name, v, INT64_MAX, &s->cursor) ? SP_OK : SP_INVALID;
    if (!strcmp(name, "_format") || !strcmp(name, "_pretty"))
        return SP_OK;
    if (!strcmp(name, "_total")) {
        if (strcmp(v, "none") && strcmp(v, "estimate") && strcmp(v, "accurate")) {
            snprintf(s->why, sizeof(s->why), "_total: '%.20s' is not none, estimate or accurate",
                     v);
            return SP_INVALID;
        }
        s->want_total = strcmp(v, "none") != 0;
        return SP_OK;
    }
    if (!strcmp(name, "_summary") && !strcmp(v, "count")) {
        s->want_total = s->count_only = true;
        return SP_OK;
    }
    *handled = false;
    return SP_OK;
}

static void note_ignored(struct search *s, const char *name)
{
    char msg[400];
    snprintf(msg, sizeof(msg), "parameter '%.64s' was not applied: %s", name, s->why);
    if (s->nignored++)
        buf_append_str(&s->ignored, ",");
    buf_append_str(&s->ignored, "{\"severity\":\"warning\",\"code\":\"not-supported\","
                                "\"diagnostics\":");
    buf_append_json_string(&s->ignored, msg, strlen(msg));
    buf_append_str(&s->ignored, "}");
}

static void note_used(struct search *s, const char *name, const char *value)
{
    buf_append_str(&s->used, "&");
    rest_url_encode(&s->used, name);
    buf_append_str(&s->used, "=");
    rest_url_encode(&s->used, value);
}

/* Apply one name=value; false when the request was answered with an error. */
static bool apply_param(struct search *s, const char *name, const char *value)
{
    bool handled;
    enum outcome res = result_param(s, name, value, &handled);
    if (!handled)
        res = add_param(s, name, value);
    if (res == SP_INVALID || (res == SP_UNSUPPORTED && s->strict)) {
        rest_error(s->c, ERR_INVALID, name, "%s", s->why);
        return false;
    }
    if (res == SP_UNSUPPORTED)
        note_ignored(s, name);
    /* the links write _count and _cursor themselves */
    else if (strcmp(name, "_count") != 0 && strcmp(name, "_cursor") != 0)
        note_used(s, name, value);
    s->why[0] = '\0';
    return true;
}

/* Percent-decode a form field in place ("+" is a space). */
static void form_decode(char *s)
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

/* POST [type]/_search: application/x-www-form-urlencoded parameters in the body. */
static bool apply_form(struct search *s)
{
    struct http_request *req = s->c->req;
    const char *ct = http_request_header(req, "Content-Type");
    char m[64] = "";
    if (ct)
        rest_media_type(ct, m, sizeof(m));
    if (req->body.len && strcmp(m, "application/x-www-form-urlencoded") != 0) {
        rest_error(s->c, ERR_MEDIA_TYPE, NULL,
                   "POST _search takes application/x-www-form-urlencoded parameters");
        return false;
    }
    char *body = arena_strndup(req->arena, req->body.ptr ? req->body.ptr : "", req->body.len);
    for (char *field = body; field && *field;) {
        char *amp = strchr(field, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(field, '=');
        if (eq)
            *eq = '\0';
        form_decode(field);
        if (eq)
            form_decode(eq + 1);
        if (*field && !apply_param(s, field, eq ? eq + 1 : ""))
            return false;
        field = amp ? amp + 1 : NULL;
    }
    return true;
}

/* ---- the Bundle ---- */

struct page {
    struct search *s; /* the search */
    struct buf *out;  /* Bundle being written */
    int seen;         /* hits received */
    int64_t last_key; /* key of the last entry written */
    bool more;        /* a hit beyond the page exists */
};

static bool on_hit(const struct store_hit *hit, void *arg)
{
    struct page *pg = arg;
    if (pg->seen == pg->s->count) {
        pg->more = true;
        return false;
    }
    pg->seen++;
    pg->last_key = hit->key;
    buf_printf(pg->out, "%s{\"fullUrl\":\"%s/%s/%.*s\",\"resource\":", pg->seen > 1 ? "," : "",
               pg->s->c->base, pg->s->type, STR_FMT(hit->id));
    buf_append(pg->out, hit->body.ptr, hit->body.len);
    buf_append_str(pg->out, ",\"search\":{\"mode\":\"match\"}}");
    return true;
}

static void link(struct search *s, struct buf *out, const char *rel, int64_t cursor)
{
    buf_printf(out, "{\"relation\":\"%s\",\"url\":\"%s/%s?_count=%lld", rel, s->c->base, s->type,
               s->count);
    buf_append(out, s->used.ptr ? s->used.ptr : "", s->used.len);
    if (cursor > 0)
        buf_printf(out, "&_cursor=%lld", (long long)cursor);
    buf_append_str(out, "\"}");
}

static void run(struct search *s)
{
    struct store_query q = {
        s->type,      s->clauses, s->nclauses, s->cursor, s->count_only ? 0 : (int)s->count + 1,
        s->want_total};
    struct buf *out = &s->c->res->body;
    buf_reset(out);
    rest_bundle_open(out, "searchset");
    buf_append_str(out, ",\"entry\":[");
    size_t entries_at = out->len;
    struct page pg = {s, out, 0, 0, false};
    int64_t total = -1;
    enum err err = store_search(s->c->app->store, &q, on_hit, &pg, &total);
    if (err) {
        rest_error(s->c, err, NULL, "search failed: %s", err_message(err));
        return;
    }
    if (s->nignored) {
        buf_printf(out, "%s{\"resource\":{\"resourceType\":\"OperationOutcome\",\"issue\":[",
                   pg.seen ? "," : "");
        buf_append(out, s->ignored.ptr, s->ignored.len);
        buf_append_str(out, "]},\"search\":{\"mode\":\"outcome\"}}");
    }
    bool empty = out->len == entries_at;
    buf_append_str(out, "],\"link\":[");
    link(s, out, "self", s->cursor);
    if (pg.more) {
        buf_append_str(out, ",");
        link(s, out, "next", pg.last_key);
    }
    buf_append_str(out, "]");
    /* the whole result fits in a first page: its size is the exact total */
    if (total < 0 && !s->cursor && !pg.more && !s->count_only)
        total = pg.seen;
    if (total >= 0)
        buf_printf(out, ",\"total\":%lld", (long long)total);
    buf_append_str(out, "}");
    if (empty)
        rest_bundle_drop_empty_entry(out);
    s->c->res->status = 200;
    rest_json_type(s->c);
}

void rest_search(struct rest_ctx *c, const char *type, bool form)
{
    struct search *s = arena_alloc(c->req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->c = c;
    s->type = type;
    s->count = c->app->cfg->default_count;
    buf_init(&s->used, 64 * 1024);
    buf_init(&s->ignored, 64 * 1024);
    const char *prefer = http_request_header(c->req, "Prefer");
    s->strict = prefer && strstr(prefer, "handling=strict");
    bool ok = true;
    for (size_t i = 0; ok && i < c->req->param_count; i++)
        ok = apply_param(s, c->req->params[i].name, c->req->params[i].value);
    if (ok && form)
        ok = apply_form(s);
    if (ok)
        run(s);
    buf_release(&s->used);
    buf_release(&s->ignored);
}
