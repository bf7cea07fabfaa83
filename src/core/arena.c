/*
 * arena.c - blocks are a singly linked list, newest first; an allocation
 * larger than the block size gets a block of its own.
 */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct arena_block {
    struct arena_block *next; /* older block */
    size_t used;              /* bytes handed out */
    size_t size;              /* bytes in data[] */
    max_align_t data[];       /* storage */
};

#define ALIGN (_Alignof(max_align_t))

void arena_init(struct arena *a, size_t block_bytes)
{
    a->head = NULL;
    a->block_bytes = block_bytes ? block_bytes : 4096;
}

void arena_release(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void arena_clear(struct arena *a)
{
    size_t block_bytes = a->block_bytes;
    arena_release(a);
    arena_init(a, block_bytes);
}

void *arena_alloc(struct arena *a, size_t size)
{
    size_t rounded = (size + ALIGN - 1) & ~(ALIGN - 1);
    if (rounded < size)
        abort();
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < rounded) {
        size_t data_bytes = rounded > a->block_bytes ? rounded : a->block_bytes;
        b = xmalloc(sizeof(*b) + data_bytes);
        b->size = data_bytes;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += rounded;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
