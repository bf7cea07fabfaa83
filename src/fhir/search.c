/*
 * search.c - the search interaction (FHIR R4 search.html): GET [type]?...
 * and POST [type]/_search with a form body. Parameters are parsed by
 * query.c; this file runs the query and writes the Bundle of type
 * "searchset": the page of matches, the included resources, an
 * OperationOutcome entry listing what was not applied, and the links.
 *
 * An unsupported parameter or modifier is not applied: it is listed in the
 * OperationOutcome entry and left out of the self link (lenient, the
 * default), or answered with 400 when the client sends Prefer:
 * handling=strict. An invalid value of a supported parameter is always 400.
 *
 * Paging: without _sort, _cursor is the key of the last resource of the
 * previous page and _before the key the page ends at (for "previous"
 * links), so a page never repeats or skips a resource while others are
 * added or deleted. With _sort, _cursor is an offset (the order itself
 * moves as data changes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "fhir/query.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"
#include "fhir/search_index.h"
#include "fhir/search_params.h"
#include "fhir/subset.h"
#include "fhir/terminology.h"

#define MAX_INCLUDE_ROUNDS 4 /* :iterate follows at most this many steps */

struct search {
    struct rest_ctx *c;  /* the request */
    struct fhir_query q; /* the parsed query */
    struct buf used;     /* parameters applied, for the self link */
    struct buf ignored;  /* issues for what was not applied, JSON */
    size_t nignored;     /* how many */
    bool strict;         /* Prefer: handling=strict */
};

/* ---- parameters ---- */

/* A warning for the Bundle's OperationOutcome entry. */
static void note_warning(struct search *s, const char *code, const char *msg)
{
    if (s->nignored++)
        buf_append_str(&s->ignored, ",");
    buf_printf(&s->ignored, "{\"severity\":\"warning\",\"code\":\"%s\",\"diagnostics\":", code);
    buf_append_json_string(&s->ignored, msg, strlen(msg));
    buf_append_str(&s->ignored, "}");
}

static void note_ignored(struct search *s, const char *name)
{
    char msg[400];
    snprintf(msg, sizeof(msg), "parameter '%.64s' was not applied: %s", name, s->q.why);
    note_warning(s, "not-supported", msg);
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
    enum fhir_query_result res = fhir_query_add(&s->q, name, value);
    if (res == FHIR_QUERY_INVALID || (res == FHIR_QUERY_UNSUPPORTED && s->strict)) {
        rest_error(s->c, ERR_INVALID, name, "%s", s->q.why);
        return false;
    }
    if (res == FHIR_QUERY_UNSUPPORTED)
        note_ignored(s, name);
    /* the links write _count, _cursor and _before themselves */
    else if (strcmp(name, "_count") != 0 && strcmp(name, "_cursor") != 0 &&
             strcmp(name, "_before") != 0)
        note_used(s, name, value);
    return true;
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
    struct fhir_query_pair *pairs;
    size_t n = fhir_query_split(req->arena, req->body.ptr, req->body.len, &pairs);
    for (size_t i = 0; i < n; i++)
        if (!apply_param(s, pairs[i].name, pairs[i].value))
            return false;
    return true;
}

/* ---- the Bundle ---- */

struct page {
    struct search *s;       /* the search */
    struct buf *out;        /* Bundle being written */
    int seen;               /* hits received */
    int entries;            /* entries written */
    int64_t last_key;       /* key of the last match written */
    int64_t first_key;      /* key of the first match written */
    bool more;              /* a hit beyond the page exists (before it, with _before) */
    struct store_hit *held; /* _before: the page's matches, newest first, to write reversed */
    const char **refs;      /* "Type/id" of the entries written */
    size_t nrefs;           /* how many */
    size_t cap;             /* room in refs */
    struct strmap set;      /* refs, for de-duplication */
    const char *mode;       /* "match" or "include" */
    int include_budget;     /* includes still allowed */
    bool include_capped;    /* the budget ran out: there may be more */
};

static void write_entry(struct page *pg, const struct store_hit *hit)
{
    const struct fhir_query *q = &pg->s->q;
    buf_printf(pg->out, "%s{\"fullUrl\":\"%s/%.*s/%.*s\",\"resource\":", pg->entries ? "," : "",
               pg->s->c->base, STR_FMT(hit->type), STR_FMT(hit->id));
    if (fhir_subset_wanted(q))
        fhir_subset_append(pg->out, hit->body, q);
    else
        buf_append(pg->out, hit->body.ptr, hit->body.len);
    buf_printf(pg->out, ",\"search\":{\"mode\":\"%s\"}}", pg->mode);
    pg->entries++;
}

/* Remember "Type/id" of an entry; false if the Bundle has it already. */
static bool remember(struct page *pg, const struct store_hit *hit)
{
    struct arena *a = pg->s->c->req->arena;
    const char *ref = arena_printf(a, "%.*s/%.*s", STR_FMT(hit->type), STR_FMT(hit->id));
    if (!strmap_put(&pg->set, ref, ref))
        return false;
    if (pg->nrefs < pg->cap)
        pg->refs[pg->nrefs++] = ref;
    return true;
}

static bool on_match(const struct store_hit *hit, void *arg)
{
    struct page *pg = arg;
    if (pg->seen == pg->s->q.count) {
        pg->more = true;
        return false;
    }
    if (pg->held) {
        /* _before: the store answers newest first; keep the page to write it in key order */
        struct arena *a = pg->s->c->req->arena;
        struct store_hit *h = &pg->held[pg->seen++];
        *h = *hit;
        h->type = str_make(arena_strndup(a, hit->type.ptr, hit->type.len), hit->type.len);
        h->id = str_make(arena_strndup(a, hit->id.ptr, hit->id.len), hit->id.len);
        h->body = str_make(arena_strndup(a, hit->body.ptr, hit->body.len), hit->body.len);
        return true;
    }
    if (!pg->seen++)
        pg->first_key = hit->key;
    pg->last_key = hit->key;
    remember(pg, hit);
    write_entry(pg, hit);
    return true;
}

/* _before: write the held matches oldest first. */
static void write_held(struct page *pg)
{
    for (int i = pg->seen; i-- > 0;) {
        const struct store_hit *h = &pg->held[i];
        if (i == pg->seen - 1)
            pg->first_key = h->key;
        pg->last_key = h->key;
        remember(pg, h);
        write_entry(pg, h);
    }
}

static bool on_include(const struct store_hit *hit, void *arg)
{
    struct page *pg = arg;
    if (pg->include_budget <= 0)
        return false;
    /* an include never shows what a direct read would refuse */
    if (!rest_may_see(pg->s->c, hit->type, hit->id))
        return true;
    if (!remember(pg, hit))
        return true; /* already in the Bundle */
    pg->include_budget--;
    write_entry(pg, hit);
    pg->include_capped = pg->include_budget <= 0;
    return true;
}

/* The refs of pg in [first, end) whose type is type (NULL = any), in an arena array. */
static size_t refs_of_type(struct page *pg, size_t first, size_t end, const char *type,
                           const char ***out)
{
    const char **v = arena_alloc(pg->s->c->req->arena, sizeof(*v) * (end - first + 1));
    size_t n = 0, tl = type ? strlen(type) : 0;
    for (size_t i = first; i < end; i++)
        if (!type || (!strncmp(pg->refs[i], type, tl) && pg->refs[i][tl] == '/'))
            v[n++] = pg->refs[i];
    *out = v;
    return n;
}

/* One _include/_revinclude from the entries [first, end). */
static enum err include_one(struct page *pg, const struct fhir_include *inc, size_t first,
                            size_t end)
{
    struct store_include_query iq = {inc->reverse, NULL, inc->target_type, NULL, 0, 0};
    const char **refs;
    /* forward: from resources of the source type; reverse: to resources of the target type */
    iq.nrefs =
        refs_of_type(pg, first, end, inc->reverse ? inc->target_type : inc->source_type, &refs);
    iq.refs = refs;
    if (inc->reverse)
        iq.target_type = NULL;
    size_t nparams = 0;
    const struct fhir_search_param *params = fhir_search_params_of(inc->source_type, &nparams);
    struct arena *a = pg->s->c->req->arena;
    for (size_t i = 0; i < nparams && iq.nrefs; i++) {
        if (params[i].type != FHIR_SEARCH_REFERENCE)
            continue;
        const char *param = arena_printf(a, "%s.%s", inc->source_type, params[i].code);
        if (inc->param && strcmp(inc->param, param) != 0)
            continue;
        iq.param = param;
        iq.limit = pg->include_budget;
        enum err err = store_include(pg->s->c->app->store, &iq, on_include, pg);
        if (err || pg->include_budget <= 0)
            return err;
    }
    return ERR_OK;
}

/*
 * Every _include and _revinclude from the matches; then the :iterate ones
 * again from what the previous round added, until nothing new comes.
 */
static enum err run_includes(struct page *pg)
{
    const struct fhir_query *q = &pg->s->q;
    pg->mode = "include";
    size_t first = 0;
    for (int round = 0; round < MAX_INCLUDE_ROUNDS && first < pg->nrefs; round++) {
        size_t end = pg->nrefs;
        for (size_t i = 0; i < q->nincludes; i++) {
            const struct fhir_include *inc = &q->includes[i];
            if (round > 0 && !inc->iterate)
                continue;
            /* without :iterate an _include starts from the matches of the searched type */
            if (!inc->iterate && !inc->reverse && strcmp(inc->source_type, q->type) != 0)
                continue;
            enum err err = include_one(pg, inc, first, end);
            if (err)
                return err;
        }
        first = end;
    }
    return ERR_OK;
}

/* A link; at (e.g. "_cursor") with value when value > 0. */
static void link(struct search *s, struct buf *out, const char *rel, const char *at, int64_t value)
{
    buf_printf(out, "%s{\"relation\":\"%s\",\"url\":\"%s/%s?_count=%lld",
               strcmp(rel, "self") ? "," : "", rel, s->c->base, s->q.type, s->q.count);
    buf_append(out, s->used.ptr ? s->used.ptr : "", s->used.len);
    if (value > 0)
        buf_printf(out, "&%s=%lld", at, (long long)value);
    buf_append_str(out, "\"}");
}

/*
 * Unsorted pages are windows in key order, so both directions are stable
 * while data changes: next = keys after the page's last (_cursor), previous
 * = the page ending just before its first (_before). Sorted pages use offsets.
 */
static void links(struct search *s, struct buf *out, const struct page *pg)
{
    const struct fhir_query *q = &s->q;
    buf_append_str(out, "],\"link\":[");
    if (q->nsort) {
        link(s, out, "self", "_cursor", q->cursor);
        if (pg->more)
            link(s, out, "next", "_cursor", q->cursor + q->count);
        if (q->cursor > 0)
            link(s, out, "previous", "_cursor", q->cursor > q->count ? q->cursor - q->count : 0);
    } else if (q->before > 0) {
        link(s, out, "self", "_before", q->before);
        link(s, out, "next", "_cursor", pg->seen ? pg->last_key : q->before);
        if (pg->more)
            link(s, out, "previous", "_before", pg->first_key - 1);
    } else {
        link(s, out, "self", "_cursor", q->cursor);
        if (pg->more)
            link(s, out, "next", "_cursor", pg->last_key);
        if (q->cursor > 0)
            link(s, out, "previous", "_before", q->cursor);
    }
    buf_append_str(out, "]");
}

static void finish_bundle(struct search *s, struct buf *out, struct page *pg, int64_t total)
{
    if (s->nignored) {
        buf_printf(out, "%s{\"resource\":{\"resourceType\":\"OperationOutcome\",\"issue\":[",
                   pg->entries ? "," : "");
        buf_append(out, s->ignored.ptr, s->ignored.len);
        buf_append_str(out, "]},\"search\":{\"mode\":\"outcome\"}}");
        pg->entries++;
    }
    links(s, out, pg);
    bool count_only = s->q.summary == FHIR_SUMMARY_COUNT;
    /* the whole result fits in a first page: its size is the exact total */
    if (total < 0 && !s->q.cursor && !s->q.before && !pg->more && !count_only)
        total = pg->seen;
    if (total >= 0 && !s->q.total_none)
        buf_printf(out, ",\"total\":%lld", (long long)total);
    buf_append_str(out, "}");
    if (!pg->entries)
        fhir_bundle_drop_empty_entry(out);
}

static void run(struct search *s)
{
    struct rest_ctx *c = s->c;
    bool count_only = s->q.summary == FHIR_SUMMARY_COUNT;
    struct store_query sq;
    fhir_query_to_store(&s->q, count_only ? 0 : (int)s->q.count + 1, &sq);
    sq.want_total = s->q.want_total;
    struct buf *out = &c->res->body;
    buf_reset(out);
    rest_bundle_open(out, "searchset");
    buf_append_str(out, ",\"entry\":[");
    struct page pg;
    memset(&pg, 0, sizeof(pg));
    pg.s = s;
    pg.out = out;
    pg.mode = "match";
    pg.include_budget = c->app->cfg->max_includes;
    pg.cap = (size_t)s->q.count + (size_t)pg.include_budget + 1;
    pg.refs = arena_alloc(c->req->arena, sizeof(*pg.refs) * pg.cap);
    strmap_init(&pg.set, c->req->arena, pg.cap);
    if (s->q.before > 0 && !s->q.nsort)
        pg.held = arena_alloc(c->req->arena, sizeof(*pg.held) * ((size_t)s->q.count + 1));
    int64_t total = -1;
    enum err err = store_search(c->app->store, &sq, on_match, &pg, &total);
    if (pg.held)
        write_held(&pg);
    if (!err && s->q.nincludes)
        err = run_includes(&pg);
    if (!err && pg.include_capped) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "_include/_revinclude stopped at %d resources (fhir.max_includes); ask for fewer "
                 "matches per page (_count) to get the rest",
                 c->app->cfg->max_includes);
        note_warning(s, "too-costly", msg);
    }
    if (err) {
        rest_error(c, err, NULL, "search failed: %s", err_message(err));
        return;
    }
    finish_bundle(s, out, &pg, total);
    c->res->status = 200;
    rest_json_type(c);
}

void rest_search(struct rest_ctx *c, const char *type, bool form)
{
    struct search *s = arena_alloc(c->req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->c = c;
    fhir_query_init(&s->q, c->req->arena, c->app->cfg, type);
    rest_confine_nested(c, &s->q);
    s->q.codes = fhir_terminology_codes;
    s->q.codes_ctx = c->app->store;
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
        ok = rest_confine(c, &s->q);
    if (ok) {
        rest_touched(c, type, NULL, rest_own_patient(c));
        run(s);
    }
    buf_release(&s->used);
    buf_release(&s->ignored);
}
