/*
 * hl7_service.c - one HL7 v2 message, from bytes to a durable record and an
 * acknowledgement (hl7_service.h).
 */
#include "hl7v2/hl7_service.h"

#include <errno.h>
#include <stdarg.h>
#include <iconv.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"
#include "core/timeutil.h"
#include "fhir/access.h"
#include "fhir/conditional.h"
#include "fhir/query.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "fhir/write.h"
#include "hl7v2/hl7v2.h"
#include "hl7v2/oru.h"

/* One message being handled. */
struct job {
    const struct hl7_service *svc;
    struct arena a;
    const char *peer;
    const char *raw; /* the bytes as received */
    size_t raw_len;
    struct hl7_message m; /* parsed, when it parsed */
    bool parsed;
    const char *control_id; /* MSH-10 */
    const char *lab_id;     /* the sending facility's Organization id, when known */
    const char *patient;    /* "Patient/id" */
    enum hl7_outcome outcome;
    int err_code;          /* HL7 table 0357 */
    char why[512];         /* the reason of an AE/AR */
    struct audit_event ev; /* the audit entry of the unit */
    const char *audit_json;
};

/* ---- 1. decoding (MSH-18) ---- */

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n || (len == 2 && c < 0xC2) || (len == 4 && c > 0xF4))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        if ((len == 3 && c == 0xE0 && s[i + 1] < 0xA0) ||
            (len == 3 && c == 0xED && s[i + 1] >= 0xA0) ||
            (len == 4 && c == 0xF0 && s[i + 1] < 0x90) ||
            (len == 4 && c == 0xF4 && s[i + 1] >= 0x90))
            return false;
        i += len;
    }
    return true;
}

/* MSH-n (n >= 3) of the raw first segment, first repetition, as it is; "" when absent. */
static const char *raw_msh_field(const char *raw, size_t len, int n, struct arena *a)
{
    size_t line = strcspn(raw, "\r\n");
    if (line > len)
        line = len;
    if (line < 8 || memcmp(raw, "MSH", 3) != 0)
        return "";
    char sep = raw[3];
    const char *p = raw;
    for (int field = 1; field < n; field++) { /* MSH-n is after the (n-1)th separator */
        const char *q = memchr(p, sep, (size_t)(raw + line - p));
        if (!q)
            return "";
        p = q + 1;
    }
    const char *end = memchr(p, sep, (size_t)(raw + line - p));
    size_t k = (size_t)((end ? end : raw + line) - p);
    const char *rep = memchr(p, raw[5], k); /* the first repetition */
    return arena_strndup(a, p, rep ? (size_t)(rep - p) : k);
}

/* HL7 table 0211 names as iconv names; NULL when unsupported. */
static const char *iconv_name(const char *hl7)
{
    static const char *const map[][2] = {
        {"", "UTF-8"},
        {"UNICODE UTF-8", "UTF-8"},
        {"UTF-8", "UTF-8"},
        {"ASCII", "UTF-8"},
        {"8859/1", "ISO-8859-1"},
        {"GB 18030-2000", "GB18030"},
        {"GB18030", "GB18030"},
        {"GBK", "GBK"},
        {"GB2312", "GB2312"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i][0], hl7))
            return map[i][1];
    return NULL;
}

/* The message as UTF-8 in the arena; NULL with why. */
static const char *decode(struct job *j, size_t *out_len)
{
    const char *cs = raw_msh_field(j->raw, j->raw_len, 18, &j->a);
    const char *from = iconv_name(cs);
    if (!from) {
        snprintf(j->why, sizeof(j->why), "MSH-18 character set '%.40s' is not supported", cs);
        return NULL;
    }
    if (!strcmp(from, "UTF-8")) {
        if (!valid_utf8((const unsigned char *)j->raw, j->raw_len)) {
            snprintf(j->why, sizeof(j->why),
                     "the message is not valid UTF-8 (declare its character set in MSH-18, "
                     "e.g. GB 18030-2000)");
            return NULL;
        }
        *out_len = j->raw_len;
        return j->raw;
    }
    iconv_t cd = iconv_open("UTF-8", from);
    size_t room = j->raw_len * 4 + 1, left = room - 1, in_left = j->raw_len;
    char *out = arena_alloc(&j->a, room), *o = out, *in = (char *)j->raw;
    bool ok = cd != (iconv_t)-1 && iconv(cd, &in, &in_left, &o, &left) != (size_t)-1;
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    if (!ok) {
        snprintf(j->why, sizeof(j->why), "the message is not valid %s (MSH-18 '%s')", from, cs);
        return NULL;
    }
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
}

/* ---- 2. what the platform accepts ---- */

static bool fail(struct job *j, enum hl7_outcome o, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record why the message is not taken (AE or AR, HL7 table 0357 code); false. */
static bool fail(struct job *j, enum hl7_outcome o, int code, const char *fmt, ...)
{
    char text[sizeof(j->why)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    j->outcome = o;
    j->err_code = code;
    memcpy(j->why, text, sizeof(text));
    return false;
}

static const char *msh(struct job *j, size_t field, size_t comp)
{
    return hl7_get(&j->m, &j->m.segments[0], field, 1, comp, 0, &j->a);
}

static bool check_header(struct job *j)
{
    static const char *const versions[] = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1"};
    j->control_id = msh(j, 10, 0);
    if (!*j->control_id)
        return fail(j, HL7_REJECTED, 101, "MSH-10 (message control id) is required%s", "");
    if (strcmp(msh(j, 9, 1), "ORU") != 0)
        return fail(j, HL7_REJECTED, 200, "message type '%.20s' is not accepted (only ORU^R01)",
                    msh(j, 9, 1));
    if (strcmp(msh(j, 9, 2), "R01") != 0)
        return fail(j, HL7_REJECTED, 201, "event '%.20s' is not accepted (only ORU^R01)",
                    msh(j, 9, 2));
    const char *pid = msh(j, 11, 1);
    if (strcmp(pid, "P") && strcmp(pid, "T") && strcmp(pid, "D"))
        return fail(j, HL7_REJECTED, 202, "processing id '%.20s' is not P, T or D", pid);
    const char *v = msh(j, 12, 1);
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (!strcmp(v, versions[i]))
            return true;
    return fail(j, HL7_REJECTED, 203, "version '%.20s' is not accepted (2.3 to 2.5.1)", v);
}

/* ---- 3. who sent it, and whose results they are ---- */

/* The id of the first resource of type with identifier system|value (key order), or NULL. */
static const char *find_by_identifier(struct job *j, const char *type, const char *system,
                                      const char *value)
{
    struct fhir_condition cond;
    fhir_condition_init(&cond, &j->a, j->svc->cfg, type);
    struct buf v;
    buf_init(&v, 4096);
    fhir_query_escape(&v, system);
    buf_append_str(&v, "|");
    fhir_query_escape(&v, value);
    bool ok = fhir_condition_add(&cond, "identifier", v.ptr ? v.ptr : "");
    buf_release(&v);
    if (!ok || fhir_condition_resolve(j->svc->store, &cond, 1) || !cond.check.count)
        return NULL;
    return cond.check.ids[0];
}

static bool find_lab(struct job *j)
{
    const char *facility = msh(j, 4, 1);
    if (!*facility)
        return fail(j, HL7_ERROR, 101, "MSH-4 (sending facility) is required%s", "");
    j->lab_id = find_by_identifier(j, "Organization", HL7_FACILITY_SYSTEM, facility);
    if (!j->lab_id)
        return fail(j, HL7_ERROR, 204,
                    "sending facility '%.60s' is not registered (an Organization with "
                    "identifier " HL7_FACILITY_SYSTEM "|<MSH-4>)",
                    facility);
    return true;
}

/* The patient by any of their identifiers; a new Patient (into *created) when none matches. */
static bool find_patient(struct job *j, json_object **created)
{
    struct oru_patient p;
    *created = NULL;
    if (!oru_read_patient(&j->m, j->lab_id, &j->a, &p, j->why, sizeof(j->why)))
        return fail(j, HL7_ERROR, 101, "%s", arena_strndup(&j->a, j->why, strlen(j->why)));
    for (size_t i = 0; i < p.nids; i++) {
        const char *id = find_by_identifier(j, "Patient", p.ids[i].system, p.ids[i].value);
        if (id) {
            j->patient = arena_printf(&j->a, "Patient/%s", id);
            return true;
        }
    }
    char id[44];
    oru_id(arena_printf(&j->a, "patient|%s|%s", p.ids[0].system, p.ids[0].value), id);
    j->patient = arena_printf(&j->a, "Patient/%s", id);
    *created = oru_patient_resource(&p, id, arena_printf(&j->a, "Organization/%s", j->lab_id));
    return true;
}

/* ---- 4. writing, with the audit entry in the same unit ---- */

static enum err audit_unit(struct store_tx *tx, void *ctx)
{
    struct job *j = ctx;
    return audit_stage_tx(tx, j->ev.time_ms, j->ev.user, j->ev.patient, j->audit_json);
}

static void audit_prepare(struct job *j, const char *subtype, int status,
                          const struct fhir_write *w, size_t n)
{
    const char *facility = j->parsed ? msh(j, 4, 1) : "";
    j->ev = (struct audit_event){
        .time_ms = time_now_ms(),
        .user = arena_printf(&j->a, "hl7:%s", facility),
        .role = "system",
        .org = j->lab_id ? arena_printf(&j->a, "Organization/%s", j->lab_id) : "",
        .address = j->peer,
        .request_id = j->control_id ? j->control_id : "",
        .action = 'C',
        .subtype = subtype,
        .patient = j->patient,
        .status = status};
    for (size_t i = 0; i < n && j->ev.nentities < AUDIT_MAX_ENTITIES; i++)
        j->ev.entities[j->ev.nentities++] = arena_printf(&j->a, "%s/%s", w[i].type, w[i].id);
    struct buf json;
    buf_init(&json, 1u << 20);
    audit_event_json(&j->ev, &json);
    j->audit_json = arena_strndup(&j->a, json.ptr, json.len);
    buf_release(&json);
}

static enum err write_all(struct job *j, struct fhir_write *w, size_t n, const char *subtype,
                          int status)
{
    audit_prepare(j, subtype, status, w, n);
    struct fhir_write_job job = {.writes = w, .count = n, .also = audit_unit, .also_ctx = j};
    enum err err = fhir_write_run_job(j->svc->store, &job);
    for (size_t i = 0; i < n; i++)
        free(w[i].body);
    return err;
}

/* The results of the message, validated, as writes (the new patient first). */
static bool map_results(struct job *j, json_object *new_patient, struct fhir_write *w, size_t *n)
{
    struct oru_resource *res = arena_alloc(&j->a, sizeof(*res) * ORU_MAX_RESOURCES);
    size_t count = 0;
    *n = 0;
    if (new_patient)
        w[(*n)++] = (struct fhir_write){.kind = FHIR_WRITE_UPDATE,
                                        .type = "Patient",
                                        .id = j->patient + 8,
                                        .resource = new_patient,
                                        .if_match = -1};
    char why[400];
    if (!oru_map(&j->m, j->patient, j->lab_id, j->svc->cfg->hl7_time_zone, &j->a, res, &count, why,
                 sizeof(why)))
        return fail(j, HL7_ERROR, 102, "%s", arena_strndup(&j->a, why, strlen(why)));
    for (size_t i = 0; i < count; i++)
        w[(*n)++] = (struct fhir_write){.kind = FHIR_WRITE_UPDATE,
                                        .type = res[i].type,
                                        .id = arena_strndup(&j->a, res[i].id, strlen(res[i].id)),
                                        .resource = res[i].resource,
                                        .if_match = -1};
    for (size_t i = 0; i < *n; i++) {
        struct diag d;
        diag_init(&d, &j->a);
        if (!fhir_validate_resource(w[i].resource, &d)) {
            const struct diag_issue *is = d.count ? &d.issues[0] : NULL;
            return fail(
                j, HL7_ERROR, 102, "the mapped result is not valid FHIR: %s",
                is ? arena_printf(&j->a, "%s: %s", is->location ? is->location : "", is->message)
                   : "");
        }
    }
    return true;
}

static void release(struct fhir_write *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_object_put(w[i].resource);
        w[i].resource = NULL;
    }
}

/* Steps 2 to 4 for a decoded message; false with j->outcome and why on failure. */
static bool take(struct job *j, const char *text, size_t len)
{
    if (!hl7_parse(text, len, &j->a, &j->m, j->why, sizeof(j->why)))
        return fail(j, HL7_REJECTED, 100, "%s", arena_strndup(&j->a, j->why, strlen(j->why)));
    j->parsed = true;
    json_object *new_patient = NULL;
    if (!check_header(j) || !find_lab(j) || !find_patient(j, &new_patient))
        return false;
    struct fhir_write *w = arena_alloc(&j->a, sizeof(*w) * (ORU_MAX_RESOURCES + 1));
    size_t n = 0;
    bool ok = map_results(j, new_patient, w, &n);
    if (!ok && !n)
        json_object_put(new_patient);
    enum err err = ok ? write_all(j, w, n, "hl7v2-oru", 200) : ERR_OK;
    release(w, n);
    if (ok && err)
        return fail(j, HL7_ERROR, 207, "the results could not be stored: %s", err_message(err));
    return ok;
}

/* ---- 5. dead letters ---- */

static void add_ext(json_object *list, const char *name, const char *key, json_object *v)
{
    char url[128];
    snprintf(url, sizeof(url), HL7_EXT "%s", name);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "url", json_object_new_string(url));
    json_object_object_add(e, key, v);
    json_object_array_add(list, e);
}

static const char *ack_code(enum hl7_outcome o)
{
    return o == HL7_ACCEPTED ? "AA" : o == HL7_ERROR ? "AE" : "AR";
}

/* The message kept whole as a Basic resource, with why it was not taken. */
static json_object *dead_letter(struct job *j, const char *id)
{
    json_object *o = json_object_new_object(), *exts = json_object_new_array();
    json_object_object_add(o, "resourceType", json_object_new_string("Basic"));
    json_object_object_add(o, "id", json_object_new_string(id));
    if (j->lab_id) {
        json_object *meta = json_object_new_object(), *tags = json_object_new_array(),
                    *tag = json_object_new_object();
        json_object_object_add(tag, "system", json_object_new_string(FHIR_CUSTODIAN_SYSTEM));
        json_object_object_add(
            tag, "code", json_object_new_string(arena_printf(&j->a, "Organization/%s", j->lab_id)));
        json_object_array_add(tags, tag);
        json_object_object_add(meta, "tag", tags);
        json_object_object_add(o, "meta", meta);
    }
    json_object *code = json_object_new_object(), *codings = json_object_new_array(),
                *coding = json_object_new_object();
    json_object_object_add(coding, "system", json_object_new_string(HL7_DEAD_LETTER_CODE));
    json_object_object_add(coding, "code", json_object_new_string("dead-letter"));
    json_object_object_add(coding, "display", json_object_new_string("未能接收的 HL7 v2 消息"));
    json_object_array_add(codings, coding);
    json_object_object_add(code, "coding", codings);
    json_object_object_add(o, "code", code);
    size_t b64len = sodium_base64_encoded_len(j->raw_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = arena_alloc(&j->a, b64len);
    sodium_bin2base64(b64, b64len, (const unsigned char *)j->raw, j->raw_len,
                      sodium_base64_VARIANT_ORIGINAL);
    char now[40];
    time_format_instant(time_now_ms(), now, sizeof(now));
    if (j->raw_len) /* FHIR has no empty values: an empty frame keeps no message */
        add_ext(exts, "message", "valueBase64Binary", json_object_new_string(b64));
    add_ext(exts, "ack", "valueCode", json_object_new_string(ack_code(j->outcome)));
    add_ext(exts, "reason", "valueString", json_object_new_string(j->why[0] ? j->why : "-"));
    add_ext(exts, "peer", "valueString", json_object_new_string(*j->peer ? j->peer : "-"));
    if (j->control_id && *j->control_id)
        add_ext(exts, "control-id", "valueString", json_object_new_string(j->control_id));
    add_ext(exts, "received", "valueDateTime", json_object_new_string(now));
    add_ext(exts, "status", "valueCode",
            json_object_new_string(j->outcome == HL7_ACCEPTED ? "done" : "open"));
    json_object_object_add(o, "extension", exts);
    return o;
}

/*
 * Keep the message (a new dead letter), or record the new reason on the
 * dead letter being re-processed; false if the store could not.
 */
static bool keep_dead_letter(struct job *j, const char *existing)
{
    char id[65]; /* a resource id: 64 characters at most */
    if (existing)
        snprintf(id, sizeof(id), "%s", existing);
    else
        fhir_uuid_v7(id);
    struct fhir_write w = {.kind = FHIR_WRITE_UPDATE,
                           .type = "Basic",
                           .id = id,
                           .resource = dead_letter(j, id),
                           .if_match = -1};
    const char *patient = j->patient;
    j->patient = NULL; /* not known to be right: the message did not go through */
    enum err err = write_all(j, &w, 1, "hl7v2-dead-letter", 422);
    j->patient = patient;
    json_object_put(w.resource);
    return err == ERR_OK;
}

/* ---- 6. the acknowledgement ---- */

static void put(struct buf *ack, const struct hl7_message *d, const char *text)
{
    hl7_escape(d, text ? text : "", ack);
}

static void write_ack(struct job *j, struct buf *ack)
{
    struct hl7_message defaults = {
        .field = '|', .component = '^', .repetition = '~', .escape = '\\', .subcomponent = '&'};
    const struct hl7_message *d = j->parsed ? &j->m : &defaults;
    const char *version = j->parsed ? msh(j, 12, 1) : "";
    const char *control =
        j->control_id ? j->control_id : raw_msh_field(j->raw, j->raw_len, 10, &j->a);
    char now[40], id[37];
    time_format_instant(time_now_ms() + 8 * 3600 * 1000LL, now, sizeof(now));
    fhir_uuid_v7(id);
    char f = d->field;
    buf_printf(ack, "MSH%c%c%c%c%c%cYUJIAN%cYUJIAN%c", f, d->component, d->repetition, d->escape,
               d->subcomponent, f, f, f);
    put(ack, d, j->parsed ? msh(j, 3, 0) : "");
    buf_printf(ack, "%c", f);
    put(ack, d, j->parsed ? msh(j, 4, 0) : "");
    buf_printf(ack, "%c%.4s%.2s%.2s%.2s%.2s%.2s+0800%c%cACK%cR01%cACK%c%s%cP%c", f, now, now + 5,
               now + 8, now + 11, now + 14, now + 17, f, f, d->component, d->component, f, id, f,
               f);
    put(ack, d, *version ? version : "2.5.1");
    buf_printf(ack, "\rMSA%c%s%c", f, ack_code(j->outcome), f);
    put(ack, d, control);
    if (j->outcome != HL7_ACCEPTED) {
        buf_printf(ack, "%c", f);
        put(ack, d, j->why);
        buf_printf(ack, "\rERR%c%c%c%d%c", f, f, f, j->err_code, d->component);
        put(ack, d, j->why);
        buf_printf(ack, "%cHL70357%cE%c%c%c%c", d->component, f, f, f, f, f);
        put(ack, d, j->why);
    }
    buf_append_str(ack, "\r");
}

static struct job *job_new(const struct hl7_service *svc, const char *msg, size_t len,
                           const char *peer)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    arena_init(&j->a, 64u * 1024);
    j->svc = svc;
    j->peer = peer ? peer : "";
    j->raw = msg;
    j->raw_len = len;
    j->outcome = HL7_ACCEPTED;
    return j;
}

/* Keep what was not taken (unless it is a dead letter already), answer, and free j. */
static enum hl7_outcome job_finish(struct job *j, bool taken, const char *dead_letter_id,
                                   struct buf *ack)
{
    if ((!taken || dead_letter_id) && !keep_dead_letter(j, dead_letter_id))
        j->outcome = HL7_NOT_KEPT;
    if (j->outcome != HL7_NOT_KEPT)
        write_ack(j, ack);
    enum hl7_outcome o = j->outcome;
    arena_release(&j->a);
    free(j);
    return o;
}

enum hl7_outcome hl7_handle(const struct hl7_service *svc, const char *msg, size_t len,
                            const char *peer, const char *dead_letter_id, struct buf *ack)
{
    struct job *j = job_new(svc, msg, len, peer);
    if (!j)
        return HL7_NOT_KEPT;
    size_t text_len = 0;
    const char *text = decode(j, &text_len);
    bool ok = text ? take(j, text, text_len)
                   : fail(j, HL7_REJECTED, 102, "%s", arena_strndup(&j->a, j->why, strlen(j->why)));
    return job_finish(j, ok, dead_letter_id, ack);
}

enum hl7_outcome hl7_handle_oversized(const struct hl7_service *svc, const char *head,
                                      size_t head_len, size_t total, const char *peer,
                                      struct buf *ack)
{
    struct job *j = job_new(svc, head, head_len, peer);
    if (!j)
        return HL7_NOT_KEPT;
    j->control_id = raw_msh_field(head, head_len, 10, &j->a);
    fail(j, HL7_REJECTED, 100,
         "the message (%zu bytes) is larger than hl7.max_message_kb; its first %zu bytes are "
         "kept",
         total, head_len);
    return job_finish(j, false, NULL, ack);
}
