/*
 * resource.c - see resource.h.
 */
#include "fhir/resource.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/xalloc.h"

bool fhir_id_is_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FHIR_ID_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

void fhir_uuid_v7(char out[37])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    /* RFC 9562 version 7: 48 bits of Unix milliseconds first, so ids made
     * close in time sort close together and index inserts stay local */
    uint64_t ms = (uint64_t)time_now_ms();
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* Serialise the members of obj except those named in skip, as ",k:v,k:v" (empty if none). */
static void members_fragment(json_object *obj, const char *const *skip, struct buf *out)
{
    json_object *tmp = json_object_new_object();
    json_object_object_foreach(obj, key, val)
    {
        bool skipped = false;
        for (const char *const *s = skip; *s; s++)
            skipped = skipped || strcmp(key, *s) == 0;
        if (!skipped)
            json_object_object_add(tmp, key, json_object_get(val));
    }
    if (json_object_object_length(tmp) > 0) {
        size_t len;
        const char *text = json_object_to_json_string_length(
            tmp, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        /* "{a...}" -> ",a..." */
        buf_append(out, ",", 1);
        buf_append(out, text + 1, len - 2);
    }
    json_object_put(tmp);
}

void fhir_stamp_parts_init(struct fhir_stamp_parts *p, json_object *resource, const char *id)
{
    json_object *rt = NULL;
    json_object_object_get_ex(resource, "resourceType", &rt);
    struct buf head, tail;
    buf_init(&head, SIZE_MAX / 2);
    buf_init(&tail, SIZE_MAX / 2);
    /* resourceType is a known type name and id matches [A-Za-z0-9.-]: no escaping needed */
    buf_printf(&head, "{\"resourceType\":\"%s\",\"id\":\"%s\",\"meta\":{\"versionId\":\"",
               json_object_get_string(rt), id);
    static const char *const meta_skip[] = {"versionId", "lastUpdated", NULL};
    static const char *const body_skip[] = {"resourceType", "id", "meta", NULL};
    json_object *meta = NULL;
    if (json_object_object_get_ex(resource, "meta", &meta) &&
        json_object_get_type(meta) == json_type_object)
        members_fragment(meta, meta_skip, &tail);
    buf_append(&tail, "}", 1);
    members_fragment(resource, body_skip, &tail);
    buf_append(&tail, "}", 1);
    p->head = buf_detach(&head, &p->head_len);
    p->tail = buf_detach(&tail, &p->tail_len);
}

void fhir_stamp_parts_release(struct fhir_stamp_parts *p)
{
    free(p->head);
    free(p->tail);
    p->head = p->tail = NULL;
}

char *fhir_stamp_render(const struct fhir_stamp_parts *p, int64_t version, int64_t last_updated_ms,
                        size_t *out_len)
{
    char ts[32], mid[96];
    time_format_instant(last_updated_ms, ts, sizeof(ts));
    int mid_len =
        snprintf(mid, sizeof(mid), "%lld\",\"lastUpdated\":\"%s\"", (long long)version, ts);
    size_t len = p->head_len + (size_t)mid_len + p->tail_len;
    char *out = xmalloc(len + 1);
    memcpy(out, p->head, p->head_len);
    memcpy(out + p->head_len, mid, (size_t)mid_len);
    memcpy(out + p->head_len + (size_t)mid_len, p->tail, p->tail_len);
    out[len] = '\0';
    *out_len = len;
    return out;
}

static const char *severity_word(enum diag_severity s)
{
    return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "information";
}

static void issue_json(struct buf *out, const char *severity, enum err code, const char *location,
                       const char *message)
{
    buf_printf(out, "{\"severity\":\"%s\",\"code\":\"%s\",\"details\":{\"text\":", severity,
               err_fhir_code(code));
    char details[256];
    snprintf(details, sizeof(details), "%s (%s)", err_message_zh(code), err_message(code));
    buf_append_json_string(out, details, strlen(details));
    buf_append_str(out, "},\"diagnostics\":");
    buf_append_json_string(out, message, strlen(message));
    if (location) {
        buf_append_str(out, ",\"expression\":[");
        buf_append_json_string(out, location, strlen(location));
        buf_append_str(out, "]");
    }
    buf_append_str(out, "}");
}

void fhir_outcome_from_diag(struct buf *out, const struct diag *d)
{
    buf_append_str(out, "{\"resourceType\":\"OperationOutcome\",\"issue\":[");
    for (size_t i = 0; i < d->count; i++) {
        const struct diag_issue *is = &d->issues[i];
        if (i)
            buf_append_str(out, ",");
        issue_json(out, severity_word(is->severity), is->code, is->location, is->message);
    }
    if (d->dropped) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%zu more issues were not listed", d->dropped);
        buf_append_str(out, ",");
        issue_json(out, "information", ERR_TOO_LARGE, NULL, msg);
    }
    if (d->count == 0 && !d->dropped)
        issue_json(out, "information", ERR_OK, NULL, "all ok");
    buf_append_str(out, "]}");
}

void fhir_outcome_single(struct buf *out, const char *severity, enum err code, const char *location,
                         const char *message)
{
    buf_append_str(out, "{\"resourceType\":\"OperationOutcome\",\"issue\":[");
    issue_json(out, severity, code, location, message);
    buf_append_str(out, "]}");
}

bool fhir_etag_version(const char *etag, int64_t *out)
{
    const char *p = etag;
    if (p[0] == 'W' && p[1] == '/')
        p += 2;
    if (*p == '"')
        p++;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || end == p || v < 1 || (*end != '"' && *end != '\0'))
        return false;
    *out = v;
    return true;
}

void fhir_bundle_drop_empty_entry(struct buf *out)
{
    static const char empty[] = ",\"entry\":[]";
    char *e = out->ptr ? strstr(out->ptr, empty) : NULL;
    if (!e)
        return;
    size_t cut = sizeof(empty) - 1;
    memmove(e, e + cut, strlen(e + cut) + 1);
    out->len -= cut;
}
