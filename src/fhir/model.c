/*
 * model.c - lookups over the generated tables (binary search; both lists
 * are sorted bytewise by the generator).
 */
#include "fhir/model.h"

#include <string.h>

static int cmp_str_cstr(struct str a, const char *b)
{
    size_t blen = strlen(b);
    size_t n = a.len < blen ? a.len : blen;
    int c = n ? memcmp(a.ptr, b, n) : 0;
    if (c)
        return c;
    return a.len < blen ? -1 : a.len > blen ? 1 : 0;
}

int fhir_resource_type_find(struct str name)
{
    size_t lo = 0, hi = fhir_resource_type_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_str_cstr(name, fhir_types[fhir_resource_types[mid]].name);
        if (c == 0)
            return fhir_resource_types[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

const struct fhir_element *fhir_element_find(int type, struct str name)
{
    const struct fhir_type *t = &fhir_types[type];
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct fhir_element *e = &fhir_elements[t->first + mid];
        int c = cmp_str_cstr(name, e->name);
        if (c == 0)
            return e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}
