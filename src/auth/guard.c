/*
 * guard.c - the access decisions the FHIR layer asks for (fhir/guard.h),
 * made from the caller's token scopes and role, and the bookkeeping of
 * what each request touched for its audit entry.
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth_internal.h"
#include "core/timeutil.h"

static const char *verb(char interaction)
{
    switch (interaction) {
    case 'c':
        return "create";
    case 'r':
        return "read";
    case 'u':
        return "update";
    case 'd':
        return "delete";
    default:
        return "search";
    }
}

static enum err allow(void *self, const struct http_request *req, char interaction,
                      const char *type, char *why, size_t size)
{
    (void)self;
    const struct auth_request *ar = req->auth;
    if (!ar || !ar->authenticated) {
        snprintf(why, size, "authentication required");
        return ERR_UNAUTHORIZED;
    }
    if (!strcmp(type, "AuditEvent") && strchr("cud", interaction)) {
        snprintf(why, size, "the audit trail is written by the server only");
        return ERR_FORBIDDEN;
    }
    bool confined;
    if (auth_scopes_allow(&ar->who.scopes, interaction, type, &confined))
        return ERR_OK;
    const struct auth_role *r = ar->who.role;
    snprintf(why, size, "%s（%s）无权%s %s / role '%s' may not %s %s with this token", r->zh, r->en,
             interaction == 'c'   ? "创建"
             : interaction == 'r' ? "读取"
             : interaction == 'u' ? "修改"
             : interaction == 'd' ? "删除"
                                  : "检索",
             !strcmp(type, "*") ? "所有类型" : type, r->code, verb(interaction),
             !strcmp(type, "*") ? "every type" : type);
    return ERR_FORBIDDEN;
}

/* The role's reach (roles.h), narrowed by the token and the account's links. */
static void reach(void *self, const struct http_request *req, struct fhir_reach *out)
{
    (void)self;
    memset(out, 0, sizeof(*out));
    const struct auth_request *ar = req->auth;
    if (!ar || !ar->authenticated) {
        out->kind = FHIR_REACH_PATIENTS;
        out->patients[out->npatients++] = "Patient/-";
        return;
    }
    const struct auth_principal *who = &ar->who;
    bool org = !strncmp(who->org, "Organization/", 13);
    out->org = org ? who->org : "Organization/-";
    out->person = !strncmp(who->subject, "Practitioner/", 13) ? who->subject : NULL;
    out->break_glass = ar->break_glass != NULL;
    bool patient_scopes = who->scopes.count > 0;
    for (size_t i = 0; i < who->scopes.count; i++)
        patient_scopes &= who->scopes.items[i].context == AUTH_CONTEXT_PATIENT;
    if (patient_scopes || who->role->reach == 'p') {
        /* patient/ scopes: the account's own patient (none without one) */
        out->kind = FHIR_REACH_PATIENTS;
        out->patients[out->npatients++] =
            !strncmp(who->subject, "Patient/", 8) ? who->subject : "Patient/-";
    } else if (who->role->reach == 'r') {
        out->kind = FHIR_REACH_REGION;
    } else if (who->role->reach == 'o' || (org && !who->role->admin)) {
        out->kind = FHIR_REACH_ORG;
    } else {
        out->kind = FHIR_REACH_ALL;
    }
}

static bool is_admin(void *self, const struct http_request *req)
{
    (void)self;
    const struct auth_request *ar = req->auth;
    return ar && ar->authenticated && ar->who.role->admin;
}

static void touched(void *self, const struct http_request *req, const char *resource,
                    const char *patient)
{
    (void)self;
    struct auth_request *ar = req->auth;
    if (!ar)
        return;
    struct audit_event *ev = &ar->ev;
    bool seen = false;
    for (size_t i = 0; i < ev->nentities && !seen; i++)
        seen = !strcmp(ev->entities[i], resource);
    if (!seen && ev->nentities < AUDIT_MAX_ENTITIES)
        ev->entities[ev->nentities++] = resource;
    if (patient && !ev->patient)
        ev->patient = patient;
}

/* Writer thread, inside the write's unit: the write's audit entry. */
static enum err write_unit(struct store_tx *tx, void *arg)
{
    struct auth_request *ar = arg;
    struct buf json;
    buf_init(&json, 4u << 20);
    ar->ev.status = 200;
    ar->ev.time_ms = time_now_ms();
    audit_event_json(&ar->ev, &json);
    enum err err = audit_stage_tx(tx, ar->ev.time_ms, ar->ev.user, ar->ev.patient, json.ptr);
    buf_release(&json);
    if (!err)
        ar->audited_in_unit = true;
    return err;
}

static store_work_fn *write_unit_of(void *self, const struct http_request *req, void **out_ctx)
{
    (void)self;
    struct auth_request *ar = req->auth;
    if (!ar || !ar->audit)
        return NULL;
    *out_ctx = ar;
    return write_unit;
}

void auth_guard_init(struct auth_app *app)
{
    app->guard = (struct fhir_guard){
        .self = app,
        .allow = allow,
        .reach = reach,
        .is_admin = is_admin,
        .touched = touched,
        .write_unit = write_unit_of,
    };
}

/* ---- classification, for the audit entry ---- */

static size_t segments(const char *path, const char **segs, size_t max)
{
    size_t n = 0;
    for (const char *p = path; *p && n <= max;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        if (n < max)
            segs[n] = p;
        n++;
        p += strcspn(p, "/");
    }
    return n;
}

static bool seg_is(const char *seg, const char *word)
{
    size_t n = strlen(word);
    return !strncmp(seg, word, n) && (seg[n] == '/' || seg[n] == '\0');
}

void auth_classify(struct auth_request *ar, const struct http_request *req)
{
    const char *segs[6];
    size_t n = segments(req->path + 5, segs, 6); /* after "/fhir" */
    const char *m = req->method;
    bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
    const char *sub = "operation";
    char action = 'E';
    bool op = n && segs[n - 1][0] == '$';
    if (op) {
        sub = "operation";
    } else if (n == 0) {
        bool tx = req->body.len && strstr(req->body.ptr, "\"transaction\"");
        sub = tx ? "transaction" : "batch";
    } else if (seg_is(segs[0], "_history")) {
        sub = "history-system";
        action = 'R';
    } else if (n == 1 || (n == 2 && seg_is(segs[1], "_search"))) {
        sub = get || n == 2        ? "search-type"
              : !strcmp(m, "POST") ? "create"
              : !strcmp(m, "PUT")  ? "update"
                                   : "delete";
        action = get || n == 2 ? 'E' : !strcmp(m, "POST") ? 'C' : !strcmp(m, "PUT") ? 'U' : 'D';
    } else if (n == 2 && seg_is(segs[1], "_history")) {
        sub = "history-type";
        action = 'R';
    } else if (n == 2) {
        sub = get                    ? "read"
              : !strcmp(m, "DELETE") ? "delete"
              : !strcmp(m, "PATCH")  ? "patch"
                                     : "update";
        action = get ? 'R' : !strcmp(m, "DELETE") ? 'D' : 'U';
    } else {
        sub = n == 3 ? "history-instance" : "vread";
        action = 'R';
    }
    ar->subtype = sub;
    ar->action = action;
}

void auth_event_finish(struct auth_request *ar, const struct http_request *req, int status)
{
    struct audit_event *ev = &ar->ev;
    ev->time_ms = time_now_ms();
    ev->status = status;
    ev->user = ar->authenticated ? ar->who.user : ar->login_user ? ar->login_user : "";
    ev->role = ar->authenticated ? ar->who.role->code : "";
    ev->org = ar->authenticated ? ar->who.org : "";
    ev->address = req->peer ? req->peer : "";
    ev->request_id = req->id;
    ev->action = ar->action ? ar->action : 'E';
    ev->subtype = ar->subtype ? ar->subtype : "operation";
    ev->purpose = http_request_header(req, "X-Purpose-Of-Use");
    ev->break_glass = ar->break_glass;
}
