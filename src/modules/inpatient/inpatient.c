/*
 * inpatient.c - the bed pool's rules (inpatient.h): bed statuses and their
 * transitions, whether a bed serves a patient, and the ranking of the beds
 * that do (own department first, then borrowed within the specialty group
 * by floor distance).
 */
#include "modules/inpatient/inpatient.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

static const struct {
    const char *code; /* bed-status code */
    const char *zh;   /* its name */
    char v2;          /* HL7 v2-0116 bed status */
} STATUSES[BED__COUNT] = {
    [BED_FREE] = {"free", "空床", 'U'},         [BED_RESERVED] = {"reserved", "已预约", 0},
    [BED_OCCUPIED] = {"occupied", "占用", 'O'}, [BED_CLEANING] = {"cleaning", "清洁中", 'H'},
    [BED_BLOCKED] = {"blocked", "停用", 'C'},   [BED_ISOLATION] = {"isolation", "隔离", 'I'},
};

const char *bed_status_code(enum bed_status s)
{
    return s < BED__COUNT ? STATUSES[s].code : "unknown";
}

const char *bed_status_zh(enum bed_status s)
{
    return s < BED__COUNT ? STATUSES[s].zh : "未知";
}

bool bed_status_parse(const char *system, const char *code, enum bed_status *out)
{
    if (!code)
        return false;
    bool v2 = system && !strcmp(system, INPT_V2_0116);
    if (v2 && !strcmp(code, "K")) { /* contaminated: closed like a blocked bed */
        *out = BED_BLOCKED;
        return true;
    }
    for (int s = 0; s < BED__COUNT; s++)
        if (v2 ? code[0] && !code[1] && code[0] == STATUSES[s].v2
               : !strcmp(code, STATUSES[s].code)) {
            *out = (enum bed_status)s;
            return true;
        }
    return false;
}

/* from -> to per event; BED__COUNT = not allowed. */
static const enum bed_status MOVES[][BED__COUNT] = {
    /*                free          reserved      occupied    cleaning       blocked    isolation */
    [BED_EV_RESERVE] = {BED_RESERVED, BED__COUNT, BED__COUNT, BED__COUNT, BED__COUNT, BED__COUNT},
    [BED_EV_OCCUPY] = {BED_OCCUPIED, BED_OCCUPIED, BED__COUNT, BED__COUNT, BED__COUNT, BED__COUNT},
    [BED_EV_RELEASE] = {BED__COUNT, BED_FREE, BED__COUNT, BED__COUNT, BED__COUNT, BED__COUNT},
    [BED_EV_VACATE] = {BED__COUNT, BED__COUNT, BED_CLEANING, BED__COUNT, BED__COUNT, BED__COUNT},
    [BED_EV_CLEANED] = {BED__COUNT, BED__COUNT, BED__COUNT, BED_FREE, BED__COUNT, BED__COUNT},
    [BED_EV_BLOCK] = {BED_BLOCKED, BED__COUNT, BED__COUNT, BED_BLOCKED, BED__COUNT, BED__COUNT},
    [BED_EV_ISOLATE] = {BED_ISOLATION, BED__COUNT, BED__COUNT, BED_ISOLATION, BED__COUNT,
                        BED__COUNT},
    [BED_EV_UNBLOCK] = {BED__COUNT, BED__COUNT, BED__COUNT, BED__COUNT, BED_FREE, BED_CLEANING},
};

bool bed_transition(enum bed_status from, enum bed_event ev, enum bed_status *to)
{
    if (from >= BED__COUNT || (size_t)ev >= sizeof(MOVES) / sizeof(MOVES[0]))
        return false;
    enum bed_status next = MOVES[ev][from];
    if (next == BED__COUNT)
        return false;
    *to = next;
    return true;
}

static bool same(const char *a, const char *b)
{
    return a && b && (a == b || !strcmp(a, b)); /* the pool shares one copy of a ward's strings */
}

/* Floors from the nearest home floor in b's building; INT32_MAX when none is in it. */
static int floor_distance(const struct bed_request *rq, const struct bed_place *b)
{
    int best = INT32_MAX;
    if (!b->at.building || b->at.floor == INPT_NO_FLOOR)
        return best;
    for (size_t i = 0; i < rq->nfloors; i++) {
        const struct bed_floor *f = &rq->floors[i];
        if (f->floor == INPT_NO_FLOOR || !same(f->building, b->at.building))
            continue;
        int d = abs(f->floor - b->at.floor);
        if (d < best)
            best = d;
    }
    return best;
}

/* The patient and the bed: type, sex and age. BED_FIT_OWN when they agree. */
static enum bed_fit patient_fits(const struct bed_request *rq, const struct bed_place *b)
{
    const char *want = rq->type ? rq->type : INPT_GENERAL;
    const char *has = b->type ? b->type : INPT_GENERAL;
    if (strcmp(want, has))
        return BED_UNFIT_TYPE;
    if (b->sex && b->sex != rq->sex)
        return BED_UNFIT_SEX;
    if ((b->age_min >= 0 || b->age_max >= 0) &&
        (rq->age < 0 || (b->age_min >= 0 && rq->age < b->age_min) ||
         (b->age_max >= 0 && rq->age > b->age_max)))
        return BED_UNFIT_AGE;
    return BED_FIT_OWN;
}

enum bed_fit bed_fit_bed(const struct bed_request *rq, const struct bed_place *b,
                         bool ignore_status)
{
    if (!b->active)
        return BED_UNFIT_INACTIVE;
    if (!ignore_status && b->status != BED_FREE)
        return BED_UNFIT_STATUS;
    if (!same(rq->hospital, b->hospital))
        return BED_UNFIT_HOSPITAL;
    return patient_fits(rq, b);
}

enum bed_fit bed_fit_ward(const struct bed_request *rq, const struct bed_place *b, int *distance)
{
    *distance = floor_distance(rq, b);
    if (same(rq->department, b->department))
        return BED_FIT_OWN;
    if (!same(rq->group, b->group))
        return BED_UNFIT_GROUP;
    if (b->isolation_ward)
        return BED_UNFIT_ISOLATION;
    if (*distance > rq->max_floor_distance)
        return BED_UNFIT_FAR;
    return BED_FIT_BORROW;
}

enum bed_fit bed_fit(const struct bed_request *rq, const struct bed_place *b, bool ignore_status,
                     int *distance)
{
    enum bed_fit fit = bed_fit_bed(rq, b, ignore_status);
    if (fit != BED_FIT_OWN) {
        *distance = floor_distance(rq, b);
        return fit;
    }
    return bed_fit_ward(rq, b, distance);
}

static const char *const FIT_ZH[] = {
    [BED_FIT_OWN] = "本科室空床",
    [BED_FIT_BORROW] = "同专科组、楼层相近的借床",
    [BED_UNFIT_STATUS] = "床位非空闲",
    [BED_UNFIT_INACTIVE] = "床位未启用",
    [BED_UNFIT_HOSPITAL] = "属其他医院",
    [BED_UNFIT_TYPE] = "床位类型不符",
    [BED_UNFIT_SEX] = "床位限定性别不符",
    [BED_UNFIT_AGE] = "患者年龄不在床位限定范围",
    [BED_UNFIT_GROUP] = "不属同一专科组，不可借床",
    [BED_UNFIT_FAR] = "楼层相距过远或不在同一楼宇，不可借床",
    [BED_UNFIT_ISOLATION] = "隔离病区不接收借床",
};

static const char *const FIT_EN[] = {
    [BED_FIT_OWN] = "a free bed of the home department",
    [BED_FIT_BORROW] = "a bed borrowed from a ward of the same specialty group, near enough",
    [BED_UNFIT_STATUS] = "the bed is not free",
    [BED_UNFIT_INACTIVE] = "the bed is not in use",
    [BED_UNFIT_HOSPITAL] = "the bed belongs to another hospital",
    [BED_UNFIT_TYPE] = "the bed is of another type",
    [BED_UNFIT_SEX] = "the bed is for patients of the other sex",
    [BED_UNFIT_AGE] = "the patient's age is outside the bed's range",
    [BED_UNFIT_GROUP] = "another specialty group: beds are borrowed only within the group",
    [BED_UNFIT_FAR] = "too many floors away or in another building to borrow",
    [BED_UNFIT_ISOLATION] = "an isolation ward's beds are not borrowed",
};

static const char *const FIT_CODE[] = {
    [BED_FIT_OWN] = "own",
    [BED_FIT_BORROW] = "borrow",
    [BED_UNFIT_STATUS] = "not-free",
    [BED_UNFIT_INACTIVE] = "inactive",
    [BED_UNFIT_HOSPITAL] = "hospital",
    [BED_UNFIT_TYPE] = "type",
    [BED_UNFIT_SEX] = "sex",
    [BED_UNFIT_AGE] = "age",
    [BED_UNFIT_GROUP] = "group",
    [BED_UNFIT_FAR] = "far",
    [BED_UNFIT_ISOLATION] = "isolation-ward",
};

const char *bed_fit_code(enum bed_fit f)
{
    return (size_t)f < sizeof(FIT_CODE) / sizeof(FIT_CODE[0]) ? FIT_CODE[f] : "";
}

const char *bed_fit_zh(enum bed_fit f)
{
    return (size_t)f < sizeof(FIT_ZH) / sizeof(FIT_ZH[0]) ? FIT_ZH[f] : "";
}

const char *bed_fit_en(enum bed_fit f)
{
    return (size_t)f < sizeof(FIT_EN) / sizeof(FIT_EN[0]) ? FIT_EN[f] : "";
}

static int text_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

int bed_candidate_cmp(const void *pa, const void *pb)
{
    const struct bed_candidate *a = pa, *b = pb;
    if (a->fit != b->fit)
        return a->fit < b->fit ? -1 : 1;
    int da = a->fit == BED_FIT_OWN ? 0 : a->distance, db = b->fit == BED_FIT_OWN ? 0 : b->distance;
    if (da != db)
        return da < db ? -1 : 1;
    int c = text_cmp(a->bed->ward_name, b->bed->ward_name);
    if (!c)
        c = text_cmp(a->bed->name, b->bed->name);
    return c ? c : text_cmp(a->bed->id, b->bed->id);
}

int inpt_age_years(const char *birth_date, int64_t now_ms)
{
    int by, bm, bd;
    if (!birth_date || sscanf(birth_date, "%4d-%2d-%2d", &by, &bm, &bd) != 3)
        return -1;
    char now[11];
    time_china_day(now_ms, now);
    int ny, nm, nd;
    if (sscanf(now, "%4d-%2d-%2d", &ny, &nm, &nd) != 3)
        return -1;
    int age = ny - by - ((nm < bm || (nm == bm && nd < bd)) ? 1 : 0);
    return age >= 0 ? age : -1;
}
