/*
 * index_verify.c - check the stored search index against entries computed
 * afresh (see reindex.h). Type by type, page by page in key order: the
 * page's resources get their entries computed as a re-index would, the
 * entries stored for the same key range are read back, and each resource's
 * two sets are compared as sorted lists of canonical lines. Entries stored
 * for a key with no current resource (a deleted one) count as a difference.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/xalloc.h"
#include "fhir/model.h"
#include "fhir/reindex.h"
#include "fhir/search_index.h"

#define VERIFY_BATCH 500

struct lines {
    char **items; /* in the page arena */
    size_t count;
    size_t size;
};

struct vitem {
    int64_t key;
    const char *id;    /* in the page arena */
    struct lines want; /* computed now */
    struct lines have; /* stored */
};

struct page {
    struct arena arena;
    const char *type;
    struct vitem items[VERIFY_BATCH];
    size_t count;
    int64_t last_key;
    int64_t stale; /* stored entries of keys that are not current resources */
};

static void push_line(struct arena *a, struct lines *l, char *line)
{
    if (l->count == l->size) {
        size_t size = l->size ? l->size * 2 : 16;
        char **items = arena_alloc(a, size * sizeof(*items));
        if (l->count)
            memcpy(items, l->items, l->count * sizeof(*items));
        l->items = items;
        l->size = size;
    }
    l->items[l->count++] = line;
}

/* One entry as text, with only the fields its kind stores. */
static char *canonical(struct arena *a, const struct store_index_entry *e)
{
    const char *t1 = e->text1 ? e->text1 : "\x01", *t2 = e->text2 ? e->text2 : "\x01";
    switch (e->kind) {
    case STORE_IDX_DATE:
        return arena_printf(a, "%d\t%s\t%lld\t%lld", e->kind, e->param, (long long)e->low,
                            (long long)e->high);
    case STORE_IDX_NUMBER:
        return arena_printf(a, "%d\t%s\t%.17g", e->kind, e->param, e->number);
    case STORE_IDX_QUANTITY:
        return arena_printf(a, "%d\t%s\t%s\t%s\t%.17g", e->kind, e->param, t1, t2, e->number);
    case STORE_IDX_REFERENCE:
    case STORE_IDX_URI:
        return arena_printf(a, "%d\t%s\t%s", e->kind, e->param, t1);
    default:
        return arena_printf(a, "%d\t%s\t%s\t%s", e->kind, e->param, t1, t2);
    }
}

static bool on_resource(const struct store_hit *hit, void *arg)
{
    struct page *p = arg;
    struct vitem *it = &p->items[p->count++];
    memset(it, 0, sizeof(*it));
    it->key = hit->key;
    it->id = arena_strndup(&p->arena, hit->id.ptr, hit->id.len);
    char *text = arena_strndup(&p->arena, hit->body.ptr, hit->body.len);
    json_object *obj = json_tokener_parse(text);
    struct fhir_index ix;
    fhir_index_compute(&ix, obj);
    json_object_put(obj);
    for (size_t i = 0; i < ix.count; i++)
        push_line(&p->arena, &it->want, canonical(&p->arena, &ix.entries[i]));
    fhir_index_release(&ix);
    p->last_key = hit->key;
    return true;
}

static bool on_entry(int64_t key, const struct store_index_entry *e, void *arg)
{
    struct page *p = arg;
    /* keys of all types interleave: keep this type's entries ("Type.code") */
    size_t n = strlen(p->type);
    if (strncmp(e->param, p->type, n) != 0 || e->param[n] != '.')
        return true;
    size_t lo = 0, hi = p->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->items[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == p->count || p->items[lo].key != key) {
        p->stale++;
        return true;
    }
    push_line(&p->arena, &p->items[lo].have, canonical(&p->arena, e));
    return true;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool same(struct lines *a, struct lines *b)
{
    if (a->count != b->count)
        return false;
    qsort(a->items, a->count, sizeof(char *), cmp_line);
    qsort(b->items, b->count, sizeof(char *), cmp_line);
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return false;
    return true;
}

static enum err verify_type(struct store *s, struct page *p, struct fhir_verify_report *out,
                            fhir_verify_diff_fn *diff, void *arg)
{
    int64_t after = 0;
    for (;;) {
        arena_clear(&p->arena);
        p->count = 0;
        p->stale = 0;
        struct store_query q;
        memset(&q, 0, sizeof(q));
        q.type = p->type;
        q.after_key = after;
        q.limit = VERIFY_BATCH;
        enum err err = store_search(s, &q, on_resource, p, NULL);
        if (err || !p->count)
            return err;
        /* from the first key after the previous page, so deleted keys between pages are seen */
        err = store_entries(s, after, p->last_key, on_entry, p);
        if (err)
            return err;
        for (size_t i = 0; i < p->count; i++)
            if (!same(&p->items[i].want, &p->items[i].have)) {
                out->differ++;
                if (diff)
                    diff(p->type, p->items[i].id, arg);
            }
        out->checked += (int64_t)p->count;
        out->stale_keys += p->stale;
        after = p->last_key;
        if (p->count < VERIFY_BATCH)
            return ERR_OK;
    }
}

enum err fhir_index_verify(struct store *s, struct fhir_verify_report *out,
                           fhir_verify_diff_fn *diff, void *arg)
{
    memset(out, 0, sizeof(*out));
    struct page *p = xcalloc(1, sizeof(*p));
    arena_init(&p->arena, 1 << 20);
    enum err err = ERR_OK;
    for (size_t t = 0; !err && t < fhir_resource_type_count; t++) {
        p->type = fhir_types[fhir_resource_types[t]].name;
        err = verify_type(s, p, out, diff, arg);
    }
    arena_release(&p->arena);
    free(p);
    return err;
}
