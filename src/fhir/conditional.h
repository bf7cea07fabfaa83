/*
 * conditional.h - the search behind a conditional interaction (FHIR R4
 * http.html#ccreate, #cond-update, #cdelete and the conditional references
 * of transactions): parse the criteria strictly, find what they match, and
 * hand the write a check so the match is verified again inside its unit.
 */
#ifndef FHIR_CONDITIONAL_H
#define FHIR_CONDITIONAL_H

#include <stdbool.h>
#include <stddef.h>

#include "fhir/query.h"
#include "fhir/write.h"

struct fhir_condition {
    struct fhir_query q;           /* the criteria */
    struct fhir_write_check check; /* the matches, once resolved */
    bool more;                     /* more matches than the maximum asked for */
};

/* Start criteria on type; add them with fhir_condition_add or _parse. */
void fhir_condition_init(struct fhir_condition *c, struct arena *a, const struct config *cfg,
                         const char *type);

/* One criterion (decoded); false with c->q.why when unknown, unsupported or invalid. */
bool fhir_condition_add(struct fhir_condition *c, const char *name, const char *value);

/* Criteria from a query string ("identifier=sys%7Cval"); false with c->q.why. */
bool fhir_condition_parse(struct fhir_condition *c, const char *qs);

/* True when at least one criterion was given. */
bool fhir_condition_has_criteria(const struct fhir_condition *c);

/*
 * Find up to max matches (ids in key order, in the arena). c->more is set
 * when there are more. Store errors only.
 */
enum err fhir_condition_resolve(struct store *s, struct fhir_condition *c, size_t max);

#endif
