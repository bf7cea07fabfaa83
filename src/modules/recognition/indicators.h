/*
 * indicators.h - the recognition indicators (DOMAIN.md §1, Metrics) per
 * hospital, city or province and month:
 *
 *   recognition rate   recognised / eligible items (decisions on an item
 *                      for which a recognisable prior result existed) [A]
 *   avoided tests      recognised items
 *   fees saved         the sum of the recognised items' prices [A]
 *   marked items       recognised items by mark: province, city, alliance
 *   EQA                laboratories with an EQA pass covering the period's
 *                      end, and their passed items (国考 #13)
 *
 *   GET [base]/MeasureReport/$recognition-indicators?period=YYYY-MM
 *        &level=hospital|city|province [&_format=csv]
 *
 * answers a Bundle of MeasureReports (not stored), or CSV. Computed from
 * the decisions (Basic) and the laboratories' Organizations directly, as
 * aggregates: a regulator gets those of their region, a hospital
 * administrator their hospital's, without reading any record.
 */
#ifndef MODULES_RECOGNITION_INDICATORS_H
#define MODULES_RECOGNITION_INDICATORS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

struct fhir_app;
struct recog_data;

struct recog_tally {
    int64_t decisions;  /* all decisions */
    int64_t eligible;   /* on a recognisable result */
    int64_t recognised; /* avoided tests */
    int64_t retests;    /* re-tests of a recognisable result */
    int64_t fees_fen;   /* fees saved */
    int64_t marked[3];  /* recognised, by mark: province, city, alliance */
    int64_t eqa_labs;   /* laboratories with an EQA pass at the period's end */
    int64_t eqa_items;  /* their passed items */
};

/* Count one decision (a Basic resource of $recognize) into t. */
void recog_tally_decision(struct recog_tally *t, json_object *decision, const char *province_mark);

/* The extension "recognition-<name>" of a decision, or NULL. */
json_object *recog_decision_ext(json_object *decision, const char *name);
/* The extension valueReference of a decision ("recognition-<name>"), or NULL. */
const char *recog_decision_ref(json_object *decision, const char *name);

/* Add the operation to app; false when the operation table is full. */
bool recognition_indicators_register(struct fhir_app *app, struct recog_data *data);

/*
 * GET [base]/ConceptMap/$recognition-unmapped?laboratory=Organization/id
 * [&count=N]: the codes on that laboratory's results (the last N scanned,
 * 20,000 by default) that are neither catalogue items nor mapped to one by
 * an equivalent ConceptMap entry, with how often and when last seen: what
 * its mapping still lacks. Scoped as the indicators are.
 */
bool recognition_unmapped_register(struct fhir_app *app, struct recog_data *data);

#endif
