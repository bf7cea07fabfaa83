/*
 * recognition.h - mutual recognition of lab and imaging results between
 * hospitals (检查检验结果互认, DOMAIN.md §1): the rules, apart from the
 * store and HTTP (recognition_routes.c). Everything here is pure: it reads
 * parsed resources and answers.
 *
 * Data, not code [A]: the item catalogue is a CodeSystem (RECOG_CATALOGUE_URL)
 * whose concepts carry each item's kind, scope, window, price and units; a
 * laboratory's EQA (室间质评) record is a list of extensions on its
 * Organization; an institution's alliance (医联体/医共体) is an extension on
 * its Organization, its city the health commission up its partOf chain.
 * The six situations that allow a re-test are the national rule [S] and
 * live in the table of recognition.c.
 */
#ifndef MODULES_RECOGNITION_RECOGNITION_H
#define MODULES_RECOGNITION_RECOGNITION_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

#define RECOG_BASE           "https://fhir.yujian.org.cn"
#define RECOG_CATALOGUE_URL  RECOG_BASE "/CodeSystem/recognition-items"
#define RECOG_REASON_SYSTEM  RECOG_BASE "/CodeSystem/recognition-reason"
#define RECOG_RETEST_SYSTEM  RECOG_BASE "/CodeSystem/recognition-retest-reason"
#define RECOG_DECISION_CODE  RECOG_BASE "/CodeSystem/recognition"
#define RECOG_EXT            RECOG_BASE "/StructureDefinition/"
#define RECOG_EXT_EQA        RECOG_EXT "eqa"
#define RECOG_EXT_ALLIANCE   RECOG_EXT "alliance"
#define RECOG_EXT_MARK       RECOG_EXT "recognition-mark"
#define RECOG_DIVISION_OID   "urn:oid:2.16.156.10011.0.9.2.1" /* GB/T 2260 division codes */
#define RECOG_MAX_CONVERSION 4
#define RECOG_NOTE_MAX       200 /* characters of a decision's explanation */
/* the mark of alliance items [A]: DOMAIN.md names only the province's and the cities' */
#define RECOG_ALLIANCE_MARK "医联体HR"

enum recog_kind { RECOG_LAB, RECOG_IMAGING };

/* Where a recognised result is valid, narrowest first. */
enum recog_scope { RECOG_SCOPE_ALLIANCE, RECOG_SCOPE_CITY, RECOG_SCOPE_PROVINCE };

struct recog_conversion {
    const char *unit; /* a unit results may come in */
    double factor;    /* value in unit x factor = value in the item's unit */
};

struct recog_item {
    const char *system;  /* code system of the item (LOINC for lab items) */
    const char *code;    /* the item's code */
    const char *display; /* its name, Chinese */
    enum recog_kind kind;
    enum recog_scope scope;
    int window_days;   /* results older than this are for reference only */
    int64_t price_fen; /* price of the test, fen: what a recognition saves */
    const char *unit;  /* the unit values are compared in; NULL = any */
    struct recog_conversion conv[RECOG_MAX_CONVERSION];
    size_t nconv;
};

struct recog_catalogue {
    const char *version;       /* the CodeSystem's version (the year's list) */
    const char *province_mark; /* "豫HR" */
    struct recog_item *items;
    size_t count;
};

/* The string member key of a JSON object, or NULL (absent, or not a string). */
const char *recog_str(json_object *o, const char *key);

/*
 * Read a catalogue from a CodeSystem resource into the arena; false with
 * the reason in why when an item is malformed (the whole list is refused:
 * a half-read catalogue would recognise too little or too much).
 */
bool recog_catalogue_parse(json_object *cs, struct arena *a, struct recog_catalogue *out, char *why,
                           size_t size);
/* The item with this code (system NULL: any system), or NULL. */
const struct recog_item *recog_catalogue_find(const struct recog_catalogue *cat, const char *system,
                                              const char *code);
/* Is item one of items[] (n of them)? */
bool recog_item_among(const struct recog_item *item, const struct recog_item *const *items,
                      size_t n);

/* One EQA outcome of a laboratory for an item, valid over [start, end]. */
struct recog_eqa {
    const char *system, *code; /* the item */
    int64_t start, end;        /* ms, inclusive */
    bool passed;
};

/* A laboratory's EQA record from its Organization, into the arena. */
size_t recog_eqa_parse(json_object *org, struct arena *a, struct recog_eqa **out);
/*
 * Was the laboratory qualified for the item at time at? The outcome whose
 * period covers at and which started last decides (a failure published
 * mid-cycle ends an earlier pass from its start); none covering: no.
 */
bool recog_eqa_qualified(const struct recog_eqa *eqa, size_t n, const char *system,
                         const char *code, int64_t at);

/* Where an institution is, for the scope of recognition. */
struct recog_place {
    const char *org;       /* "Organization/id" */
    const char *name;      /* its name, or NULL */
    const char *city;      /* division code of its city ("410100"), or NULL */
    const char *city_name; /* short name of its city ("郑州"), or NULL */
    const char *alliance;  /* "Organization/id" of its alliance, or NULL */
};

/* The city (division code) a division code belongs to, into out[7]; false if not a code. */
bool recog_city_of_division(const char *division, char out[7]);

/* A prior result, as the routes found it. */
struct recog_result {
    const char *ref;             /* "Observation/id" or "DiagnosticReport/id" */
    const char *status;          /* FHIR status */
    int64_t reported;            /* issued, else effective, ms; INT64_MIN: unknown */
    bool has_value;              /* lab: a valueQuantity */
    double value;                /* its value */
    const char *unit;            /* its unit (code, else unit text), or NULL */
    bool has_images;             /* imaging: an ImagingStudy with a study instance UID */
    struct recog_place lab;      /* the producing laboratory; lab.org NULL: unknown */
    const struct recog_eqa *eqa; /* its EQA record */
    size_t neqa;
};

enum recog_reason {
    RECOG_OK,            /* may be recognised */
    RECOG_NOT_FINAL,     /* preliminary, cancelled, entered in error */
    RECOG_NO_DATE,       /* no report time */
    RECOG_FUTURE,        /* reported in the future */
    RECOG_EXPIRED,       /* older than the item's window: reference only */
    RECOG_NO_LAB,        /* producer unknown */
    RECOG_NOT_QUALIFIED, /* the lab had no EQA pass for the item at the report date */
    RECOG_OUT_OF_SCOPE,  /* outside the item's alliance or city */
    RECOG_NO_IMAGES,     /* imaging report without an image study */
    RECOG_UNIT,          /* a unit that cannot be converted */
    RECOG_NO_VALUE,      /* lab result without a quantity */
    RECOG__COUNT
};

struct recog_reason_text {
    const char *code, *zh, *en;
};
extern const struct recog_reason_text recog_reasons[RECOG__COUNT];

struct recog_verdict {
    enum recog_reason reason; /* RECOG_OK: recognisable */
    const char *mark;         /* "豫HR", "郑州HR", or the alliance's; NULL when not */
    int64_t expires;          /* end of the window, ms */
    double value;             /* lab: the value in the item's unit */
    const char *unit;         /* and that unit */
};

/*
 * May a doctor at consumer recognise r for item at time now? The first
 * failing rule gives the reason. Strings of the verdict are from the
 * arena, the item, the catalogue or the places.
 */
void recog_evaluate(const struct recog_catalogue *cat, const struct recog_item *item,
                    const struct recog_result *r, const struct recog_place *consumer, int64_t now,
                    struct arena *a, struct recog_verdict *out);

/* The situations in which a doctor may re-test instead of recognising. */
struct recog_retest_reason {
    const char *code, *zh, *en;
    bool needs_consent; /* the patient's consent must be recorded [A] */
};
extern const struct recog_retest_reason recog_retest_reasons[];
extern const size_t recog_retest_reason_count;
const struct recog_retest_reason *recog_retest_find(const char *code);

/* A doctor's decision on one item, as submitted. */
struct recog_decision {
    bool recognised;    /* else a re-test */
    const char *reason; /* re-test: a recog_retest_reasons code */
    const char *note;   /* explanation, at most RECOG_NOTE_MAX characters */
    bool explained;     /* the re-test's purpose was explained to the patient */
    bool consent;       /* the patient consented */
};

/*
 * Check a decision against the verdict of its result: recognise only what
 * is recognisable; a re-test of a recognisable result needs a reason, an
 * explanation to the patient and, for some reasons, consent — except in an
 * emergency (not bound). False with the reason (Chinese / English) in why.
 */
bool recog_decision_check(const struct recog_decision *d, const struct recog_verdict *v,
                          bool emergency, char *why, size_t size);

/*
 * Does a resource of type with this status (and, for a ServiceRequest,
 * intent) order or charge a test, the act a recognition makes needless
 * ("never bill a test recorded as recognised", DOMAIN.md §1)? An active
 * order (ServiceRequest, intent order or a kind of order), a charge
 * planned, billable or billed (ChargeItem). Drafts, proposals, plans,
 * revoked, completed or erroneous records do not.
 */
bool recog_is_charge(const char *type, const char *status, const char *intent);

#endif
