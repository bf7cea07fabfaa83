/*
 * err.c - lookups derived from err_codes.def.
 */
#include "core/err.h"

struct err_row {
    const char *name; /* symbolic name */
    int http;         /* HTTP status */
    const char *fhir; /* FHIR IssueType code */
    const char *msg;  /* short message */
    const char *zh;   /* short message, Chinese */
};

static const struct err_row rows[] = {
#define ERR(name, http, fhir, msg, zh) {#name, http, fhir, msg, zh},
#include "core/err_codes.def"
#undef ERR
};

static const struct err_row *row(enum err e)
{
    if ((unsigned)e >= ERR__COUNT)
        return &rows[ERR_INTERNAL];
    return &rows[e];
}

int err_http_status(enum err e)
{
    return row(e)->http;
}

const char *err_fhir_code(enum err e)
{
    return row(e)->fhir;
}

const char *err_message(enum err e)
{
    return row(e)->msg;
}

const char *err_name(enum err e)
{
    return row(e)->name;
}

const char *err_message_zh(enum err e)
{
    return row(e)->zh;
}
