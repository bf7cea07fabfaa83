/*
 * inpt_call.c - what the inpatient operations share (inpt_call.h): the
 * call's setting, the encounter and patient read as the caller, a bed
 * judged from the pool, and the changes written with If-Match on the
 * versions the decision was made from, so that two clerks racing for the
 * last bed cannot both have it (the unit of the second fails: 409).
 */
#include "modules/inpatient/inpt_call.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/resource.h"
#include "fhir/scan.h"
#include "fhir/validate.h"
#include "modules/inpatient/admission.h"
#include "modules/inpatient/bed_edit.h"

#define BODY_BYTES (4u << 20) /* largest resource read */

char *inpt_keep(struct inpt_call *k, const char *s)
{
    return s ? arena_strndup(k->a, s, strlen(s)) : NULL;
}

void inpt_call_init(struct inpt_call *k, struct rest_ctx *c, json_object *params, void *self)
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

static void unclaim(struct inpt_call *k)
{
    for (size_t i = 0; i < k->nclaims; i++)
        bed_pool_release(k->pool, k->claims[i]);
    k->nclaims = 0;
}

void inpt_call_release(struct inpt_call *k)
{
    if (!k->submitted) {
        unclaim(k);
        json_object_put(k->reply);
        k->reply = NULL;
    }
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
json_object *inpt_read_current(struct store *s, const char *type, const char *id, int64_t *version)
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

const char *inpt_ref_text(json_object *o, const char *key)
{
    json_object *r = NULL;
    json_object_object_get_ex(o, key, &r);
    return bed_edit_text(r, "reference");
}

/* The patient's sex and age, for the bed's restrictions. */
void inpt_read_patient(struct inpt_call *k, const char *patient)
{
    k->patient_read = true;
    if (!patient || strncmp(patient, "Patient/", 8))
        return;
    int64_t version = 0;
    json_object *p = inpt_read_current(k->c->app->store, "Patient", patient + 8, &version);
    rest_touched(k->c, "Patient", patient + 8, patient);
    const char *g = bed_edit_text(p, "gender");
    k->sex = g && !strcmp(g, "male") ? 'm' : g && !strcmp(g, "female") ? 'f' : 0;
    k->age = inpt_age_years(bed_edit_text(p, "birthDate"), k->now);
    json_object_put(p);
}

json_object *inpt_read_as_caller(struct inpt_call *k, const char *type, const char *id,
                                 const char *location, int64_t *version)
{
    json_object *res = inpt_read_current(k->c->app->store, type, id, version);
    if (!res) {
        rest_error(k->c, ERR_NOT_FOUND, location, "no %s '%s'", type, id);
        return NULL;
    }
    if (!rest_may_read_current(k->c, type, id, res)) {
        rest_error(k->c, ERR_FORBIDDEN, location, "'%s/%s' is not in your records", type, id);
        json_object_put(res);
        return NULL;
    }
    rest_touched(k->c, type, id, inpt_ref_text(res, "subject"));
    return res;
}

/* The encounter of the call, as the caller reads it; false (answered) when it may not be used. */
bool inpt_load_encounter(struct inpt_call *k, const char *id)
{
    if (!id || !fhir_id_is_valid(id)) {
        rest_error(k->c, ERR_INVALID, "encounter", "give the encounter as 'Encounter/id'");
        return false;
    }
    k->enc_id = inpt_keep(k, id);
    k->enc = inpt_read_as_caller(k, "Encounter", id, "encounter", &k->enc_version);
    if (!k->enc)
        return false;
    const char *patient = inpt_ref_text(k->enc, "subject");
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
    k->department = inpt_keep(k, inpt_ref_text(k->enc, "serviceProvider"));
    if (!k->department || strncmp(k->department, "Organization/", 13)) {
        rest_error(k->c, ERR_UNPROCESSABLE, "encounter",
                   "就诊未指明所属科室 / the encounter names no home department "
                   "(serviceProvider)");
        return false;
    }
    k->patient = inpt_keep(k, patient);
    return true;
}

/* "Encounter/id" or "id" -> id. */
const char *inpt_id_of(const char *ref, const char *type)
{
    size_t n = strlen(type);
    if (ref && !strncmp(ref, type, n) && ref[n] == '/')
        return ref + n + 1;
    return ref;
}

/* ---- deciding with the pool ---- */

/* What the home department has in the bed's hospital: its floors and its group. */
void inpt_home_request(const struct bed_view *v, const struct inpt_call *k, const char *hospital,
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
    const struct bed_ward *const *wards = bed_view_department_wards(v, k->department, &n);
    for (size_t i = 0; i < n; i++) {
        const struct bed_ward *w = wards[i];
        if (!w->hospital || strcmp(w->hospital, hospital))
            continue;
        if (!rq->group)
            rq->group = w->group;
        if (rq->nfloors < INPT_MAX_FLOORS)
            floors[rq->nfloors++] = w->at;
    }
}

void inpt_copy_place(struct inpt_call *k, const struct bed_place *b, struct bed_place *out)
{
    *out = *b;
    out->id = inpt_keep(k, b->id);
    out->name = inpt_keep(k, b->name);
    out->ward = inpt_keep(k, b->ward);
    out->ward_name = inpt_keep(k, b->ward_name);
    out->department = inpt_keep(k, b->department);
    out->group = inpt_keep(k, b->group);
    out->at.building = inpt_keep(k, b->at.building);
    out->hospital = inpt_keep(k, b->hospital);
    out->type = inpt_keep(k, b->type);
    out->encounter = inpt_keep(k, b->encounter);
}

static void judge(const struct bed_view *v, void *arg)
{
    struct inpt_judged *j = arg;
    const struct bed_place *b = bed_view_bed(v, j->id);
    if (!b)
        return;
    j->found = true;
    inpt_copy_place(j->k, b, &j->bed);
    if (!j->k->department)
        return;
    struct bed_floor floors[INPT_MAX_FLOORS];
    struct bed_request rq;
    inpt_home_request(v, j->k, b->hospital, floors, &rq);
    char holder[160];
    snprintf(holder, sizeof(holder), "Encounter/%s", j->k->enc_id ? j->k->enc_id : "");
    bool held_for_us = b->status == BED_RESERVED && b->encounter && !strcmp(b->encounter, holder);
    j->fit = bed_fit(&rq, b, held_for_us, &j->distance);
}

/* The bed id of the call from the pool; false (answered) when there is no such bed. */
bool inpt_judge_bed(struct inpt_call *k, const char *id, struct inpt_judged *j)
{
    *j = (struct inpt_judged){.k = k, .id = id};
    enum err err = bed_pool_visit(k->pool, judge, j);
    bool restricted = j->bed.sex || j->bed.age_min >= 0 || j->bed.age_max >= 0;
    if (!err && j->found && restricted && !k->patient_read) { /* the bed asks: who is it for? */
        inpt_read_patient(k, k->patient);
        *j = (struct inpt_judged){.k = k, .id = id};
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

void inpt_add_part(json_object *list, const char *name, const char *member, json_object *value)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(name));
    json_object_object_add(p, member, value);
    json_object_array_add(list, p);
}

json_object *inpt_reference(const char *ref, const char *display)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "reference", json_object_new_string(ref));
    if (display)
        json_object_object_add(r, "display", json_object_new_string(display));
    return r;
}

/* A Parameters resource, and its list. */
json_object *inpt_parameters(json_object **list)
{
    json_object *out = json_object_new_object();
    *list = json_object_new_array();
    json_object_object_add(out, "resourceType", json_object_new_string("Parameters"));
    json_object_object_add(out, "parameter", *list);
    return out;
}

/* Answer 200 with out (put). */
void inpt_send(struct rest_ctx *c, json_object *out)
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
static void answer(struct inpt_call *k)
{
    json_object *list;
    json_object *out = inpt_parameters(&list);
    inpt_add_part(list, "bed", "valueReference", inpt_reference(k->answer_bed, NULL));
    inpt_add_part(list, "status", "valueCode",
                  json_object_new_string(bed_status_code(k->answer_status)));
    if (k->enc_id) {
        inpt_add_part(list, "encounter", "valueReference",
                      inpt_reference(arena_printf(k->a, "Encounter/%s", k->enc_id), NULL));
        inpt_add_part(list, "borrowed", "valueBoolean",
                      json_object_new_boolean(k->borrowed != NULL));
    }
    if (k->borrowed)
        inpt_add_part(list, "host-department", "valueReference", inpt_reference(k->borrowed, NULL));
    if (k->turnaround_min >= 0)
        inpt_add_part(list, "turnaround-minutes", "valueInteger",
                      json_object_new_int64(k->turnaround_min));
    if (k->settlement)
        inpt_add_part(list, "pre-admission-settlement", "valueCode",
                      json_object_new_string(k->settlement));
    if (k->day_surgery)
        inpt_add_part(list, "day-surgery", "valueCode", json_object_new_string(k->day_surgery));
    if (k->disposition)
        inpt_add_part(list, "disposition", "valueCode", json_object_new_string(k->disposition));
    if (k->discussion_due)
        inpt_add_part(list, "death-discussion-due", "valueDateTime",
                      bed_edit_instant(k->discussion_due));
    inpt_send(k->c, out);
}

static void on_written(struct rest_ctx *c, enum err result, struct fhir_write *writes, size_t n,
                       void *arg)
{
    (void)writes;
    (void)n;
    struct inpt_call *k = arg;
    unclaim(k);
    json_object *reply = k->reply;
    k->reply = NULL;
    if (result == ERR_VERSION_CONFLICT)
        rest_error(c, ERR_CONFLICT, NULL,
                   "床位或就诊刚被他人修改，请重新选床 / the bed or the encounter changed a "
                   "moment ago (another clerk?): find a bed again");
    else if (result)
        rest_error(c, result, NULL, "未能保存 / nothing was changed: %s", err_message(result));
    else if (reply)
        inpt_send(c, json_object_get(reply));
    else
        answer(k);
    json_object_put(reply);
}

/* Queue a write of res (taken) as type/id at version; false (answered) when it is not valid. */
bool inpt_add_write(struct inpt_call *k, const char *type, const char *id, json_object *res,
                    int64_t version)
{
    assert(k->nw < sizeof(k->w) / sizeof(k->w[0]));
    if (!fhir_validate_resource(res, &k->c->diag)) {
        json_object_put(res);
        rest_diag_error(k->c);
        return false;
    }
    char *new_id = NULL;
    if (!id) {
        new_id = arena_alloc(k->a, 37);
        fhir_uuid_v7(new_id);
    }
    k->w[k->nw++] = (struct fhir_write){.kind = id ? FHIR_WRITE_UPDATE : FHIR_WRITE_CREATE,
                                        .type = type,
                                        .id = id ? inpt_keep(k, id) : new_id,
                                        .resource = res,
                                        .if_match = version};
    return true;
}

/* The bed's next version: status to (for encounter, or none); false (answered) when it moved on. */
bool inpt_write_bed(struct inpt_call *k, const struct bed_place *b, enum bed_status to,
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
    json_object *res = inpt_read_current(k->c->app->store, "Location", b->id, &version);
    if (!res || version != b->version) {
        json_object_put(res);
        rest_error(k->c, ERR_CONFLICT, NULL,
                   "床位刚被他人修改，请重试 / bed '%s' changed a moment ago: try again", b->id);
        return false;
    }
    bed_edit_status(res, to, encounter, k->now, reason, to == BED_FREE ? k->turnaround_min : -1);
    return inpt_add_write(k, "Location", b->id, res, version);
}

/* The encounter's next version (k->enc, taken). */
bool inpt_write_encounter(struct inpt_call *k)
{
    json_object *enc = k->enc;
    k->enc = NULL;
    return inpt_add_write(k, "Encounter", k->enc_id, enc, k->enc_version);
}

void inpt_submit(struct inpt_call *k)
{
    size_t n = k->nw;
    k->nw = 0; /* the writes are the REST layer's now */
    k->submitted = rest_write_many(k->c, k->w, n, on_written, k);
}

/* The move ev of bed b, or false (answered 409) when its status does not allow it. */
bool inpt_move(struct inpt_call *k, const struct bed_place *b, enum bed_event ev,
               enum bed_status *to)
{
    if (bed_transition(b->status, ev, to))
        return true;
    rest_error(k->c, ERR_CONFLICT, NULL, "床位当前为「%s」，不能如此变更 / bed '%s' is %s: not now",
               bed_status_zh(b->status), b->name, bed_status_code(b->status));
    return false;
}

/* May the encounter take the judged bed? Sets k->borrowed; false (answered) when not. */
bool inpt_may_take(struct inpt_call *k, const struct inpt_judged *j)
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

const char *inpt_bed_ref(struct inpt_call *k, const char *id)
{
    return arena_printf(k->a, "Location/%s", id);
}

/* The encounter takes the bed now: in-progress, its period begun. */
void inpt_encounter_admitted(struct inpt_call *k)
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

long inpt_param_int(json_object *params, const char *name, long none)
{
    const char *text = fhir_params_text(params, name);
    if (!text)
        return none;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    return !*text || *end || errno ? LONG_MIN : v;
}

bool inpt_is_true(json_object *params, const char *name)
{
    const char *v = fhir_params_text(params, name);
    return v && !strcmp(v, "true");
}

/* The bed the encounter holds (active or reserved), judged; -1 (answered) when none. */
int inpt_held_bed(struct inpt_call *k, struct inpt_judged *j, bool *occupied)
{
    const char *ref = NULL, *status = NULL;
    int at = bed_edit_current(k->enc, &ref, &status);
    if (at < 0) {
        rest_error(k->c, ERR_CONFLICT, "encounter",
                   "该就诊当前没有床位 / the encounter holds no bed");
        return -1;
    }
    *occupied = !strcmp(status, "active");
    if (!inpt_judge_bed(k, inpt_keep(k, inpt_id_of(ref, "Location")), j))
        return -1;
    return at;
}

/* The encounter ends: finished (cancelled when it never took its bed), with a disposition. */
void inpt_encounter_ended(struct inpt_call *k, bool admitted, const char *disposition)
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
        const struct adm_disposition *d = adm_disposition_find(disposition);
        json_object *cc = json_object_new_object();
        if (d) {
            json_object *codings = json_object_new_array();
            json_object_array_add(codings, bed_edit_coding(ADM_DISPOSITION_SYSTEM, d->code, d->en));
            json_object_object_add(cc, "coding", codings);
            k->disposition = d->code;
        }
        json_object_object_add(cc, "text", json_object_new_string(d ? d->zh : disposition));
        json_object_object_add(hosp, "dischargeDisposition", cc);
    }
}
