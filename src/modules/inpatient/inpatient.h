/*
 * inpatient.h - the inpatient flow (DOMAIN.md §2): the whole-hospital bed
 * pool (全院一张床) and its bed statuses, apart from the store and HTTP
 * (bed_pool.c keeps the beds, bed_routes.c serves the operations). Pure:
 * everything here decides from values handed in.
 *
 * Data, not code [A]: a ward's specialty group (专科组) is an extension on
 * its Location, the floor of a level likewise; how many floors a borrowed
 * bed may be away is the option inpatient.borrow_floor_distance.
 *
 * A bed's status moves only along bed_transition's table:
 *
 *      reserve           occupy
 *   free ───► reserved ───► occupied ── vacate ──► cleaning ── cleaned ──► free
 *    │  ◄──── release ──┘                            │
 *    ├── block ──► blocked ── unblock ──► free       ├── block / isolate
 *    └── isolate ─► isolation ── unblock ──► cleaning (terminal disinfection)
 *   free ── occupy ──► occupied (admission without reservation)
 */
#ifndef MODULES_INPATIENT_INPATIENT_H
#define MODULES_INPATIENT_INPATIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INPT_BASE                "https://fhir.yujian.org.cn"
#define INPT_EXT                 INPT_BASE "/StructureDefinition/"
#define INPT_STATUS_SYSTEM       INPT_BASE "/CodeSystem/bed-status"
#define INPT_TYPE_SYSTEM         INPT_BASE "/CodeSystem/bed-type"
#define INPT_PHYSICAL_SYSTEM     "http://terminology.hl7.org/CodeSystem/location-physical-type"
#define INPT_V2_0116             "http://terminology.hl7.org/CodeSystem/v2-0116"
#define INPT_EXT_GROUP           INPT_EXT "specialty-group"
#define INPT_EXT_FLOOR           INPT_EXT "floor-number"
#define INPT_EXT_ISOLATION       INPT_EXT "isolation-ward"
#define INPT_EXT_SEX             INPT_EXT "bed-sex"
#define INPT_EXT_AGE_MIN         INPT_EXT "bed-age-min"
#define INPT_EXT_AGE_MAX         INPT_EXT "bed-age-max"
#define INPT_EXT_ENCOUNTER       INPT_EXT "bed-encounter"
#define INPT_EXT_SINCE           INPT_EXT "bed-status-since"
#define INPT_EXT_REASON          INPT_EXT "bed-status-reason"
#define INPT_EXT_TURNAROUND      INPT_EXT "bed-turnaround"
#define INPT_EXT_BORROWED        INPT_EXT "borrowed-bed"
#define INPT_REQUEST_SYSTEM      INPT_BASE "/CodeSystem/inpatient-request" /* admission, day-surgery */
#define INPT_CATALOGUE_URL       INPT_BASE "/ValueSet/day-surgery-"        /* + the hospital's id */
#define INPT_EXT_ELECTIVE        INPT_EXT "elective-surgery"
#define INPT_EXT_PREADM          INPT_EXT "pre-admission"
#define INPT_EXT_PREADM_DEADLINE INPT_EXT "pre-admission-deadline"
#define INPT_EXT_PREADM_EXTENDED INPT_EXT "pre-admission-extended"
#define INPT_EXT_PREADM_ITEM     INPT_EXT "pre-admission-item"
#define INPT_V3_ACT              "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define INPT_V3_PRIORITY         "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
#define INPT_EXT_SETTLEMENT      INPT_EXT "pre-admission-settlement"
#define INPT_EXT_PREADM_ENDED    INPT_EXT "pre-admission-ended" /* lapsed, admitted-elsewhere */
#define INPT_EXT_CANCEL_REASON   INPT_EXT "cancel-reason"
#define INPT_EXT_CANCELLED       INPT_EXT "cancelled"
#define INPT_EXT_ASA             INPT_EXT "asa-class"
#define INPT_EXT_ESCORT          INPT_EXT "adult-escort"
#define INPT_EXT_CONVERTED       INPT_EXT "day-surgery-converted"
#define INPT_EXT_STAY            INPT_EXT "stay-minutes"
#define INPT_EXT_PADS            INPT_EXT "pads-score"
#define INPT_EXT_LEVEL           INPT_EXT "hospital-level"
#define INPT_TASK_SYSTEM         INPT_BASE "/CodeSystem/inpatient-task"
#define INPT_GENERAL             "general" /* the bed type of a request that names none */
#define INPT_NO_FLOOR            INT32_MIN /* a place whose floor is not recorded */

enum bed_status {
    BED_FREE,      /* 空床 */
    BED_RESERVED,  /* 预约: held for one encounter */
    BED_OCCUPIED,  /* 占用 */
    BED_CLEANING,  /* 终末清洁 after a patient left */
    BED_BLOCKED,   /* 停用: maintenance */
    BED_ISOLATION, /* 隔离: closed for isolation use */
    BED__COUNT,
};

enum bed_event {
    BED_EV_RESERVE, /* hold a free bed for an encounter */
    BED_EV_OCCUPY,  /* a patient takes the bed */
    BED_EV_RELEASE, /* a reservation is given up */
    BED_EV_VACATE,  /* the patient left (discharge, transfer out) */
    BED_EV_CLEANED, /* cleaning finished */
    BED_EV_BLOCK,   /* taken out of use */
    BED_EV_ISOLATE, /* closed for isolation */
    BED_EV_UNBLOCK, /* back into use */
};

/* "free", "reserved", ...; the Chinese and English names. */
const char *bed_status_code(enum bed_status s);
const char *bed_status_zh(enum bed_status s);
/* A bed-status code, or an HL7 v2-0116 code (U O H C K I); false if neither. */
bool bed_status_parse(const char *system, const char *code, enum bed_status *out);

/* The status after ev, or false when ev may not happen in status from. */
bool bed_transition(enum bed_status from, enum bed_event ev, enum bed_status *to);

/* A floor of a building: where a department's wards are. */
struct bed_floor {
    const char *building; /* Location id of the building, or NULL */
    int floor;            /* INPT_NO_FLOOR when unknown */
};

/* A bed as the pool sees it, with what its ancestors say resolved. */
struct bed_place {
    const char *id;         /* the bed's Location id */
    const char *name;       /* its name ("12-3床") */
    const char *ward;       /* its ward's Location id, or NULL */
    const char *ward_name;  /* the ward's name */
    const char *department; /* "Organization/id" owning the ward, or NULL */
    const char *group;      /* the ward's specialty group, or NULL */
    bool isolation_ward;    /* the ward is an isolation ward: never borrowed into */
    struct bed_floor at;    /* its building and floor */
    const char *hospital;   /* "Organization/id", or NULL */
    const char *type;       /* bed type code; NULL = general */
    char sex;               /* 'm' or 'f' only, or 0 */
    int age_min, age_max;   /* years, inclusive; -1 = no limit */
    bool active;            /* Location.status active */
    enum bed_status status;
    const char *encounter; /* "Encounter/id" holding it (reserved, occupied), or NULL */
    int64_t since_ms;      /* when the status began, or 0 */
    int64_t version;       /* the Location version this was read from */
};

/* What a patient needs of a bed. */
struct bed_request {
    const char *hospital;           /* "Organization/id" */
    const char *department;         /* the home department, "Organization/id" */
    const char *group;              /* its specialty group; NULL: it may not borrow */
    const struct bed_floor *floors; /* the floors of its wards */
    size_t nfloors;                 /* how many */
    const char *type;               /* bed type wanted; NULL = general */
    char sex;                       /* the patient's: 'm', 'f' or 0 (unknown) */
    int age;                        /* years, or -1 (unknown) */
    int max_floor_distance;         /* how far a borrowed bed may be, in floors */
};

/* Whether a bed serves a request, best first; the rest say why not. */
enum bed_fit {
    BED_FIT_OWN,        /* the home department's own bed */
    BED_FIT_BORROW,     /* a bed of the same specialty group, near enough */
    BED_UNFIT_STATUS,   /* not free */
    BED_UNFIT_INACTIVE, /* the bed is not in use (Location.status) */
    BED_UNFIT_HOSPITAL, /* another hospital's */
    BED_UNFIT_TYPE,     /* another bed type */
    BED_UNFIT_SEX,      /* the bed is for the other sex */
    BED_UNFIT_AGE,      /* the patient's age is outside the bed's */
    BED_UNFIT_GROUP,    /* another specialty group (or the home department has none) */
    BED_UNFIT_FAR,      /* same group, but too many floors away or in another building */
    BED_UNFIT_ISOLATION /* an isolation ward is not borrowed into */
};

/*
 * Does bed b serve request rq? *distance is the floor distance from the
 * nearest of the home department's floors in the same building (INT32_MAX
 * when none is), for ranking. The status is not looked at when
 * ignore_status (a bed reserved for this very encounter).
 */
enum bed_fit bed_fit(const struct bed_request *rq, const struct bed_place *b, bool ignore_status,
                     int *distance);

/*
 * bed_fit in two parts, for a caller judging many beds: what the bed itself
 * decides (in use, status, hospital, type, sex, age: BED_FIT_OWN when they
 * allow it), and what its ward decides (own department, or borrowing), the
 * same for every bed of a ward.
 */
enum bed_fit bed_fit_bed(const struct bed_request *rq, const struct bed_place *b,
                         bool ignore_status);
enum bed_fit bed_fit_ward(const struct bed_request *rq, const struct bed_place *b, int *distance);

/* Its code: "own", "borrow", "not-free", "inactive", "hospital", "type", "sex", "age", "group",
 * "far", "isolation-ward". */
const char *bed_fit_code(enum bed_fit f);
/* Why, in Chinese and English. */
const char *bed_fit_zh(enum bed_fit f);
const char *bed_fit_en(enum bed_fit f);

/* A bed that fits, to rank. */
struct bed_candidate {
    const struct bed_place *bed;
    enum bed_fit fit; /* OWN or BORROW */
    int distance;     /* floors from the home department */
};

/* qsort order of candidates: own beds first, then nearer, then by ward and bed name. */
int bed_candidate_cmp(const void *a, const void *b);

/* Age in whole years at now (both "YYYY-MM-DD" prefixes), or -1 when birth is malformed. */
int inpt_age_years(const char *birth_date, int64_t now_ms);

#endif
