/*
 * recognition_routes.h - the recognition operations ($recognizable,
 * $recognize on Patient; see recognition_routes.c).
 */
#ifndef MODULES_RECOGNITION_RECOGNITION_ROUTES_H
#define MODULES_RECOGNITION_RECOGNITION_ROUTES_H

#include <stdbool.h>

struct fhir_app;

/* Add the operations to app before serving; false if the operation table is full. */
bool recognition_register(struct fhir_app *app);

#endif
