/*
 * demo_data.h - the deterministic demo data set (shared/DOMAIN.md "Demo
 * data"): the provincial health commission, the 18 city commissions,
 * pilot hospitals, practitioners, residents with valid 18-character
 * resident identity numbers, and lab results with reports. The same seed
 * gives the same resources, byte for byte.
 */
#ifndef CLI_DEMO_DATA_H
#define CLI_DEMO_DATA_H

#include <stdint.h>

#include "cli/importer.h"
#include "core/buf.h"
#include "fhir/access.h"

/* Identifier system of the 18-character resident identity number (GB 11643). */
#define DEMO_RESIDENT_ID_SYSTEM "https://fhir.yujian.org.cn/sid/cn-resident-id"

/* meta holding a custodian tag "Organization/%s": what the organisation holds (fhir/access.h) */
#define DEMO_HELD_BY                                                                               \
    "\"meta\":{\"tag\":[{\"system\":\"" FHIR_CUSTODIAN_SYSTEM "\",\"code\":\"Organization/"        \
    "%s\"}]},"
/* ICD-9-CM-3, the Chinese clinical edition of procedures */
#define DEMO_ICD9CM3 "urn:oid:2.16.156.10011.2.3.2"

/* Queue the whole demo set into im; patients is the number of residents. */
enum err demo_data_generate(struct importer *im, int patients, uint64_t seed);

/* The inpatient part: wards, beds, stays, notices, pre-admission, day surgery (demo_inpatient.c).
 */
enum err demo_inpatient_generate(struct importer *im, int patients);

/* Parse b's JSON and queue it in im under label; b is emptied. */
enum err demo_queue_json(struct importer *im, struct buf *b, const char *label);

/* GB 11643 check character of the first 17 digits of a resident id. */
char demo_resident_id_check(const char *first17);

#endif
