/*
 * strmap.h - a string -> string map in an arena (open addressing, FNV-1a),
 * for the sets and maps a request builds and drops: the entries already in
 * a Bundle, the fullUrls of a transaction. Keys and values are borrowed;
 * they must live as long as the arena. Not thread-safe.
 */
#ifndef CORE_STRMAP_H
#define CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

struct strmap {
    struct arena *arena; /* where the slots live */
    const char **keys;   /* NULL = free slot */
    const char **values; /* parallel to keys */
    size_t cap;          /* a power of two */
    size_t used;         /* keys present */
};

/* An empty map sized for about expected keys (it grows as needed). */
void strmap_init(struct strmap *m, struct arena *a, size_t expected);

/* Add key -> value; false (and nothing changed) if key is present already. */
bool strmap_put(struct strmap *m, const char *key, const char *value);

/* The value of key, or NULL. */
const char *strmap_get(const struct strmap *m, const char *key);

#endif
