/*
 * bed_edit.c - the bed operations' edits of a Location and an Encounter
 * (bed_edit.h).
 */
#include "modules/inpatient/bed_edit.h"

#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

const char *bed_edit_text(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

json_object *bed_edit_instant(int64_t ms)
{
    char t[40];
    time_format_instant(ms, t, sizeof(t));
    return json_object_new_string(t);
}

int64_t bed_edit_time(json_object *o, const char *key)
{
    const char *t = bed_edit_text(o, key);
    int64_t ms = 0;
    return t && time_parse_fhir(t, strlen(t), &ms) ? ms : 0;
}

int64_t bed_edit_version(json_object *res)
{
    const char *v = bed_edit_text(bed_edit_member(res, "meta"), "versionId");
    return v ? strtoll(v, NULL, 10) : 1;
}

json_object *bed_edit_coding(const char *system, const char *code, const char *display)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "system", json_object_new_string(system));
    json_object_object_add(c, "code", json_object_new_string(code));
    if (display)
        json_object_object_add(c, "display", json_object_new_string(display));
    return c;
}

json_object *bed_edit_member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *bed_edit_code(json_object *cc, const char *system)
{
    json_object *list = bed_edit_member(cc, "coding");
    if (cc && !list) { /* a Coding itself */
        const char *sys = bed_edit_text(cc, "system");
        return sys && !strcmp(sys, system) ? bed_edit_text(cc, "code") : NULL;
    }
    for (size_t i = 0;
         json_object_is_type(list, json_type_array) && i < json_object_array_length(list); i++) {
        json_object *c = json_object_array_get_idx(list, i);
        const char *sys = bed_edit_text(c, "system");
        if (sys && !strcmp(sys, system))
            return bed_edit_text(c, "code");
    }
    return NULL;
}

static json_object *reference(const char *ref, const char *display)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "reference", json_object_new_string(ref));
    if (display)
        json_object_object_add(r, "display", json_object_new_string(display));
    return r;
}

static void add_extension(json_object *list, const char *url, const char *member, json_object *v)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "url", json_object_new_string(url));
    json_object_object_add(e, member, v);
    json_object_array_add(list, e);
}

/* A new list of o's extensions but those with one of the n urls. */
static json_object *extensions_without(json_object *o, const char *const *urls, size_t n)
{
    json_object *old = NULL, *list = json_object_new_array();
    if (json_object_object_get_ex(o, "extension", &old) &&
        json_object_is_type(old, json_type_array))
        for (size_t i = 0; i < json_object_array_length(old); i++) {
            json_object *e = json_object_array_get_idx(old, i);
            const char *url = bed_edit_text(e, "url");
            bool drop = false;
            for (size_t u = 0; url && u < n; u++)
                drop = drop || !strcmp(url, urls[u]);
            if (!drop)
                json_object_array_add(list, json_object_get(e));
        }
    return list;
}

/* The extension list of o (made if absent) without the bed-status extensions. */
static json_object *extensions_without_status(json_object *o)
{
    static const char *const urls[] = {INPT_EXT_ENCOUNTER, INPT_EXT_SINCE, INPT_EXT_REASON,
                                       INPT_EXT_TURNAROUND};
    json_object *list = extensions_without(o, urls, sizeof(urls) / sizeof(urls[0]));
    json_object_object_add(o, "extension", list); /* releases the old list */
    return list;
}

void bed_edit_status(json_object *bed, enum bed_status s, const char *encounter, int64_t since_ms,
                     const char *reason, int64_t turnaround_min)
{
    json_object *st = json_object_new_object();
    json_object_object_add(st, "system", json_object_new_string(INPT_STATUS_SYSTEM));
    json_object_object_add(st, "code", json_object_new_string(bed_status_code(s)));
    json_object_object_add(st, "display", json_object_new_string(bed_status_zh(s)));
    json_object_object_add(bed, "operationalStatus", st);
    json_object *list = extensions_without_status(bed);
    if (encounter)
        add_extension(list, INPT_EXT_ENCOUNTER, "valueReference", reference(encounter, NULL));
    add_extension(list, INPT_EXT_SINCE, "valueInstant", bed_edit_instant(since_ms));
    if (reason && *reason)
        add_extension(list, INPT_EXT_REASON, "valueString", json_object_new_string(reason));
    if (turnaround_min >= 0) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "value", json_object_new_int64(turnaround_min));
        json_object_object_add(d, "unit", json_object_new_string("min"));
        json_object_object_add(d, "system", json_object_new_string("http://unitsofmeasure.org"));
        json_object_object_add(d, "code", json_object_new_string("min"));
        add_extension(list, INPT_EXT_TURNAROUND, "valueDuration", d);
    }
    if (!json_object_array_length(list))
        json_object_object_del(bed, "extension");
}

bool bed_edit_is_bed(json_object *entry)
{
    json_object *pt = NULL, *codings = NULL;
    if (!json_object_object_get_ex(entry, "physicalType", &pt) ||
        !json_object_object_get_ex(pt, "coding", &codings) ||
        !json_object_is_type(codings, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(codings); i++) {
        const char *code = bed_edit_text(json_object_array_get_idx(codings, i), "code");
        if (code && !strcmp(code, "bd"))
            return true;
    }
    return false;
}

static const char *entry_ref(json_object *entry)
{
    json_object *loc = NULL;
    json_object_object_get_ex(entry, "location", &loc);
    return bed_edit_text(loc, "reference");
}

int bed_edit_current(json_object *enc, const char **bed_ref, const char **status)
{
    json_object *list = NULL;
    if (!json_object_object_get_ex(enc, "location", &list) ||
        !json_object_is_type(list, json_type_array))
        return -1;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        const char *st = bed_edit_text(e, "status");
        if (!bed_edit_is_bed(e) || !st || (strcmp(st, "active") && strcmp(st, "reserved")))
            continue;
        *bed_ref = entry_ref(e);
        *status = st;
        return *bed_ref ? (int)i : -1;
    }
    return -1;
}

static json_object *period_of(json_object *entry)
{
    json_object *p = NULL;
    if (!json_object_object_get_ex(entry, "period", &p)) {
        p = json_object_new_object();
        json_object_object_add(entry, "period", p);
    }
    return p;
}

static json_object *bed_physical_type(void)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "system", json_object_new_string(INPT_PHYSICAL_SYSTEM));
    json_object_object_add(c, "code", json_object_new_string("bd"));
    json_object_object_add(c, "display", json_object_new_string("Bed"));
    json_object *list = json_object_new_array();
    json_object_array_add(list, c);
    json_object *cc = json_object_new_object();
    json_object_object_add(cc, "coding", list);
    return cc;
}

void bed_edit_place(json_object *enc, const char *bed_ref, const char *display, const char *status,
                    const char *host_department, int64_t now_ms)
{
    json_object *list = NULL;
    if (!json_object_object_get_ex(enc, "location", &list) ||
        !json_object_is_type(list, json_type_array)) {
        list = json_object_new_array();
        json_object_object_add(enc, "location", list);
    }
    const char *ref = NULL, *st = NULL;
    int at = bed_edit_current(enc, &ref, &st);
    json_object *entry = NULL;
    if (at >= 0 && !strcmp(ref, bed_ref)) {
        entry = json_object_array_get_idx(list, (size_t)at);
    } else {
        entry = json_object_new_object();
        json_object_object_add(entry, "location", reference(bed_ref, display));
        json_object_object_add(entry, "physicalType", bed_physical_type());
        json_object_array_add(list, entry);
    }
    json_object_object_add(entry, "status", json_object_new_string(status));
    json_object_object_add(period_of(entry), "start", bed_edit_instant(now_ms));
    if (host_department) {
        json_object *exts = json_object_new_array();
        add_extension(exts, INPT_EXT_BORROWED, "valueReference", reference(host_department, NULL));
        json_object_object_add(entry, "extension", exts);
    }
}

void bed_edit_leave(json_object *enc, int index, int64_t now_ms)
{
    json_object *list = NULL;
    if (index < 0 || !json_object_object_get_ex(enc, "location", &list) ||
        (size_t)index >= json_object_array_length(list))
        return;
    json_object *entry = json_object_array_get_idx(list, (size_t)index);
    json_object_object_add(entry, "status", json_object_new_string("completed"));
    json_object_object_add(period_of(entry), "end", bed_edit_instant(now_ms));
}

json_object *bed_edit_ext(json_object *o, const char *url, const char *member)
{
    json_object *list = NULL, *v = NULL;
    if (!o || !json_object_object_get_ex(o, "extension", &list) ||
        !json_object_is_type(list, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        const char *u = bed_edit_text(e, "url");
        if (u && !strcmp(u, url))
            return json_object_object_get_ex(e, member, &v) ? v : NULL;
    }
    return NULL;
}

void bed_edit_set_ext(json_object *o, const char *url, const char *member, json_object *value)
{
    json_object *list = extensions_without(o, &url, 1);
    if (value)
        add_extension(list, url, member, value);
    if (json_object_array_length(list))
        json_object_object_add(o, "extension", list);
    else {
        json_object_put(list);
        json_object_object_del(o, "extension");
    }
}
