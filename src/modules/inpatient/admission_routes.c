/*
 * admission_routes.c - the one-stop admission centre (入院服务中心) and day
 * surgery over the FHIR API (rules in admission.c):
 *
 *   GET  [base]/ServiceRequest/$admission-queue          notices by urgency, then waiting time
 *   POST [base]/ServiceRequest/[id]/$pre-admit           pre-admission (预住院) starts
 *   POST [base]/Encounter/[id]/$pre-admission-item       a test, the anaesthesia assessment or
 *                                                        the education done
 *   POST [base]/Encounter/[id]/$extend-pre-admission     the window to 7 days, with approval
 *   POST [base]/Encounter/$admit                         admitted into a bed (a notice, or an
 *                                                        emergency without one)
 *   POST [base]/ServiceRequest/[id]/$cancel-admission    the notice withdrawn, with a reason
 *   POST [base]/ServiceRequest/[id]/$book-day-surgery    checked against the catalogue and booked
 *   POST [base]/Encounter/[id]/$convert-to-inpatient     a day-surgery stay becomes ordinary
 *   GET  [base]/Organization/[id]/$day-surgery-catalogue the catalogue against the minimum
 *
 * A notice is a ServiceRequest whose category is admission or day-surgery
 * (INPT_REQUEST_SYSTEM), its performer the home department. Everything is
 * read as the caller and written in one unit with If-Match.
 */
#include "modules/inpatient/admission_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/access.h"
#include "fhir/resource.h"
#include "modules/inpatient/admission.h"
#include "modules/inpatient/bed_edit.h"
#include "modules/inpatient/inpt_call.h"

#define DEFINITION(name) INPT_BASE "/OperationDefinition/" name
#define MAX_QUEUE        2000 /* notices one queue reads */
#define MAX_PAGE         100
#define REASON_MAX       500 /* bytes of a reason */

/* ---- small readers ---- */

/* The request's category: "admission", "day-surgery", or NULL. */
static const char *category_of(json_object *sr)
{
    json_object *list = bed_edit_member(sr, "category");
    for (size_t i = 0;
         json_object_is_type(list, json_type_array) && i < json_object_array_length(list); i++) {
        const char *c = bed_edit_code(json_object_array_get_idx(list, i), INPT_REQUEST_SYSTEM);
        if (c)
            return c;
    }
    return NULL;
}

/* The first element of an array member, or NULL. */
static json_object *first_of(json_object *o, const char *key)
{
    json_object *list = bed_edit_member(o, key);
    if (!json_object_is_type(list, json_type_array) || !json_object_array_length(list))
        return NULL;
    return json_object_array_get_idx(list, 0);
}

/* The first reference of an array member (performer, basedOn), or NULL. */
static const char *first_ref(json_object *o, const char *key)
{
    return bed_edit_text(first_of(o, key), "reference");
}

static const char *ext_text(json_object *o, const char *url, const char *member_name)
{
    json_object *v = bed_edit_ext(o, url, member_name);
    return v ? json_object_get_string(v) : NULL;
}

/* ---- the notice ---- */

/* The notice id, current and open, as the caller reads it; NULL (answered) when not usable. */
static json_object *load_request(struct inpt_call *k, const char *id, int64_t *version)
{
    if (!id || !fhir_id_is_valid(id)) {
        rest_error(k->c, ERR_INVALID, "request",
                   "give the admission notice as 'ServiceRequest/id'");
        return NULL;
    }
    json_object *sr = inpt_read_as_caller(k, "ServiceRequest", id, "request", version);
    if (!sr)
        return NULL;
    const char *patient = inpt_ref_text(sr, "subject");
    const char *status = bed_edit_text(sr, "status");
    const char *why = !category_of(sr)                      ? "is not an admission notice"
                      : !status || strcmp(status, "active") ? "is not active (admitted, "
                                                              "withdrawn or not yet issued)"
                                                            : NULL;
    if (why) {
        rest_error(k->c, !category_of(sr) ? ERR_UNPROCESSABLE : ERR_CONFLICT, "request",
                   "入院通知不可用 / 'ServiceRequest/%s' %s", id, why);
        json_object_put(sr);
        return NULL;
    }
    k->patient = inpt_keep(k, patient);
    k->department = inpt_keep(k, first_ref(sr, "performer"));
    if (!k->department || strncmp(k->department, "Organization/", 13) || !k->patient) {
        rest_error(k->c, ERR_UNPROCESSABLE, "request",
                   "入院通知须指明患者和收治科室 / the notice names no patient (subject) or no "
                   "department (performer, Organization/id)");
        json_object_put(sr);
        return NULL;
    }
    return sr;
}

/* Queue the notice's next version (sr taken). */
static bool write_request(struct inpt_call *k, const char *id, json_object *sr, int64_t version)
{
    return inpt_add_write(k, "ServiceRequest", id, sr, version);
}

static struct adm_window window_from(const struct config *cfg)
{
    return (struct adm_window){cfg->inpatient_preadm_days, cfg->inpatient_preadm_extended_days};
}

static struct adm_window window_of(const struct inpt_call *k)
{
    return window_from(k->c->app->cfg);
}

static struct adm_day_rules day_rules_of(const struct inpt_call *k)
{
    const struct config *cfg = k->c->app->cfg;
    return (struct adm_day_rules){cfg->inpatient_day_max_asa, cfg->inpatient_day_escort != 0,
                                  cfg->inpatient_day_min_pads};
}

static bool is_class(json_object *enc, const char *code)
{
    const char *c = bed_edit_text(bed_edit_member(enc, "class"), "code");
    return c && !strcmp(c, code);
}

/* ---- $pre-admit ---- */

/* A new PRENC encounter for the notice (its deadline in the extension). */
static json_object *pre_admission_encounter(struct inpt_call *k, const char *request_id,
                                            json_object *sr)
{
    struct adm_window w = window_of(k);
    json_object *enc = json_object_new_object();
    json_object_object_add(enc, "resourceType", json_object_new_string("Encounter"));
    json_object_object_add(enc, "status", json_object_new_string("in-progress"));
    json_object_object_add(enc, "class", bed_edit_coding(INPT_V3_ACT, "PRENC", "pre-admission"));
    json_object_object_add(enc, "subject", json_object_get(bed_edit_member(sr, "subject")));
    json_object *based = json_object_new_array();
    json_object_array_add(
        based, inpt_reference(arena_printf(k->a, "ServiceRequest/%s", request_id), NULL));
    json_object_object_add(enc, "basedOn", based);
    if (k->department)
        json_object_object_add(enc, "serviceProvider", inpt_reference(k->department, NULL));
    json_object *period = json_object_new_object();
    json_object_object_add(period, "start", bed_edit_instant(k->now));
    json_object_object_add(enc, "period", period);
    bed_edit_set_ext(enc, INPT_EXT_PREADM_DEADLINE, "valueDateTime",
                     bed_edit_instant(adm_preadm_deadline(&w, k->now, false)));
    return enc;
}

static void run_pre_admit(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                          void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    int64_t version = 0;
    json_object *sr = load_request(k, id, &version);
    if (!sr)
        goto out;
    const char *cat = category_of(sr);
    json_object *elective = bed_edit_ext(sr, INPT_EXT_ELECTIVE, "valueBoolean");
    bool is_elective =
        !strcmp(cat, "day-surgery") || (elective && json_object_get_boolean(elective));
    enum adm_preadm_refusal r = adm_preadm_check(
        is_elective, inpt_is_true(params, "diagnosis-confirmed"), inpt_is_true(params, "stable"));
    if (r != ADM_PREADM_OK) {
        rest_error(c, ERR_UNPROCESSABLE, NULL, "%s", adm_preadm_refusal_text(r));
        json_object_put(sr);
        goto out;
    }
    if (bed_edit_ext(sr, INPT_EXT_PREADM, "valueReference")) {
        rest_error(c, ERR_CONFLICT, "request",
                   "该通知已登记预住院 / pre-admission was registered "
                   "for this notice already");
        json_object_put(sr);
        goto out;
    }
    char enc_id[37];
    fhir_uuid_v7(enc_id);
    json_object *enc = pre_admission_encounter(k, id, sr);
    bed_edit_set_ext(sr, INPT_EXT_PREADM, "valueReference",
                     inpt_reference(arena_printf(k->a, "Encounter/%s", enc_id), NULL));
    if (!inpt_add_write(k, "Encounter", enc_id, enc, -1) || !write_request(k, id, sr, version))
        goto out;
    json_object *list;
    k->reply = inpt_parameters(&list);
    inpt_add_part(list, "encounter", "valueReference",
                  inpt_reference(arena_printf(k->a, "Encounter/%s", enc_id), NULL));
    struct adm_window w = window_of(k);
    inpt_add_part(list, "deadline", "valueDateTime",
                  bed_edit_instant(adm_preadm_deadline(&w, k->now, false)));
    inpt_submit(k);
out:
    inpt_call_release(k);
}

/* ---- the pre-admission's items and window ---- */

/* The pre-admission encounter of the call, open; false (answered) when it is not one. */
static bool load_pre_admission(struct inpt_call *k, const char *id)
{
    if (!inpt_load_encounter(k, id))
        return false;
    if (!is_class(k->enc, "PRENC")) {
        rest_error(k->c, ERR_UNPROCESSABLE, "encounter",
                   "不是预住院 / 'Encounter/%s' is not a pre-admission (class PRENC)", id);
        return false;
    }
    return true;
}

/* Is item i done on the pre-admission? */
static json_object *item_record(json_object *enc, enum adm_item i)
{
    json_object *list = bed_edit_member(enc, "extension");
    for (size_t n = 0;
         json_object_is_type(list, json_type_array) && n < json_object_array_length(list); n++) {
        json_object *e = json_object_array_get_idx(list, n);
        const char *url = bed_edit_text(e, "url");
        const char *code = ext_text(e, "item", "valueCode");
        if (url && !strcmp(url, INPT_EXT_PREADM_ITEM) && code && !strcmp(code, adm_item_code(i)))
            return e;
    }
    return NULL;
}

/* The items, done or not, into a Parameters list; true when all are done. */
static bool put_items(json_object *enc, json_object *list)
{
    bool all = true;
    for (int i = 0; i < ADM_ITEM_COUNT; i++) {
        json_object *rec = item_record(enc, (enum adm_item)i);
        json_object *parts = json_object_new_array();
        inpt_add_part(parts, "code", "valueCode",
                      json_object_new_string(adm_item_code((enum adm_item)i)));
        inpt_add_part(parts, "name", "valueString",
                      json_object_new_string(adm_item_zh((enum adm_item)i)));
        inpt_add_part(parts, "done", "valueBoolean", json_object_new_boolean(rec != NULL));
        json_object *asa = rec ? bed_edit_ext(rec, "asa", "valueInteger") : NULL;
        if (asa)
            inpt_add_part(parts, "asa", "valueInteger", json_object_get(asa));
        inpt_add_part(list, "item", "part", parts);
        all = all && rec;
    }
    return all;
}

/* The complex extension of an item done now (asa: 0 for none). */
static json_object *item_extension(enum adm_item i, int64_t now, int asa)
{
    json_object *e = json_object_new_object(), *sub = json_object_new_array();
    json_object_object_add(e, "url", json_object_new_string(INPT_EXT_PREADM_ITEM));
    json_object_object_add(e, "extension", sub);
    json_object *tmp = json_object_new_object();
    bed_edit_set_ext(tmp, "item", "valueCode", json_object_new_string(adm_item_code(i)));
    bed_edit_set_ext(tmp, "done", "valueDateTime", bed_edit_instant(now));
    if (asa)
        bed_edit_set_ext(tmp, "asa", "valueInteger", json_object_new_int(asa));
    json_object *made = bed_edit_member(tmp, "extension");
    for (size_t n = 0; n < json_object_array_length(made); n++)
        json_object_array_add(sub, json_object_get(json_object_array_get_idx(made, n)));
    json_object_put(tmp);
    return e;
}

static void run_item(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                     void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    enum adm_item item;
    long asa = inpt_param_int(params, "asa", 0);
    if (!adm_item_parse(fhir_params_text(params, "item"), &item)) {
        rest_error(c, ERR_INVALID, "item", "'item' is tests, anaesthesia or education");
        goto out;
    }
    if (item == ADM_ITEM_ANAESTHESIA && (asa < 1 || asa > 6)) {
        rest_error(c, ERR_INVALID, "asa",
                   "麻醉评估须给出 ASA 分级 1-6 / give the 'asa' class, 1 to 6");
        goto out;
    }
    if (!load_pre_admission(k, id))
        goto out;
    json_object *old = item_record(k->enc, item);
    json_object *list = bed_edit_member(k->enc, "extension");
    if (old) /* done again: the new record replaces it */
        for (size_t n = 0; n < json_object_array_length(list); n++)
            if (json_object_array_get_idx(list, n) == old) {
                json_object_array_del_idx(list, n, 1);
                break;
            }
    if (!json_object_is_type(list, json_type_array)) {
        list = json_object_new_array();
        json_object_object_add(k->enc, "extension", list);
    }
    json_object_array_add(
        list, item_extension(item, k->now, item == ADM_ITEM_ANAESTHESIA ? (int)asa : 0));
    json_object *reply_list;
    k->reply = inpt_parameters(&reply_list);
    bool all = put_items(k->enc, reply_list);
    inpt_add_part(reply_list, "complete", "valueBoolean", json_object_new_boolean(all));
    if (inpt_write_encounter(k))
        inpt_submit(k);
out:
    inpt_call_release(k);
}

static void run_extend(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                       void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    const char *approver = fhir_params_text(params, "approver");
    struct adm_window w = window_of(k);
    if (!approver || strncmp(approver, "Practitioner/", 13)) {
        rest_error(c, ERR_INVALID, "approver",
                   "延长须经批准 / give the approving 'approver' (Practitioner/id)");
        goto out;
    }
    if (!load_pre_admission(k, id))
        goto out;
    int64_t start = bed_edit_time(bed_edit_member(k->enc, "period"), "start");
    if (bed_edit_ext(k->enc, INPT_EXT_PREADM_EXTENDED, "valueReference")) {
        rest_error(c, ERR_CONFLICT, NULL,
                   "预住院已延长过 / the pre-admission was extended already");
        goto out;
    }
    if (adm_preadm_state(&w, start, true, k->now) == ADM_PREADM_LAPSED) {
        rest_error(
            c, ERR_CONFLICT, NULL,
            "预住院已超过 %d 天，不能再延长 / the pre-admission is past %d days: it cannot be "
            "extended",
            w.extended_days, w.extended_days);
        goto out;
    }
    int64_t deadline = adm_preadm_deadline(&w, start, true);
    bed_edit_set_ext(k->enc, INPT_EXT_PREADM_EXTENDED, "valueReference",
                     inpt_reference(approver, NULL));
    bed_edit_set_ext(k->enc, INPT_EXT_PREADM_DEADLINE, "valueDateTime", bed_edit_instant(deadline));
    json_object *list;
    k->reply = inpt_parameters(&list);
    inpt_add_part(list, "deadline", "valueDateTime", bed_edit_instant(deadline));
    if (inpt_write_encounter(k))
        inpt_submit(k);
out:
    inpt_call_release(k);
}

/* ---- $admit ---- */

/* The stay's Encounter: in the bed from now; SS for day surgery. */
static json_object *stay_encounter(struct inpt_call *k, const char *request_id, bool day)
{
    json_object *enc = json_object_new_object();
    json_object_object_add(enc, "resourceType", json_object_new_string("Encounter"));
    json_object_object_add(enc, "status", json_object_new_string("planned"));
    json_object_object_add(enc, "class",
                           day ? bed_edit_coding(INPT_V3_ACT, "SS", "short stay")
                               : bed_edit_coding(INPT_V3_ACT, "IMP", "inpatient encounter"));
    json_object_object_add(enc, "subject", inpt_reference(k->patient, NULL));
    json_object_object_add(enc, "serviceProvider", inpt_reference(k->department, NULL));
    if (request_id) {
        json_object *based = json_object_new_array();
        json_object_array_add(
            based, inpt_reference(arena_printf(k->a, "ServiceRequest/%s", request_id), NULL));
        json_object_object_add(enc, "basedOn", based);
    }
    if (k->emergency) {
        json_object *cc = json_object_new_object(), *codings = json_object_new_array();
        json_object_array_add(codings, bed_edit_coding(INPT_V3_PRIORITY, "EM", "emergency"));
        json_object_object_add(cc, "coding", codings);
        json_object_object_add(enc, "priority", cc);
    }
    return enc;
}

/* The notice's pre-admission Encounter, read (the caller puts it), its *id and *version; or NULL.
 */
static json_object *pre_admission_of(struct inpt_call *k, json_object *sr, const char **id,
                                     int64_t *version)
{
    const char *ref =
        bed_edit_text(bed_edit_ext(sr, INPT_EXT_PREADM, "valueReference"), "reference");
    *id = ref ? inpt_id_of(ref, "Encounter") : NULL;
    return *id ? inpt_read_current(k->c->app->store, "Encounter", *id, version) : NULL;
}

struct inpt_pre_window inpt_pre_window(const struct config *cfg, json_object *pre, int64_t now_ms)
{
    struct adm_window w = window_from(cfg);
    int64_t start = bed_edit_time(bed_edit_member(pre, "period"), "start");
    bool extended = bed_edit_ext(pre, INPT_EXT_PREADM_EXTENDED, "valueReference") != NULL;
    return (struct inpt_pre_window){start, adm_preadm_deadline(&w, start, extended), extended,
                                    adm_preadm_state(&w, start, extended, now_ms) ==
                                        ADM_PREADM_LAPSED};
}

/*
 * The notice's pre-admission, if open, ends (status) now, queued as a write:
 * with an admission into stay its costs go with the stay when admitted within
 * the window, else (lapsed, or no stay: a cancellation) they are outpatient
 * costs. True when none was open; false (answered) on error.
 */
static bool end_pre_admission(struct inpt_call *k, json_object *sr, const char *status,
                              const char *stay)
{
    const char *id = NULL;
    int64_t version = 0;
    json_object *pre = pre_admission_of(k, sr, &id, &version);
    const char *now_status = bed_edit_text(pre, "status");
    if (!pre || !now_status || strcmp(now_status, "in-progress")) {
        json_object_put(pre);
        return true;
    }
    k->settlement =
        stay && !inpt_pre_window(k->c->app->cfg, pre, k->now).lapsed ? "inpatient" : "outpatient";
    json_object_object_add(pre, "status", json_object_new_string(status));
    json_object_object_add(bed_edit_member(pre, "period"), "end", bed_edit_instant(k->now));
    if (stay)
        json_object_object_add(pre, "partOf", inpt_reference(stay, NULL));
    bed_edit_set_ext(pre, INPT_EXT_SETTLEMENT, "valueCode", json_object_new_string(k->settlement));
    return inpt_add_write(k, "Encounter", id, pre, version);
}

/*
 * Is the patient in a stay already (an inpatient or day-surgery encounter in
 * progress that the caller sees)? Then a second admission is refused:
 * a duplicate booking (DOMAIN.md §2). False (answered) when so or on error.
 */
static bool not_in_hospital(struct inpt_call *k)
{
    const char *criteria[][2] = {{"subject", k->patient},
                                 {"status", "in-progress"},
                                 {"class", INPT_V3_ACT "|IMP," INPT_V3_ACT "|SS"}};
    json_object *found = NULL;
    size_t n = 0;
    if (!rest_search_parsed(k->c, "Encounter", criteria, 3, k->patient, &found, 1, &n))
        return false;
    if (n) {
        const char *id = bed_edit_text(found, "id");
        rest_error(k->c, ERR_CONFLICT, "patient",
                   "患者已在院（Encounter/%s），不能重复入院 / the patient is in hospital already "
                   "(Encounter/%s): transfer them instead",
                   id ? id : "", id ? id : "");
    }
    json_object_put(found);
    return n == 0;
}

/* Who is admitted where: the notice's, or (an emergency without one) the parameters. */
static bool admit_whom(struct inpt_call *k, json_object *params)
{
    k->patient = inpt_keep(k, fhir_params_text(params, "patient"));
    k->department = inpt_keep(k, fhir_params_text(params, "department"));
    if (!k->emergency) {
        rest_error(k->c, ERR_INVALID, "request",
                   "入院须有入院通知，急诊可先收治 / an admission needs its notice ('request'); "
                   "only an emergency is admitted without one");
        return false;
    }
    if (!k->patient || strncmp(k->patient, "Patient/", 8) || !k->department ||
        strncmp(k->department, "Organization/", 13)) {
        rest_error(k->c, ERR_INVALID, "patient",
                   "give the 'patient' (Patient/id) and the 'department' (Organization/id)");
        return false;
    }
    const char *pid = k->patient + 8;
    if (!fhir_id_is_valid(pid) || !rest_may_read(k->c, "Patient", pid)) {
        rest_error(k->c, ERR_FORBIDDEN, "patient", "'%.80s' is not in your records", k->patient);
        return false;
    }
    return true;
}

/* Encounter/$admit: request=ServiceRequest/x (or emergency, patient, department), bed=Location/y.
 */
static void run_admit(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                      void *self)
{
    (void)type;
    (void)id;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    const char *request = fhir_params_text(params, "request");
    const char *request_id = request ? inpt_id_of(request, "ServiceRequest") : NULL;
    const char *bed = inpt_id_of(fhir_params_text(params, "bed"), "Location");
    int64_t version = 0;
    json_object *sr = NULL;
    struct inpt_judged j;
    enum bed_status to;
    if (!bed) {
        rest_error(c, ERR_INVALID, "bed", "give the 'bed' (Location/id)");
        goto out;
    }
    if (request ? !(sr = load_request(k, request_id, &version)) : !admit_whom(k, params))
        goto out;
    if (sr && !rest_allow(c, 'u', "ServiceRequest")) {
        rest_error(c, ERR_FORBIDDEN, "request", "you may not update the admission notice");
        goto out;
    }
    bool day = sr && !strcmp(category_of(sr), "day-surgery");
    const char *booked = day ? bed_edit_text(sr, "occurrenceDateTime") : NULL;
    if (day && !booked) {
        rest_error(c, ERR_UNPROCESSABLE, "request",
                   "日间手术须先预约 / book the day surgery first ($book-day-surgery)");
        goto out;
    }
    if (day && !adm_same_day(booked, k->now)) { /* 当日入院: the 24 hours begin on the day */
        rest_error(c, ERR_UNPROCESSABLE, "request",
                   "日间手术须在预约当日入院（预约 %s）/ day surgery is admitted on the booked day "
                   "(%s): book it again for today",
                   booked, booked);
        goto out;
    }
    if (!not_in_hospital(k))
        goto out;
    char enc_id[37];
    fhir_uuid_v7(enc_id);
    k->enc_id = inpt_keep(k, enc_id);
    k->enc_version = -1;
    const char *stay = arena_printf(k->a, "Encounter/%s", enc_id);
    if (!inpt_judge_bed(k, bed, &j) || !inpt_may_take(k, &j) ||
        !inpt_move(k, &j.bed, BED_EV_OCCUPY, &to) || !inpt_write_bed(k, &j.bed, to, stay, NULL))
        goto out;
    k->enc = stay_encounter(k, request_id, day);
    bed_edit_place(k->enc, inpt_bed_ref(k, bed), j.bed.name, "active", k->borrowed, k->now);
    inpt_encounter_admitted(k);
    if (!inpt_write_encounter(k) || (sr && !end_pre_admission(k, sr, "finished", stay)))
        goto out;
    if (sr) {
        json_object_object_add(sr, "status", json_object_new_string("completed"));
        json_object *taken = sr;
        sr = NULL;
        if (!write_request(k, request_id, taken, version))
            goto out;
    }
    k->answer_bed = inpt_bed_ref(k, bed);
    k->answer_status = to;
    inpt_submit(k);
out:
    json_object_put(sr);
    inpt_call_release(k);
}

/* ---- $cancel-admission ---- */

static void run_cancel(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                       void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    const char *reason = fhir_params_text(params, "reason");
    int64_t version = 0;
    json_object *sr = NULL;
    if (!reason || !*reason || strlen(reason) > REASON_MAX) {
        rest_error(c, ERR_INVALID, "reason", "取消须说明原因 / give the 'reason' (up to %d bytes)",
                   REASON_MAX);
        goto out;
    }
    sr = load_request(k, id, &version);
    if (!sr)
        goto out;
    /* an open pre-admission ends too: cancelled, its costs outpatient costs */
    if (!end_pre_admission(k, sr, "cancelled", NULL))
        goto out;
    json_object_object_add(sr, "status", json_object_new_string("revoked"));
    bed_edit_set_ext(sr, INPT_EXT_CANCEL_REASON, "valueString", json_object_new_string(reason));
    bed_edit_set_ext(sr, INPT_EXT_CANCELLED, "valueDateTime", bed_edit_instant(k->now));
    json_object *list;
    k->reply = inpt_parameters(&list);
    inpt_add_part(list, "request", "valueReference",
                  inpt_reference(arena_printf(k->a, "ServiceRequest/%s", id), NULL));
    inpt_add_part(list, "status", "valueCode", json_object_new_string("revoked"));
    if (k->settlement)
        inpt_add_part(list, "pre-admission-settlement", "valueCode",
                      json_object_new_string(k->settlement));
    json_object *taken = sr;
    sr = NULL;
    if (write_request(k, id, taken, version))
        inpt_submit(k);
out:
    json_object_put(sr);
    inpt_call_release(k);
}

/* ---- day surgery ---- */

/* The day-surgery catalogue of hospital ("Organization/id"): a ValueSet, or NULL (the caller puts
 * it). */
static json_object *catalogue_of(struct inpt_call *k, const char *hospital)
{
    if (!hospital || strncmp(hospital, "Organization/", 13))
        return NULL;
    const char *url = arena_printf(k->a, "%s%s", INPT_CATALOGUE_URL, hospital + 13);
    const char *criteria[][2] = {{"url", url}};
    json_object *found = NULL;
    size_t n = 0;
    if (!rest_search_parsed(k->c, "ValueSet", criteria, 1, NULL, &found, 1, &n))
        return NULL;
    return n ? found : NULL;
}

/* Does the catalogue hold system|code (a concept of an include of that system, or of none)? */
static bool catalogue_has(json_object *vs, const char *system, const char *code, size_t *size)
{
    bool has = false;
    *size = 0;
    json_object *includes = bed_edit_member(bed_edit_member(vs, "compose"), "include");
    for (size_t i = 0;
         json_object_is_type(includes, json_type_array) && i < json_object_array_length(includes);
         i++) {
        json_object *inc = json_object_array_get_idx(includes, i);
        const char *sys = bed_edit_text(inc, "system");
        json_object *concepts = bed_edit_member(inc, "concept");
        for (size_t n = 0; json_object_is_type(concepts, json_type_array) &&
                           n < json_object_array_length(concepts);
             n++) {
            const char *c = bed_edit_text(json_object_array_get_idx(concepts, n), "code");
            (*size)++;
            if (c && code && !strcmp(c, code) && (!sys || !system || !strcmp(sys, system)))
                has = true;
        }
    }
    return has;
}

/* The hospital a notice belongs to: its custodian, else the caller's organisation. */
static const char *hospital_of(struct inpt_call *k, json_object *sr)
{
    const char *h = fhir_access_custodian(sr);
    if (h)
        return inpt_keep(k, h);
    const struct fhir_reach *r = rest_reach(k->c);
    return r->kind == FHIR_REACH_ORG ? r->org : NULL;
}

static void run_book(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                     void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    const char *date = fhir_params_text(params, "date");
    long asa = inpt_param_int(params, "asa", 0);
    int64_t when = 0, version = 0;
    json_object *sr = NULL, *cat = NULL;
    if (!date || !time_parse_fhir(date, strlen(date), &when)) {
        rest_error(c, ERR_INVALID, "date", "give the planned 'date' (dateTime)");
        goto out;
    }
    sr = load_request(k, id, &version);
    if (!sr)
        goto out;
    if (strcmp(category_of(sr), "day-surgery")) {
        rest_error(c, ERR_UNPROCESSABLE, "request", "不是日间手术申请 / not a day-surgery request");
        goto out;
    }
    json_object *coding = first_of(bed_edit_member(sr, "code"), "coding");
    cat = catalogue_of(k, hospital_of(k, sr));
    size_t size = 0;
    bool in = cat && catalogue_has(cat, bed_edit_text(coding, "system"),
                                   bed_edit_text(coding, "code"), &size);
    struct adm_day_rules rules = day_rules_of(k);
    enum adm_day_refusal r = adm_day_check(&rules, in, asa > 0 && asa < 10 ? (int)asa : 0,
                                           inpt_is_true(params, "escort"));
    if (r != ADM_DAY_OK) {
        rest_error(c, ERR_UNPROCESSABLE, NULL, "%s", adm_day_refusal_text(r));
        goto out;
    }
    json_object_object_add(sr, "occurrenceDateTime", json_object_new_string(date));
    bed_edit_set_ext(sr, INPT_EXT_ASA, "valueInteger", json_object_new_int((int)asa));
    bed_edit_set_ext(sr, INPT_EXT_ESCORT, "valueBoolean",
                     json_object_new_boolean(inpt_is_true(params, "escort")));
    json_object *list;
    k->reply = inpt_parameters(&list);
    inpt_add_part(list, "request", "valueReference",
                  inpt_reference(arena_printf(k->a, "ServiceRequest/%s", id), NULL));
    inpt_add_part(list, "date", "valueDateTime", json_object_new_string(date));
    json_object *taken = sr;
    sr = NULL;
    if (write_request(k, id, taken, version))
        inpt_submit(k);
out:
    json_object_put(sr);
    json_object_put(cat);
    inpt_call_release(k);
}

void inpt_convert_stay(json_object *enc, const char *reason)
{
    json_object_object_add(enc, "class",
                           bed_edit_coding(INPT_V3_ACT, "IMP", "inpatient encounter"));
    bed_edit_set_ext(enc, INPT_EXT_CONVERTED, "valueString",
                     json_object_new_string(reason ? reason : "超过24小时 / over 24 hours"));
}

static void run_convert(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                        void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    const char *reason = fhir_params_text(params, "reason");
    if (reason && strlen(reason) > REASON_MAX) {
        rest_error(c, ERR_INVALID, "reason", "the reason is longer than %d bytes", REASON_MAX);
        goto out;
    }
    if (!inpt_load_encounter(k, id))
        goto out;
    if (!is_class(k->enc, "SS")) {
        rest_error(c, ERR_UNPROCESSABLE, "encounter",
                   "不是日间手术 / 'Encounter/%s' is not a day-surgery stay (class SS)", id);
        goto out;
    }
    inpt_convert_stay(k->enc, reason);
    json_object *list;
    k->reply = inpt_parameters(&list);
    inpt_add_part(list, "encounter", "valueReference",
                  inpt_reference(arena_printf(k->a, "Encounter/%s", id), NULL));
    inpt_add_part(list, "class", "valueCode", json_object_new_string("IMP"));
    if (inpt_write_encounter(k))
        inpt_submit(k);
out:
    inpt_call_release(k);
}

/* Organization/[id]/$day-surgery-catalogue: the size of its catalogue against the minimum. */
static void run_catalogue(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                          void *self)
{
    (void)type;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    int64_t version = 0;
    json_object *org = id ? inpt_read_current(c->app->store, "Organization", id, &version) : NULL;
    if (!org) {
        rest_error(c, ERR_NOT_FOUND, NULL, "no Organization '%s'", id ? id : "");
        goto out;
    }
    const char *level_code = inpt_keep(k, ext_text(org, INPT_EXT_LEVEL, "valueCode"));
    int minimum = adm_catalogue_minimum(adm_level_parse(level_code));
    json_object *cat = catalogue_of(k, arena_printf(k->a, "Organization/%s", id));
    size_t size = 0;
    if (cat)
        catalogue_has(cat, NULL, NULL, &size);
    json_object_put(cat);
    json_object_put(org);
    json_object *list;
    json_object *out_params = inpt_parameters(&list);
    if (level_code)
        inpt_add_part(list, "level", "valueCode", json_object_new_string(level_code));
    inpt_add_part(list, "size", "valueInteger", json_object_new_int64((int64_t)size));
    inpt_add_part(list, "minimum", "valueInteger", json_object_new_int(minimum));
    inpt_add_part(list, "meets-minimum", "valueBoolean",
                  json_object_new_boolean((int64_t)size >= minimum));
    inpt_send(c, out_params);
out:
    inpt_call_release(k);
}

/* ---- the queue ---- */

/* A notice read for the queue. */
struct queued {
    struct adm_notice order;
    json_object *sr;
};

static int queued_cmp(const void *a, const void *b)
{
    return adm_notice_cmp(&((const struct queued *)a)->order, &((const struct queued *)b)->order);
}

/* The pre-admission of a notice, into parts: its state and deadline, and its items. */
static void put_pre_admission(struct inpt_call *k, json_object *sr, json_object *parts)
{
    const char *id = NULL;
    int64_t version = 0;
    json_object *pre = pre_admission_of(k, sr, &id, &version);
    if (!pre)
        return;
    rest_touched(k->c, "Encounter", id, inpt_ref_text(pre, "subject"));
    struct inpt_pre_window pw = inpt_pre_window(k->c->app->cfg, pre, k->now);
    const char *ref = arena_printf(k->a, "Encounter/%s", id);
    json_object *pa = json_object_new_array();
    inpt_add_part(pa, "encounter", "valueReference", inpt_reference(ref, NULL));
    json_object *ended = bed_edit_ext(pre, INPT_EXT_PREADM_ENDED, "valueCode");
    const char *state = ended ? json_object_get_string(ended) : pw.lapsed ? "lapsed" : "open";
    inpt_add_part(pa, "state", "valueCode", json_object_new_string(state));
    inpt_add_part(pa, "deadline", "valueDateTime", bed_edit_instant(pw.deadline));
    inpt_add_part(pa, "extended", "valueBoolean", json_object_new_boolean(pw.extended));
    inpt_add_part(pa, "complete", "valueBoolean", json_object_new_boolean(put_items(pre, pa)));
    inpt_add_part(parts, "pre-admission", "part", pa);
    json_object_put(pre);
}

static void put_queued(struct inpt_call *k, json_object *list, const struct queued *q)
{
    json_object *sr = q->sr, *parts = json_object_new_array();
    inpt_add_part(parts, "request", "valueReference",
                  inpt_reference(arena_printf(k->a, "ServiceRequest/%s", q->order.id), NULL));
    const char *copy[][2] = {{"subject", "patient"}, {"requester", "requester"}};
    for (size_t i = 0; i < 2; i++)
        if (bed_edit_member(sr, copy[i][0]))
            inpt_add_part(parts, copy[i][1], "valueReference",
                          json_object_get(bed_edit_member(sr, copy[i][0])));
    const char *dept = first_ref(sr, "performer");
    if (dept)
        inpt_add_part(parts, "department", "valueReference", inpt_reference(dept, NULL));
    inpt_add_part(parts, "category", "valueCode", json_object_new_string(category_of(sr)));
    inpt_add_part(parts, "priority", "valueCode",
                  json_object_new_string(adm_priority_code(q->order.priority)));
    if (q->order.authored_ms)
        inpt_add_part(parts, "waiting-hours", "valueInteger",
                      json_object_new_int64((k->now - q->order.authored_ms) / ADM_HOUR_MS));
    json_object *reason = first_of(sr, "reasonCode");
    if (reason)
        inpt_add_part(parts, "diagnosis", "valueCodeableConcept", json_object_get(reason));
    if (bed_edit_member(sr, "code"))
        inpt_add_part(parts, "procedure", "valueCodeableConcept",
                      json_object_get(bed_edit_member(sr, "code")));
    if (bed_edit_member(sr, "occurrenceDateTime"))
        inpt_add_part(parts, "planned", "valueDateTime",
                      json_object_get(bed_edit_member(sr, "occurrenceDateTime")));
    json_object *insurance = first_of(sr, "insurance"); /* the Coverage, as the notice names it */
    if (insurance)
        inpt_add_part(parts, "insurance", "valueReference", json_object_get(insurance));
    put_pre_admission(k, sr, parts);
    inpt_add_part(list, "entry", "part", parts);
}

/* ServiceRequest/$admission-queue [department] [category] [count] [page]. */
static void run_queue(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                      void *self)
{
    (void)type;
    (void)id;
    struct inpt_call *k = arena_alloc(c->req->arena, sizeof(*k));
    inpt_call_init(k, c, params, self);
    long per_page = inpt_param_int(params, "count", 20), page = inpt_param_int(params, "page", 1);
    if (per_page < 1 || per_page > MAX_PAGE || page < 1 || page > 100000) {
        rest_error(c, ERR_INVALID, "count", "'count' is 1 to %d and 'page' from 1", MAX_PAGE);
        goto out;
    }
    const char *dept = fhir_params_text(params, "department");
    const char *cat = fhir_params_text(params, "category");
    const char *criteria[3][2] = {
        {"category", cat ? arena_printf(k->a, "%s|%s", INPT_REQUEST_SYSTEM, cat)
                         : INPT_REQUEST_SYSTEM "|admission," INPT_REQUEST_SYSTEM "|day-surgery"},
        {"status", "active"},
        {"performer", dept}};
    json_object **found = malloc(MAX_QUEUE * sizeof(*found));
    size_t n = 0;
    if (!found || !rest_search_parsed(c, "ServiceRequest", criteria, dept ? 3 : 2, NULL, found,
                                      MAX_QUEUE, &n)) {
        free(found);
        goto out;
    }
    struct queued *q = arena_alloc(k->a, (n ? n : 1) * sizeof(*q));
    for (size_t i = 0; i < n; i++) {
        const char *p = bed_edit_text(found[i], "priority");
        q[i] = (struct queued){{bed_edit_text(found[i], "id"), adm_priority_parse(p),
                                bed_edit_time(found[i], "authoredOn")},
                               found[i]};
    }
    qsort(q, n, sizeof(*q), queued_cmp);
    json_object *list;
    json_object *reply = inpt_parameters(&list);
    inpt_add_part(list, "total", "valueInteger", json_object_new_int64((int64_t)n));
    inpt_add_part(list, "page", "valueInteger", json_object_new_int64(page));
    inpt_add_part(list, "pages", "valueInteger",
                  json_object_new_int64(((int64_t)n + per_page - 1) / per_page));
    for (size_t i = (size_t)((page - 1) * per_page); i < n && i < (size_t)(page * per_page); i++)
        put_queued(k, list, &q[i]);
    if (n == MAX_QUEUE)
        inpt_add_part(list, "note", "valueString",
                      json_object_new_string("队列超过上限，仅排列前 2000 条 / more notices than "
                                             "the queue reads (2,000): narrow it by department"));
    for (size_t i = 0; i < n; i++)
        json_object_put(found[i]);
    free(found);
    inpt_send(c, reply);
out:
    inpt_call_release(k);
}

/* ---- registration ---- */

bool admission_routes_register(struct fhir_app *app, struct bed_pool *pool)
{
    const struct fhir_operation ops[] = {
        {.type = "ServiceRequest",
         .name = "admission-queue",
         .on_type = true,
         .get = true,
         .interaction = 's',
         .definition = DEFINITION("ServiceRequest-admission-queue"),
         .run = run_queue},
        {.type = "ServiceRequest",
         .name = "pre-admit",
         .on_instance = true,
         .interaction = 'u',
         .also_type = "Encounter",
         .also_interaction = 'c',
         .definition = DEFINITION("ServiceRequest-pre-admit"),
         .run = run_pre_admit},
        {.type = "Encounter",
         .name = "pre-admission-item",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("Encounter-pre-admission-item"),
         .run = run_item},
        {.type = "Encounter",
         .name = "extend-pre-admission",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("Encounter-extend-pre-admission"),
         .run = run_extend},
        {.type = "Encounter",
         .name = "admit",
         .on_type = true,
         .interaction = 'c',
         .also_type = "Location",
         .also_interaction = 'u',
         .definition = DEFINITION("Encounter-admit"),
         .run = run_admit},
        {.type = "ServiceRequest",
         .name = "cancel-admission",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("ServiceRequest-cancel-admission"),
         .run = run_cancel},
        {.type = "ServiceRequest",
         .name = "book-day-surgery",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("ServiceRequest-book-day-surgery"),
         .run = run_book},
        {.type = "Encounter",
         .name = "convert-to-inpatient",
         .on_instance = true,
         .interaction = 'u',
         .definition = DEFINITION("Encounter-convert-to-inpatient"),
         .run = run_convert},
        {.type = "Organization",
         .name = "day-surgery-catalogue",
         .on_instance = true,
         .get = true,
         .interaction = 'r',
         .definition = DEFINITION("Organization-day-surgery-catalogue"),
         .run = run_catalogue},
    };
    return fhir_app_add_operations(app, ops, sizeof(ops) / sizeof(ops[0]), pool);
}

/* ---- the discharge of a day-surgery stay ---- */

/* A task due by due_ms (a follow-up call, a discussion), for the encounter's patient, to its
 * department. */
static json_object *dept_task(struct inpt_call *k, const char *code, const char *zh, int64_t due_ms)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "resourceType", json_object_new_string("Task"));
    json_object_object_add(t, "status", json_object_new_string("requested"));
    json_object_object_add(t, "intent", json_object_new_string("order"));
    json_object *cc = json_object_new_object(), *codings = json_object_new_array();
    json_object_array_add(codings, bed_edit_coding(INPT_TASK_SYSTEM, code, zh));
    json_object_object_add(cc, "coding", codings);
    json_object_object_add(t, "code", cc);
    json_object_object_add(t, "for", json_object_get(bed_edit_member(k->enc, "subject")));
    json_object_object_add(t, "encounter",
                           inpt_reference(arena_printf(k->a, "Encounter/%s", k->enc_id), NULL));
    json_object_object_add(t, "owner", inpt_reference(k->department, NULL));
    json_object_object_add(t, "authoredOn", bed_edit_instant(k->now));
    json_object *period = json_object_new_object();
    json_object_object_add(period, "end", bed_edit_instant(due_ms));
    json_object_object_add(t, "executionPeriod", period);
    return t;
}

bool admission_day_surgery_discharge(struct inpt_call *k, json_object *params,
                                     const struct adm_disposition *disposition)
{
    if (!is_class(k->enc, "SS"))
        return true;
    bool needs_pads = adm_day_needs_pads(disposition);
    long pads = inpt_param_int(params, "pads", needs_pads ? -1 : -2);
    struct adm_day_rules rules = day_rules_of(k);
    if (pads != -2 && (pads < 0 || pads > 10)) {
        rest_error(k->c, ERR_INVALID, "pads",
                   "日间手术出院须给出 PADS 评分 0-10 / give the discharge score 'pads', 0 to 10");
        return false;
    }
    if (needs_pads && !adm_day_may_discharge(&rules, (int)pads)) {
        rest_error(
            k->c, ERR_UNPROCESSABLE, "pads",
            "PADS 评分 %ld 低于出院标准 %d / a PADS score of %ld is below the %d needed to go "
            "home",
            pads, rules.min_pads, pads, rules.min_pads);
        return false;
    }
    int64_t start = bed_edit_time(bed_edit_member(k->enc, "period"), "start");
    if (pads >= 0)
        bed_edit_set_ext(k->enc, INPT_EXT_PADS, "valueInteger", json_object_new_int((int)pads));
    bed_edit_set_ext(k->enc, INPT_EXT_STAY, "valueInteger",
                     json_object_new_int64(start ? (k->now - start) / 60000 : 0));
    k->day_surgery = "within-24h";
    if (start && adm_day_overstayed(start, k->now)) {
        inpt_convert_stay(k->enc, NULL);
        k->day_surgery = "converted";
    }
    if (adm_disposition_died(disposition) || !rest_allow(k->c, 'c', "Task"))
        return true; /* the follow-up calls are the caller's to make, not to record */
    return inpt_add_write(k, "Task", NULL,
                          dept_task(k, "follow-up-24h", "术后24小时内随访", k->now + ADM_DAY_MS),
                          -1) &&
           inpt_add_write(k, "Task", NULL,
                          dept_task(k, "follow-up-7d", "术后第7天随访", k->now + 7 * ADM_DAY_MS),
                          -1);
}

bool admission_death_discussion(struct inpt_call *k, const struct adm_disposition *disposition)
{
    if (!adm_disposition_died(disposition) || !rest_allow(k->c, 'c', "Task"))
        return true;
    k->discussion_due = k->now + ADM_DEATH_DISCUSSION_MS;
    return inpt_add_write(
        k, "Task", NULL,
        dept_task(k, "death-case-discussion", "死亡病例讨论（一周内）", k->discussion_due), -1);
}
