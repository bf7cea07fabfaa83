/*
 * measure.h - what the modules' indicator reports share: whose figures a
 * caller may see, a calendar month, a MeasureReport of figures, CSV text.
 * Reports are Bundles of MeasureReports (type summary), one per reporting
 * unit (a ward, a hospital, a city), or CSV with one row per unit.
 */
#ifndef FHIR_MEASURE_H
#define FHIR_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/strmap.h"

struct rest_ctx;

/* One figure of a report. */
struct fhir_figure {
    const char *code;    /* its code in the report's indicator system */
    const char *zh, *en; /* its names */
    int64_t numerator;   /* a count; for a ratio its numerator */
    int64_t denominator; /* a ratio's denominator; -1 for a count */
    const char *score;   /* a measureScore (Quantity JSON) instead of the count or ratio, or NULL */
};

/*
 * Whose figures the caller may see: *all, or their organisation (ORG), or
 * their region's organisations (REGION) put into allowed (initialised here,
 * in a). False (answered 403) for other callers.
 */
bool fhir_measure_scope(struct rest_ctx *c, struct arena *a, struct strmap *allowed, bool *all);

/* "YYYY-MM": its first day, last day and the next month's first day; false if malformed. */
bool fhir_measure_month(const char *period, char start[32], char end[32], char next[32]);

/*
 * Append {"resource": a MeasureReport} of figures f[0..n) of measure_url by
 * reporter (a reference, with its display name) over start..end; codes in
 * indicator_system. A ratio's score is numerator / denominator (none when
 * the denominator is 0), with both as populations.
 */
void fhir_measure_report(struct buf *out, const char *measure_url, const char *indicator_system,
                         const char *reporter, const char *name, const char *start, const char *end,
                         const struct fhir_figure *f, size_t n);

/*
 * The answer of a report operation in c's response: begin with the CSV
 * header line (csv) or a Bundle's opening; before every MeasureReport but
 * the first, fhir_measure_next; end closes the Bundle and sets the status
 * and the content type.
 */
void fhir_measure_begin(struct rest_ctx *c, bool csv, const char *csv_header);
void fhir_measure_next(struct rest_ctx *c, size_t i);
void fhir_measure_end(struct rest_ctx *c, bool csv);

/* s as one CSV field, quoted. */
void fhir_csv_text(struct buf *out, const char *s);

#endif
