/*
 * bed_edit.h - the changes the bed operations make to resources, as pure
 * edits of parsed JSON (no store, no HTTP): a bed Location's status with
 * who holds it since when, and an Encounter's bed in its location list.
 *
 * An Encounter's bed is the location entry whose physicalType is "bd" and
 * whose status is active (the patient lies in it) or reserved (held for
 * them); a bed left is kept in the list as completed, with its period, so
 * the Encounter is the patient's bed history. A borrowed bed's entry
 * carries the borrowed-bed extension naming the lending (host) department:
 * clinical responsibility stays with Encounter.serviceProvider.
 */
#ifndef MODULES_INPATIENT_BED_EDIT_H
#define MODULES_INPATIENT_BED_EDIT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "modules/inpatient/inpatient.h"

/*
 * Give bed status s: operationalStatus, and the extensions of the holder
 * (encounter, NULL for none), the start of the status (since_ms), a reason
 * (NULL for none) and, when turnaround_min >= 0, the turnaround of the
 * cleaning just finished. Earlier values of these extensions go.
 */
void bed_edit_status(json_object *bed, enum bed_status s, const char *encounter, int64_t since_ms,
                     const char *reason, int64_t turnaround_min);

/* Is this Encounter.location entry a bed (physicalType bd)? */
bool bed_edit_is_bed(json_object *entry);

/* The index in enc.location of its bed (active or reserved), or -1; *bed_ref and *status of it. */
int bed_edit_current(json_object *enc, const char **bed_ref, const char **status);

/*
 * Put enc in bed_ref (display: the bed's name) with status "active" or
 * "reserved", from now; a reserved entry of the same bed becomes active.
 * host_department: the lending department of a borrowed bed, or NULL.
 */
void bed_edit_place(json_object *enc, const char *bed_ref, const char *display, const char *status,
                    const char *host_department, int64_t now_ms);

/* Close enc.location[index]: completed, its period ended now. */
void bed_edit_leave(json_object *enc, int index, int64_t now_ms);

/* The value member ("valueCode", ...) of o's first extension with url, or NULL. */
json_object *bed_edit_ext(json_object *o, const char *url, const char *member);
/* Replace o's extensions with url by one {url, member: value} (value taken; NULL: none). */
void bed_edit_set_ext(json_object *o, const char *url, const char *member, json_object *value);
/* An instant as FHIR text (new string). */
json_object *bed_edit_instant(int64_t ms);
/* The instant (or date) at o.key in ms, 0 when absent or not one. */
int64_t bed_edit_time(json_object *o, const char *key);
/* A stored resource's meta.versionId (1 when it has none). */
int64_t bed_edit_version(json_object *res);
/* A new Coding (display may be NULL). */
json_object *bed_edit_coding(const char *system, const char *code, const char *display);

/* Member key of o (NULL when o is NULL or has none). */
json_object *bed_edit_member(json_object *o, const char *key);
/* The code of the first coding in system of a CodeableConcept (or of a Coding itself), or NULL. */
const char *bed_edit_code(json_object *cc, const char *system);

/* The string member key of o, or NULL. */
const char *bed_edit_text(json_object *o, const char *key);

#endif
