/*
 * inpatient_indicators.h - MeasureReport/$inpatient-indicators: occupancy,
 * waiting, pre-operative days, length of stay, borrowed beds, pre-admission
 * conversion, day-surgery share, cancellations, overstays, readmissions and
 * same-day cancellations after day surgery, deaths and self-discharges of a
 * month per ward, hospital or city (inpatient_indicators.c).
 */
#ifndef MODULES_INPATIENT_INPATIENT_INDICATORS_H
#define MODULES_INPATIENT_INPATIENT_INDICATORS_H

#include <stdbool.h>

struct fhir_app;
struct bed_pool;

/* Add the operation to app before serving; false when the table is full. */
bool inpatient_indicators_register(struct fhir_app *app, struct bed_pool *pool);

#endif
