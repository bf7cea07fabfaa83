/*
 * str.h - (ptr, len) slices for bytes that came from outside; never assumed
 * to be NUL-terminated. A slice borrows its bytes from an owner.
 */
#ifndef CORE_STR_H
#define CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct str {
    const char *ptr; /* first byte; may be NULL when len is 0 */
    size_t len;      /* length in bytes */
};

#define STR_FMT(s) (int)(s).len, (s).ptr /* printf("%.*s", STR_FMT(s)) */

static inline struct str str_from(const char *cstr)
{
    struct str s = {cstr, cstr ? strlen(cstr) : 0};
    return s;
}

static inline struct str str_make(const char *ptr, size_t len)
{
    struct str s = {ptr, len};
    return s;
}

static inline bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool str_eq_cstr(struct str a, const char *b)
{
    return str_eq(a, str_from(b));
}

static inline bool str_has_prefix(struct str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

#endif
