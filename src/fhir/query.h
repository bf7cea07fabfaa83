/*
 * query.h - search parameters (FHIR R4 search.html) parsed into a store
 * query, independent of HTTP: the search interaction, the conditional
 * interactions (If-None-Exist, PUT/DELETE [type]?...) and the conditional
 * references of a transaction all parse through here.
 *
 * A query is an AND of clauses, one per parameter; a clause is an OR of
 * the parameter's comma-separated values. Chained parameters
 * (subject:Patient.name=x) and _has (_has:Observation:patient:code=x) nest
 * a query of the other type inside a predicate. Result parameters (_count,
 * _sort, _include, _summary, _elements, _total ...) are kept beside it.
 */
#ifndef FHIR_QUERY_H
#define FHIR_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "store/store.h"

#define FHIR_QUERY_MAX_PARAMS   64 /* parameters (clauses) in one query */
#define FHIR_QUERY_MAX_VALUES   64 /* comma-separated values of one parameter */
#define FHIR_QUERY_MAX_SORT     8  /* _sort keys */
#define FHIR_QUERY_MAX_INCLUDES 16 /* _include plus _revinclude */
#define FHIR_QUERY_MAX_ELEMENTS 32 /* _elements names */
#define FHIR_QUERY_MAX_DEPTH    3  /* nesting of chains and _has */

enum fhir_query_result {
    FHIR_QUERY_OK,          /* applied */
    FHIR_QUERY_UNSUPPORTED, /* not applied: unknown parameter or modifier (lenient may ignore) */
    FHIR_QUERY_INVALID,     /* a supported parameter with a bad value: always an error */
};

enum fhir_summary {
    FHIR_SUMMARY_FALSE, /* the whole resource (default) */
    FHIR_SUMMARY_TRUE,  /* elements marked isSummary */
    FHIR_SUMMARY_TEXT,  /* text, id, meta and the mandatory elements */
    FHIR_SUMMARY_DATA,  /* everything but text */
    FHIR_SUMMARY_COUNT, /* the total only */
};

struct fhir_include {
    bool reverse;            /* _revinclude */
    bool iterate;            /* :iterate (also follow from included resources) */
    const char *source_type; /* type holding the reference: Observation in Observation:subject */
    const char *param;       /* "Observation.subject"; NULL for '*' (every reference) */
    const char *target_type; /* Observation:subject:Patient; NULL = any */
    const char *text;        /* the value as given, for the self link */
};

/* One code of an expanded value set or hierarchy (token :in :not-in :above :below). */
struct fhir_code {
    const char *system; /* NULL when the code has none */
    const char *code;
};

struct fhir_query;

/*
 * Expand a token modifier's value: modifier "in"/"not-in" with a ValueSet
 * URL, "above"/"below" with "system|code". *out (in q->arena) gets the
 * codes and *n how many; on failure q->why says why.
 */
typedef enum fhir_query_result fhir_codes_fn(void *ctx, struct fhir_query *q, const char *modifier,
                                             const char *value, struct fhir_code **out, size_t *n);

#define FHIR_QUERY_MAX_CODES 500 /* codes one :in :above :below :not-in may expand to */

/*
 * Confine a nested query (a chain's target, a _has source) to what the
 * caller reaches, as the outer query is (fhir/access.h); false when no
 * record of its type is reachable.
 */
typedef bool fhir_confine_fn(void *ctx, struct fhir_query *q);

struct fhir_query {
    struct arena *arena;      /* everything parsed lives here */
    fhir_confine_fn *confine; /* applied to each nested query; NULL = none (copied to nested) */
    void *confine_ctx;        /* its argument */
    fhir_codes_fn *codes;     /* terminology; NULL = none */
    void *codes_ctx;          /* its argument */
    const struct config *cfg; /* limits */
    const char *type;         /* resource type searched */
    int depth;                /* 0, or the nesting of a chain */
    struct store_clause clauses[FHIR_QUERY_MAX_PARAMS + 1]; /* AND-ed; +1: fhir_query_confine */
    size_t nclauses;                                        /* used */
    struct store_sort sort[FHIR_QUERY_MAX_SORT];            /* _sort keys, in order */
    size_t nsort;                                           /* used */
    struct fhir_include includes[FHIR_QUERY_MAX_INCLUDES];  /* _include, _revinclude */
    size_t nincludes;                                       /* used */
    const char *elements[FHIR_QUERY_MAX_ELEMENTS];          /* _elements */
    size_t nelements;                                       /* used */
    enum fhir_summary summary;                              /* _summary */
    long long count;                                        /* page size (_count) */
    long long cursor; /* _cursor: key, or offset when sorted */
    long long before; /* _before: the page ending at this key */
    bool want_total;  /* _total=accurate|estimate */
    bool total_none;  /* _total=none */
    char why[256];    /* reason of the last non-OK result */
};

/* Start an empty query of type; count is cfg->default_count. */
void fhir_query_init(struct fhir_query *q, struct arena *a, const struct config *cfg,
                     const char *type);

/* Apply one name=value (already percent-decoded); on failure q->why says why. */
enum fhir_query_result fhir_query_add(struct fhir_query *q, const char *name, const char *value);

/*
 * Add cl (its predicates stay the caller's) as one more AND-ed clause,
 * beyond the parameter limit: the access confinement (fhir/access.h). At
 * most once per query, after the parameters.
 */
void fhir_query_confine(struct fhir_query *q, const struct store_clause *cl);

/* Reset q (of its type) to match no resource at all. */
void fhir_query_match_nothing(struct fhir_query *q);

struct fhir_query_pair;

/*
 * One clause that is the OR of several parameters (each name=value parsed
 * as by fhir_query_add, each giving one clause): "period:missing=true" or
 * "period=le2024-01-01". False with q->why when one does not parse.
 */
bool fhir_query_add_any(struct fhir_query *q, const struct fhir_query_pair *alts, size_t n);

/* True when name is a result parameter (_count, _sort ...) rather than a filter. */
bool fhir_query_is_result_param(const char *name);

/*
 * Parse the query string of a conditional URL ("identifier=a%7Cb&active=true")
 * strictly: an unknown parameter is an error, because ignoring it would widen
 * the match. Result parameters are refused too. A string without parameters
 * is an error (a condition must narrow). False with q->why on failure.
 */
bool fhir_query_parse_condition(struct fhir_query *q, const char *qs);

/* The store query of q, for a page of limit rows (0 = count only). */
void fhir_query_to_store(const struct fhir_query *q, int limit, struct store_query *out);

/*
 * Append value to out with the search syntax escaped (a backslash before
 * each , | $ and backslash, search.html#escaping): one part of a value,
 * such as the code of a token "system|code".
 */
void fhir_query_escape(struct buf *out, const char *value);

/* One decoded name=value of a query string ("" when the value is absent). */
struct fhir_query_pair {
    const char *name;  /* decoded name */
    const char *value; /* decoded value */
};

/*
 * Split len bytes of a query string ("a=1&b=%7C2", or a form body) into
 * decoded pairs in the arena; empty names are skipped. Returns how many.
 */
size_t fhir_query_split(struct arena *a, const char *qs, size_t len, struct fhir_query_pair **out);

#endif
