/*
 * log.c - formats "ts level subsys message" lines and writes each with one
 * write() so concurrent threads do not interleave within a line.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"

enum log_level log_levels[LOG__COUNT] = {LOG_LEVEL_INFO, LOG_LEVEL_INFO, LOG_LEVEL_INFO,
                                         LOG_LEVEL_INFO, LOG_LEVEL_INFO, LOG_LEVEL_INFO};

static const char *const subsys_names[LOG__COUNT] = {"main", "http",   "store",
                                                     "fhir", "config", "hl7"};
static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool log_set_level_name(const char *name)
{
    for (int l = 0; l <= LOG_LEVEL_DEBUG; l++) {
        if (strcmp(name, level_names[l]) == 0) {
            for (int s = 0; s < LOG__COUNT; s++)
                log_levels[s] = (enum log_level)l;
            return true;
        }
    }
    return false;
}

void log_write(enum log_subsys subsys, enum log_level level, const char *fmt, ...)
{
    char line[1024];
    char ts[32];
    time_format_instant(time_now_ms(), ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s %s %s ", ts, level_names[level], subsys_names[subsys]);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}
