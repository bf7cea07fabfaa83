/*
 * diag.c - the accumulator; messages are formatted into the arena.
 */
#include "core/diag.h"

#include <stdarg.h>
#include <stdio.h>

void diag_init(struct diag *d, struct arena *arena)
{
    d->arena = arena;
    d->issues = arena_alloc(arena, sizeof(struct diag_issue) * DIAG_MAX_ISSUES);
    d->count = 0;
    d->dropped = 0;
    d->first_error = ERR_OK;
}

__attribute__((format(printf, 5, 0))) static void add(struct diag *d, enum diag_severity severity,
                                                      enum err code, const char *location,
                                                      const char *fmt, va_list ap)
{
    if (severity == DIAG_ERROR && d->first_error == ERR_OK)
        d->first_error = code;
    if (d->count == DIAG_MAX_ISSUES) {
        d->dropped++;
        return;
    }
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    struct diag_issue *i = &d->issues[d->count++];
    i->severity = severity;
    i->code = code;
    i->location = location ? arena_strndup(d->arena, location, strlen(location)) : NULL;
    i->message = arena_strndup(d->arena, msg, strlen(msg));
}

void diag_add(struct diag *d, enum err code, const char *location, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, DIAG_ERROR, code, location, fmt, ap);
    va_end(ap);
}

void diag_add_severity(struct diag *d, enum diag_severity severity, enum err code,
                       const char *location, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, severity, code, location, fmt, ap);
    va_end(ap);
}
