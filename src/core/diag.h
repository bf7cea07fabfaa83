/*
 * diag.h - diagnostics accumulator (PostgreSQL soft errors): validation adds
 * every problem it finds and carries on, so one OperationOutcome lists them
 * all. Issues are kept in the caller's arena and capped at DIAG_MAX_ISSUES.
 */
#ifndef CORE_DIAG_H
#define CORE_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"

#define DIAG_MAX_ISSUES 100

enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG_INFORMATION };

struct diag_issue {
    enum diag_severity severity; /* error, warning or information */
    enum err code;               /* decides HTTP status and IssueType */
    const char *location;        /* FHIRPath-like, e.g. "Patient.name[0]"; may be NULL */
    const char *message;         /* one line, lower case, no final period */
};

struct diag {
    struct arena *arena;       /* borrowed: owns locations and messages */
    struct diag_issue *issues; /* DIAG_MAX_ISSUES slots from the arena */
    size_t count;              /* issues recorded */
    size_t dropped;            /* issues past the cap, counted only */
    enum err first_error;      /* code of the first error-severity issue, or ERR_OK */
};

void diag_init(struct diag *d, struct arena *arena);
/* Record an error; location may be NULL. */
void diag_add(struct diag *d, enum err code, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Record an issue of any severity. */
void diag_add_severity(struct diag *d, enum diag_severity severity, enum err code,
                       const char *location, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static inline bool diag_has_errors(const struct diag *d)
{
    return d->first_error != ERR_OK;
}

#endif
