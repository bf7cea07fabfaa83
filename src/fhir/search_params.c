/*
 * search_params.c - lookups over the generated SearchParameter table.
 */
#include "fhir/search_params.h"

#include <string.h>

static int cmp_row(const char *type, struct str code, const struct fhir_search_param *p)
{
    int c = strcmp(type, p->base);
    if (c)
        return c;
    size_t n = strlen(p->code);
    size_t m = code.len < n ? code.len : n;
    c = m ? memcmp(code.ptr, p->code, m) : 0;
    if (c)
        return c;
    return code.len < n ? -1 : code.len > n ? 1 : 0;
}

static const struct fhir_search_param *find_exact(const char *type, struct str code)
{
    size_t lo = 0, hi = fhir_search_param_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_row(type, code, &fhir_search_params[mid]);
        if (c == 0)
            return &fhir_search_params[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct fhir_search_param *fhir_search_param_find(const char *type, struct str code)
{
    const struct fhir_search_param *p = find_exact(type, code);
    return p ? p : find_exact("Resource", code);
}

const char *const fhir_search_type_names[] = {
    [FHIR_SEARCH_NUMBER] = "number",       [FHIR_SEARCH_DATE] = "date",
    [FHIR_SEARCH_STRING] = "string",       [FHIR_SEARCH_TOKEN] = "token",
    [FHIR_SEARCH_REFERENCE] = "reference", [FHIR_SEARCH_COMPOSITE] = "composite",
    [FHIR_SEARCH_QUANTITY] = "quantity",   [FHIR_SEARCH_URI] = "uri",
    [FHIR_SEARCH_SPECIAL] = "special",
};

static int type_named(struct str name)
{
    for (int i = 0; i <= FHIR_SEARCH_SPECIAL; i++)
        if (str_eq_cstr(name, fhir_search_type_names[i]))
            return i;
    return -1;
}

size_t fhir_search_composite_parts(const struct fhir_search_param *p,
                                   struct fhir_composite_part *out)
{
    if (p->type != FHIR_SEARCH_COMPOSITE)
        return 0;
    size_t n = 0;
    for (const char *s = p->components; *s && n < FHIR_COMPOSITE_MAX_PARTS;) {
        const char *c1 = strchr(s, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            break;
        const char *end = c2 + 1 + strcspn(c2 + 1, ";");
        out[n].code = str_make(s, (size_t)(c1 - s));
        out[n].type = type_named(str_make(c1 + 1, (size_t)(c2 - c1 - 1)));
        out[n].expression = str_make(c2 + 1, (size_t)(end - c2 - 1));
        n++;
        s = *end ? end + 1 : end;
    }
    return n;
}

bool fhir_search_composite_is_indexed(const struct fhir_search_param *p,
                                      struct fhir_composite_part *parts)
{
    if (fhir_search_composite_parts(p, parts) != 2)
        return false;
    int first = parts[0].type, second = parts[1].type;
    return (first == FHIR_SEARCH_TOKEN || first == FHIR_SEARCH_REFERENCE) && second >= 0 &&
           second != FHIR_SEARCH_COMPOSITE && second != FHIR_SEARCH_SPECIAL;
}
