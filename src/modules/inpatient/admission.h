/*
 * admission.h - the one-stop admission centre's rules (入院服务中心,
 * DOMAIN.md §2) and day surgery's (日间手术, §3), apart from the store and
 * HTTP (admission_routes.c). Pure: values in, decisions out.
 *
 * An admission notice is a ServiceRequest (category admission or
 * day-surgery); the queue orders notices by urgency, then by waiting time.
 * Pre-admission (预住院) is an Encounter of class PRENC from registration:
 * tests, anaesthesia assessment and education are tracked on it; admitted
 * within the window (5 days, 7 with approval [A]) its costs are settled with
 * the stay, otherwise as outpatient costs. Windows are durations from
 * registration, not calendar days [A].
 *
 * Day surgery: a procedure of the hospital's catalogue, ASA I-II, an adult
 * escort [A]; admission, procedure and discharge within 24 hours measured as
 * a duration (23:00 to 01:00 is two hours); discharge needs a PADS score of
 * 9 or more [A]; a stay past 24 hours becomes an ordinary inpatient stay.
 */
#ifndef MODULES_INPATIENT_ADMISSION_H
#define MODULES_INPATIENT_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADM_HOUR_MS        (3600 * 1000LL)
#define ADM_DAY_MS         (24 * ADM_HOUR_MS)
#define ADM_DAY_SURGERY_MS (24 * ADM_HOUR_MS) /* the 24-hour rule */
#define ADM_ITEM_COUNT     3
/* the death-case discussion within a week of the death (18 core systems, DOMAIN.md §12) */
#define ADM_DEATH_DISCUSSION_MS (7 * ADM_DAY_MS)

/* FHIR request-priority, most urgent first; ADM_PRIORITY__COUNT when unknown. */
enum adm_priority { ADM_STAT, ADM_ASAP, ADM_URGENT, ADM_ROUTINE, ADM_PRIORITY__COUNT };

enum adm_priority adm_priority_parse(const char *code); /* NULL or unknown: routine */
const char *adm_priority_code(enum adm_priority p);

/* A notice in the queue. */
struct adm_notice {
    const char *id; /* ServiceRequest id */
    enum adm_priority priority;
    int64_t authored_ms; /* when the notice was written */
};

/* qsort order of notices: more urgent first, then longer waiting, then id. */
int adm_notice_cmp(const void *a, const void *b);

/* What pre-admission tracks before the stay. */
enum adm_item { ADM_ITEM_TESTS, ADM_ITEM_ANAESTHESIA, ADM_ITEM_EDUCATION };
const char *adm_item_code(enum adm_item i); /* "tests", "anaesthesia", "education" */
const char *adm_item_zh(enum adm_item i);
bool adm_item_parse(const char *code, enum adm_item *out);

/* Configuration of the window [A]. */
struct adm_window {
    int days;          /* admitted within this many days of registration: inpatient settlement */
    int extended_days; /* with approval */
};

enum adm_preadm_state {
    ADM_PREADM_OPEN,   /* within the window */
    ADM_PREADM_LAPSED, /* past it: its costs are settled as outpatient costs */
};

/* The deadline of a pre-admission registered at start_ms (extended or not). */
int64_t adm_preadm_deadline(const struct adm_window *w, int64_t start_ms, bool extended);
/* Its state at now. */
enum adm_preadm_state adm_preadm_state(const struct adm_window *w, int64_t start_ms, bool extended,
                                       int64_t now_ms);

/* Who may be pre-admitted: clear diagnosis, stable condition, elective surgery [S: S3]. */
enum adm_preadm_refusal {
    ADM_PREADM_OK,
    ADM_PREADM_NOT_ELECTIVE, /* not for an elective operation */
    ADM_PREADM_NO_DIAGNOSIS, /* diagnosis not confirmed */
    ADM_PREADM_UNSTABLE,     /* condition not stable */
};
enum adm_preadm_refusal adm_preadm_check(bool elective, bool diagnosis_confirmed, bool stable);
const char *adm_preadm_refusal_text(enum adm_preadm_refusal r); /* "中文 / English" */

/* ---- day surgery ---- */

/* Hospital levels that carry a minimum catalogue size [S: S3]. */
enum adm_level { ADM_LEVEL_3_GENERAL, ADM_LEVEL_3_TCM, ADM_LEVEL_2_GENERAL, ADM_LEVEL_OTHER };
enum adm_level adm_level_parse(const char *code); /* "3-general", "3-tcm", "2-general" */
/* Procedures the catalogue must hold at least: 50, 25, 20; 0 when no minimum applies. */
int adm_catalogue_minimum(enum adm_level level);

/* Configuration [A]. */
struct adm_day_rules {
    int max_asa;        /* highest ASA class accepted: 2 */
    bool escort_needed; /* an adult escort is required */
    int min_pads;       /* discharge needs a PADS score of at least this: 9 */
};

enum adm_day_refusal {
    ADM_DAY_OK,
    ADM_DAY_NOT_IN_CATALOGUE, /* the procedure is not in the hospital's catalogue */
    ADM_DAY_ASA,              /* ASA class too high (or not assessed) */
    ADM_DAY_ESCORT,           /* no adult escort */
};
/* asa 0 = not assessed. */
enum adm_day_refusal adm_day_check(const struct adm_day_rules *r, bool in_catalogue, int asa,
                                   bool escort);
const char *adm_day_refusal_text(enum adm_day_refusal r);

/* Has a day-surgery stay that began at admit_ms passed 24 hours at now? (a duration) */
bool adm_day_overstayed(int64_t admit_ms, int64_t now_ms);
/* May the patient go home with this PADS score (0..10)? */
bool adm_day_may_discharge(const struct adm_day_rules *r, int pads);

/*
 * Is at_ms on the day planned (FHIR date or dateTime), in China's time
 * (UTC+8)? A day-surgery patient is admitted on the booked day; a notice
 * withdrawn on it is a same-day cancellation.
 */
bool adm_same_day(const char *planned, int64_t at_ms);

/* ---- how a stay ends ---- */

#define ADM_DISPOSITION_SYSTEM "http://terminology.hl7.org/CodeSystem/discharge-disposition"

/* A discharge disposition (离院方式) of FHIR's code system. */
struct adm_disposition {
    const char *code; /* "home", "aadvice", "exp", ... */
    const char *zh;   /* its Chinese name */
    const char *en;   /* its English display */
    bool home;        /* the patient goes home: day surgery's PADS threshold applies */
};

/* The disposition of code, or NULL when code is not one (free text, kept as text). */
const struct adm_disposition *adm_disposition_find(const char *code);
/* The patient died (exp): a death-case discussion is due (死亡病例讨论, DOMAIN.md §12). */
bool adm_disposition_died(const struct adm_disposition *d);
/*
 * Does a day-surgery discharge with disposition d (NULL: not coded) need a
 * PADS score at the threshold? Only when the patient goes home: one who
 * died, left against advice or was transferred is discharged without it.
 */
bool adm_day_needs_pads(const struct adm_disposition *d);

#endif
