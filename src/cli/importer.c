/*
 * importer.c - see importer.h.
 */
#include "cli/importer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/diag.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/validate.h"

void importer_init(struct importer *im, const struct config *cfg, struct store *store)
{
    memset(im, 0, sizeof(*im));
    im->cfg = cfg;
    im->store = store;
}

static void report(const char *where, const struct diag *d)
{
    for (size_t i = 0; i < d->count; i++)
        fprintf(stderr, "yujian import: %s: %s%s%s\n", where,
                d->issues[i].location ? d->issues[i].location : "",
                d->issues[i].location ? ": " : "", d->issues[i].message);
}

enum err importer_add(struct importer *im, json_object *resource, const char *where)
{
    struct arena arena;
    arena_init(&arena, 4096);
    struct diag d;
    diag_init(&d, &arena);
    bool ok = fhir_validate_resource(resource, &d);
    if (!ok) {
        report(where, &d);
        im->rejected++;
        arena_release(&arena);
        return ERR_OK;
    }
    arena_release(&arena);
    size_t i = im->pending;
    json_object *rt = NULL, *id = NULL;
    json_object_object_get_ex(resource, "resourceType", &rt);
    struct fhir_write *w = &im->writes[i];
    memset(w, 0, sizeof(*w));
    w->type = fhir_types[fhir_resource_type_find(str_from(json_object_get_string(rt)))].name;
    if (json_object_object_get_ex(resource, "id", &id)) {
        w->kind = FHIR_WRITE_UPDATE;
        snprintf(im->ids[i], sizeof(im->ids[i]), "%s", json_object_get_string(id));
    } else {
        w->kind = FHIR_WRITE_CREATE;
        fhir_uuid_v7(im->ids[i]);
    }
    w->id = im->ids[i];
    w->resource = json_object_get(resource);
    w->if_match = -1;
    im->objects[i] = w->resource;
    im->pending++;
    if (im->pending == IMPORT_BATCH)
        return importer_flush(im);
    return ERR_OK;
}

enum err importer_flush(struct importer *im)
{
    if (!im->pending)
        return ERR_OK;
    /* The same id twice in one batch is fine: the unit sees its own writes. */
    enum err err = fhir_write_run(im->store, im->writes, im->pending, NULL);
    for (size_t i = 0; i < im->pending; i++) {
        free(im->writes[i].body);
        json_object_put(im->objects[i]);
    }
    if (err)
        fprintf(stderr, "yujian import: batch of %zu failed: %s\n", im->pending, err_message(err));
    else
        im->imported += im->pending;
    im->pending = 0;
    return err;
}

enum err importer_finish(struct importer *im)
{
    return importer_flush(im);
}
