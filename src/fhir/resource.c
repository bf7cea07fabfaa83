/*
 * resource.c - see resource.h.
 */
#include "fhir/resource.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

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

void fhir_uuid_v4(char out[37])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

json_object *fhir_resource_stamp(json_object *resource, const char *id, int64_t version,
                                 int64_t last_updated_ms)
{
    json_object *out = json_object_new_object();
    json_object *rt = NULL;
    json_object_object_get_ex(resource, "resourceType", &rt);
    json_object_object_add(out, "resourceType", json_object_get(rt));
    json_object_object_add(out, "id", json_object_new_string(id));

    json_object *meta = json_object_new_object();
    char vid[24], ts[32];
    snprintf(vid, sizeof(vid), "%lld", (long long)version);
    time_format_instant(last_updated_ms, ts, sizeof(ts));
    json_object_object_add(meta, "versionId", json_object_new_string(vid));
    json_object_object_add(meta, "lastUpdated", json_object_new_string(ts));
    json_object *old_meta = NULL;
    if (json_object_object_get_ex(resource, "meta", &old_meta) &&
        json_object_get_type(old_meta) == json_type_object) {
        json_object_object_foreach(old_meta, k, v)
        {
            if (strcmp(k, "versionId") != 0 && strcmp(k, "lastUpdated") != 0)
                json_object_object_add(meta, k, json_object_get(v));
        }
    }
    json_object_object_add(out, "meta", meta);
    json_object_object_foreach(resource, key, val)
    {
        if (strcmp(key, "resourceType") != 0 && strcmp(key, "id") != 0 && strcmp(key, "meta") != 0)
            json_object_object_add(out, key, json_object_get(val));
    }
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
