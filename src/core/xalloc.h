/*
 * xalloc.h - allocation that never returns NULL: on failure the process
 * aborts (server policy of git, h2o, Redis). Safe only because every size
 * driven by input is bounded before it is allocated.
 */
#ifndef CORE_XALLOC_H
#define CORE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
/* Zeroed array of count elements of size bytes; aborts on overflow. */
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Copy of the first len bytes of s, NUL-terminated. */
char *xstrndup(const char *s, size_t len);
char *xstrdup(const char *s);
/* Zero size bytes at ptr (not optimised away), then free it. */
void xfree_secret(void *ptr, size_t size);

#endif
