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
/* Composites: the two components' expressions, parallel to fhir_search_params. */
static struct fhirpath *(*component)[2];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static bool compile_one(const struct fhir_search_param *p, struct str text, struct fhirpath **out)
{
    char why[160];
    char *expr = xstrndup(text.ptr, text.len);
    enum err e = fhirpath_compile(expr, out, why, sizeof(why));
    free(expr);
    if (e)
        log_warn(LOG_FHIR, "search parameter not indexed param=%s.%s why=\"%s\"", p->base, p->code,
                 why);
    return !e;
}

/* A composite of two components, a token or reference then any indexed type, is indexed. */
static bool compile_composite(size_t i)
{
    const struct fhir_search_param *p = &fhir_search_params[i];
    struct fhir_composite_part parts[FHIR_COMPOSITE_MAX_PARTS];
    if (!fhir_search_composite_is_indexed(p, parts))
        return true; /* not supported: never indexed, and refused by query.c */
    if (!compile_one(p, parts[0].expression, &component[i][0]) ||
        !compile_one(p, parts[1].expression, &component[i][1]))
        return false;
    return compile_one(p, str_from(p->expression), &compiled[i]);
}

static void init(void)
{
    compiled = xcalloc(fhir_search_param_count, sizeof(*compiled));
    component = xcalloc(fhir_search_param_count, sizeof(*component));
    size_t failed = 0;
    for (size_t i = 0; i < fhir_search_param_count; i++) {
        const struct fhir_search_param *p = &fhir_search_params[i];
        if (p->type == FHIR_SEARCH_COMPOSITE) {
            failed += !compile_composite(i);
            continue;
        }
        if (!*p->expression || p->type == FHIR_SEARCH_SPECIAL)
            continue;
        failed += !compile_one(p, str_from(p->expression), &compiled[i]);
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
    struct fhir_index *ix;        /* where entries go */
    const char *param;            /* "Type.code", in the arena */
    int kind;                     /* enum store_index_kind of this parameter */
    const char *text_param;       /* tokens: "Type.code:text" for displays and texts, or NULL */
    const char *of_type_param;    /* tokens: "Type.code:of-type" for typed identifiers, or NULL */
    const char *identifier_param; /* references: "Type.code:identifier", or NULL */
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

/* An entry under another parameter name and kind (a modifier's own entries). */
static struct store_index_entry *add_as(struct builder *b, const char *param, int kind)
{
    struct store_index_entry *e = add(b);
    e->param = param;
    e->kind = kind;
    return e;
}

/* :text of a token: the display or text, normalised as a string. */
static void add_token_text(struct builder *b, const char *text)
{
    if (!b->text_param || !text || !*text)
        return;
    struct store_index_entry *e = add_as(b, b->text_param, STORE_IDX_STRING);
    e->text1 = fhir_search_normalise(&b->ix->arena, text, strlen(text));
    e->text2 = arena_strndup(&b->ix->arena, text, strlen(text));
}

static void add_token_coding(struct builder *b, json_object *coding)
{
    const char *code = member_text(coding, "code");
    if (code)
        add_text(b, member_text(coding, "system"), code);
    add_token_text(b, member_text(coding, "display"));
}

static void add_token_concept(struct builder *b, json_object *concept)
{
    json_object *codings = NULL;
    if (json_object_object_get_ex(concept, "coding", &codings) &&
        json_object_get_type(codings) == json_type_array)
        for (size_t i = 0; i < json_object_array_length(codings); i++)
            add_token_coding(b, json_object_array_get_idx(codings, i));
    add_token_text(b, member_text(concept, "text"));
}

/* :of-type: an Identifier's type codings with its value, as "system|code" and value. */
static void add_identifier_type(struct builder *b, json_object *identifier, const char *value)
{
    json_object *type = NULL, *codings = NULL;
    if (!b->of_type_param || !json_object_object_get_ex(identifier, "type", &type) ||
        !json_object_object_get_ex(type, "coding", &codings) ||
        json_object_get_type(codings) != json_type_array)
        return;
    for (size_t i = 0; i < json_object_array_length(codings); i++) {
        json_object *c = json_object_array_get_idx(codings, i);
        const char *system = member_text(c, "system"), *code = member_text(c, "code");
        if (!system || !code)
            continue;
        struct store_index_entry *e = add_as(b, b->of_type_param, STORE_IDX_TOKEN);
        e->text1 = arena_printf(&b->ix->arena, "%s|%s", system, code);
        e->text2 = arena_strndup(&b->ix->arena, value, strlen(value));
    }
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

/* A Reference: its target, and for :identifier its logical identifier. */
static void reference_item(struct builder *b, json_object *ref)
{
    add_reference_text(b, member_text(ref, "reference"));
    json_object *identifier = NULL;
    if (!b->identifier_param || !json_object_object_get_ex(ref, "identifier", &identifier))
        return;
    const char *value = member_text(identifier, "value");
    if (!value)
        return;
    struct store_index_entry *e = add_as(b, b->identifier_param, STORE_IDX_TOKEN);
    const char *system = member_text(identifier, "system");
    e->text1 = system ? arena_strndup(&b->ix->arena, system, strlen(system)) : NULL;
    e->text2 = arena_strndup(&b->ix->arena, value, strlen(value));
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
        add_token_concept(b, v);
    } else if (type_is(it, "Identifier")) {
        const char *value = member_text(v, "value");
        json_object *type = NULL;
        if (value) {
            add_text(b, member_text(v, "system"), value);
            add_identifier_type(b, v, value);
        }
        if (json_object_object_get_ex(v, "type", &type))
            add_token_text(b, member_text(type, "text"));
    } else if (type_is(it, "ContactPoint")) {
        const char *value = member_text(v, "value");
        if (value)
            add_text(b, member_text(v, "system"), value);
    } else if (is_primitive(it)) {
        /* a bound code carries its code system implicitly (search.html#token) */
        add_text(b, it->system, json_object_get_string(v));
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

int fhir_search_index_kind(int search_type)
{
    return kind_of_type[search_type];
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
            reference_item(b, it->value);
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

/* The entries of one component of a composite, evaluated on item, into tmp. */
static void component_entries(struct fhir_index *tmp, json_object *resource, size_t param, int part,
                              int type, const struct fhirpath_item *item, struct fhirpath_result *r)
{
    tmp->count = 0;
    fhirpath_eval_focus(component[param][part], resource, item, r);
    struct builder b = {tmp, "", kind_of_type[type], NULL, NULL, NULL};
    for (size_t k = 0; k < r->count; k++)
        index_item(&b, type, &r->items[k]);
}

/*
 * The keys under which a first component's value is found: a token as
 * "system|code" (or "|code" without a system) and as "code"; a reference
 * as "Type/id". keys has room for two.
 */
static size_t composite_keys(struct arena *a, int type, const struct store_index_entry *e,
                             const char **keys)
{
    if (type == FHIR_SEARCH_REFERENCE) {
        keys[0] = e->text1;
        return e->text1 != NULL;
    }
    if (!e->text2)
        return 0;
    keys[0] = arena_printf(a, "%s|%s", e->text1 ? e->text1 : "", e->text2);
    keys[1] = e->text2;
    return 2;
}

/*
 * A composite "A$B": for each value of its expression, each pair of a
 * first-component value and a second-component entry becomes an entry of
 * the second's kind under the parameter "Type.code$key" (query.c looks the
 * same key up), so both must hold for the same element.
 */
static void index_composite(struct fhir_index *ix, json_object *resource, const char *type,
                            const struct fhir_search_param *p, const struct fhirpath_result *base)
{
    size_t i = (size_t)(p - fhir_search_params);
    struct fhir_composite_part parts[FHIR_COMPOSITE_MAX_PARTS];
    fhir_search_composite_parts(p, parts);
    struct fhir_index first = {0}, second = {0};
    arena_init(&first.arena, 1024);
    arena_init(&second.arena, 1024);
    struct fhirpath_result r;
    fhirpath_result_init(&r);
    for (size_t k = 0; k < base->count; k++) {
        component_entries(&first, resource, i, 0, parts[0].type, &base->items[k], &r);
        if (!first.count)
            continue;
        component_entries(&second, resource, i, 1, parts[1].type, &base->items[k], &r);
        for (size_t f = 0; f < first.count; f++) {
            const char *keys[2];
            size_t nkeys = composite_keys(&first.arena, parts[0].type, &first.entries[f], keys);
            for (size_t n = 0; n < nkeys; n++) {
                const char *param = arena_printf(&ix->arena, "%s.%s$%s", type, p->code, keys[n]);
                struct builder b = {ix, param, kind_of_type[parts[1].type], NULL, NULL, NULL};
                for (size_t e = 0; e < second.count; e++) {
                    const struct store_index_entry *src = &second.entries[e];
                    struct store_index_entry *dst = add(&b);
                    *dst = *src;
                    dst->kind = b.kind;
                    dst->param = param;
                    dst->text1 = src->text1
                                     ? arena_strndup(&ix->arena, src->text1, strlen(src->text1))
                                     : NULL;
                    dst->text2 = src->text2
                                     ? arena_strndup(&ix->arena, src->text2, strlen(src->text2))
                                     : NULL;
                }
            }
        }
    }
    fhirpath_result_release(&r);
    arena_release(&first.arena);
    arena_release(&second.arena);
}

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
        if (p->type == FHIR_SEARCH_COMPOSITE) {
            index_composite(ix, resource, type, p, r);
            continue;
        }
        const char *param = arena_printf(&ix->arena, "%s.%s", type, p->code);
        struct builder b = {ix, param, kind_of_type[p->type], NULL, NULL, NULL};
        if (p->type == FHIR_SEARCH_TOKEN) {
            b.text_param = arena_printf(&ix->arena, "%s:text", param);
            b.of_type_param = arena_printf(&ix->arena, "%s:of-type", param);
        } else if (p->type == FHIR_SEARCH_REFERENCE) {
            b.identifier_param = arena_printf(&ix->arena, "%s:identifier", param);
        }
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

size_t fhir_compartment_patients(json_object *resource, const char *type, const char *id,
                                 struct arena *a, const char **out, size_t max)
{
    if (!strcmp(type, "Patient")) {
        if (max)
            out[0] = arena_printf(a, "Patient/%s", id);
        return max ? 1 : 0;
    }
    fhir_search_init();
    size_t n = 0;
    struct fhirpath_result r;
    fhirpath_result_init(&r);
    for (size_t i = 0; i < fhir_patient_compartment_count && n < max; i++) {
        const struct fhir_compartment_link *l = &fhir_patient_compartment[i];
        const struct fhir_search_param *p =
            strcmp(l->type, type) ? NULL : fhir_search_param_find(type, str_from(l->param));
        struct fhirpath *fp = p ? compiled[p - fhir_search_params] : NULL;
        if (!fp)
            continue;
        fhirpath_eval(fp, resource, &r);
        for (size_t k = 0; k < r.count && n < max; k++) {
            json_object *ref = NULL;
            if (!r.items[k].value || !json_object_is_type(r.items[k].value, json_type_object) ||
                !json_object_object_get_ex(r.items[k].value, "reference", &ref))
                continue;
            const char *t = json_object_get_string(ref);
            bool seen = !t || strncmp(t, "Patient/", 8) != 0;
            for (size_t j = 0; j < n && !seen; j++)
                seen = !strcmp(out[j], t);
            if (!seen)
                out[n++] = arena_strndup(a, t, strlen(t));
        }
    }
    fhirpath_result_release(&r);
    return n;
}

const char *fhir_compartment_patient(json_object *resource, const char *type, const char *id,
                                     struct arena *a)
{
    const char *one = NULL;
    return fhir_compartment_patients(resource, type, id, a, &one, 1) ? one : NULL;
}
