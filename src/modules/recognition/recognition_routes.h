/*
 * recognition_routes.h - the recognition operations ($recognizable,
 * $recognize on Patient; see recognition_routes.c).
 */
#ifndef MODULES_RECOGNITION_RECOGNITION_ROUTES_H
#define MODULES_RECOGNITION_RECOGNITION_ROUTES_H

#include <stdbool.h>

struct fhir_app;
struct recog_data;

/*
 * Add the operations to app before serving; NULL if the operation table is
 * full. What it returns is the module's state: free it after the app.
 */
struct recog_data *recognition_register(struct fhir_app *app);
void recognition_free(struct recog_data *data);

#endif
