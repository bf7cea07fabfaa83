/*
 * write.c - the unit of work runs on the store's writer thread: it reads
 * the current version, checks the preconditions, stamps meta.versionId and
 * meta.lastUpdated, and appends the new version. lastUpdated never goes
 * backwards for one resource, even if the wall clock does.
 */
#include "fhir/write.h"

#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/json.h"
#include "fhir/resource.h"

struct unit {
    struct fhir_write *writes; /* the batch */
    size_t count;              /* writes in it */
    size_t failed;             /* index of the failing write */
};

static void free_bodies(struct fhir_write *writes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(writes[i].body);
        writes[i].body = NULL;
    }
}

static enum err apply_one(struct store_tx *tx, struct fhir_write *w)
{
    struct store_current cur;
    enum err err = store_tx_current(tx, w->type, w->id, &cur);
    if (err)
        return err;
    if (w->if_match >= 0 && cur.version != w->if_match)
        return ERR_VERSION_CONFLICT;
    w->created = cur.version == 0 || cur.deleted;
    w->noop = false;
    if (w->kind == FHIR_WRITE_CREATE && cur.version != 0)
        return ERR_CONFLICT;
    if (w->kind == FHIR_WRITE_DELETE) {
        if (cur.version == 0)
            return ERR_NOT_FOUND;
        if (cur.deleted) {
            w->noop = true;
            w->version = cur.version;
            w->last_updated = cur.last_updated;
            return ERR_OK;
        }
    }
    int64_t now = time_now_ms();
    struct store_row row;
    memset(&row, 0, sizeof(row));
    row.type = str_from(w->type);
    row.id = str_from(w->id);
    row.version = cur.version + 1;
    row.last_updated = now > cur.last_updated ? now : cur.last_updated;
    row.deleted = w->kind == FHIR_WRITE_DELETE;
    if (!row.deleted) {
        json_object *stamped =
            fhir_resource_stamp(w->resource, w->id, row.version, row.last_updated);
        size_t len;
        const char *text = fhir_json_text(stamped, &len);
        free(w->body);
        w->body = xstrndup(text, len);
        w->body_len = len;
        json_object_put(stamped);
        row.body = str_make(w->body, w->body_len);
    }
    err = store_tx_put(tx, &row);
    if (err)
        return err;
    w->version = row.version;
    w->last_updated = row.last_updated;
    return ERR_OK;
}

static enum err run_unit(struct store_tx *tx, void *arg)
{
    struct unit *u = arg;
    for (size_t i = 0; i < u->count; i++) {
        enum err err = apply_one(tx, &u->writes[i]);
        if (err) {
            u->failed = i;
            return err;
        }
    }
    return ERR_OK;
}

enum err fhir_write_run(struct store *s, struct fhir_write *writes, size_t count,
                        size_t *failed_index)
{
    for (size_t i = 0; i < count; i++)
        writes[i].body = NULL;
    struct unit u = {writes, count, 0};
    enum err err = store_write(s, run_unit, &u);
    if (err) {
        free_bodies(writes, count);
        if (failed_index)
            *failed_index = u.failed;
    }
    return err;
}
