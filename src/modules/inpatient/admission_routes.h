/*
 * admission_routes.h - the admission centre's and day surgery's operations
 * on the FHIR API (admission_routes.c, docs/inpatient.md).
 */
#ifndef MODULES_INPATIENT_ADMISSION_ROUTES_H
#define MODULES_INPATIENT_ADMISSION_ROUTES_H

#include <json-c/json.h>
#include <stdbool.h>

struct fhir_app;
struct bed_pool;
struct inpt_call;

/* Add the operations to app before serving (they take beds from pool); false when full. */
bool admission_routes_register(struct fhir_app *app, struct bed_pool *pool);

/*
 * The discharge of k's encounter, if a day-surgery stay (class SS): the
 * PADS score (parameter pads) must allow it; a stay past 24 hours becomes
 * an ordinary one; the follow-up calls (within 24 hours, on day 7) are
 * queued as Tasks. Nothing for other stays. False (answered) when refused.
 */
bool admission_day_surgery_discharge(struct inpt_call *k, json_object *params);

#endif
