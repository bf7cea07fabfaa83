/*
 * validate.c - walks a json-c tree alongside the generated type tables.
 *
 * FHIR R4 json.html decides the shape: an element with max > 1 is always a
 * JSON array, never a bare value; a primitive may carry its id/extensions in
 * a sibling "_name" (an array aligned with the values for repeating
 * primitives, null where one side has nothing); no value may be empty
 * (no "", {}, [] or null other than those alignment nulls).
 */
#include "fhir/validate.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"

#define MAX_PATH_BYTES       1024
#define MAX_CHOICES_PER_TYPE 64

static void walk_resource(json_object *obj, struct buf *path, struct diag *d, bool in_contained);
static void walk_value(json_object *val, int type, struct buf *path, struct diag *d);

/* ---- primitive formats (datatypes.html, the regex of each type) ---- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool valid_date(const char *s, size_t len)
{
    if (len != 4 && len != 7 && len != 10)
        return false;
    if (!all_digits(s, 4))
        return false;
    if (len >= 7 && (s[4] != '-' || !all_digits(s + 5, 2) || two(s + 5) < 1 || two(s + 5) > 12))
        return false;
    if (len == 10) {
        static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int month = two(s + 5), day = two(s + 8);
        if (s[7] != '-' || !all_digits(s + 8, 2) || day < 1 || day > days[month - 1])
            return false;
        int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + two(s + 2);
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        if (month == 2 && day == 29 && !leap)
            return false;
    }
    return true;
}

/* hh:mm:ss(.fraction)? ; returns bytes consumed or 0 */
static size_t time_part(const char *s, size_t len)
{
    if (len < 8 || !all_digits(s, 2) || s[2] != ':' || !all_digits(s + 3, 2) || s[5] != ':' ||
        !all_digits(s + 6, 2))
        return 0;
    if (two(s) > 23 || two(s + 3) > 59 || two(s + 6) > 60)
        return 0;
    size_t i = 8;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        if (i == start)
            return 0;
    }
    return i;
}

static bool tz_part(const char *s, size_t len)
{
    if (len == 1 && s[0] == 'Z')
        return true;
    return len == 6 && (s[0] == '+' || s[0] == '-') && all_digits(s + 1, 2) && s[3] == ':' &&
           all_digits(s + 4, 2) && two(s + 1) <= 14 && two(s + 4) <= 59;
}

static bool valid_datetime(const char *s, size_t len, bool need_time)
{
    if (len <= 10)
        return !need_time && valid_date(s, len);
    if (!valid_date(s, 10) || s[10] != 'T')
        return false;
    size_t t = time_part(s + 11, len - 11);
    if (!t)
        return false;
    return tz_part(s + 11 + t, len - 11 - t);
}

static bool valid_code(const char *s, size_t len)
{
    if (len == 0 || isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (isspace((unsigned char)s[i]) && (s[i] != ' ' || isspace((unsigned char)s[i - 1])))
            return false;
    return true;
}

static bool valid_id(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

static bool no_whitespace(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]))
            return false;
    return len > 0;
}

static bool valid_oid(const char *s, size_t len)
{
    if (len < 11 || memcmp(s, "urn:oid:", 8) != 0 || s[8] < '0' || s[8] > '2')
        return false;
    size_t i = 9;
    if (i >= len)
        return false;
    while (i < len) {
        if (s[i] != '.' || i + 1 >= len)
            return false;
        size_t start = ++i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        if (i == start || (s[start] == '0' && i - start > 1))
            return false;
    }
    return true;
}

static bool valid_uuid(const char *s, size_t len)
{
    if (len != 45 || memcmp(s, "urn:uuid:", 9) != 0)
        return false;
    for (size_t i = 9; i < len; i++) {
        size_t k = i - 9;
        bool dash = k == 8 || k == 13 || k == 18 || k == 23;
        if (dash ? s[i] != '-' : !(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

static bool valid_base64(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c))
            continue;
        if (!isalnum(c) && c != '+' && c != '/' && c != '=')
            return false;
        n++;
    }
    return n % 4 == 0;
}

/* FHIR string: no control characters other than tab, CR, LF; not all whitespace-free empty */
static bool valid_string(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
            return false;
    }
    return true;
}

bool fhir_primitive_text_is_valid(enum fhir_prim prim, const char *s, size_t len)
{
    switch (prim) {
    case FHIR_PRIM_STRING:
    case FHIR_PRIM_MARKDOWN:
        return valid_string(s, len);
    case FHIR_PRIM_CODE:
        return valid_code(s, len) && valid_string(s, len);
    case FHIR_PRIM_ID:
        return valid_id(s, len);
    case FHIR_PRIM_URI:
    case FHIR_PRIM_URL:
    case FHIR_PRIM_CANONICAL:
        return no_whitespace(s, len) && valid_string(s, len);
    case FHIR_PRIM_OID:
        return valid_oid(s, len);
    case FHIR_PRIM_UUID:
        return valid_uuid(s, len);
    case FHIR_PRIM_DATE:
        return valid_date(s, len);
    case FHIR_PRIM_DATETIME:
        return valid_datetime(s, len, false);
    case FHIR_PRIM_INSTANT:
        return len > 10 && valid_datetime(s, len, true);
    case FHIR_PRIM_TIME:
        return time_part(s, len) == len;
    case FHIR_PRIM_BASE64:
        return valid_base64(s, len);
    case FHIR_PRIM_XHTML:
        return len >= 11 && memcmp(s, "<div", 4) == 0 && valid_string(s, len);
    default:
        return false;
    }
}

/* ---- paths ---- */

static size_t path_push_name(struct buf *path, const char *name)
{
    size_t mark = path->len;
    buf_printf(path, "%s%s", path->len ? "." : "", name);
    return mark;
}

static size_t path_push_index(struct buf *path, size_t index)
{
    size_t mark = path->len;
    buf_printf(path, "[%zu]", index);
    return mark;
}

static void path_pop(struct buf *path, size_t mark)
{
    path->len = mark;
    if (path->ptr)
        path->ptr[mark] = '\0';
}

static const char *at(struct buf *path)
{
    return path->ptr ? path->ptr : "";
}

/* ---- values ---- */

static const char *json_type_word(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
    case json_type_int:
        return "a number";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    default:
        return "a string";
    }
}

/* json-c saturates integers it cannot hold; such a value would not round-trip. */
static bool int_is_saturated(json_object *v)
{
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MIN)
        return true;
    return i == INT64_MAX && json_object_get_uint64(v) == UINT64_MAX;
}

static void walk_primitive(json_object *v, const struct fhir_type *t, struct buf *path,
                           struct diag *d)
{
    enum json_type jt = json_object_get_type(v);
    enum fhir_prim prim = t->prim;
    if (prim == FHIR_PRIM_BOOLEAN) {
        if (jt != json_type_boolean)
            diag_add(d, ERR_INVALID, at(path), "expected a boolean, found %s", json_type_word(v));
        return;
    }
    if (prim == FHIR_PRIM_DECIMAL || prim == FHIR_PRIM_INTEGER || prim == FHIR_PRIM_POSITIVE_INT ||
        prim == FHIR_PRIM_UNSIGNED_INT) {
        if (jt != json_type_int && !(prim == FHIR_PRIM_DECIMAL && jt == json_type_double)) {
            diag_add(d, ERR_INVALID, at(path), "expected %s, found %s",
                     prim == FHIR_PRIM_DECIMAL ? "a number" : "an integer", json_type_word(v));
            return;
        }
        if (jt == json_type_int && int_is_saturated(v)) {
            diag_add(d, ERR_INVALID, at(path), "number is too large to store exactly");
            return;
        }
        if (prim == FHIR_PRIM_DECIMAL)
            return;
        int64_t i = json_object_get_int64(v);
        int64_t lo = prim == FHIR_PRIM_POSITIVE_INT   ? 1
                     : prim == FHIR_PRIM_UNSIGNED_INT ? 0
                                                      : INT32_MIN;
        if (i < lo || i > INT32_MAX)
            diag_add(d, ERR_INVALID, at(path), "%s value %lld is out of range", t->name,
                     (long long)i);
        return;
    }
    if (jt != json_type_string) {
        diag_add(d, ERR_INVALID, at(path), "expected a string (%s), found %s", t->name,
                 json_type_word(v));
        return;
    }
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0) {
        diag_add(d, ERR_INVALID, at(path), "empty string is not allowed");
        return;
    }
    if (!fhir_primitive_text_is_valid(prim, s, len))
        diag_add(d, ERR_INVALID, at(path), "not a valid %s: '%.*s'", t->name,
                 (int)(len > 64 ? 64 : len), s);
}

/* The "_name" companion of a primitive: an Element (id, extension). */
static void walk_primitive_element(json_object *v, struct buf *path, struct diag *d)
{
    static int element_type = -1;
    if (element_type < 0) {
        for (size_t i = 0; i < fhir_type_count; i++)
            if (strcmp(fhir_types[i].name, "Element") == 0)
                element_type = (int)i;
    }
    walk_value(v, element_type, path, d);
}

static void walk_object(json_object *obj, int type, struct buf *path, struct diag *d,
                        bool is_resource);

static void walk_value(json_object *val, int type, struct buf *path, struct diag *d)
{
    const struct fhir_type *t = &fhir_types[type];
    switch (t->kind) {
    case FHIR_KIND_PRIMITIVE:
        walk_primitive(val, t, path, d);
        return;
    case FHIR_KIND_ANY_RESOURCE:
        walk_resource(val, path, d, true);
        return;
    default:
        if (json_object_get_type(val) != json_type_object) {
            diag_add(d, ERR_INVALID, at(path), "expected an object (%s), found %s", t->name,
                     json_type_word(val));
            return;
        }
        walk_object(val, type, path, d, false);
    }
}

/* One element's value(s): cardinality and each item. */
static void walk_element(json_object *val, json_object *companion, const struct fhir_element *e,
                         struct buf *path, struct diag *d)
{
    bool repeats = e->max != 1;
    bool is_prim = fhir_types[e->type].kind == FHIR_KIND_PRIMITIVE;
    if (!repeats) {
        if (json_object_get_type(val) == json_type_array) {
            diag_add(d, ERR_INVALID, at(path), "element '%s' is not repeatable, found an array",
                     e->name);
            return;
        }
        if (json_object_get_type(val) == json_type_null) {
            diag_add(d, ERR_INVALID, at(path), "null is not allowed here");
            return;
        }
        walk_value(val, e->type, path, d);
        return;
    }
    if (json_object_get_type(val) != json_type_array) {
        diag_add(d, ERR_INVALID, at(path), "element '%s' repeats and must be an array", e->name);
        return;
    }
    size_t n = json_object_array_length(val);
    if (n == 0) {
        diag_add(d, ERR_INVALID, at(path), "empty array is not allowed");
        return;
    }
    if (e->max > 1 && n > e->max)
        diag_add(d, ERR_INVALID, at(path), "at most %u items allowed, found %zu", e->max, n);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(val, i);
        size_t mark = path_push_index(path, i);
        if (json_object_get_type(item) == json_type_null) {
            json_object *partner = NULL;
            if (is_prim && companion && json_object_get_type(companion) == json_type_array &&
                i < json_object_array_length(companion))
                partner = json_object_array_get_idx(companion, i);
            if (!partner)
                diag_add(d, ERR_INVALID, at(path), "null is not allowed here");
        } else {
            walk_value(item, e->type, path, d);
        }
        path_pop(path, mark);
    }
}

static void walk_companion(json_object *comp, json_object *val, const struct fhir_element *e,
                           struct buf *path, struct diag *d)
{
    if (e->max == 1) {
        if (json_object_get_type(comp) != json_type_object)
            diag_add(d, ERR_INVALID, at(path), "expected an object, found %s",
                     json_type_word(comp));
        else
            walk_primitive_element(comp, path, d);
        return;
    }
    if (json_object_get_type(comp) != json_type_array) {
        diag_add(d, ERR_INVALID, at(path), "element '_%s' repeats and must be an array", e->name);
        return;
    }
    size_t n = json_object_array_length(comp);
    if (val && json_object_get_type(val) == json_type_array && json_object_array_length(val) != n)
        diag_add(d, ERR_INVALID, at(path), "'_%s' has %zu items but '%s' has %zu", e->name, n,
                 e->name, json_object_array_length(val));
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(comp, i);
        size_t mark = path_push_index(path, i);
        if (item)
            walk_primitive_element(item, path, d);
        else if (!val)
            diag_add(d, ERR_INVALID, at(path), "null is not allowed here");
        path_pop(path, mark);
    }
}

static void check_required(json_object *obj, const struct fhir_type *t, struct buf *path,
                           struct diag *d)
{
    uint16_t seen_choice[MAX_CHOICES_PER_TYPE];
    size_t seen_count = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const struct fhir_element *e = &fhir_elements[t->first + i];
        if (e->min == 0)
            continue;
        char under[128];
        snprintf(under, sizeof(under), "_%s", e->name);
        bool present = json_object_object_get_ex(obj, e->name, NULL) ||
                       json_object_object_get_ex(obj, under, NULL);
        if (!e->choice) {
            if (!present)
                diag_add(d, ERR_INVALID, at(path), "missing required element '%s'", e->name);
            continue;
        }
        /* required choice: satisfied if any alternative of the group is present */
        bool done = false;
        for (size_t k = 0; k < seen_count; k++)
            done = done || seen_choice[k] == e->choice;
        if (done)
            continue;
        bool any = false;
        for (uint32_t j = 0; j < t->count && !any; j++) {
            const struct fhir_element *alt = &fhir_elements[t->first + j];
            if (alt->choice == e->choice)
                any = json_object_object_get_ex(obj, alt->name, NULL);
        }
        if (seen_count < MAX_CHOICES_PER_TYPE)
            seen_choice[seen_count++] = e->choice;
        if (!any)
            diag_add(d, ERR_INVALID, at(path), "missing required element '%s'",
                     fhir_choice_names[e->choice]);
    }
}

/* FHIR R4 extensibility.html, invariant ext-1: an extension has a value or extensions, not both. */
static void check_extension(json_object *obj, const struct fhir_type *t, struct buf *path,
                            struct diag *d)
{
    if (strcmp(t->name, "Extension") != 0 || !json_object_object_get_ex(obj, "extension", NULL))
        return;
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        if (strncmp(key, "value", 5) == 0)
            diag_add(d, ERR_INVALID, at(path),
                     "an extension must have either extensions or a value, not both (ext-1)");
    }
}

static void walk_object(json_object *obj, int type, struct buf *path, struct diag *d,
                        bool is_resource)
{
    const struct fhir_type *t = &fhir_types[type];
    if (json_object_object_length(obj) == 0) {
        diag_add(d, ERR_INVALID, at(path), "empty object is not allowed");
        return;
    }
    uint16_t choice_used[MAX_CHOICES_PER_TYPE];
    const char *choice_by[MAX_CHOICES_PER_TYPE];
    size_t choice_count = 0;
    json_object_object_foreach(obj, key, val)
    {
        if (is_resource && strcmp(key, "resourceType") == 0)
            continue;
        bool is_companion = key[0] == '_';
        struct str name = str_from(is_companion ? key + 1 : key);
        const struct fhir_element *e = fhir_element_find(type, name);
        size_t mark = path_push_name(path, key);
        if (!e) {
            diag_add(d, ERR_INVALID, at(path), "unknown element '%s' in %s", key, t->name);
            path_pop(path, mark);
            continue;
        }
        if (e->choice) {
            size_t k = 0;
            while (k < choice_count && choice_used[k] != e->choice)
                k++;
            if (k < choice_count && strcmp(choice_by[k], e->name) != 0)
                diag_add(d, ERR_INVALID, at(path),
                         "only one of %s may be present, found '%s' and '%s'",
                         fhir_choice_names[e->choice], choice_by[k], e->name);
            else if (k == choice_count && k < MAX_CHOICES_PER_TYPE) {
                choice_used[choice_count] = e->choice;
                choice_by[choice_count++] = e->name;
            }
        }
        if (is_companion) {
            if (fhir_types[e->type].kind != FHIR_KIND_PRIMITIVE) {
                diag_add(d, ERR_INVALID, at(path), "'%s' is not a primitive element", e->name);
            } else {
                json_object *main_val = NULL;
                json_object_object_get_ex(obj, e->name, &main_val);
                walk_companion(val, main_val, e, path, d);
            }
        } else {
            json_object *companion = NULL;
            char under[128];
            snprintf(under, sizeof(under), "_%s", key);
            json_object_object_get_ex(obj, under, &companion);
            walk_element(val, companion, e, path, d);
        }
        path_pop(path, mark);
    }
    check_required(obj, t, path, d);
    check_extension(obj, t, path, d);
}

/* True when path ends in ".contained[N]": the value is a contained resource. */
static bool path_is_contained(const struct buf *path)
{
    const char *p = at((struct buf *)path);
    size_t n = path->len;
    if (n < 2 || p[n - 1] != ']')
        return false;
    size_t i = n - 1;
    while (i > 0 && isdigit((unsigned char)p[i - 1]))
        i--;
    static const char suffix[] = ".contained[";
    size_t k = sizeof(suffix) - 1;
    return i >= k && memcmp(p + i - k, suffix, k) == 0;
}

/* FHIR R4 domainresource.html: dom-2 (no nested contained), dom-4 (no versionId/lastUpdated). */
static void check_contained(json_object *obj, struct buf *path, struct diag *d)
{
    if (json_object_object_get_ex(obj, "contained", NULL))
        diag_add(d, ERR_INVALID, at(path),
                 "a contained resource must not contain resources itself (dom-2)");
    json_object *meta = NULL;
    if (json_object_object_get_ex(obj, "meta", &meta) &&
        json_object_get_type(meta) == json_type_object &&
        (json_object_object_get_ex(meta, "versionId", NULL) ||
         json_object_object_get_ex(meta, "lastUpdated", NULL)))
        diag_add(d, ERR_INVALID, at(path),
                 "a contained resource must not have meta.versionId or meta.lastUpdated (dom-4)");
}

static void walk_resource(json_object *obj, struct buf *path, struct diag *d, bool in_contained)
{
    if (json_object_get_type(obj) != json_type_object) {
        diag_add(d, ERR_INVALID, at(path), "expected a resource object, found %s",
                 json_type_word(obj));
        return;
    }
    json_object *rt = NULL;
    if (!json_object_object_get_ex(obj, "resourceType", &rt) ||
        json_object_get_type(rt) != json_type_string) {
        diag_add(d, ERR_INVALID, at(path), "missing 'resourceType'");
        return;
    }
    struct str name = str_make(json_object_get_string(rt), (size_t)json_object_get_string_len(rt));
    int type = fhir_resource_type_find(name);
    if (type < 0) {
        diag_add(d, ERR_INVALID, at(path), "unknown resource type '%.*s'",
                 (int)(name.len > 64 ? 64 : name.len), name.ptr);
        return;
    }
    size_t mark = path->len;
    if (path_is_contained(path))
        check_contained(obj, path, d);
    if (path->len == 0)
        buf_append_str(path, fhir_types[type].name);
    else if (in_contained)
        buf_printf(path, "(%s)", fhir_types[type].name);
    walk_object(obj, type, path, d, true);
    path_pop(path, mark);
}

bool fhir_validate_resource(json_object *resource, struct diag *d)
{
    struct buf path;
    buf_init(&path, MAX_PATH_BYTES);
    size_t before = d->count;
    walk_resource(resource, &path, d, false);
    buf_release(&path);
    (void)before;
    return !diag_has_errors(d);
}
