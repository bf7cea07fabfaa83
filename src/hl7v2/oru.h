/*
 * oru.h - ORU^R01 (unsolicited observation results, v2.3 to 2.5.1) mapped
 * to FHIR R4: PID to a Patient (matched by identifier, created only when
 * unknown), each OBR to a DiagnosticReport, each OBX to an Observation,
 * each SPM of the order (v2.5 and later; OBR-15 specimen source before) to a
 * Specimen the report and its results point at, all held by the sending
 * laboratory.
 *
 * Ids are derived from what identifies a result in the sending system
 * (the laboratory, OBR-3 filler order number, OBX-3 code and OBX-4
 * sub-id), so a corrected report sent again updates the same resources:
 * the latest version wins and the history keeps the earlier ones.
 * Local codes stay local (a code system per laboratory); LOINC ("LN")
 * becomes http://loinc.org. Times without an offset are taken in tz.
 */
#ifndef HL7V2_ORU_H
#define HL7V2_ORU_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "hl7v2/hl7v2.h"

#define ORU_RESIDENT_ID_SYSTEM "https://fhir.yujian.org.cn/sid/cn-resident-id"
#define ORU_MRN_SYSTEM         "https://fhir.yujian.org.cn/sid/mrn/"          /* + laboratory id */
#define ORU_LOCAL_CODES        "https://fhir.yujian.org.cn/CodeSystem/local/" /* + lab id */
#define ORU_SPECIMEN_IDS       "https://fhir.yujian.org.cn/sid/specimen/"     /* + lab id */
#define ORU_HL7_TABLE          "http://terminology.hl7.org/CodeSystem/v2-"    /* + table */
#define ORU_MAX_IDS            8
#define ORU_MAX_RESOURCES      1024 /* reports and results of one message */

struct oru_identifier {
    const char *system, *value;
};

struct oru_patient {
    struct oru_identifier ids[ORU_MAX_IDS]; /* the resident id first, when there is one */
    size_t nids;
    const char *family, *given, *gender, *birth_date; /* NULL when not given */
};

/* PID of m: the patient's identifiers and demographics. False with why when PID-3 is missing. */
bool oru_read_patient(const struct hl7_message *m, const char *lab_id, struct arena *a,
                      struct oru_patient *out, char *why, size_t size);

/* A new Patient from p, with id, held by lab ("Organization/id"). */
json_object *oru_patient_resource(const struct oru_patient *p, const char *id, const char *lab);

/* An id derived from key: "v2-" and 40 hex digits of its SHA-256, into out[44]. */
void oru_id(const char *key, char out[44]);

struct oru_resource {
    const char *type; /* "DiagnosticReport", "Specimen" or "Observation" */
    char id[44];
    json_object *resource; /* owned by the caller after oru_map */
};

/*
 * The reports and results of m for patient ("Patient/id") from lab (its
 * id), in out[] (ORU_MAX_RESOURCES). False with why (and nothing in out)
 * when a required field is missing or a value is malformed.
 */
bool oru_map(const struct hl7_message *m, const char *patient, const char *lab_id, const char *tz,
             struct arena *a, struct oru_resource *out, size_t *n, char *why, size_t size);

/* An HL7 v2 TS as a FHIR dateTime (offset tz when it has none), or NULL if malformed. */
const char *oru_time(const char *ts, const char *tz, struct arena *a);

#endif
