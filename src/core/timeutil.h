/*
 * timeutil.h - wall-clock time in milliseconds since the Unix epoch (UTC),
 * and its FHIR instant / HTTP-date forms. Times are stored in UTC.
 */
#ifndef CORE_TIMEUTIL_H
#define CORE_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

int64_t time_now_ms(void);
/* The CLOCK_REALTIME instant ms from now, for pthread_cond_timedwait. */
struct timespec time_deadline(int64_t ms);
/* "2024-05-01T08:00:00.123Z" into out (at least 25 bytes). */
void time_format_instant(int64_t ms, char *out, size_t out_size);
/* The day ms falls on in China (UTC+8, no daylight saving): "2024-05-01" into out[11]. */
void time_china_day(int64_t ms, char out[11]);
/* RFC 7231 IMF-fixdate "Wed, 01 May 2024 08:00:00 GMT" (at least 30 bytes). */
void time_format_http(int64_t ms, char *out, size_t out_size);
/* Parse an IMF-fixdate; false if it is not one. */
bool time_parse_http(const char *s, int64_t *out_ms);
/*
 * Parse a FHIR date, dateTime or instant (any precision, with optional
 * offset) to the earliest UTC millisecond it covers; false if malformed.
 * A value without a time-zone is taken as UTC.
 */
bool time_parse_fhir(const char *s, size_t len, int64_t *out_ms);

/*
 * The range a FHIR date, dateTime or instant covers, as inclusive UTC
 * milliseconds: "2024" is 2024-01-01T00:00:00.000Z .. 2024-12-31T23:59:59.999Z,
 * "2024-05-01T08:00:00+08:00" covers that one second. False if malformed.
 */
bool time_parse_fhir_range(const char *s, size_t len, int64_t *out_low, int64_t *out_high);

#endif
