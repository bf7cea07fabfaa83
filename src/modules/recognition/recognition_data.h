/*
 * recognition_data.h - the reference data recognition decides with, read
 * from the store and kept between calls: the catalogue (CodeSystem), the
 * laboratories' codes mapped to its items (ConceptMap) and the
 * institutions (Organization: EQA record, alliance, city).
 *
 * A snapshot holds what was read; it is kept while the store's generation
 * of those three types (store_generation) stays the same, so a change to a
 * catalogue, a mapping or an EQA record is seen by the next call. Calls take
 * a snapshot and give it back; an old one is freed when its last call is
 * done. Institutions are read into the snapshot the first time a call needs
 * them. These are directory data: read directly, not as the caller.
 */
#ifndef MODULES_RECOGNITION_RECOGNITION_DATA_H
#define MODULES_RECOGNITION_RECOGNITION_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "modules/recognition/recognition.h"
#include "fhir/scan.h"
#include "store/store.h"

/* A laboratory's own code that an equivalent ConceptMap entry maps to a catalogue item. */
struct recog_local {
    const char *system, *code;
    const struct recog_item *item;
};

/* An institution as recognition sees it. */
struct recog_institution {
    struct recog_place place;
    struct recog_eqa *eqa; /* its EQA record */
    size_t neqa;
    const char *city_org;      /* "Organization/id" of its city's health commission, or NULL */
    const char *city_org_name; /* and its name */
    const char *top_org;       /* the top of its partOf tree (the province's commission) */
    const char *top_org_name;  /* and its name */
};

struct recog_snapshot {
    bool ok;       /* a usable catalogue was found */
    char why[300]; /* when not: why (Chinese / English) */
    struct recog_catalogue cat;
    const struct recog_local *locals; /* every mapped local code */
    size_t nlocals;
};

struct recog_data;

/* Keep reference data of store (borrowed, as cfg). */
struct recog_data *recog_data_new(struct store *store, const struct config *cfg);
void recog_data_free(struct recog_data *d);

/* The current version of "Type/id" in store, parsed (the caller puts it); NULL if none. */
json_object *recog_data_read(struct store *store, const char *ref);

/*
 * The catalogue item res's code is in sn, by the item's own code or a
 * laboratory's code mapped to it, when it is one of items[] (n of them;
 * items NULL: any item); else NULL.
 */
const struct recog_item *recog_snapshot_item(const struct recog_snapshot *sn, json_object *res,
                                             const struct recog_item *const *items, size_t n);

/* The current snapshot, read again first if the store changed; give it back with release. */
struct recog_snapshot *recog_data_acquire(struct recog_data *d);
void recog_data_release(struct recog_data *d, struct recog_snapshot *sn);

/* The institution "Organization/id" of sn (read now if not yet); NULL if there is none. */
const struct recog_institution *recog_data_institution(struct recog_data *d,
                                                       struct recog_snapshot *sn, const char *ref);

#endif
