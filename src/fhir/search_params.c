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
