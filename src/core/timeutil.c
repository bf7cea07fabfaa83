/*
 * timeutil.c - conversions between epoch milliseconds and text, using the
 * reentrant gmtime_r/timegm only.
 */

#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec time_deadline(int64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

void time_format_instant(int64_t ms, char *out, size_t out_size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

void time_china_day(int64_t ms, char out[11])
{
    char t[40];
    time_format_instant(ms + 8 * 3600 * 1000LL, t, sizeof(t));
    snprintf(out, 11, "%.10s", t);
}

static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void time_format_http(int64_t ms, char *out, size_t out_size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, out_size, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool time_parse_http(const char *s, int64_t *out_ms)
{
    char wday[4], mon[4];
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wday, &tm.tm_mday, mon, &tm.tm_year,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7)
        return false;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            m = i;
    if (m < 0)
        return false;
    tm.tm_mon = m;
    tm.tm_year -= 1900;
    *out_ms = (int64_t)timegm(&tm) * 1000;
    return true;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Days in a month of a year (month 1..12). */
static int days_in_month(int year, int month)
{
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : month_days[month - 1];
}

bool time_parse_fhir(const char *s, size_t len, int64_t *out_ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_mday = 1;
    if (len < 4 || !digits(s, 4))
        return false;
    tm.tm_year = num(s, 4) - 1900;
    size_t i = 4;
    if (i < len) {
        if (len < 7 || s[4] != '-' || !digits(s + 5, 2))
            return false;
        tm.tm_mon = num(s + 5, 2) - 1;
        if (tm.tm_mon < 0 || tm.tm_mon > 11)
            return false;
        i = 7;
    }
    if (i < len) {
        if (len < 10 || s[7] != '-' || !digits(s + 8, 2))
            return false;
        tm.tm_mday = num(s + 8, 2);
        if (tm.tm_mday < 1 || tm.tm_mday > days_in_month(tm.tm_year + 1900, tm.tm_mon + 1))
            return false;
        i = 10;
    }
    int frac_ms = 0, offset_min = 0;
    if (i < len) {
        if (len < 19 || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
            s[16] != ':' || !digits(s + 17, 2))
            return false;
        tm.tm_hour = num(s + 11, 2);
        tm.tm_min = num(s + 14, 2);
        tm.tm_sec = num(s + 17, 2);
        if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
            return false;
        i = 19;
        if (i < len && s[i] == '.') {
            size_t start = ++i;
            while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
            if (i == start)
                return false;
            size_t n = i - start < 3 ? i - start : 3;
            frac_ms = num(s + start, n);
            for (size_t k = n; k < 3; k++)
                frac_ms *= 10;
        }
        if (i < len && s[i] == 'Z') {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            if (len - i != 6 || !digits(s + i + 1, 2) || s[i + 3] != ':' || !digits(s + i + 4, 2))
                return false;
            offset_min = num(s + i + 1, 2) * 60 + num(s + i + 4, 2);
            if (num(s + i + 1, 2) > 14 || num(s + i + 4, 2) > 59)
                return false;
            if (s[i] == '-')
                offset_min = -offset_min;
            i += 6;
        }
    }
    if (i != len)
        return false;
    *out_ms = ((int64_t)timegm(&tm) - offset_min * 60) * 1000 + frac_ms;
    return true;
}

bool time_parse_fhir_range(const char *s, size_t len, int64_t *out_low, int64_t *out_high)
{
    int64_t low;
    if (!time_parse_fhir(s, len, &low))
        return false;
    int64_t span_ms;
    if (len == 4) {
        int year = num(s, 4);
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        span_ms = (int64_t)(leap ? 366 : 365) * 86400000;
    } else if (len == 7) {
        span_ms = (int64_t)days_in_month(num(s, 4), num(s + 5, 2)) * 86400000;
    } else if (len == 10) {
        span_ms = 86400000;
    } else {
        /* with a time: to the second, or to the millisecond when a fraction is given */
        span_ms = len > 19 && s[19] == '.' ? 1 : 1000;
    }
    *out_low = low;
    *out_high = low + span_ms - 1;
    return true;
}
