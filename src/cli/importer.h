/*
 * importer.h - loading resources straight into the store (no HTTP), in
 * batches of IMPORT_BATCH writes per durable unit. Used by `yujian import`
 * and `yujian demo`. A resource with an id is created or updated under that
 * id; one without gets a new id. Invalid resources are reported and skipped.
 */
#ifndef CLI_IMPORTER_H
#define CLI_IMPORTER_H

#include <json-c/json.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"
#include "fhir/write.h"
#include "store/store.h"

#define IMPORT_BATCH 500

struct importer {
    const struct config *cfg;               /* borrowed */
    struct store *store;                    /* borrowed */
    struct fhir_write writes[IMPORT_BATCH]; /* pending batch */
    json_object *objects[IMPORT_BATCH];     /* owned references of the batch */
    char ids[IMPORT_BATCH][37];             /* generated ids */
    size_t pending;                         /* writes in the batch */
    size_t imported;                        /* resources written */
    size_t rejected;                        /* resources refused */
};

void importer_init(struct importer *im, const struct config *cfg, struct store *store);
/*
 * Queue one resource (a reference is taken); where is a label for error
 * messages ("line 12"). Flushes when the batch is full.
 */
enum err importer_add(struct importer *im, json_object *resource, const char *where);
/* Write the pending batch. */
enum err importer_flush(struct importer *im);
/* Flush and drop everything still held. */
enum err importer_finish(struct importer *im);

#endif
