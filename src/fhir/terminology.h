/*
 * terminology.h - expansions for the token modifiers :in :not-in :above
 * :below, from the ValueSet and CodeSystem resources this server holds
 * (there is no external terminology service):
 *
 *   :in, :not-in    value = a ValueSet's canonical url: its expansion.contains
 *                   when it has one, else compose.include (listed concepts,
 *                   or every concept of a CodeSystem held here) minus
 *                   compose.exclude's listed concepts
 *   :below, :above  value = "system|code": in the CodeSystem whose url is
 *                   system, the code and its descendants (below) or its
 *                   ancestors (above) in the nested concept hierarchy
 *
 * Filters and imported value sets need a real terminology service and are
 * refused with a clear reason rather than answered wrongly.
 */
#ifndef FHIR_TERMINOLOGY_H
#define FHIR_TERMINOLOGY_H

#include "fhir/query.h"
#include "store/store.h"

/* fhir_codes_fn over the store s (pass it as codes_ctx). */
enum fhir_query_result fhir_terminology_codes(void *s, struct fhir_query *q, const char *modifier,
                                              const char *value, struct fhir_code **out, size_t *n);

#endif
