/*
 * measure.c - indicator reports (measure.h).
 */
#include "fhir/measure.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/access.h"
#include "fhir/rest_internal.h"

bool fhir_measure_scope(struct rest_ctx *c, struct arena *a, struct strmap *allowed, bool *all)
{
    rest_reach(c);
    struct fhir_reach *reach = c->reach;
    strmap_init(allowed, a, 64);
    *all = reach->kind == FHIR_REACH_ALL;
    if (*all)
        return true;
    if (reach->kind == FHIR_REACH_ORG && reach->org) {
        strmap_put(allowed, reach->org, "");
        return true;
    }
    if (reach->kind == FHIR_REACH_REGION) {
        if (!reach->region &&
            fhir_access_expand(c->app->store, c->app->cfg, a, reach, time_now_ms()) != ERR_OK) {
            rest_error(c, ERR_IO, NULL, "the region's organisations could not be read");
            return false;
        }
        for (size_t i = 0; i < reach->nregion; i++)
            strmap_put(allowed, reach->region[i], "");
        return true;
    }
    rest_error(c, ERR_FORBIDDEN, NULL, "indicators are for hospitals and regulators");
    return false;
}

bool fhir_measure_month(const char *p, char start[32], char end[32], char next[32])
{
    int y, m, n = 0;
    if (!p || strlen(p) != 7 || sscanf(p, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || m < 1 ||
        m > 12 || y < 1900 || y > 9999)
        return false;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int last = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    snprintf(start, 32, "%04d-%02d-01", y, m);
    snprintf(end, 32, "%04d-%02d-%02d", y, m, last);
    snprintf(next, 32, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    return true;
}

#define POPULATION "http://terminology.hl7.org/CodeSystem/measure-population"

static void group(struct buf *out, const char *system, const struct fhir_figure *f, bool first)
{
    buf_printf(out,
               "%s{\"code\":{\"coding\":[{\"system\":\"%s\",\"code\":\"%s\",\"display\":\"%s\"}],"
               "\"text\":\"%s\"}",
               first ? "" : ",", system, f->code, f->zh, f->en);
    if (f->denominator >= 0)
        buf_printf(out,
                   ",\"population\":[{\"code\":{\"coding\":[{\"system\":\"" POPULATION "\","
                   "\"code\":\"numerator\"}]},\"count\":%lld},{\"code\":{\"coding\":[{\"system\":"
                   "\"" POPULATION "\",\"code\":\"denominator\"}]},\"count\":%lld}]",
                   (long long)f->numerator, (long long)f->denominator);
    if (f->score)
        buf_printf(out, ",\"measureScore\":%s", f->score);
    else if (f->denominator < 0)
        buf_printf(out, ",\"measureScore\":{\"value\":%lld}", (long long)f->numerator);
    else if (f->denominator > 0)
        buf_printf(out, ",\"measureScore\":{\"value\":%.4f}",
                   (double)f->numerator / (double)f->denominator);
    buf_append_str(out, "}");
}

void fhir_measure_report(struct buf *out, const char *measure_url, const char *indicator_system,
                         const char *reporter, const char *name, const char *start, const char *end,
                         const struct fhir_figure *f, size_t n)
{
    char now[40];
    time_format_instant(time_now_ms(), now, sizeof(now));
    buf_printf(out,
               "{\"resource\":{\"resourceType\":\"MeasureReport\",\"status\":\"complete\","
               "\"type\":\"summary\",\"measure\":\"%s\",\"date\":\"%s\","
               "\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"reporter\":{\"reference\":",
               measure_url, now, start, end);
    buf_append_json_string(out, reporter, strlen(reporter));
    buf_append_str(out, ",\"display\":");
    buf_append_json_string(out, name ? name : "", name ? strlen(name) : 0);
    buf_append_str(out, "},\"group\":[");
    for (size_t i = 0; i < n; i++)
        group(out, indicator_system, &f[i], i == 0);
    buf_append_str(out, "]}}");
}

void fhir_measure_begin(struct rest_ctx *c, bool csv, const char *csv_header)
{
    struct buf *out = &c->res->body;
    buf_reset(out);
    if (csv) {
        buf_append_str(out, csv_header);
        buf_append_str(out, "\r\n");
    } else {
        buf_append_str(out, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[");
    }
}

void fhir_measure_next(struct rest_ctx *c, size_t i)
{
    if (i)
        buf_append_str(&c->res->body, ",");
}

void fhir_measure_end(struct rest_ctx *c, bool csv)
{
    if (!csv)
        buf_append_str(&c->res->body, "]}");
    c->res->status = 200;
    if (csv)
        c->res->content_type = "text/csv; charset=utf-8";
    else
        rest_json_type(c);
}

void fhir_csv_text(struct buf *out, const char *s)
{
    buf_append_str(out, "\"");
    for (const char *p = s ? s : ""; *p; p++)
        buf_append(out, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
    buf_append_str(out, "\"");
}
