/*
 * hl7_routes.h - POST [base]/Basic/[id]/$reprocess: run a dead letter
 * (an HL7 v2 message that was not taken) through the pipeline again, after
 * whatever made it fail was mended (a facility registered, a mapping
 * fixed). Answers with the acknowledgement it now gets.
 */
#ifndef HL7V2_HL7_ROUTES_H
#define HL7V2_HL7_ROUTES_H

#include <stdbool.h>

#include "hl7v2/hl7_service.h"

struct fhir_app;

/* Add the operation; svc is borrowed and must outlive the app. */
bool hl7_register(struct fhir_app *app, struct hl7_service *svc);

#endif
