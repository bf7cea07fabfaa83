/*
 * bed_pool.h - every hospital's beds in memory, for deciding fast: a table
 * derived from the Location resources (DESIGN.md §2: derived tables are
 * rebuilt from the resources, never the other way round).
 *
 * The pool is loaded once, then kept in step with the store: when the
 * store's generation of Location moved, the versions written since the
 * last seen one (store history after a seq) are applied, so a status
 * change costs one short history read, not a reload. Each bed carries its
 * ward, department, specialty group, building and floor, resolved from its
 * partOf chain (bed → room → ward → level → building → site):
 *
 *   department  the ward's managingOrganization
 *   group       the ward's specialty-group extension
 *   floor       the floor-number extension of the nearest level (or ward)
 *   building    the nearest building (or site)
 *   hospital    the managingOrganization of the nearest level, building or
 *               site; failing that, the bed's custodian
 *
 * Decisions read the pool under its lock (bed_pool_visit) and copy out
 * what they keep. A decision read here is advice: a write that acts on it
 * checks the bed's version inside its unit (If-Match), so a bed taken in
 * between is never given twice.
 */
#ifndef MODULES_INPATIENT_BED_POOL_H
#define MODULES_INPATIENT_BED_POOL_H

#include <stddef.h>

#include "core/config.h"
#include "core/err.h"
#include "modules/inpatient/inpatient.h"
#include "store/store.h"

struct bed_pool;

/* A ward as the pool sees it. */
struct bed_ward {
    const char *id;         /* Location id */
    const char *name;       /* its name */
    const char *department; /* "Organization/id", or NULL */
    const char *group;      /* specialty group, or NULL */
    const char *hospital;   /* "Organization/id", or NULL */
    struct bed_floor at;    /* building and floor */
    int beds;               /* beds in it (in use or not) */
};

/* What a visitor sees: the pool, locked and in step with the store. */
struct bed_view {
    const struct bed_pool *pool;
};

/* Keep the beds of store (borrowed, as cfg). */
struct bed_pool *bed_pool_new(struct store *store, const struct config *cfg);
void bed_pool_free(struct bed_pool *p);
/* Load the pool now, on a thread of its own (the server, at start); bed_pool_free waits for it. */
void bed_pool_warm(struct bed_pool *p);

/* Bring p in step with the store, then call fn with it locked: fn must not wait on anything. */
typedef void bed_visit_fn(const struct bed_view *v, void *arg);
enum err bed_pool_visit(struct bed_pool *p, bed_visit_fn *fn, void *arg);

/*
 * Claim the bed id for a change about to be written, or false when another
 * call of this server holds it: the loser of a race is told at once instead
 * of queueing a unit that must fail (If-Match stays the guard between
 * servers). Every claim is released, after its write is done or given up.
 */
bool bed_pool_claim(struct bed_pool *p, const char *id);
void bed_pool_release(struct bed_pool *p, const char *id);

/* The bed with Location id, or NULL (not a bed, or unknown). */
const struct bed_place *bed_view_bed(const struct bed_view *v, const char *id);

/* The beds of a hospital ("Organization/id"), in id order: *count of them. */
const struct bed_place *const *bed_view_beds(const struct bed_view *v, const char *hospital,
                                             size_t *count);

/* Every bed, by hospital then id: *count of them. */
const struct bed_place *const *bed_view_all_beds(const struct bed_view *v, size_t *count);

/* The wards of a hospital, in id order: *count of them. */
const struct bed_ward *const *bed_view_wards(const struct bed_view *v, const char *hospital,
                                             size_t *count);

/* The wards department ("Organization/id") owns, in id order: *count of them. */
const struct bed_ward *const *bed_view_department_wards(const struct bed_view *v,
                                                        const char *department, size_t *count);

/* The hospital of the first ward department ("Organization/id") owns, or NULL. */
const char *bed_view_department_hospital(const struct bed_view *v, const char *department);

/* The ward with Location id, or NULL. */
const struct bed_ward *bed_view_ward(const struct bed_view *v, const char *id);

#endif
