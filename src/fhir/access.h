/*
 * access.h - which records a caller reaches: the one place that turns the
 * guard's answer (guard.h: whose records the caller works on) into search
 * clauses, so that a search, a read, an include, $everything, a history, a
 * conditional interaction and a write all see the same records.
 *
 *   ALL       everything.
 *   PATIENTS  directory data, and the Patient compartments of the caller's
 *             own record and of patients who granted the caller access (a
 *             grant, below, whose provision.actor is the caller's Patient:
 *             guardian, family).
 *   ORG       directory data; what the organisation holds (its custodian
 *             tag); and every record in the compartment of a patient
 *             shared with it: a grant naming the organisation or the
 *             caller's Practitioner, an active care relationship (an
 *             Encounter planned/arrived/triaged/in-progress/on leave, or an
 *             active EpisodeOfCare, held by the organisation), or an active
 *             ServiceRequest (a referral, a transport) whose performer is
 *             the organisation. A Patient is also found by an exact
 *             identifier (system|value), as a master patient index does.
 *   REGION    directory data; MeasureReports whose reporter is the
 *             regulator's organisation or lies beneath it in the tree
 *             (Organization.partOf, up to three levels); and counts
 *             (_summary=count) of any type over the records held by the
 *             organisations of that region: aggregates, never records.
 *
 * A grant is a Consent with category FHIR_GRANT_SYSTEM|FHIR_GRANT_CODE,
 * status active, provision.type permit, and a provision.period that has
 * begun and not ended (or none); it is withdrawn by its status. Other
 * Consents are records like any other and grant nothing.
 *
 * Criteria nested in a search (chains, _has) look at less: ORG callers see
 * there only what their organisation holds, REGION callers only directory
 * data. (The sharing clauses nested once more would pass SQLite's parser
 * depth; narrower criteria leak nothing, they only find less.)
 *
 * A break-glass read reaches everything. Writes reach less: ORG callers
 * change only what their organisation holds, PATIENTS callers only the
 * compartments above, REGION callers nothing.
 *
 * Custodian: every resource written by a caller with an organisation
 * carries meta.tag {FHIR_CUSTODIAN_SYSTEM, "Organization/id"}, set by the
 * server (a client's own custodian tags are replaced). Writers without an
 * organisation (platform administrators, province-wide clients, imports)
 * write the tag as given; an update that omits it keeps the current one.
 */
#ifndef FHIR_ACCESS_H
#define FHIR_ACCESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "fhir/guard.h"
#include "fhir/query.h"
#include "store/store.h"

#define FHIR_CUSTODIAN_SYSTEM "https://fhir.yujian.org.cn/CodeSystem/custodian"
/* Consent.category of a grant of access (other Consents grant nothing here). */
#define FHIR_GRANT_SYSTEM "https://fhir.yujian.org.cn/CodeSystem/consent-category"
#define FHIR_GRANT_CODE   "record-access"

/* Directory and reference types: no one's health data; every caller may read them. */
bool fhir_access_is_directory(const char *type);

/* Patient, or a type in the Patient compartment (CompartmentDefinition-patient). */
bool fhir_access_holds_patient_data(const char *type);

#define FHIR_REGION_MAX_ORGS 4096 /* organisations one region may hold */

/*
 * PATIENTS: add to r the patients who granted r->patients[0] access by an
 * active Consent, up to FHIR_REACH_MAX_PATIENTS in all. REGION: list in
 * r->region the regulator's organisation and those beneath it (three
 * levels). Other kinds: no-op.
 */
enum err fhir_access_expand(struct store *s, const struct config *cfg, struct arena *a,
                            struct fhir_reach *r, int64_t now_ms);

/*
 * ORG: is patient ("Patient/id") shared with r's organisation now (one of
 * the relations above)? A few indexed lookups: the cheap way to decide for
 * one record, where fhir_access_confine's clause serves a search.
 */
enum err fhir_access_shared(struct store *s, const struct config *cfg, struct arena *a,
                            const struct fhir_reach *r, const char *patient, int64_t now_ms,
                            bool *out);

enum fhir_access_mode {
    FHIR_ACCESS_READ,   /* read, search, include, history */
    FHIR_ACCESS_WRITE,  /* change an existing resource */
    FHIR_ACCESS_NESTED, /* the criteria of a chain or _has inside a search */
};

/*
 * Confine q (after its parameters; one extra clause) to the records r
 * reaches for mode at now_ms. False when no record of q's type is
 * reachable: refuse the caller.
 */
bool fhir_access_confine(struct fhir_query *q, const struct fhir_reach *r,
                         enum fhir_access_mode mode, int64_t now_ms);

/*
 * Make the new content of a write fit r: stamp the custodian (ORG), check
 * the record is the caller's or granted to them (PATIENTS), keep the
 * current custodian when an update (replaces) by a writer without an
 * organisation omits it (ALL, read from s). A grant (Consent) whose provision is a deny
 * is refused: grants are withdrawn by status.
 * ERR_OK, or ERR_FORBIDDEN / ERR_UNPROCESSABLE with why.
 */
enum err fhir_access_admit(struct store *s, const struct fhir_reach *r, const char *type,
                           const char *id, json_object *resource, bool replaces, struct arena *a,
                           char *why, size_t size);

/* The custodian tag of resource ("Organization/id"), or NULL. */
const char *fhir_access_custodian(json_object *resource);

#endif
