/*
 * admission_routes.h - the admission centre's and day surgery's operations
 * on the FHIR API (admission_routes.c, docs/inpatient.md).
 */
#ifndef MODULES_INPATIENT_ADMISSION_ROUTES_H
#define MODULES_INPATIENT_ADMISSION_ROUTES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct fhir_app;
struct bed_pool;
struct adm_disposition;
struct inpt_call;

/* Add the operations to app before serving (they take beds from pool); false when full. */
bool admission_routes_register(struct fhir_app *app, struct bed_pool *pool);

/*
 * The discharge of k's encounter, if a day-surgery stay (class SS): the
 * PADS score (parameter pads) must allow it when the patient goes home
 * (disposition home, alt-home or not coded); a stay past 24 hours becomes
 * an ordinary one; the follow-up calls (within 24 hours, on day 7) are
 * queued as Tasks unless the patient died. Nothing for other stays. False
 * (answered) when refused.
 */
bool admission_day_surgery_discharge(struct inpt_call *k, json_object *params,
                                     const struct adm_disposition *disposition);

/*
 * A stay ending in death (disposition exp): the death-case discussion
 * (死亡病例讨论, one of the 18 core systems: within a week, DOMAIN.md §12)
 * queued as a Task for the home department. False (answered) on error.
 */
bool admission_death_discussion(struct inpt_call *k, const struct adm_disposition *disposition);

/* A pre-admission Encounter's window (inpatient.pre_admission_days, extended with approval). */
struct inpt_pre_window {
    int64_t start;    /* its registration (period.start), 0 when it has none */
    int64_t deadline; /* the window's end */
    bool extended;    /* with approval */
    bool lapsed;      /* past its end at the moment asked */
};
struct inpt_pre_window inpt_pre_window(const struct config *cfg, json_object *pre, int64_t now_ms);

/* A day-surgery stay becomes an ordinary one: class IMP, why (NULL: past 24 hours) recorded. */
void inpt_convert_stay(json_object *enc, const char *reason);

#endif
