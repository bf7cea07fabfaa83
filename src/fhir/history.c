/*
 * history.c - the history interaction (FHIR R4 http.html#history) at
 * instance, type and system level: a Bundle of type "history", newest
 * first, with _count, _since and stable paging. The next link carries an
 * opaque cursor (_cursor = the write sequence of the last entry), so pages
 * do not shift when new versions are written while a client pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/resource.h"
#include "fhir/rest_internal.h"

struct history_page {
    struct rest_ctx *c; /* request */
    struct buf *out;    /* bundle being written */
    int limit;          /* entries wanted */
    int seen;           /* rows received */
    int64_t last_seq;   /* seq of the last entry written */
    bool more;          /* a row beyond limit exists */
};

static bool parse_int_param(struct rest_ctx *c, const char *name, long long min, long long max,
                            long long *out)
{
    const char *v = http_request_param(c->req, name);
    if (!v)
        return true;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min) {
        rest_error(c, ERR_INVALID, name, "parameter %s: '%.40s' is not a number >= %lld", name, v,
                   min);
        return false;
    }
    *out = n > max ? max : n;
    return true;
}

static bool on_row(const struct store_row *row, void *arg)
{
    struct history_page *p = arg;
    if (p->seen == p->limit) {
        p->more = true;
        return false;
    }
    p->seen++;
    p->last_seq = row->seq;
    struct rest_ctx *c = p->c;
    struct buf *out = p->out;
    char ts[32];
    time_format_instant(row->last_updated, ts, sizeof(ts));
    buf_printf(out, "%s{\"fullUrl\":\"%s/%.*s/%.*s\"", p->seen > 1 ? "," : "", c->base,
               STR_FMT(row->type), STR_FMT(row->id));
    if (!row->deleted) {
        buf_append_str(out, ",\"resource\":");
        buf_append(out, row->body.ptr, row->body.len);
    }
    const char *method = row->deleted ? "DELETE" : row->version == 1 ? "POST" : "PUT";
    const char *status = row->deleted        ? "204 No Content"
                         : row->version == 1 ? "201 Created"
                                             : "200 OK";
    if (row->version == 1 && !row->deleted)
        buf_printf(out, ",\"request\":{\"method\":\"%s\",\"url\":\"%.*s\"}", method,
                   STR_FMT(row->type));
    else
        buf_printf(out, ",\"request\":{\"method\":\"%s\",\"url\":\"%.*s/%.*s\"}", method,
                   STR_FMT(row->type), STR_FMT(row->id));
    buf_printf(out,
               ",\"response\":{\"status\":\"%s\",\"etag\":\"W/\\\"%lld\\\"\","
               "\"lastModified\":\"%s\"}}",
               status, (long long)row->version, ts);
    return true;
}

static void page_link(struct rest_ctx *c, struct buf *out, const char *rel, const char *path,
                      long long count, const char *since, long long cursor)
{
    buf_printf(out, "{\"relation\":\"%s\",\"url\":\"%s%s?_count=%lld", rel, c->base, path, count);
    if (since) {
        buf_append_str(out, "&_since=");
        rest_url_encode(out, since);
    }
    if (cursor > 0)
        buf_printf(out, "&_cursor=%lld", cursor);
    buf_append_str(out, "\"}");
}

void rest_history(struct rest_ctx *c, const char *type, const char *id)
{
    long long count = c->app->cfg->default_count;
    long long cursor = 0;
    if (!parse_int_param(c, "_count", 1, c->app->cfg->max_count, &count) ||
        !parse_int_param(c, "_cursor", 1, INT64_MAX, &cursor))
        return;
    const char *since = http_request_param(c->req, "_since");
    int64_t since_ms = INT64_MIN;
    if (since && !time_parse_fhir(since, strlen(since), &since_ms)) {
        rest_error(c, ERR_INVALID, "_since", "parameter _since: '%.40s' is not a valid instant",
                   since);
        return;
    }
    struct store_history_query q = {type,           id, since_ms, cursor ? cursor : INT64_MAX,
                                    (int)count + 1, 0};
    const char *path = id     ? arena_printf(c->req->arena, "/%s/%s/_history", type, id)
                       : type ? arena_printf(c->req->arena, "/%s/_history", type)
                              : "/_history";
    struct buf *out = &c->res->body;
    buf_reset(out);
    rest_bundle_open(out, "history");
    if (id) {
        int64_t total = 0;
        enum err err = store_count_versions(c->app->store, type, id, &total);
        if (!err && total == 0) {
            rest_error(c, ERR_NOT_FOUND, NULL, "resource '%s/%s' not found", type, id);
            return;
        }
        if (!err && !since && !cursor)
            buf_printf(out, ",\"total\":%lld", (long long)total);
    }
    buf_append_str(out, ",\"entry\":[");
    struct history_page page = {c, out, (int)count, 0, 0, false};
    enum err err = store_history(c->app->store, &q, on_row, &page);
    if (err) {
        rest_error(c, err, NULL, "cannot read history");
        return;
    }
    buf_append_str(out, "],\"link\":[");
    page_link(c, out, "self", path, count, since, cursor);
    if (page.more) {
        buf_append_str(out, ",");
        page_link(c, out, "next", path, count, since, page.last_seq);
    }
    buf_append_str(out, "]}");
    if (page.seen == 0)
        fhir_bundle_drop_empty_entry(out);
    c->res->status = 200;
    rest_json_type(c);
}
