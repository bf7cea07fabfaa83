/*
 * arena.h - bump allocator for one lifetime (process, connection, request).
 * Everything allocated from an arena is freed together by arena_release or
 * arena_clear; nothing is freed one piece at a time. Not thread-safe: an
 * arena belongs to one thread at a time.
 */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stddef.h>

#include "core/str.h"

struct arena_block;

struct arena {
    struct arena_block *head; /* newest block; NULL when empty */
    size_t block_bytes;       /* default size of a new block */
};

void arena_init(struct arena *a, size_t block_bytes);
/* Free all blocks; the arena must be init'ed again before reuse. */
void arena_release(struct arena *a);
/* Free everything but keep the arena usable. */
void arena_clear(struct arena *a);
/* size bytes aligned for any type; valid until the arena is cleared. */
void *arena_alloc(struct arena *a, size_t size);
/* NUL-terminated copy of a slice, owned by the arena. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* printf into arena memory. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
