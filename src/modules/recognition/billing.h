/*
 * billing.h - the rule that a test recorded as recognised is not ordered or
 * charged again the same day (see billing.c).
 */
#ifndef MODULES_RECOGNITION_BILLING_H
#define MODULES_RECOGNITION_BILLING_H

#include <stdbool.h>

#include "modules/recognition/recognition_data.h"

struct fhir_app;

/* Add the rule on ServiceRequest and ChargeItem to app; false when the rule table is full. */
bool recognition_billing_register(struct fhir_app *app, struct recog_data *data);

#endif
