/*
 * billing.c - "never bill a test recorded as recognised" (DOMAIN.md §1):
 * a rule on the writes of ServiceRequest and ChargeItem.
 *
 * A new active order, or a charge, of a catalogue item (by its own code or
 * a laboratory's code mapped to it) for a patient is refused with 422
 * business-rule when the hospital ordering or charging it recorded the
 * item as recognised for that patient on the day of the order or charge
 * (in China: its own date, else the day it is written) and has not
 * since recorded a re-test: the doctor's last decision on the item stands.
 * The hospital is the caller's; a caller of no hospital (a province-wide
 * client) is held to the one the resource names (ChargeItem's requesting
 * or performing organisation, a ServiceRequest's requester). A change to an
 * order or charge already stored as one is not checked (completing an
 * order, a correction): only what would order or bill anew, a draft made
 * active included. recognition.refuse_charges 0 turns the rule off.
 */
#include "modules/recognition/billing.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/timeutil.h"
#include "fhir/operation.h"
#include "fhir/rest_internal.h"
#include "fhir/scan.h"
#include "modules/recognition/indicators.h"
#include "modules/recognition/recognition.h"

/* The reference in resource.key.reference when it names a resource of type, else NULL. */
static const char *ref_of(json_object *resource, const char *key, const char *type)
{
    json_object *v = NULL;
    const char *ref =
        json_object_object_get_ex(resource, key, &v) ? recog_str(v, "reference") : NULL;
    size_t n = strlen(type);
    return ref && !strncmp(ref, type, n) && ref[n] == '/' && ref[n + 1] ? ref : NULL;
}

/* The hospital that orders or charges: the caller's, else the one the resource names. */
static const char *hospital_of(struct rest_ctx *c, const char *type, json_object *resource)
{
    const struct fhir_reach *r = rest_reach(c);
    if (r->kind == FHIR_REACH_ORG)
        return r->org && strcmp(r->org, "Organization/-") != 0 ? r->org : NULL;
    if (!strcmp(type, "ChargeItem")) {
        const char *org = ref_of(resource, "requestingOrganization", "Organization");
        return org ? org : ref_of(resource, "performingOrganization", "Organization");
    }
    return ref_of(resource, "requester", "Organization");
}

/* Does the stored version of type/id (if any) already order or charge? */
static bool charged_before(struct rest_ctx *c, const char *type, const char *id)
{
    json_object *old =
        id ? recog_data_read(c->app->store, arena_printf(c->req->arena, "%s/%s", type, id)) : NULL;
    bool charged = old && recog_is_charge(type, recog_str(old, "status"), recog_str(old, "intent"));
    json_object_put(old);
    return charged;
}

/* The catalogue item the resource's code names ("system|code" in the arena), or NULL. */
static const char *billed_item(struct recog_data *data, struct arena *a, json_object *resource)
{
    struct recog_snapshot *sn = recog_data_acquire(data);
    const struct recog_item *item = recog_snapshot_item(sn, resource, NULL, 0);
    const char *out = item ? arena_printf(a, "%s|%s", item->system, item->code) : NULL;
    recog_data_release(data, sn);
    return out;
}

/* The hospital's last decision on the item today: the newest written wins. */
struct last_decision {
    const char *org, *item; /* wanted */
    struct arena *a;
    int64_t at;     /* lastUpdated of the newest found, ms */
    const char *id; /* its id */
    bool recognised;
};

static bool take_decision(void *arg, json_object *d, int64_t last_updated)
{
    struct last_decision *l = arg;
    const char *org = recog_decision_ref(d, "organization");
    json_object *item = recog_decision_ext(d, "item"), *coding = NULL, *outcome = NULL;
    if (!org || strcmp(org, l->org) != 0 || !item ||
        !json_object_object_get_ex(item, "valueCoding", &coding) || last_updated < l->at)
        return true;
    const char *sys = recog_str(coding, "system"), *code = recog_str(coding, "code");
    size_t n = sys ? strlen(sys) : 0;
    if (!sys || !code || strncmp(l->item, sys, n) != 0 || l->item[n] != '|' ||
        strcmp(l->item + n + 1, code) != 0)
        return true;
    json_object *e = recog_decision_ext(d, "outcome");
    l->at = last_updated;
    l->id = arena_printf(l->a, "%s", recog_str(d, "id") ? recog_str(d, "id") : "");
    l->recognised = e && json_object_object_get_ex(e, "valueCode", &outcome) &&
                    !strcmp(json_object_get_string(outcome), "recognised");
    return true;
}

/*
 * The day in China the order or charge is of: the charge's occurrence (or
 * its entry), the order's authoring, else now. A HIS sending the day's
 * charges after midnight is held to the day they were made on.
 */
static void day_of(const char *type, json_object *resource, char out[11])
{
    static const char *const charge_keys[] = {"occurrenceDateTime", "enteredDate"};
    static const char *const order_keys[] = {"authoredOn"};
    bool charge = !strcmp(type, "ChargeItem");
    const char *const *keys = charge ? charge_keys : order_keys;
    size_t n = charge ? 2 : 1;
    int64_t at = time_now_ms();
    for (size_t i = 0; i < n; i++) {
        const char *v = recog_str(resource, keys[i]);
        int64_t ms = 0;
        if (v && strlen(v) >= 10 && time_parse_fhir(v, strlen(v), &ms)) {
            at = ms;
            break;
        }
    }
    time_china_day(at, out);
}

static enum err billing_rule(struct rest_ctx *c, const char *type, const char *id,
                             json_object *resource, bool replaces, char *why, size_t size,
                             void *self)
{
    const char *patient = ref_of(resource, "subject", "Patient");
    if (!c->app->cfg->recognition_refuse_charges ||
        !recog_is_charge(type, recog_str(resource, "status"), recog_str(resource, "intent")) ||
        !patient)
        return ERR_OK;
    const char *org = hospital_of(c, type, resource);
    struct arena *a = c->req->arena;
    const char *item = org ? billed_item(self, a, resource) : NULL;
    if (!item || (replaces && charged_before(c, type, id)))
        return ERR_OK;
    char day[11];
    day_of(type, resource, day);
    const char *criteria[][2] = {
        {"subject", patient}, {"code", RECOG_DECISION_CODE "|decision"}, {"created", day}};
    struct fhir_scan scan = {"Basic", criteria, 3, 0, false, 0, false};
    struct last_decision last = {org, item, a, -1, NULL, false};
    enum err err = fhir_scan_run(c->app->store, c->app->cfg, a, &scan, take_decision, &last);
    if (err) {
        snprintf(why, size, "互认记录读取失败 / the recognition decisions could not be read: %s",
                 err_message(err));
        return ERR_IO;
    }
    if (!last.recognised)
        return ERR_OK;
    snprintf(why, size,
             "Basic/%s: 该项目当日已互认，不得重复开单收费；如需复查，请先记录复查决定 / %s was "
             "recorded as recognised for this patient on %s: it is not ordered or charged again "
             "unless a re-test decision is recorded ($recognize)",
             last.id, item, day);
    return ERR_RULE;
}

bool recognition_billing_register(struct fhir_app *app, struct recog_data *data)
{
    const struct fhir_rule rules[] = {{"ServiceRequest", billing_rule, data},
                                      {"ChargeItem", billing_rule, data}};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (!fhir_app_add_rule(app, &rules[i]))
            return false;
    return true;
}
