/*
 * inpt_call.h - what the inpatient operations share (private to the
 * folder): one call's setting, reading the encounter and the patient as the
 * caller, judging a bed from the pool, and writing the changes with If-Match
 * on the versions the decisions were made from (bed_routes.c, admission_routes.c).
 */
#ifndef MODULES_INPATIENT_INPT_CALL_H
#define MODULES_INPATIENT_INPT_CALL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "fhir/operation.h"
#include "fhir/rest_internal.h"
#include "modules/inpatient/bed_pool.h"
#include "modules/inpatient/inpatient.h"

#define INPT_MAX_FLOORS 64 /* floors of a department's wards looked at */

/* One call of an inpatient operation. */
struct inpt_call {
    struct rest_ctx *c;
    struct arena *a;
    struct bed_pool *pool;
    int64_t now;
    bool emergency;         /* borrowing limits do not bind (recorded) */
    const char *enc_id;     /* the encounter's id, or NULL */
    json_object *enc;       /* its current version (put at the end) */
    int64_t enc_version;    /* that version */
    const char *department; /* its home department, "Organization/id" */
    const char *patient;    /* its subject, "Patient/id", read only when a bed asks (sex, age) */
    bool patient_read;      /* sex and age below are known */
    char sex;               /* the patient's */
    int age;                /* years, or -1 */
    const char *type;       /* bed type wanted, or NULL */
    struct fhir_write w[6]; /* what the operation writes */
    size_t nw;
    const char *answer_bed; /* for the answer: the bed now held or left */
    enum bed_status answer_status;
    const char *borrowed;   /* the lending department, or NULL */
    int64_t turnaround_min; /* $cleaned, or -1 */
    const char *claims[2];  /* beds claimed in the pool (bed_pool_claim) */
    size_t nclaims;
    bool submitted;          /* the writes are queued: the claims go when they are done */
    json_object *reply;      /* the answer once written; NULL: the bed's (bed, status, encounter) */
    const char *settlement;  /* $admit: how the pre-admission's costs are settled, or NULL */
    const char *day_surgery; /* $discharge of a day-surgery stay: "within-24h" or "converted" */
    const char *disposition; /* $discharge: the coded disposition, or NULL */
    int64_t discussion_due;  /* $discharge of a death: the discussion's deadline, ms, or 0 */
};

/* A bed copied out of the pool, with its fit for the call's patient. */
struct inpt_judged {
    struct inpt_call *k;
    const char *id; /* in: the bed's id */
    bool found;     /* out: the pool has the bed */
    struct bed_place bed;
    enum bed_fit fit;
    int distance;
};

/* A copy of s (NULL stays NULL) in the call's arena. */
char *inpt_keep(struct inpt_call *k, const char *s);

/* Set up k for a call of c (self: the bed pool); reads the emergency parameter. */
void inpt_call_init(struct inpt_call *k, struct rest_ctx *c, json_object *params, void *self);

/* The end of a call: what it holds goes (claims too, unless its writes were queued). */
void inpt_call_release(struct inpt_call *k);

/* The current version of type/id, parsed (the caller puts it); NULL when absent (not answered). */
json_object *inpt_read_current(struct store *s, const char *type, const char *id, int64_t *version);

/* The reference of o's member key, or NULL. */
const char *inpt_ref_text(json_object *o, const char *key);

/*
 * The current version of type/id as the caller reads it (the caller puts it),
 * recorded for the audit trail with its subject; NULL (answered 404 or 403,
 * naming the parameter location) when absent or not theirs.
 */
json_object *inpt_read_as_caller(struct inpt_call *k, const char *type, const char *id,
                                 const char *location, int64_t *version);

/* The patient's sex and age, for the bed's restrictions. */
void inpt_read_patient(struct inpt_call *k, const char *patient);

/* The encounter of the call, as the caller reads it; false (answered) when it may not be used. */
bool inpt_load_encounter(struct inpt_call *k, const char *id);

/* "Encounter/id" or "id" -> id. */
const char *inpt_id_of(const char *ref, const char *type);

/* What the home department has in the bed's hospital: its floors and its group. */
void inpt_home_request(const struct bed_view *v, const struct inpt_call *k, const char *hospital,
                       struct bed_floor *floors, struct bed_request *rq);

/* b copied into the call's arena (the pool moves on after a visit). */
void inpt_copy_place(struct inpt_call *k, const struct bed_place *b, struct bed_place *out);

/* The bed id of the call from the pool; false (answered) when there is no such bed. */
bool inpt_judge_bed(struct inpt_call *k, const char *id, struct inpt_judged *j);

/* Add {name, member: value} (value taken) to a Parameters list. */
void inpt_add_part(json_object *list, const char *name, const char *member, json_object *value);

/* A Reference {reference, display}. */
json_object *inpt_reference(const char *ref, const char *display);

/* A Parameters resource, and its list. */
json_object *inpt_parameters(json_object **list);

/* Answer 200 with out (put). */
void inpt_send(struct rest_ctx *c, json_object *out);

/*
 * Queue a write of res (taken) as type/id at version (-1: any), or a create
 * with a new id when id is NULL; false (answered) when it is not valid.
 */
bool inpt_add_write(struct inpt_call *k, const char *type, const char *id, json_object *res,
                    int64_t version);

/* The bed's next version: status to (for encounter, or none); false (answered) when it moved on. */
bool inpt_write_bed(struct inpt_call *k, const struct bed_place *b, enum bed_status to,
                    const char *encounter, const char *reason);

/* The encounter's next version (k->enc, taken). */
bool inpt_write_encounter(struct inpt_call *k);

/* Queue k's writes in one unit; the answer (or the error) comes when it is done. */
void inpt_submit(struct inpt_call *k);

/* The move ev of bed b, or false (answered 409) when its status does not allow it. */
bool inpt_move(struct inpt_call *k, const struct bed_place *b, enum bed_event ev,
               enum bed_status *to);

/* May the encounter take the judged bed? Sets k->borrowed; false (answered) when not. */
bool inpt_may_take(struct inpt_call *k, const struct inpt_judged *j);

/* "Location/id" in the call's arena. */
const char *inpt_bed_ref(struct inpt_call *k, const char *id);

/* The encounter takes the bed now: in-progress, its period begun. */
void inpt_encounter_admitted(struct inpt_call *k);

/* The whole-number parameter name: none when absent, LONG_MIN when malformed. */
long inpt_param_int(json_object *params, const char *name, long none);

/* Is parameter name the boolean true? */
bool inpt_is_true(json_object *params, const char *name);

/* The bed the encounter holds (active or reserved), judged; -1 (answered) when none. */
int inpt_held_bed(struct inpt_call *k, struct inpt_judged *j, bool *occupied);

/*
 * The encounter ends: finished (cancelled when it never took its bed), with
 * a disposition: coded when it is one of discharge-disposition's codes
 * (k->disposition), else kept as text.
 */
void inpt_encounter_ended(struct inpt_call *k, bool admitted, const char *disposition);

#endif
