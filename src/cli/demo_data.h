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

/* Identifier system of the 18-character resident identity number (GB 11643). */
#define DEMO_RESIDENT_ID_SYSTEM "https://fhir.yujian.org.cn/sid/cn-resident-id"

/* Queue the whole demo set into im; patients is the number of residents. */
enum err demo_data_generate(struct importer *im, int patients, uint64_t seed);

/* GB 11643 check character of the first 17 digits of a resident id. */
char demo_resident_id_check(const char *first17);

#endif
