/*
 * strmap.c - see strmap.h. Grows by doubling when half full; old slot
 * arrays stay in the arena until it is cleared.
 */
#include "core/strmap.h"

#include <stdint.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void alloc_slots(struct strmap *m, size_t cap)
{
    m->cap = cap;
    m->used = 0;
    m->keys = arena_alloc(m->arena, sizeof(*m->keys) * cap);
    m->values = arena_alloc(m->arena, sizeof(*m->values) * cap);
    memset(m->keys, 0, sizeof(*m->keys) * cap);
}

void strmap_init(struct strmap *m, struct arena *a, size_t expected)
{
    m->arena = a;
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    alloc_slots(m, cap);
}

bool strmap_put(struct strmap *m, const char *key, const char *value)
{
    if ((m->used + 1) * 2 > m->cap) {
        const char **keys = m->keys, **values = m->values;
        size_t cap = m->cap;
        alloc_slots(m, cap * 2);
        for (size_t i = 0; i < cap; i++)
            if (keys[i])
                strmap_put(m, keys[i], values[i]);
    }
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) {
            m->keys[i] = key;
            m->values[i] = value;
            m->used++;
            return true;
        }
        if (!strcmp(m->keys[i], key))
            return false;
    }
}

const char *strmap_get(const struct strmap *m, const char *key)
{
    for (size_t i = hash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (!strcmp(m->keys[i], key))
            return m->values[i];
    return NULL;
}
