/*
 * subset.h - _summary and _elements (FHIR R4 search.html#summary,
 * #elements): a resource cut down to some of its top-level elements and
 * tagged SUBSETTED in meta.tag.
 */
#ifndef FHIR_SUBSET_H
#define FHIR_SUBSET_H

#include <stddef.h>

#include "core/buf.h"
#include "core/str.h"
#include "fhir/query.h"

/* True when q asks for less than whole resources. */
bool fhir_subset_wanted(const struct fhir_query *q);

/*
 * Append body (a stored resource's JSON) to out, cut down as q asks:
 * _summary=true keeps the elements marked isSummary, text keeps text and
 * the mandatory elements, data drops text, _elements keeps the listed
 * ones; id, meta and resourceType always stay. Elements are kept whole
 * (no nested cutting). A body that does not parse is appended unchanged.
 */
void fhir_subset_append(struct buf *out, struct str body, const struct fhir_query *q);

#endif
