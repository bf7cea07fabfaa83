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
 *
 * Structure and status come from the bed pool (bed_pool.h); every change is
 * written with If-Match on the versions the decision was made from, so two
 * clerks racing for the last bed cannot both have it: the unit of the
 * second fails and they get 409. The Encounter is read and written as the
 * caller (its reach, the audit trail); beds are directory data.
 */
#include "modules/inpatient/bed_routes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/operation.h"
#include "fhir/rest_internal.h"
#include "fhir/scan.h"
#include "fhir/validate.h"
#include "modules/inpatient/bed_edit.h"
#include "modules/inpatient/bed_pool.h"

#define DEFINITION(name) INPT_BASE "/OperationDefinition/" name
#define MAX_FLOORS       64  /* floors of a department's wards looked at */
#define MAX_CANDIDATES   200 /* beds one $find-bed lists */
#define BODY_BYTES       (4u << 20)

/* One call of a bed operation. */
struct bed_call {
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
    struct fhir_write w[3]; /* what the operation writes */
    size_t nw;
    const char *answer_bed; /* for the answer: the bed now held or left */
    enum bed_status answer_status;
    const char *borrowed;   /* the lending department, or NULL */
    int64_t turnaround_min; /* $cleaned, or -1 */
    const char *claims[2];  /* beds claimed in the pool (bed_pool_claim) */
    size_t nclaims;
    bool submitted; /* the writes are queued: the claims go when they are done */
};

static char *keep(struct bed_call *k, const char *s)
{
    return s ? arena_strndup(k->a, s, strlen(s)) : NULL;
}

static void call_init(struct bed_call *k, struct rest_ctx *c, json_object *params, void *self)
{
    memset(k, 0, sizeof(*k));
    k->c = c;
    k->a = c->req->arena;
    k->pool = self;
    k->now = time_now_ms();
    const char *em = fhir_params_text(params, "emergency");
    k->emergency = em && !strcmp(em, "true");
    k->age = -1;
    k->turnaround_min = -1;
}

static void unclaim(struct bed_call *k)
{
    for (size_t i = 0; i < k->nclaims; i++)
        bed_pool_release(k->pool, k->claims[i]);
    k->nclaims = 0;
}

static void call_release(struct bed_call *k)
{
    if (!k->submitted)
        unclaim(k);
    json_object_put(k->enc);
    k->enc = NULL;
    for (size_t i = 0; i < k->nw; i++) {
        json_object_put(k->w[i].resource);
        k->w[i].resource = NULL;
    }
    k->nw = 0;
}

/* ---- reading ---- */

/* The current version of type/id, parsed (the caller puts it); NULL when absent (not answered). */
static json_object *read_current(struct store *s, const char *type, const char *id,
                                 int64_t *version)
{
    struct buf body;
    buf_init(&body, BODY_BYTES);
    struct store_row row;
    json_object *o = NULL;
    if (!store_read(s, type, id, 0, &body, &row) && !row.deleted) {
        o = fhir_parse_body(body.ptr, body.len);
        *version = row.version;
    }
    buf_release(&body);
    return o;
}

static const char *ref_text(json_object *o, const char *key)
{
    json_object *r = NULL;
    json_object_object_get_ex(o, key, &r);
    return bed_edit_text(r, "reference");
}

/* The patient's sex and age, for the bed's restrictions. */
static void read_patient(struct bed_call *k, const char *patient)
{
    k->patient_read = true;
    if (!patient || strncmp(patient, "Patient/", 8))
        return;
    int64_t version = 0;
    json_object *p = read_current(k->c->app->store, "Patient", patient + 8, &version);
    rest_touched(k->c, "Patient", patient + 8, patient);
    const char *g = bed_edit_text(p, "gender");
    k->sex = g && !strcmp(g, "male") ? 'm' : g && !strcmp(g, "female") ? 'f' : 0;
    k->age = inpt_age_years(bed_edit_text(p, "birthDate"), k->now);
    json_object_put(p);
}

/* The encounter of the call, as the caller reads it; false (answered) when it may not be used. */
static bool load_encounter(struct bed_call *k, const char *id)
{
    if (!id || !fhir_id_is_valid(id)) {
        rest_error(k->c, ERR_INVALID, "encounter", "give the encounter as 'Encounter/id'");
        return false;
    }
    k->enc_id = keep(k, id);
    k->enc = read_current(k->c->app->store, "Encounter", id, &k->enc_version);
    if (!k->enc) {
        rest_error(k->c, ERR_NOT_FOUND, "encounter", "no Encounter '%s'", id);
        return false;
    }
    if (!rest_holds(k->c, k->enc) && !rest_may_read(k->c, "Encounter", id)) {
        rest_error(k->c, ERR_FORBIDDEN, "encounter", "'Encounter/%s' is not in your records", id);
        return false;
    }
    const char *patient = ref_text(k->enc, "subject");
    rest_touched(k->c, "Encounter", id, patient);
    const char *status = bed_edit_text(k->enc, "status");
    static const char *const open[] = {"planned", "arrived", "triaged", "in-progress", "onleave"};
    bool is_open = false;
    for (size_t i = 0; status && i < sizeof(open) / sizeof(open[0]); i++)
        is_open = is_open || !strcmp(status, open[i]);
    if (!is_open) {
        rest_error(k->c, ERR_CONFLICT, "encounter",
                   "就诊已结束或取消 / the encounter is %s: it holds no bed",
                   status ? status : "without status");
        return false;
    }
    k->department = keep(k, ref_text(k->enc, "serviceProvider"));
    if (!k->department || strncmp(k->department, "Organization/", 13)) {
        rest_error(k->c, ERR_UNPROCESSABLE, "encounter",
                   "就诊未指明所属科室 / the encounter names no home department "
                   "(serviceProvider)");
        return false;
    }
    k->patient = keep(k, patient);
    return true;
}

/* "Encounter/id" or "id" -> id. */
static const char *id_of(const char *ref, const char *type)
{
    size_t n = strlen(type);
    if (ref && !strncmp(ref, type, n) && ref[n] == '/')
        return ref + n + 1;
    return ref;
}

/* ---- deciding with the pool ---- */

/* What the home department has in the bed's hospital: its floors and its group. */
static void home_request(const struct bed_view *v, const struct bed_call *k, const char *hospital,
                         struct bed_floor *floors, struct bed_request *rq)
{
    *rq = (struct bed_request){.hospital = hospital,
                               .department = k->department,
                               .floors = floors,
                               .type = k->type,
                               .sex = k->sex,
                               .age = k->age,
                               .max_floor_distance = k->c->app->cfg->inpatient_borrow_floors};
    size_t n = 0;
    const struct bed_ward *const *wards = bed_view_wards(v, hospital, &n);
    for (size_t i = 0; i < n; i++) {
        const struct bed_ward *w = wards[i];
        if (!w->department || strcmp(w->department, k->department))
            continue;
        if (!rq->group)
            rq->group = w->group;
        if (rq->nfloors < MAX_FLOORS)
            floors[rq->nfloors++] = w->at;
    }
}

/* A bed copied out of the pool, with its fit for the call's patient. */
struct judged {
    struct bed_call *k;
    const char *id; /* in: the bed's id */
    bool found;     /* out: the pool has the bed */
    struct bed_place bed;
    enum bed_fit fit;
    int distance;
};

static void copy_place(struct bed_call *k, const struct bed_place *b, struct bed_place *out)
{
    *out = *b;
    out->id = keep(k, b->id);
    out->name = keep(k, b->name);
    out->ward = keep(k, b->ward);
    out->ward_name = keep(k, b->ward_name);
    out->department = keep(k, b->department);
    out->group = keep(k, b->group);
    out->at.building = keep(k, b->at.building);
    out->hospital = keep(k, b->hospital);
    out->type = keep(k, b->type);
    out->encounter = keep(k, b->encounter);
}

static void judge(const struct bed_view *v, void *arg)
{
    struct judged *j = arg;
    const struct bed_place *b = bed_view_bed(v, j->id);
    if (!b)
        return;
    j->found = true;
    copy_place(j->k, b, &j->bed);
    if (!j->k->department)
        return;
    struct bed_floor floors[MAX_FLOORS];
    struct bed_request rq;
    home_request(v, j->k, b->hospital, floors, &rq);
    char holder[160];
    snprintf(holder, sizeof(holder), "Encounter/%s", j->k->enc_id ? j->k->enc_id : "");
    bool held_for_us = b->status == BED_RESERVED && b->encounter && !strcmp(b->encounter, holder);
    j->fit = bed_fit(&rq, b, held_for_us, &j->distance);
}

/* The bed id of the call from the pool; false (answered) when there is no such bed. */
static bool judge_bed(struct bed_call *k, const char *id, struct judged *j)
{
    *j = (struct judged){.k = k, .id = id};
    enum err err = bed_pool_visit(k->pool, judge, j);
    bool restricted = j->bed.sex || j->bed.age_min >= 0 || j->bed.age_max >= 0;
    if (!err && j->found && restricted && !k->patient_read) { /* the bed asks: who is it for? */
        read_patient(k, k->patient);
        *j = (struct judged){.k = k, .id = id};
        err = bed_pool_visit(k->pool, judge, j);
    }
    if (err) {
        rest_error(k->c, err, NULL, "the beds could not be read: %s", err_message(err));
        return false;
    }
    if (!j->found) {
        rest_error(k->c, ERR_NOT_FOUND, NULL,
                   "no bed 'Location/%s' (a Location of physicalType bd)", id ? id : "");
        return false;
    }
    return true;
}

/* ---- writing ---- */

static void add_part(json_object *list, const char *name, const char *member, json_object *value)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    json_object_object_add(p, member, value);
    json_object_array_add(list, p);
}

static json_object *reference(const char *ref, const char *display)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "reference", json_object_new_string(ref));
    if (display)
        json_object_object_add(r, "display", json_object_new_string(display));
    return r;
}

/* A Parameters resource, and its list. */
static json_object *parameters(json_object **list)
{
    json_object *out = json_object_new_object();
    *list = json_object_new_array();
    json_object_object_add(out, "resourceType", json_object_new_string("Parameters"));
    json_object_object_add(out, "parameter", *list);
    return out;
}

/* Answer 200 with out (put). */
static void send(struct rest_ctx *c, json_object *out)
{
    buf_reset(&c->res->body);
    buf_append_str(&c->res->body,
                   json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(out);
    c->res->status = 200;
    rest_json_type(c);
}

/* The answer of a change: what the bed is now, and for whom. */
static void answer(struct bed_call *k)
{
    json_object *list;
    json_object *out = parameters(&list);
    add_part(list, "bed", "valueReference", reference(k->answer_bed, NULL));
    add_part(list, "status", "valueCode",
             json_object_new_string(bed_status_code(k->answer_status)));
    if (k->enc_id) {
        add_part(list, "encounter", "valueReference",
                 reference(arena_printf(k->a, "Encounter/%s", k->enc_id), NULL));
        add_part(list, "borrowed", "valueBoolean", json_object_new_boolean(k->borrowed != NULL));
    }
    if (k->borrowed)
        add_part(list, "host-department", "valueReference", reference(k->borrowed, NULL));
    if (k->turnaround_min >= 0)
        add_part(list, "turnaround-minutes", "valueInteger",
                 json_object_new_int64(k->turnaround_min));
    send(k->c, out);
}

static void on_written(struct rest_ctx *c, enum err result, struct fhir_write *writes, size_t n,
                       void *arg)
{
    (void)writes;
    (void)n;
    struct bed_call *k = arg;
    unclaim(k);
    if (result == ERR_VERSION_CONFLICT)
        rest_error(c, ERR_CONFLICT, NULL,
                   "床位或就诊刚被他人修改，请重新选床 / the bed or the encounter changed a "
                   "moment ago (another clerk?): find a bed again");
    else if (result)
        rest_error(c, result, NULL, "床位未变更 / the bed was not changed: %s",
                   err_message(result));
    else
        answer(k);
}

/* Queue a write of res (taken) as type/id at version; false (answered) when it is not valid. */
static bool add_write(struct bed_call *k, const char *type, const char *id, json_object *res,
                      int64_t version)
{
    if (!fhir_validate_resource(res, &k->c->diag)) {
        json_object_put(res);
        rest_diag_error(k->c);
        return false;
    }
    k->w[k->nw++] = (struct fhir_write){.kind = FHIR_WRITE_UPDATE,
                                        .type = type,
                                        .id = keep(k, id),
                                        .resource = res,
                                        .if_match = version};
    return true;
}

/* The bed's next version: status to (for encounter, or none); false (answered) when it moved on. */
static bool write_bed(struct bed_call *k, const struct bed_place *b, enum bed_status to,
                      const char *encounter, const char *reason)
{
    if (!bed_pool_claim(k->pool, b->id)) {
        rest_error(k->c, ERR_CONFLICT, NULL,
                   "另一位工作人员正在变更此床 / bed '%s' is being changed by someone else right "
                   "now: find another",
                   b->id);
        return false;
    }
    k->claims[k->nclaims++] = b->id;
    int64_t version = 0;
    json_object *res = read_current(k->c->app->store, "Location", b->id, &version);
    if (!res || version != b->version) {
        json_object_put(res);
        rest_error(k->c, ERR_CONFLICT, NULL,
                   "床位刚被他人修改，请重试 / bed '%s' changed a moment ago: try again", b->id);
        return false;
    }
    bed_edit_status(res, to, encounter, k->now, reason, to == BED_FREE ? k->turnaround_min : -1);
    return add_write(k, "Location", b->id, res, version);
}

/* The encounter's next version (k->enc, taken). */
static bool write_encounter(struct bed_call *k)
{
    json_object *enc = k->enc;
    k->enc = NULL;
    return add_write(k, "Encounter", k->enc_id, enc, k->enc_version);
}

static void submit(struct bed_call *k)
{
    size_t n = k->nw;
    k->nw = 0; /* the writes are the REST layer's now */
    k->submitted = rest_write_many(k->c, k->w, n, on_written, k);
}

/* The move ev of bed b, or false (answered 409) when its status does not allow it. */
static bool move(struct bed_call *k, const struct bed_place *b, enum bed_event ev,
                 enum bed_status *to)
{
    if (bed_transition(b->status, ev, to))
        return true;
    rest_error(k->c, ERR_CONFLICT, NULL, "床位当前为「%s」，不能如此变更 / bed '%s' is %s: not now",
               bed_status_zh(b->status), b->name, bed_status_code(b->status));
    return false;
}

/* May the encounter take the judged bed? Sets k->borrowed; false (answered) when not. */
static bool may_take(struct bed_call *k, const struct judged *j)
{
    switch (j->fit) {
    case BED_FIT_OWN:
        return true;
    case BED_FIT_BORROW:
        k->borrowed = j->bed.department;
        return true;
    case BED_UNFIT_GROUP:
    case BED_UNFIT_FAR:
    case BED_UNFIT_ISOLATION:
        if (k->emergency) { /* an emergency takes the bed first; the borrowing is recorded */
            k->borrowed = j->bed.department;
            return true;
        }
        break;
    case BED_UNFIT_STATUS:
        rest_error(k->c, ERR_CONFLICT, NULL, "床位当前为「%s」/ bed '%s' is %s",
                   bed_status_zh(j->bed.status), j->bed.name, bed_status_code(j->bed.status));
        return false;
    default:
        break;
    }
    rest_error(k->c, ERR_UNPROCESSABLE, NULL, "%s / %s", bed_fit_zh(j->fit), bed_fit_en(j->fit));
    return false;
}

/* ---- the operations that change beds ---- */

static const char *bed_ref(struct bed_call *k, const char *id)
{
    return arena_printf(k->a, "Location/%s", id);
}

/* The encounter takes the bed now: in-progress, its period begun. */
static void encounter_admitted(struct bed_call *k)
{
    json_object_object_add(k->enc, "status", json_object_new_string("in-progress"));
    json_object *period = NULL;
    if (!json_object_object_get_ex(k->enc, "period", &period)) {
        period = json_object_new_object();
        json_object_object_add(k->enc, "period", period);
    }
    if (!json_object_object_get_ex(period, "start", NULL)) {
        char t[40];
        time_format_instant(k->now, t, sizeof(t));
        json_object_object_add(period, "start", json_object_new_string(t));
    }
}

static bool is_true(json_object *params, const char *name)
{
    const char *v = fhir_params_text(params, name);
    return v && !strcmp(v, "true");
}

/* Location/[id]/$assign-bed: encounter=Encounter/x [reserve=true] [emergency=true]. */
static void run_assign(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                       void *self)
{
    (void)type;
    struct bed_call *k = arena_alloc(c->req->arena, sizeof(*k));
    call_init(k, c, params, self);
    bool reserving = is_true(params, "reserve");
    struct judged j;
    const char *held = NULL, *held_status = NULL;
    enum bed_status to;
    if (!load_encounter(k, id_of(fhir_params_text(params, "encounter"), "Encounter")))
        goto out;
    const char *ref = bed_ref(k, id);
    if (bed_edit_current(k->enc, &held, &held_status) >= 0 &&
        (strcmp(held, ref) || strcmp(held_status, "reserved") || reserving)) {
        rest_error(c, ERR_CONFLICT, "encounter",
                   "该患者已有床位 %s，请用 $transfer 转床 / the encounter holds %s already "
                   "(%s): use $transfer",
                   held, held, held_status);
        goto out;
    }
    if (!judge_bed(k, id, &j) || !may_take(k, &j) ||
        !move(k, &j.bed, reserving ? BED_EV_RESERVE : BED_EV_OCCUPY, &to))
        goto out;
    const char *holder = arena_printf(k->a, "Encounter/%s", k->enc_id);
    if (!write_bed(k, &j.bed, to, holder, NULL))
        goto out;
    bed_edit_place(k->enc, ref, j.bed.name, reserving ? "reserved" : "active", k->borrowed, k->now);
    if (!reserving)
        encounter_admitted(k);
    if (!write_encounter(k))
        goto out;
    k->answer_bed = ref;
    k->answer_status = to;
    submit(k);
out:
    call_release(k);
}

/* The bed the encounter holds (active or reserved), judged; -1 (answered) when none. */
static int held_bed(struct bed_call *k, struct judged *j, bool *occupied)
{
    const char *ref = NULL, *status = NULL;
    int at = bed_edit_current(k->enc, &ref, &status);
    if (at < 0) {
        rest_error(k->c, ERR_CONFLICT, "encounter",
                   "该就诊当前没有床位 / the encounter holds no bed");
        return -1;
    }
    *occupied = !strcmp(status, "active");
    if (!judge_bed(k, keep(k, id_of(ref, "Location")), j))
        return -1;
    return at;
}

/* Encounter/[id]/$transfer: bed=Location/y [emergency=true]. */
static void run_transfer(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                         void *self)
{
    (void)type;
    struct bed_call *k = arena_alloc(c->req->arena, sizeof(*k));
    call_init(k, c, params, self);
    struct judged from, dest;
    bool occupied = false;
    enum bed_status from_to, dest_to;
    const char *dest_id = id_of(fhir_params_text(params, "bed"), "Location");
    if (!load_encounter(k, id))
        goto out;
    int at = held_bed(k, &from, &occupied);
    if (at < 0)
        goto out;
    if (!dest_id || !strcmp(dest_id, from.bed.id)) {
        rest_error(c, ERR_INVALID, "bed", "give the new bed as 'bed' (Location/id), not the old");
        goto out;
    }
    if (!judge_bed(k, dest_id, &dest) || !may_take(k, &dest) ||
        !move(k, &from.bed, occupied ? BED_EV_VACATE : BED_EV_RELEASE, &from_to) ||
        !move(k, &dest.bed, occupied ? BED_EV_OCCUPY : BED_EV_RESERVE, &dest_to))
        goto out;
    const char *holder = arena_printf(k->a, "Encounter/%s", k->enc_id);
    if (!write_bed(k, &from.bed, from_to, NULL, NULL) ||
        !write_bed(k, &dest.bed, dest_to, holder, NULL))
        goto out;
    bed_edit_leave(k->enc, at, k->now);
    bed_edit_place(k->enc, bed_ref(k, dest.bed.id), dest.bed.name, occupied ? "active" : "reserved",
                   k->borrowed, k->now);
    if (!write_encounter(k))
        goto out;
    k->answer_bed = bed_ref(k, dest.bed.id);
    k->answer_status = dest_to;
    submit(k);
out:
    call_release(k);
}

/* The encounter ends: finished (cancelled when it never took its bed), with a disposition. */
static void encounter_ended(struct bed_call *k, bool admitted, const char *disposition)
{
    json_object_object_add(k->enc, "status",
                           json_object_new_string(admitted ? "finished" : "cancelled"));
    json_object *period = NULL;
    if (!json_object_object_get_ex(k->enc, "period", &period)) {
        period = json_object_new_object();
        json_object_object_add(k->enc, "period", period);
    }
    char t[40];
    time_format_instant(k->now, t, sizeof(t));
    json_object_object_add(period, "end", json_object_new_string(t));
    if (disposition && *disposition) {
        json_object *hosp = NULL;
        if (!json_object_object_get_ex(k->enc, "hospitalization", &hosp)) {
            hosp = json_object_new_object();
            json_object_object_add(k->enc, "hospitalization", hosp);
        }
        json_object *cc = json_object_new_object();
        json_object_object_add(cc, "text", json_object_new_string(disposition));
        json_object_object_add(hosp, "dischargeDisposition", cc);
    }
}

/* Encounter/[id]/$discharge [disposition=text]: the bed to cleaning, or a reservation freed. */
static void run_discharge(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                          void *self)
{
    (void)type;
    struct bed_call *k = arena_alloc(c->req->arena, sizeof(*k));
    call_init(k, c, params, self);
    struct judged from;
    bool occupied = false;
    enum bed_status to;
    if (!load_encounter(k, id))
        goto out;
    int at = held_bed(k, &from, &occupied);
    if (at < 0 || !move(k, &from.bed, occupied ? BED_EV_VACATE : BED_EV_RELEASE, &to) ||
        !write_bed(k, &from.bed, to, NULL, NULL))
        goto out;
    bed_edit_leave(k->enc, at, k->now);
    const char *status = bed_edit_text(k->enc, "status");
    bool admitted = occupied || (status && strcmp(status, "planned"));
    encounter_ended(k, admitted, fhir_params_text(params, "disposition"));
    if (!write_encounter(k))
        goto out;
    k->answer_bed = bed_ref(k, from.bed.id);
    k->answer_status = to;
    submit(k);
out:
    call_release(k);
}

/* A change of the bed alone: $cleaned, $block, $unblock. */
static void change_bed(struct rest_ctx *c, const char *id, json_object *params, void *self,
                       enum bed_event ev)
{
    struct bed_call *k = arena_alloc(c->req->arena, sizeof(*k));
    call_init(k, c, params, self);
    struct judged j;
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
    if (!judge_bed(k, id, &j) || !move(k, &j.bed, ev, &to))
        goto out;
    if (ev == BED_EV_CLEANED && j.bed.since_ms > 0 && k->now >= j.bed.since_ms)
        k->turnaround_min = (k->now - j.bed.since_ms) / 60000;
    if (!write_bed(k, &j.bed, to, NULL, ev == BED_EV_UNBLOCK ? NULL : reason))
        goto out;
    k->answer_bed = bed_ref(k, id);
    k->answer_status = to;
    submit(k);
out:
    call_release(k);
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
    change_bed(c, id, params, self, is_true(params, "isolation") ? BED_EV_ISOLATE : BED_EV_BLOCK);
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
    struct bed_call *k;
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
    struct bed_call *k = f->k;
    const char *hospital =
        f->hospital ? f->hospital : bed_view_department_hospital(v, k->department);
    f->hospital = keep(k, hospital);
    struct bed_floor floors[MAX_FLOORS];
    struct bed_request rq;
    home_request(v, k, hospital, floors, &rq);
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
        copy_place(k, f->cands[i].bed, copy);
        f->cands[i].bed = copy;
    }
}

/* The patient of a $find-bed without an encounter: department, and patient or gender and age. */
static bool find_patient(struct bed_call *k, json_object *params)
{
    k->department = keep(k, fhir_params_text(params, "department"));
    if (!k->department || strncmp(k->department, "Organization/", 13)) {
        rest_error(k->c, ERR_INVALID, "department",
                   "须给出就诊 encounter 或科室 department (Organization/id) / give the "
                   "'encounter', or the home 'department'");
        return false;
    }
    const char *patient = fhir_params_text(params, "patient");
    if (patient) {
        const char *pid = id_of(patient, "Patient");
        if (!fhir_id_is_valid(pid) || !rest_may_read(k->c, "Patient", pid)) {
            rest_error(k->c, ERR_FORBIDDEN, "patient", "'%.80s' is not in your records", patient);
            return false;
        }
        read_patient(k, arena_printf(k->a, "Patient/%s", pid));
        return true;
    }
    const char *g = fhir_params_text(params, "gender");
    k->sex = g && !strcmp(g, "male") ? 'm' : g && !strcmp(g, "female") ? 'f' : 0;
    const char *age = fhir_params_text(params, "age");
    if (age) {
        char *end = NULL;
        long v = strtol(age, &end, 10);
        if (!*age || *end || v < 0 || v > 150) {
            rest_error(k->c, ERR_INVALID, "age", "'age' is a whole number of years, 0 to 150");
            return false;
        }
        k->age = (int)v;
    }
    return true;
}

static void put_candidate(struct bed_call *k, json_object *list, const struct bed_candidate *cd)
{
    const struct bed_place *b = cd->bed;
    json_object *parts = json_object_new_array();
    add_part(parts, "bed", "valueReference", reference(bed_ref(k, b->id), b->name));
    if (b->ward)
        add_part(parts, "ward", "valueReference", reference(bed_ref(k, b->ward), b->ward_name));
    if (b->department)
        add_part(parts, "department", "valueReference", reference(b->department, NULL));
    add_part(parts, "fit", "valueCode", json_object_new_string(bed_fit_code(cd->fit)));
    if (cd->distance != INT32_MAX)
        add_part(parts, "floor-distance", "valueInteger", json_object_new_int(cd->distance));
    if (b->type)
        add_part(parts, "bed-type", "valueCode", json_object_new_string(b->type));
    const char *why = cd->fit == BED_FIT_OWN
                          ? arena_printf(k->a, "%s / %s", bed_fit_zh(cd->fit), bed_fit_en(cd->fit))
                          : arena_printf(k->a,
                                         "向%s借床（同专科组，相距 %d 层）/ borrowed from %s (same "
                                         "specialty group, %d floor(s) away)",
                                         b->ward_name ? b->ward_name : "", cd->distance,
                                         b->ward_name ? b->ward_name : "", cd->distance);
    add_part(parts, "reason", "valueString", json_object_new_string(why));
    json_object *p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string("candidate"));
    json_object_object_add(p, "part", parts);
    json_object_array_add(list, p);
}

static void put_finding(struct bed_call *k, const struct finding *f)
{
    json_object *list;
    json_object *out = parameters(&list);
    add_part(list, "department", "valueReference", reference(k->department, NULL));
    if (f->hospital)
        add_part(list, "hospital", "valueReference", reference(f->hospital, NULL));
    add_part(list, "total", "valueInteger", json_object_new_int64((int64_t)f->fitting));
    for (size_t i = 0; i < f->ncands; i++)
        put_candidate(k, list, &f->cands[i]);
    for (int r = BED_UNFIT_INACTIVE; r <= BED_UNFIT_ISOLATION; r++) {
        if (!f->unfit[r])
            continue;
        json_object *parts = json_object_new_array();
        add_part(parts, "reason", "valueCode", json_object_new_string(bed_fit_code(r)));
        add_part(parts, "count", "valueInteger", json_object_new_int64((int64_t)f->unfit[r]));
        add_part(
            parts, "text", "valueString",
            json_object_new_string(arena_printf(k->a, "%s / %s", bed_fit_zh(r), bed_fit_en(r))));
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string("not-suitable"));
        json_object_object_add(p, "part", parts);
        json_object_array_add(list, p);
    }
    if (f->no_wards)
        add_part(list, "note", "valueString",
                 json_object_new_string("该科室在本院没有病区，只能借床 / the department has no "
                                        "ward in this hospital: only borrowed beds"));
    send(k->c, out);
}

/* Location/$find-bed: encounter=Encounter/x | department=Organization/d [patient|gender,age]. */
static void run_find(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                     void *self)
{
    (void)type;
    (void)id;
    struct bed_call *k = arena_alloc(c->req->arena, sizeof(*k));
    call_init(k, c, params, self);
    struct finding f = {.k = k, .max = 10};
    const char *enc = fhir_params_text(params, "encounter");
    const char *count = fhir_params_text(params, "count");
    if (count) {
        char *end = NULL;
        long v = strtol(count, &end, 10);
        if (!*count || *end || v < 1 || v > MAX_CANDIDATES) {
            rest_error(c, ERR_INVALID, "count", "'count' is 1 to %d", MAX_CANDIDATES);
            goto out;
        }
        f.max = (size_t)v;
    }
    if (enc ? !load_encounter(k, id_of(enc, "Encounter")) : !find_patient(k, params))
        goto out;
    if (!k->patient_read)
        read_patient(k, k->patient);
    k->type = keep(k, fhir_params_text(params, "bed-type"));
    f.hospital = keep(k, fhir_params_text(params, "hospital"));
    enum err err = bed_pool_visit(k->pool, find, &f);
    if (err) {
        rest_error(c, err, NULL, "the beds could not be read: %s", err_message(err));
        goto out;
    }
    put_finding(k, &f);
out:
    call_release(k);
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
    bool ok = true;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        struct fhir_operation op = ops[i];
        op.self = pool;
        ok = ok && fhir_app_add_operation(app, &op);
    }
    if (ok)
        return pool;
    bed_pool_free(pool);
    return NULL;
}

void bed_routes_free(struct bed_pool *pool)
{
    bed_pool_free(pool);
}
