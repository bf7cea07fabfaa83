/*
 * reindex.h - rebuild the search index of every current resource, when the
 * index layout changed (FHIR_SEARCH_INDEX_VERSION) or on request.
 */
#ifndef FHIR_REINDEX_H
#define FHIR_REINDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "store/store.h"

/* Store meta name holding the index version the data was indexed with. */
#define FHIR_INDEX_VERSION_META "search_index_version"

/*
 * Re-index every current resource in batches (each batch one durable unit),
 * then record FHIR_SEARCH_INDEX_VERSION. *out_count gets the resources done.
 */
enum err fhir_reindex_all(struct store *s, size_t *out_count);

/* True when the stored index version differs from this program's. */
bool fhir_reindex_needed(struct store *s);

#endif
