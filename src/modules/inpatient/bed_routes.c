/*
 * bed_routes.c - the whole-hospital bed pool over the FHIR API:
 *
 *   GET|POST [base]/Location/$find-bed      ranked free beds for a patient
 *   POST [base]/Location/[id]/$assign-bed   an encounter takes (or reserves) the bed
 *   POST [base]/Encounter/[id]/$transfer    to another bed; the old one is cleaned
 *   POST [base]/Encounter/[id]/$discharge   the bed goes to cleaning (a reservation: free)
 *   POST [base]/Location/[id]/$cleaned      cleaning done: free, with the turnaround
 *   POST [base]/Location/[id]/$block        out of use (maintenance) or isolation
 *   POST [base]/Location/[id]/$unblock      back into use
 *   GET  [base]/Location/$bed-board         the wards' beds as they are, with who is in them
 *
 * Structure and status come from the bed pool (bed_pool.h); every change is
 * written with If-Match on the versions the decision was made from
 * (inpt_call.c), so two clerks racing for the last bed cannot both have it:
 * the second is told 409. The Encounter is read and written as the caller
 * (its reach, the audit trail); beds are directory data.
 */
#include "modules/inpatient/bed_routes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/operation.h"
#include "fhir/rest_internal.h"
#include "modules/inpatient/admission.h"
#include "modules/inpatient/admission_routes.h"
#include "modules/inpatient/bed_edit.h"
#include "modules/inpatient/bed_pool.h"
#include "modules/inpatient/inpatient_indicators.h"
#include "modules/inpatient/inpt_call.h"

#define DEFINITION(name) INPT_BASE "/OperationDefinition/" name
#define MAX_CANDIDATES   200 /* beds one $find-bed lists */

/* Location/[id]/$assign-bed: encounter=Encounter/x [reserve=true] [emergency=true]. */
static void run_assign(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                       void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    bool reserving = inpt_is_true(params, "reserve");
    struct inpt_judged j;
    const char *held = NULL, *held_status = NULL;
    enum bed_status to;
    if (!inpt_load_encounter(k, inpt_id_of(fhir_params_text(params, "encounter"), "Encounter")))
        goto out;
    const char *ref = inpt_bed_ref(k, id);
    if (bed_edit_current(k->enc, &held, &held_status) >= 0 &&
        (strcmp(held, ref) || strcmp(held_status, "reserved") || reserving)) {
        rest_error(c, ERR_CONFLICT, "encounter",
                   "该患者已有床位 %s，请用 $transfer 转床 / the encounter holds %s already "
                   "(%s): use $transfer",
                   held, held, held_status);
        goto out;
    }
    if (!inpt_judge_bed(k, id, &j) || !inpt_may_take(k, &j) ||
        !inpt_move(k, &j.bed, reserving ? BED_EV_RESERVE : BED_EV_OCCUPY, &to))
        goto out;
    const char *holder = arena_printf(k->a, "Encounter/%s", k->enc_id);
    if (!inpt_write_bed(k, &j.bed, to, holder, NULL))
        goto out;
    bed_edit_place(k->enc, ref, j.bed.name, reserving ? "reserved" : "active", k->borrowed, k->now);
    if (!reserving)
        inpt_encounter_admitted(k);
    if (!inpt_write_encounter(k))
        goto out;
    k->answer_bed = ref;
    k->answer_status = to;
    inpt_submit(k);
out:
    inpt_call_release(k);
}

/* Encounter/[id]/$transfer: bed=Location/y [emergency=true]. */
static void run_transfer(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                         void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    struct inpt_judged from, dest;
    bool occupied = false;
    enum bed_status from_to, dest_to;
    const char *dest_id = inpt_id_of(fhir_params_text(params, "bed"), "Location");
    if (!inpt_load_encounter(k, id))
        goto out;
    int at = inpt_held_bed(k, &from, &occupied);
    if (at < 0)
        goto out;
    if (!dest_id || !strcmp(dest_id, from.bed.id)) {
        rest_error(c, ERR_INVALID, "bed", "give the new bed as 'bed' (Location/id), not the old");
        goto out;
    }
    if (!inpt_judge_bed(k, dest_id, &dest) || !inpt_may_take(k, &dest) ||
        !inpt_move(k, &from.bed, occupied ? BED_EV_VACATE : BED_EV_RELEASE, &from_to) ||
        !inpt_move(k, &dest.bed, occupied ? BED_EV_OCCUPY : BED_EV_RESERVE, &dest_to))
        goto out;
    const char *holder = arena_printf(k->a, "Encounter/%s", k->enc_id);
    if (!inpt_write_bed(k, &from.bed, from_to, NULL, NULL) ||
        !inpt_write_bed(k, &dest.bed, dest_to, holder, NULL))
        goto out;
    bed_edit_leave(k->enc, at, k->now);
    bed_edit_place(k->enc, inpt_bed_ref(k, dest.bed.id), dest.bed.name,
                   occupied ? "active" : "reserved", k->borrowed, k->now);
    if (!inpt_write_encounter(k))
        goto out;
    k->answer_bed = inpt_bed_ref(k, dest.bed.id);
    k->answer_status = dest_to;
    inpt_submit(k);
out:
    inpt_call_release(k);
}

/*
 * Encounter/[id]/$discharge [disposition=code or text]: the bed to cleaning,
 * or a reservation freed. A death queues the death-case discussion.
 */
static void run_discharge(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                          void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    struct inpt_judged from;
    bool occupied = false;
    enum bed_status to;
    if (!inpt_load_encounter(k, id))
        goto out;
    int at = inpt_held_bed(k, &from, &occupied);
    if (at < 0 || !inpt_move(k, &from.bed, occupied ? BED_EV_VACATE : BED_EV_RELEASE, &to) ||
        !inpt_write_bed(k, &from.bed, to, NULL, NULL))
        goto out;
    bed_edit_leave(k->enc, at, k->now);
    const char *status = bed_edit_text(k->enc, "status");
    bool admitted = occupied || (status && strcmp(status, "planned"));
    const char *disposition = fhir_params_text(params, "disposition");
    const struct adm_disposition *coded = adm_disposition_find(disposition);
    if (admitted && (!admission_day_surgery_discharge(k, params, coded) ||
                     !admission_death_discussion(k, coded)))
        goto out;
    inpt_encounter_ended(k, admitted, disposition);
    if (!inpt_write_encounter(k))
        goto out;
    k->answer_bed = inpt_bed_ref(k, from.bed.id);
    k->answer_status = to;
    inpt_submit(k);
out:
    inpt_call_release(k);
}

/* A change of the bed alone: $cleaned, $block, $unblock. */
static void change_bed(struct rest_ctx *c, const char *id, json_object *params, void *self,
                       enum bed_event ev)
{
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    struct inpt_judged j;
    enum bed_status to;
    const char *reason = fhir_params_text(params, "reason");
    if ((ev == BED_EV_BLOCK || ev == BED_EV_ISOLATE) && (!reason || !*reason)) {
        rest_error(c, ERR_INVALID, "reason",
                   "停用须说明原因 / give the 'reason' for closing the bed");
        goto out;
    }
    if (reason && strlen(reason) > 500) {
        rest_error(c, ERR_INVALID, "reason", "the reason is longer than 500 bytes");
        goto out;
    }
    if (!inpt_judge_bed(k, id, &j) || !inpt_move(k, &j.bed, ev, &to))
        goto out;
    if (ev == BED_EV_CLEANED && j.bed.since_ms > 0 && k->now >= j.bed.since_ms)
        k->turnaround_min = (k->now - j.bed.since_ms) / 60000;
    if (!inpt_write_bed(k, &j.bed, to, NULL, ev == BED_EV_UNBLOCK ? NULL : reason))
        goto out;
    k->answer_bed = inpt_bed_ref(k, id);
    k->answer_status = to;
    inpt_submit(k);
out:
    inpt_call_release(k);
}

static void run_cleaned(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                        void *self)
{
    (void)type;
    change_bed(c, id, params, self, BED_EV_CLEANED);
}

static void run_block(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                      void *self)
{
    (void)type;
    change_bed(c, id, params, self,
               inpt_is_true(params, "isolation") ? BED_EV_ISOLATE : BED_EV_BLOCK);
}

static void run_unblock(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                        void *self)
{
    (void)type;
    change_bed(c, id, params, self, BED_EV_UNBLOCK);
}

/* ---- $find-bed ---- */

/* The ranked beds of one call, and the free beds that did not fit, by reason. */
struct finding {
    struct inpt_call *k;
    const char *hospital;        /* in: or NULL (from the home department's wards) */
    size_t max;                  /* in: candidates wanted */
    struct bed_candidate *cands; /* out: copies, ranked, at most max */
    size_t ncands;
    size_t fitting;                        /* beds that fit, listed or not */
    size_t unfit[BED_UNFIT_ISOLATION + 1]; /* free beds that do not, by reason */
    bool no_wards;                         /* the home department has no ward here */
};

/* Keep c among the best f->max of f->cands (sorted, best first). */
static void rank(struct finding *f, const struct bed_candidate *c)
{
    if (f->ncands == f->max && bed_candidate_cmp(c, &f->cands[f->max - 1]) >= 0)
        return;
    size_t lo = 0, hi = f->ncands;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bed_candidate_cmp(&f->cands[mid], c) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t keep_n = f->ncands < f->max ? f->ncands : f->max - 1;
    memmove(&f->cands[lo + 1], &f->cands[lo], (keep_n - lo) * sizeof(*c));
    f->cands[lo] = *c;
    if (f->ncands < f->max)
        f->ncands++;
}

/* What each ward decides for the call's patient, found by the ward's id pointer (the pool's). */
struct ward_memo {
    struct ward_verdict {
        const char *ward; /* NULL = free slot */
        enum bed_fit fit;
        int distance;
    } * slots;
    size_t mask; /* slots - 1, a power of two minus one */
};

static void memo_init(struct ward_memo *m, struct arena *a, size_t wards)
{
    size_t n = 64;
    while (n < wards * 2)
        n *= 2;
    m->slots = arena_alloc(a, n * sizeof(*m->slots));
    memset(m->slots, 0, n * sizeof(*m->slots));
    m->mask = n - 1;
}

static enum bed_fit memo_fit(struct ward_memo *m, const struct bed_request *rq,
                             const struct bed_place *b, int *distance)
{
    if (!b->ward)
        return bed_fit_ward(rq, b, distance);
    size_t i = ((uintptr_t)b->ward >> 4) & m->mask;
    while (m->slots[i].ward && m->slots[i].ward != b->ward)
        i = (i + 1) & m->mask;
    if (!m->slots[i].ward) {
        m->slots[i].fit = bed_fit_ward(rq, b, &m->slots[i].distance);
        m->slots[i].ward = b->ward;
    }
    *distance = m->slots[i].distance;
    return m->slots[i].fit;
}

/* Every free bed of the hospital judged; the best kept, the rest counted by reason. */
static void find(const struct bed_view *v, void *arg)
{
    struct finding *f = arg;
    struct inpt_call *k = f->k;
    const char *hospital =
        f->hospital ? f->hospital : bed_view_department_hospital(v, k->department);
    f->hospital = inpt_keep(k, hospital);
    struct bed_floor floors[INPT_MAX_FLOORS];
    struct bed_request rq;
    inpt_home_request(v, k, hospital, floors, &rq);
    f->no_wards = rq.nfloors == 0;
    size_t n = 0;
    const struct bed_place *const *beds = bed_view_beds(v, hospital, &n);
    f->cands = arena_alloc(k->a, f->max * sizeof(*f->cands));
    size_t nwards = 0;
    bed_view_wards(v, hospital, &nwards);
    struct ward_memo memo;
    memo_init(&memo, k->a, nwards);
    for (size_t i = 0; i < n; i++) {
        if (beds[i]->status != BED_FREE || !beds[i]->active)
            continue;
        struct bed_candidate c = {beds[i], BED_FIT_OWN, 0};
        c.fit = bed_fit_bed(&rq, beds[i], false);
        if (c.fit == BED_FIT_OWN)
            c.fit = memo_fit(&memo, &rq, beds[i], &c.distance);
        if (c.fit == BED_FIT_OWN || c.fit == BED_FIT_BORROW) {
            f->fitting++;
            rank(f, &c);
        } else {
            f->unfit[c.fit]++;
        }
    }
    for (size_t i = 0; i < f->ncands; i++) { /* copied out: the pool moves on after the visit */
        struct bed_place *copy = arena_alloc(k->a, sizeof(*copy));
        inpt_copy_place(k, f->cands[i].bed, copy);
        f->cands[i].bed = copy;
    }
}

/* The patient of a $find-bed without an encounter: department, and patient or gender and age. */
static bool find_patient(struct inpt_call *k, json_object *params)
{
    k->department = inpt_keep(k, fhir_params_text(params, "department"));
    if (!k->department || strncmp(k->department, "Organization/", 13)) {
        rest_error(k->c, ERR_INVALID, "department",
                   "须给出就诊 encounter 或科室 department (Organization/id) / give the "
                   "'encounter', or the home 'department'");
        return false;
    }
    const char *patient = fhir_params_text(params, "patient");
    if (patient) {
        const char *pid = inpt_id_of(patient, "Patient");
        if (!fhir_id_is_valid(pid) || !rest_may_read(k->c, "Patient", pid)) {
            rest_error(k->c, ERR_FORBIDDEN, "patient", "'%.80s' is not in your records", patient);
            return false;
        }
        inpt_read_patient(k, arena_printf(k->a, "Patient/%s", pid));
        return true;
    }
    const char *g = fhir_params_text(params, "gender");
    k->sex = g && !strcmp(g, "male") ? 'm' : g && !strcmp(g, "female") ? 'f' : 0;
    long age = inpt_param_int(params, "age", -1);
    if (age != -1 && (age < 0 || age > 150)) {
        rest_error(k->c, ERR_INVALID, "age", "'age' is a whole number of years, 0 to 150");
        return false;
    }
    k->age = (int)age;
    return true;
}

static void put_candidate(struct inpt_call *k, json_object *list, const struct bed_candidate *cd)
{
    const struct bed_place *b = cd->bed;
    json_object *parts = json_object_new_array();
    inpt_add_part(parts, "bed", "valueReference", inpt_reference(inpt_bed_ref(k, b->id), b->name));
    if (b->ward)
        inpt_add_part(parts, "ward", "valueReference",
                      inpt_reference(inpt_bed_ref(k, b->ward), b->ward_name));
    if (b->department)
        inpt_add_part(parts, "department", "valueReference", inpt_reference(b->department, NULL));
    inpt_add_part(parts, "fit", "valueCode", json_object_new_string(bed_fit_code(cd->fit)));
    if (cd->distance != INT32_MAX)
        inpt_add_part(parts, "floor-distance", "valueInteger", json_object_new_int(cd->distance));
    if (b->type)
        inpt_add_part(parts, "bed-type", "valueCode", json_object_new_string(b->type));
    const char *why = cd->fit == BED_FIT_OWN
                          ? arena_printf(k->a, "%s / %s", bed_fit_zh(cd->fit), bed_fit_en(cd->fit))
                          : arena_printf(k->a,
                                         "向%s借床（同专科组，相距 %d 层）/ borrowed from %s (same "
                                         "specialty group, %d floor(s) away)",
                                         b->ward_name ? b->ward_name : "", cd->distance,
                                         b->ward_name ? b->ward_name : "", cd->distance);
    inpt_add_part(parts, "reason", "valueString", json_object_new_string(why));
    json_object *p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string("candidate"));
    json_object_object_add(p, "part", parts);
    json_object_array_add(list, p);
}

static void put_finding(struct inpt_call *k, const struct finding *f)
{
    json_object *list;
    json_object *out = inpt_parameters(&list);
    inpt_add_part(list, "department", "valueReference", inpt_reference(k->department, NULL));
    if (f->hospital)
        inpt_add_part(list, "hospital", "valueReference", inpt_reference(f->hospital, NULL));
    inpt_add_part(list, "total", "valueInteger", json_object_new_int64((int64_t)f->fitting));
    for (size_t i = 0; i < f->ncands; i++)
        put_candidate(k, list, &f->cands[i]);
    for (int r = BED_UNFIT_INACTIVE; r <= BED_UNFIT_ISOLATION; r++) {
        if (!f->unfit[r])
            continue;
        json_object *parts = json_object_new_array();
        inpt_add_part(parts, "reason", "valueCode", json_object_new_string(bed_fit_code(r)));
        inpt_add_part(parts, "count", "valueInteger", json_object_new_int64((int64_t)f->unfit[r]));
        inpt_add_part(
            parts, "text", "valueString",
            json_object_new_string(arena_printf(k->a, "%s / %s", bed_fit_zh(r), bed_fit_en(r))));
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string("not-suitable"));
        json_object_object_add(p, "part", parts);
        json_object_array_add(list, p);
    }
    if (f->no_wards)
        inpt_add_part(
            list, "note", "valueString",
            json_object_new_string("该科室在本院没有病区，只能借床 / the department has no "
                                   "ward in this hospital: only borrowed beds"));
    inpt_send(k->c, out);
}

/* Location/$find-bed: encounter=Encounter/x | department=Organization/d [patient|gender,age]. */
static void run_find(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                     void *self)
{
    (void)type;
    (void)id;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    struct finding f = {.k = k, .max = 10};
    const char *enc = fhir_params_text(params, "encounter");
    long count = inpt_param_int(params, "count", 10);
    if (count < 1 || count > MAX_CANDIDATES) {
        rest_error(c, ERR_INVALID, "count", "'count' is 1 to %d", MAX_CANDIDATES);
        goto out;
    }
    f.max = (size_t)count;
    if (enc ? !inpt_load_encounter(k, inpt_id_of(enc, "Encounter")) : !find_patient(k, params))
        goto out;
    if (!k->patient_read)
        inpt_read_patient(k, k->patient);
    k->type = inpt_keep(k, fhir_params_text(params, "bed-type"));
    f.hospital = inpt_keep(k, fhir_params_text(params, "hospital"));
    enum err err = bed_pool_visit(k->pool, find, &f);
    if (err) {
        rest_error(c, err, NULL, "the beds could not be read: %s", err_message(err));
        goto out;
    }
    put_finding(k, &f);
out:
    inpt_call_release(k);
}

/* ---- $bed-board ---- */

/* A ward and its beds, copied out of the pool. */
struct board_ward {
    struct bed_ward ward;
    struct bed_place *beds;
    size_t nbeds;
};

struct board {
    struct inpt_call *k;
    const char *hospital; /* in */
    const char *ward;     /* in: one ward's id, or NULL for all */
    bool beds;            /* in: the beds too, or the wards alone */
    struct board_ward *wards;
    size_t nwards;
};

static int place_order(const void *a, const void *b)
{
    const struct bed_place *x = a, *y = b;
    int c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
    return c ? c : strcmp(x->id, y->id);
}

static void copy_board(const struct bed_view *v, void *arg)
{
    struct board *bd = arg;
    struct inpt_call *k = bd->k;
    size_t nw = 0, nb = 0;
    const struct bed_ward *const *wards = bed_view_wards(v, bd->hospital, &nw);
    const struct bed_place *const *beds = bed_view_beds(v, bd->hospital, &nb);
    bd->wards = arena_alloc(k->a, (nw ? nw : 1) * sizeof(*bd->wards));
    memset(bd->wards, 0, (nw ? nw : 1) * sizeof(*bd->wards));
    for (size_t i = 0; i < nw; i++) {
        if (bd->ward && strcmp(bd->ward, wards[i]->id))
            continue;
        struct board_ward *w = &bd->wards[bd->nwards++];
        w->ward = *wards[i];
        w->ward.id = inpt_keep(k, wards[i]->id);
        w->ward.name = inpt_keep(k, wards[i]->name);
        w->ward.department = inpt_keep(k, wards[i]->department);
        w->ward.group = inpt_keep(k, wards[i]->group);
        w->beds = arena_alloc(k->a, ((size_t)wards[i]->beds + 1) * sizeof(*w->beds));
        for (size_t j = 0; bd->beds && j < nb && w->nbeds < (size_t)wards[i]->beds; j++)
            if (beds[j]->ward && !strcmp(beds[j]->ward, wards[i]->id))
                inpt_copy_place(k, beds[j], &w->beds[w->nbeds++]);
        qsort(w->beds, w->nbeds, sizeof(*w->beds), place_order);
    }
}

/* Who lies in (or is expected in) a bed, as the caller may see it. */
static void put_occupant(struct inpt_call *k, json_object *parts, const struct bed_place *b,
                         const char *ward_department)
{
    if (!b->encounter || strncmp(b->encounter, "Encounter/", 10))
        return;
    const char *id = b->encounter + 10;
    int64_t version = 0;
    json_object *enc = inpt_read_current(k->c->app->store, "Encounter", id, &version);
    if (!enc || !rest_may_read_current(k->c, "Encounter", id, enc)) {
        json_object_put(enc);
        return;
    }
    const char *patient = inpt_ref_text(enc, "subject");
    rest_touched(k->c, "Encounter", id, patient);
    inpt_add_part(parts, "encounter", "valueReference", inpt_reference(b->encounter, NULL));
    const char *home = inpt_ref_text(enc, "serviceProvider");
    bool borrowed = home && ward_department && strcmp(home, ward_department);
    inpt_add_part(parts, "borrowed", "valueBoolean", json_object_new_boolean(borrowed));
    if (borrowed)
        inpt_add_part(parts, "home-department", "valueReference", inpt_reference(home, NULL));
    json_object *p = patient && !strncmp(patient, "Patient/", 8)
                         ? inpt_read_current(k->c->app->store, "Patient", patient + 8, &version)
                         : NULL;
    json_object *names = NULL, *name = NULL;
    if (p && json_object_object_get_ex(p, "name", &names) &&
        json_object_is_type(names, json_type_array) && json_object_array_length(names))
        name = json_object_array_get_idx(names, 0);
    const char *text = bed_edit_text(name, "text");
    if (patient)
        inpt_add_part(parts, "patient", "valueReference", inpt_reference(patient, text));
    if (p)
        rest_touched(k->c, "Patient", patient + 8, patient);
    json_object_put(p);
    json_object_put(enc);
}

static void put_board_ward(struct inpt_call *k, json_object *list, const struct board_ward *w)
{
    json_object *parts = json_object_new_array();
    inpt_add_part(parts, "ward", "valueReference",
                  inpt_reference(inpt_bed_ref(k, w->ward.id), w->ward.name));
    if (w->ward.department)
        inpt_add_part(parts, "department", "valueReference",
                      inpt_reference(w->ward.department, NULL));
    if (w->ward.group)
        inpt_add_part(parts, "group", "valueCode", json_object_new_string(w->ward.group));
    if (w->ward.at.floor != INPT_NO_FLOOR)
        inpt_add_part(parts, "floor", "valueInteger", json_object_new_int(w->ward.at.floor));
    inpt_add_part(parts, "beds", "valueInteger", json_object_new_int(w->ward.beds));
    for (size_t i = 0; i < w->nbeds; i++) {
        const struct bed_place *b = &w->beds[i];
        json_object *bed = json_object_new_array();
        inpt_add_part(bed, "bed", "valueReference",
                      inpt_reference(inpt_bed_ref(k, b->id), b->name));
        inpt_add_part(bed, "status", "valueCode",
                      json_object_new_string(b->active ? bed_status_code(b->status) : "inactive"));
        if (b->since_ms)
            inpt_add_part(bed, "since", "valueInstant", bed_edit_instant(b->since_ms));
        if (b->type)
            inpt_add_part(bed, "bed-type", "valueCode", json_object_new_string(b->type));
        put_occupant(k, bed, b, w->ward.department);
        inpt_add_part(parts, "bed", "part", bed);
    }
    inpt_add_part(list, "ward", "part", parts);
}

/*
 * Location/$bed-board [ward=Location/w] [hospital=Organization/h] [beds=false]: the wards
 * (with how many beds each has) and their beds as they are, or the wards alone.
 */
static void run_board(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                      void *self)
{
    (void)type;
    (void)id;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    const struct fhir_reach *r = rest_reach(c);
    struct board bd = {.k = k,
                       .hospital = r->kind == FHIR_REACH_ORG ? r->org
                                                             : fhir_params_text(params, "hospital"),
                       .ward = inpt_id_of(fhir_params_text(params, "ward"), "Location"),
                       .beds = !fhir_params_text(params, "beds") || inpt_is_true(params, "beds")};
    if (!bd.hospital) {
        rest_error(c, ERR_INVALID, "hospital", "give the 'hospital' (Organization/id)");
        goto out;
    }
    enum err err = bed_pool_visit(k->pool, copy_board, &bd);
    if (err) {
        rest_error(c, err, NULL, "the beds could not be read: %s", err_message(err));
        goto out;
    }
    json_object *list;
    json_object *reply = inpt_parameters(&list);
    inpt_add_part(list, "hospital", "valueReference", inpt_reference(bd.hospital, NULL));
    for (size_t i = 0; i < bd.nwards; i++)
        put_board_ward(k, list, &bd.wards[i]);
    inpt_send(c, reply);
out:
    inpt_call_release(k);
}

/* ---- registration ---- */

struct bed_pool *bed_routes_register(struct fhir_app *app)
{
    struct bed_pool *pool = bed_pool_new(app->store, app->cfg);
    const struct fhir_operation ops[] = {
        {.type = "Location",
         .name = "find-bed",
         .on_type = true,
         .get = true,
         .interaction = 'r',
         .definition = DEFINITION("Location-find-bed"),
         .run = run_find},
        {.type = "Location",
         .name = "assign-bed",
         .on_instance = true,
         .interaction = 'u',
         .also_type = "Encounter",
         .also_interaction = 'u',
         .definition = DEFINITION("Location-assign-bed"),
         .run = run_assign},
        {.type = "Encounter",
         .name = "transfer",
         .on_instance = true,
         .interaction = 'u',
         .also_type = "Location",
         .also_interaction = 'u',
         .definition = DEFINITION("Encounter-transfer"),
         .run = run_transfer},
        {.type = "Encounter",
         .name = "discharge",
         .on_instance = true,
         .interaction = 'u',
         .also_type = "Location",
         .also_interaction = 'u',
         .definition = DEFINITION("Encounter-discharge"),
         .run = run_discharge},
        {.type = "Location",
         .name = "bed-board",
         .on_type = true,
         .get = true,
         .interaction = 's',
         .definition = DEFINITION("Location-bed-board"),
         .run = run_board},
        {.type = "Location",
         .name = "cleaned",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("Location-cleaned"),
         .run = run_cleaned},
        {.type = "Location",
         .name = "block",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("Location-block"),
         .run = run_block},
        {.type = "Location",
         .name = "unblock",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("Location-unblock"),
         .run = run_unblock},
    };
    bool ok = fhir_app_add_operations(app, ops, sizeof(ops) / sizeof(ops[0]), pool);
    if (ok && admission_routes_register(app, pool) && inpatient_indicators_register(app, pool))
        return pool;
    bed_pool_free(pool);
    return NULL;
}

void bed_routes_free(struct bed_pool *pool)
{
    bed_pool_free(pool);
}
