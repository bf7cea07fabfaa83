/*
 * reindex.c - type by type, page by page in key order: read up to
 * REINDEX_BATCH current resources, compute their entries on this thread,
 * and replace them in one unit. Safe to rerun; a run that stops half-way
 * leaves the old version recorded, so the next start finishes the job.
 */
#include "fhir/reindex.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "fhir/model.h"
#include "fhir/search_index.h"

#define REINDEX_BATCH 500

struct item {
    char *id;             /* logical id, owned */
    struct fhir_index ix; /* its entries */
};

struct batch {
    const char *type;                 /* resource type */
    struct item items[REINDEX_BATCH]; /* the page */
    size_t count;                     /* used */
    int64_t last_key;                 /* paging cursor */
};

static bool collect(const struct store_hit *hit, void *arg)
{
    struct batch *b = arg;
    struct item *it = &b->items[b->count++];
    it->id = xstrndup(hit->id.ptr, hit->id.len);
    char *text = xstrndup(hit->body.ptr, hit->body.len);
    json_object *obj = json_tokener_parse(text);
    free(text);
    fhir_index_compute(&it->ix, obj);
    json_object_put(obj);
    b->last_key = hit->key;
    return true;
}

static enum err apply(struct store_tx *tx, void *arg)
{
    struct batch *b = arg;
    for (size_t i = 0; i < b->count; i++) {
        enum err err = store_tx_reindex(tx, b->type, b->items[i].id, b->items[i].ix.entries,
                                        b->items[i].ix.count);
        if (err && err != ERR_NOT_FOUND) /* deleted meanwhile: nothing to index */
            return err;
    }
    return ERR_OK;
}

static enum err set_version(struct store_tx *tx, void *arg)
{
    (void)arg;
    return store_tx_meta_set(tx, FHIR_INDEX_VERSION_META, FHIR_SEARCH_INDEX_VERSION);
}

static enum err reindex_type(struct store *s, struct batch *b, size_t *done)
{
    b->last_key = 0;
    for (;;) {
        b->count = 0;
        struct store_query q;
        memset(&q, 0, sizeof(q));
        q.type = b->type;
        q.after_key = b->last_key;
        q.limit = REINDEX_BATCH;
        enum err err = store_search(s, &q, collect, b, NULL);
        if (!err && b->count)
            err = store_write(s, apply, b);
        for (size_t i = 0; i < b->count; i++) {
            free(b->items[i].id);
            fhir_index_release(&b->items[i].ix);
        }
        if (err)
            return err;
        *done += b->count;
        if (b->count < REINDEX_BATCH)
            return ERR_OK;
    }
}

enum err fhir_reindex_all(struct store *s, size_t *out_count)
{
    struct batch *b = xcalloc(1, sizeof(*b));
    size_t done = 0;
    enum err err = ERR_OK;
    for (size_t t = 0; !err && t < fhir_resource_type_count; t++) {
        b->type = fhir_types[fhir_resource_types[t]].name;
        err = reindex_type(s, b, &done);
    }
    free(b);
    if (!err)
        err = store_write(s, set_version, NULL);
    if (out_count)
        *out_count = done;
    return err;
}

bool fhir_reindex_needed(struct store *s)
{
    int64_t version = 0;
    return store_meta_get(s, FHIR_INDEX_VERSION_META, &version) != ERR_OK ||
           version != FHIR_SEARCH_INDEX_VERSION;
}
