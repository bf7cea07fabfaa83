/*
 * log.h - one logging API: log_{error,warn,info,debug}(LOG_<SUBSYS>, fmt, ...).
 * The macro checks the level before any formatting. One line per event, in
 * key=value form, to stderr. Never pass protected health information
 * (names, identifiers, free text, bodies) to these functions.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>

enum log_subsys { LOG_MAIN, LOG_HTTP, LOG_STORE, LOG_FHIR, LOG_CONFIG, LOG_HL7, LOG__COUNT };

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Current level per subsystem; written only by log_set_level at start-up. */
extern enum log_level log_levels[LOG__COUNT];

/* Set the level of every subsystem from a name (error, warn, info, debug). */
bool log_set_level_name(const char *name);

void log_write(enum log_subsys subsys, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT(subsys, level, ...)                                                                 \
    do {                                                                                           \
        if (log_levels[subsys] >= (level))                                                         \
            log_write(subsys, level, __VA_ARGS__);                                                 \
    } while (0)

#define log_error(subsys, ...) LOG_AT(subsys, LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(subsys, ...)  LOG_AT(subsys, LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(subsys, ...)  LOG_AT(subsys, LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(subsys, ...) LOG_AT(subsys, LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
