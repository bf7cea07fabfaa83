/*
 * err.h - the one error vocabulary of Yujian: enum err, 0 = ERR_OK.
 * Generated from err_codes.def so each code carries its HTTP status and
 * FHIR issue code; functions that can fail return enum err.
 */
#ifndef CORE_ERR_H
#define CORE_ERR_H

enum err {
#define ERR(name, http, fhir, msg, zh) ERR_##name,
#include "core/err_codes.def"
#undef ERR
    ERR__COUNT
};

/* HTTP status answered for this error (500 for an unknown code). */
int err_http_status(enum err e);

/* FHIR IssueType code (OperationOutcome.issue.code) for this error. */
const char *err_fhir_code(enum err e);

/* Short English message for this error, e.g. "resource not found". */
const char *err_message(enum err e);

/* The same message in Simplified Chinese. */
const char *err_message_zh(enum err e);

/* Symbolic name without prefix, e.g. "NOT_FOUND". */
const char *err_name(enum err e);

#endif
