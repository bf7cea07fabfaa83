/*
 * audit_api.c - reading the audit trail through the API:
 *   GET /fhir/AuditEvent?patient=Patient/123&_count=50&_cursor=<seq>
 * A searchset Bundle of AuditEvents, oldest first. A resident sees only the
 * entries about their own records ("who looked at my data"); staff need a
 * scope that allows searching AuditEvent (platform administrators have it).
 * The trail is written by the server only: every other method is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"
#include "fhir/resource.h"

struct page {
    struct buf *out;  /* the Bundle */
    int count;        /* entries written */
    int64_t last_seq; /* of the last one */
};

static bool on_entry(const struct store_audit *a, void *arg)
{
    struct page *pg = arg;
    buf_printf(pg->out, "%s{\"resource\":%s,\"search\":{\"mode\":\"match\"}}", pg->count ? "," : "",
               a->json);
    pg->count++;
    pg->last_seq = a->seq;
    return true;
}

static bool parse_int(const char *v, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    long long n = v && *v ? strtoll(v, &end, 10) : -1;
    if (!v || *end || n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

/*
 * Who reads the trail: whoever reaches every record (or breaks the glass),
 * and residents for their own record (*confined). False with a 403 written.
 */
static bool may_read_trail(struct auth_app *app, struct http_request *req,
                           struct http_response *res, const char **confined)
{
    struct fhir_reach reach;
    app->guard.reach(app, req, &reach);
    if (reach.kind != FHIR_REACH_ALL && reach.kind != FHIR_REACH_PATIENTS && !reach.break_glass) {
        auth_error(res, ERR_FORBIDDEN,
                   "审计记录仅对平台管理员和本人开放 / the audit trail is open to platform "
                   "administrators, and to residents for their own records");
        return false;
    }
    *confined = reach.kind == FHIR_REACH_PATIENTS ? reach.patients[0] : NULL;
    return true;
}

void auth_audit_api(struct auth_app *app, struct http_request *req, struct http_response *res)
{
    if (strcmp(req->method, "GET") != 0 || strcmp(req->path, "/fhir/AuditEvent") != 0) {
        auth_error(res, ERR_METHOD,
                   "审计记录只能由服务器写入，仅支持检索 / the audit trail is written by the "
                   "server only; search it with GET /fhir/AuditEvent");
        http_response_header(res, "Allow", "GET");
        return;
    }
    char why[256];
    enum err err = app->guard.allow(app, req, 's', "AuditEvent", why, sizeof(why));
    if (err) {
        auth_error(res, err, why);
        return;
    }
    const char *confined = NULL;
    if (!may_read_trail(app, req, res, &confined))
        return;
    const char *patient = confined;
    long long count = app->cfg->default_count, cursor = 0;
    for (size_t i = 0; i < req->param_count; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value;
        if (!strcmp(n, "patient")) {
            const char *ref =
                strncmp(v, "Patient/", 8) ? arena_printf(req->arena, "Patient/%s", v) : v;
            if (confined && strcmp(ref, confined) != 0) {
                auth_error(res, ERR_FORBIDDEN, "只能查看本人的访问记录 / only your own records");
                return;
            }
            patient = ref;
        } else if (!strcmp(n, "_count")) {
            if (!parse_int(v, 1, app->cfg->max_count, &count)) {
                auth_error(res, ERR_INVALID, "_count must be 1..fhir.max_count");
                return;
            }
        } else if (!strcmp(n, "_cursor")) {
            if (!parse_int(v, 0, INT64_MAX, &cursor)) {
                auth_error(res, ERR_INVALID, "_cursor is not a position in the trail");
                return;
            }
        } else if (strcmp(n, "_format") != 0) {
            auth_error(res, ERR_INVALID,
                       arena_printf(req->arena,
                                    "AuditEvent is searched by patient, _count and _cursor, not "
                                    "'%.40s'",
                                    n));
            return;
        }
    }
    /* the trail as of this request: what was submitted or staged before it is appended first */
    if (!audit_log_sync(app->audit)) {
        auth_error(res, ERR_UNAVAILABLE, "cannot read the audit trail now");
        return;
    }
    struct buf *out = &res->body;
    buf_reset(out);
    char id[37];
    fhir_uuid_v7(id);
    buf_printf(out, "{\"resourceType\":\"Bundle\",\"id\":\"%s\",\"type\":\"searchset\",\"entry\":[",
               id);
    struct page pg = {out, 0, 0};
    err = store_audit_scan(app->store, cursor, patient, (int)count, on_entry, &pg);
    if (err) {
        auth_error(res, err, "cannot read the audit trail now");
        return;
    }
    buf_append_str(out, "]");
    if (pg.count == count) {
        buf_append_str(out, ",\"link\":[{\"relation\":\"next\",\"url\":\"AuditEvent?");
        if (patient)
            buf_printf(out, "patient=%s&", patient);
        buf_printf(out, "_count=%lld&_cursor=%lld\"}]", count, (long long)pg.last_seq);
    }
    buf_append_str(out, "}");
    fhir_bundle_drop_empty_entry(out);
    res->status = 200;
    res->content_type = "application/fhir+json; charset=utf-8";
}
