/*
 * search_index.c - FHIRPath results to index entries, by search type and
 * by the FHIR type of each value (search.html, "Search Types"):
 *
 *   token      Coding, CodeableConcept (its codings), Identifier, ContactPoint,
 *              code, boolean, string, id, uri and other primitives
 *   string     string/markdown, HumanName (family, given, prefix, suffix, text),
 *              Address (line, city, district, state, postalCode, country, text)
 *   reference  Reference ("Type/id", from relative or absolute URLs), canonical, uri
 *   date       date, dateTime, instant, Period, Timing.event
 *   number     decimal, integer, positiveInt, unsignedInt
 *   quantity   Quantity (and Money, as value and currency)
 *   uri        uri, url, canonical, oid, uuid
 */
#include "fhir/search_index.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/fhirpath.h"
#include "fhir/model.h"

static struct fhirpath **compiled; /* parallel to fhir_search_params; NULL = not indexed */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    compiled = xcalloc(fhir_search_param_count, sizeof(*compiled));
    size_t failed = 0;
    for (size_t i = 0; i < fhir_search_param_count; i++) {
        const struct fhir_search_param *p = &fhir_search_params[i];
        if (!*p->expression || p->type == FHIR_SEARCH_COMPOSITE || p->type == FHIR_SEARCH_SPECIAL)
            continue;
        char why[160];
        if (fhirpath_compile(p->expression, &compiled[i], why, sizeof(why))) {
            log_warn(LOG_FHIR, "search parameter not indexed param=%s.%s why=\"%s\"", p->base,
                     p->code, why);
            failed++;
        }
    }
    if (failed)
        log_warn(LOG_FHIR, "search parameters not indexed count=%zu", failed);
}

void fhir_search_init(void)
{
    pthread_once(&init_once, init);
}

const struct fhir_search_param *fhir_search_params_of(const char *type, size_t *out_count)
{
    size_t lo = 0, hi = fhir_search_param_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(fhir_search_params[mid].base, type) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < fhir_search_param_count && !strcmp(fhir_search_params[end].base, type))
        end++;
    *out_count = end - lo;
    return &fhir_search_params[lo];
}

char *fhir_search_normalise(struct arena *a, const char *s, size_t len)
{
    char *out = arena_strndup(a, s, len);
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return out;
}

/* ---- building entries ---- */

struct builder {
    struct fhir_index *ix; /* where entries go */
    const char *param;     /* "Type.code", in the arena */
    int kind;              /* enum store_index_kind of this parameter */
};

static struct store_index_entry *add(struct builder *b)
{
    struct fhir_index *ix = b->ix;
    if (ix->count == ix->size) {
        size_t size = ix->size ? ix->size * 2 : 32;
        struct store_index_entry *e = arena_alloc(&ix->arena, size * sizeof(*e));
        if (ix->count)
            memcpy(e, ix->entries, ix->count * sizeof(*e));
        ix->entries = e;
        ix->size = size;
    }
    struct store_index_entry *e = &ix->entries[ix->count++];
    memset(e, 0, sizeof(*e));
    e->kind = b->kind;
    e->param = b->param;
    return e;
}

static const char *member_text(json_object *obj, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, name, &v) || json_object_get_type(v) == json_type_object ||
        json_object_get_type(v) == json_type_array)
        return NULL;
    return json_object_get_string(v);
}

static void add_text(struct builder *b, const char *t1, const char *t2)
{
    struct store_index_entry *e = add(b);
    e->text1 = t1 ? arena_strndup(&b->ix->arena, t1, strlen(t1)) : NULL;
    e->text2 = t2 ? arena_strndup(&b->ix->arena, t2, strlen(t2)) : NULL;
}

static void add_token_coding(struct builder *b, json_object *coding)
{
    const char *code = member_text(coding, "code");
    if (code)
        add_text(b, member_text(coding, "system"), code);
}

static void add_string_value(struct builder *b, const char *s)
{
    if (!s || !*s)
        return;
    struct store_index_entry *e = add(b);
    e->text1 = fhir_search_normalise(&b->ix->arena, s, strlen(s));
    e->text2 = arena_strndup(&b->ix->arena, s, strlen(s));
}

/* Every string (or array of strings) member of obj named in names. */
static void add_string_members(struct builder *b, json_object *obj, const char *const *names)
{
    for (const char *const *n = names; *n; n++) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(obj, *n, &v))
            continue;
        if (json_object_get_type(v) == json_type_array) {
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *item = json_object_array_get_idx(v, i);
                if (json_object_get_type(item) == json_type_string)
                    add_string_value(b, json_object_get_string(item));
            }
        } else if (json_object_get_type(v) == json_type_string) {
            add_string_value(b, json_object_get_string(v));
        }
    }
}

static void add_date_text(struct builder *b, const char *s, bool open_low, bool open_high)
{
    int64_t lo, hi;
    if (!s || !time_parse_fhir_range(s, strlen(s), &lo, &hi))
        return;
    struct store_index_entry *e = add(b);
    e->low = open_low ? INT64_MIN : lo;
    e->high = open_high ? INT64_MAX : hi;
}

/* "Patient/1", "http://x/fhir/Patient/1/_history/2" -> "Patient/1"; others as written. */
static void add_reference_text(struct builder *b, const char *ref)
{
    if (!ref || ref[0] == '#')
        return; /* contained references are not searchable across resources */
    const char *hist = strstr(ref, "/_history/");
    size_t len = hist ? (size_t)(hist - ref) : strlen(ref);
    size_t id_start = len;
    while (id_start > 0 && ref[id_start - 1] != '/')
        id_start--;
    if (id_start >= 2) {
        size_t type_start = id_start - 1;
        while (type_start > 0 && ref[type_start - 1] != '/')
            type_start--;
        if (fhir_resource_type_find(str_make(ref + type_start, id_start - 1 - type_start)) >= 0) {
            struct store_index_entry *e = add(b);
            e->text1 = arena_strndup(&b->ix->arena, ref + type_start, len - type_start);
            return;
        }
    }
    struct store_index_entry *e = add(b);
    e->text1 = arena_strndup(&b->ix->arena, ref, strlen(ref));
}

static bool type_is(const struct fhirpath_item *it, const char *name)
{
    return it->type >= 0 && !strcmp(fhir_types[it->type].name, name);
}

static bool is_primitive(const struct fhirpath_item *it)
{
    return it->type >= 0 && fhir_types[it->type].kind == FHIR_KIND_PRIMITIVE;
}

static void token_item(struct builder *b, const struct fhirpath_item *it)
{
    json_object *v = it->value;
    if (type_is(it, "Coding")) {
        add_token_coding(b, v);
    } else if (type_is(it, "CodeableConcept")) {
        json_object *codings = NULL;
        if (json_object_object_get_ex(v, "coding", &codings))
            for (size_t i = 0; i < json_object_array_length(codings); i++)
                add_token_coding(b, json_object_array_get_idx(codings, i));
    } else if (type_is(it, "Identifier")) {
        const char *value = member_text(v, "value");
        if (value)
            add_text(b, member_text(v, "system"), value);
    } else if (type_is(it, "ContactPoint")) {
        const char *value = member_text(v, "value");
        if (value)
            add_text(b, member_text(v, "system"), value);
    } else if (is_primitive(it)) {
        add_text(b, NULL, json_object_get_string(v));
    }
}

static void string_item(struct builder *b, const struct fhirpath_item *it)
{
    static const char *const name_parts[] = {"family", "given", "prefix", "suffix", "text", NULL};
    static const char *const address_parts[] = {"line",       "city",    "district", "state",
                                                "postalCode", "country", "text",     NULL};
    if (type_is(it, "HumanName"))
        add_string_members(b, it->value, name_parts);
    else if (type_is(it, "Address"))
        add_string_members(b, it->value, address_parts);
    else if (is_primitive(it))
        add_string_value(b, json_object_get_string(it->value));
}

static void date_item(struct builder *b, const struct fhirpath_item *it)
{
    json_object *v = it->value;
    if (type_is(it, "Period")) {
        const char *start = member_text(v, "start"), *end = member_text(v, "end");
        int64_t lo = INT64_MIN, hi = INT64_MAX, unused;
        if (start && !time_parse_fhir_range(start, strlen(start), &lo, &unused))
            return;
        if (end && !time_parse_fhir_range(end, strlen(end), &unused, &hi))
            return;
        if (!start && !end)
            return;
        struct store_index_entry *e = add(b);
        e->low = lo;
        e->high = hi;
    } else if (type_is(it, "Timing")) {
        json_object *events = NULL;
        if (json_object_object_get_ex(v, "event", &events))
            for (size_t i = 0; i < json_object_array_length(events); i++)
                add_date_text(b, json_object_get_string(json_object_array_get_idx(events, i)),
                              false, false);
    } else if (is_primitive(it)) {
        add_date_text(b, json_object_get_string(v), false, false);
    }
}

static void number_item(struct builder *b, const struct fhirpath_item *it)
{
    enum json_type jt = json_object_get_type(it->value);
    if (jt == json_type_int || jt == json_type_double)
        add(b)->number = json_object_get_double(it->value);
}

static void quantity_item(struct builder *b, const struct fhirpath_item *it)
{
    json_object *v = it->value, *value = NULL;
    if (json_object_get_type(v) != json_type_object ||
        !json_object_object_get_ex(v, "value", &value))
        return;
    struct store_index_entry *e = add(b);
    e->number = json_object_get_double(value);
    bool money = type_is(it, "Money");
    const char *system = money ? "urn:iso:std:iso:4217" : member_text(v, "system");
    const char *code = money ? member_text(v, "currency") : member_text(v, "code");
    if (!code && !money)
        code = member_text(v, "unit");
    e->text1 = system ? arena_strndup(&b->ix->arena, system, strlen(system)) : NULL;
    e->text2 = code ? arena_strndup(&b->ix->arena, code, strlen(code)) : NULL;
}

static void index_item(struct builder *b, int search_type, const struct fhirpath_item *it)
{
    if (!it->value)
        return;
    switch (search_type) {
    case FHIR_SEARCH_TOKEN:
        token_item(b, it);
        break;
    case FHIR_SEARCH_STRING:
        string_item(b, it);
        break;
    case FHIR_SEARCH_REFERENCE:
        if (type_is(it, "Reference"))
            add_reference_text(b, member_text(it->value, "reference"));
        else if (is_primitive(it))
            add_reference_text(b, json_object_get_string(it->value));
        break;
    case FHIR_SEARCH_DATE:
        date_item(b, it);
        break;
    case FHIR_SEARCH_NUMBER:
        number_item(b, it);
        break;
    case FHIR_SEARCH_QUANTITY:
        quantity_item(b, it);
        break;
    case FHIR_SEARCH_URI:
        if (is_primitive(it))
            add_text(b, json_object_get_string(it->value), NULL);
        break;
    default:
        break;
    }
}

static const int kind_of_type[] = {
    [FHIR_SEARCH_NUMBER] = STORE_IDX_NUMBER,
    [FHIR_SEARCH_DATE] = STORE_IDX_DATE,
    [FHIR_SEARCH_STRING] = STORE_IDX_STRING,
    [FHIR_SEARCH_TOKEN] = STORE_IDX_TOKEN,
    [FHIR_SEARCH_REFERENCE] = STORE_IDX_REFERENCE,
    [FHIR_SEARCH_COMPOSITE] = -1,
    [FHIR_SEARCH_QUANTITY] = STORE_IDX_QUANTITY,
    [FHIR_SEARCH_URI] = STORE_IDX_URI,
    [FHIR_SEARCH_SPECIAL] = -1,
};

static void index_params(struct fhir_index *ix, json_object *resource, const char *type,
                         const struct fhir_search_param *first, size_t count,
                         struct fhirpath_result *r)
{
    for (size_t i = 0; i < count; i++) {
        const struct fhir_search_param *p = &first[i];
        struct fhirpath *fp = compiled[p - fhir_search_params];
        /* _id and _lastUpdated are answered from res_current, not from entries */
        if (!fp || !strcmp(p->code, "_id") || !strcmp(p->code, "_lastUpdated"))
            continue;
        fhirpath_eval(fp, resource, r);
        if (!r->count)
            continue;
        struct builder b = {ix, arena_printf(&ix->arena, "%s.%s", type, p->code),
                            kind_of_type[p->type]};
        for (size_t k = 0; k < r->count; k++)
            index_item(&b, p->type, &r->items[k]);
    }
}

static int cmp_text(const char *a, const char *b)
{
    if (!a || !b)
        return a ? 1 : b ? -1 : 0;
    return strcmp(a, b);
}

static int cmp_entry(const void *x, const void *y)
{
    const struct store_index_entry *a = x, *b = y;
    int c = a->kind - b->kind;
    if (!c)
        c = strcmp(a->param, b->param);
    if (!c)
        c = cmp_text(a->text1, b->text1);
    if (!c)
        c = cmp_text(a->text2, b->text2);
    if (!c)
        c = a->number < b->number ? -1 : a->number > b->number;
    if (!c)
        c = a->low < b->low ? -1 : a->low > b->low;
    if (!c)
        c = a->high < b->high ? -1 : a->high > b->high;
    return c;
}

/* One entry per distinct value and parameter: a value found twice is indexed once. */
static void dedupe(struct fhir_index *ix)
{
    if (ix->count < 2)
        return;
    qsort(ix->entries, ix->count, sizeof(*ix->entries), cmp_entry);
    size_t kept = 1;
    for (size_t i = 1; i < ix->count; i++)
        if (cmp_entry(&ix->entries[kept - 1], &ix->entries[i]) != 0)
            ix->entries[kept++] = ix->entries[i];
    ix->count = kept;
}

void fhir_index_compute(struct fhir_index *ix, json_object *resource)
{
    fhir_search_init();
    arena_init(&ix->arena, 4096);
    ix->entries = NULL;
    ix->count = 0;
    ix->size = 0;
    json_object *rt = NULL;
    if (!json_object_object_get_ex(resource, "resourceType", &rt))
        return;
    const char *type = json_object_get_string(rt);
    struct fhirpath_result r;
    fhirpath_result_init(&r);
    size_t n;
    const struct fhir_search_param *own = fhir_search_params_of(type, &n);
    index_params(ix, resource, type, own, n, &r);
    const struct fhir_search_param *common = fhir_search_params_of("Resource", &n);
    index_params(ix, resource, type, common, n, &r);
    fhirpath_result_release(&r);
    dedupe(ix);
}

void fhir_index_release(struct fhir_index *ix)
{
    arena_release(&ix->arena);
    ix->entries = NULL;
    ix->count = ix->size = 0;
}
