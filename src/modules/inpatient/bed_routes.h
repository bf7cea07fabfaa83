/*
 * bed_routes.h - the bed pool's operations on the FHIR API ($find-bed,
 * $assign-bed, $transfer, $discharge, $cleaned, $block, $unblock; see
 * bed_routes.c and docs/inpatient.md).
 */
#ifndef MODULES_INPATIENT_BED_ROUTES_H
#define MODULES_INPATIENT_BED_ROUTES_H

struct fhir_app;
struct bed_pool;

/* Add the operations to app before serving; NULL when they could not be added. */
struct bed_pool *bed_routes_register(struct fhir_app *app);
/* After serving: the pool goes. NULL is a no-op. */
void bed_routes_free(struct bed_pool *pool);

#endif
