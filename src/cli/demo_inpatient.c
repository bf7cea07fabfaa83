/*
 * demo_inpatient.c - the inpatient part of the demo set (modules/inpatient):
 * 郑大一附院's A building with four wards of twelve beds on floors 5-8
 * (surgery: 普外科 and 骨科; internal medicine: 心内科 and 呼吸内科), about
 * half the beds occupied (one patient of 普外科 in a bed borrowed from 骨科),
 * beds being cleaned, one blocked, one reserved; admission notices in the
 * queue, one patient in pre-admission, day surgery booked for tomorrow and
 * one done yesterday; and the hospital's day-surgery catalogue.
 */
#include "cli/demo_data.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "modules/inpatient/inpatient.h"

#define HOSPITAL "org-zzu1"
#define V3_ACT   "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define HOUR_MS  (3600 * 1000LL)
#define WARDS    4
#define BEDS     12 /* per ward: 4 rooms of 3 */

static const struct dept {
    const char *id, *name, *group, *ward;
    int floor;
} depts[WARDS] = {
    {"dept-zzu1-gs", "普外科", "surgery", "普外一病区", 5},
    {"dept-zzu1-orth", "骨科", "surgery", "骨科病区", 6},
    {"dept-zzu1-card", "心内科", "internal", "心内一病区", 7},
    {"dept-zzu1-resp", "呼吸内科", "internal", "呼吸病区", 8},
};

/* ICD-9-CM-3 procedures of the catalogue (国家临床版 codes) */
static const struct procedure {
    const char *code, *name;
} procedures[] = {
    {"51.2301", "腹腔镜胆囊切除术"},
    {"53.0201", "腹股沟斜疝修补术"},
    {"13.1901", "白内障超声乳化摘除术"},
    {"45.4201", "内镜下结肠息肉切除术"},
    {"80.2601", "膝关节镜检查"},
    {"81.8301", "关节镜肩袖修补术"},
    {"38.5901", "大隐静脉高位结扎剥脱术"},
    {"28.2x01", "扁桃体切除术"},
    {"49.4601", "痔切除术"},
    {"85.2101", "乳腺病损局部切除术"},
    {"60.2901", "经尿道前列腺电切术"},
    {"68.1601", "宫腔镜检查"},
};

/* Each bed's status by its number in the ward: who lies in it is below. */
static const char *bed_status(int ward, int n)
{
    if (ward == 0 && n == 11)
        return "blocked";
    if (ward == 2 && n == 10)
        return "reserved";
    if (n == 9 && ward % 2 == 0)
        return "cleaning";
    return n < 6 - ward ? "occupied" : "free";
}

static enum err gen_place(struct importer *im, struct buf *b)
{
    buf_printf(b,
               "{\"resourceType\":\"Location\",\"id\":\"loc-zzu1-a\"," DEMO_HELD_BY
               "\"status\":\"active\",\"name\":\"郑大一附院 A楼\",\"mode\":\"instance\","
               "\"physicalType\":{\"coding\":[{\"system\":\"" INPT_PHYSICAL_SYSTEM
               "\",\"code\":\"bu\"}]},\"managingOrganization\":{\"reference\":"
               "\"Organization/" HOSPITAL "\"}}",
               HOSPITAL);
    enum err err = demo_queue_json(im, b, "demo building");
    for (int w = 0; !err && w < WARDS; w++) {
        const struct dept *d = &depts[w];
        buf_printf(b,
                   "{\"resourceType\":\"Organization\",\"id\":\"%s\"," DEMO_HELD_BY
                   "\"active\":true,\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7."
                   "org/CodeSystem/organization-type\",\"code\":\"dept\"}]}],\"name\":\"%s\","
                   "\"partOf\":{\"reference\":\"Organization/" HOSPITAL "\"}}",
                   d->id, HOSPITAL, d->name);
        err = demo_queue_json(im, b, "demo department");
        if (!err) {
            buf_printf(b,
                       "{\"resourceType\":\"Location\",\"id\":\"loc-zzu1-a%d\"," DEMO_HELD_BY
                       "\"status\":\"active\",\"name\":\"A楼%d层\",\"mode\":\"instance\","
                       "\"extension\":[{\"url\":\"" INPT_EXT_FLOOR "\",\"valueInteger\":%d}],"
                       "\"physicalType\":{\"coding\":[{\"system\":\"" INPT_PHYSICAL_SYSTEM
                       "\",\"code\":\"lvl\"}]},\"partOf\":{\"reference\":\"Location/loc-zzu1-a\"}}",
                       d->floor, HOSPITAL, d->floor, d->floor);
            err = demo_queue_json(im, b, "demo floor");
        }
        if (!err) {
            buf_printf(b,
                       "{\"resourceType\":\"Location\",\"id\":\"ward-zzu1-%d\"," DEMO_HELD_BY
                       "\"status\":\"active\",\"name\":\"%s\",\"mode\":\"instance\","
                       "\"extension\":[{\"url\":\"" INPT_EXT_GROUP "\",\"valueCode\":\"%s\"}],"
                       "\"physicalType\":{\"coding\":[{\"system\":\"" INPT_PHYSICAL_SYSTEM
                       "\",\"code\":\"wa\"}]},\"partOf\":{\"reference\":\"Location/loc-zzu1-a%d\"},"
                       "\"managingOrganization\":{\"reference\":\"Organization/%s\"}}",
                       w, HOSPITAL, d->ward, d->group, d->floor, d->id);
            err = demo_queue_json(im, b, "demo ward");
        }
    }
    return err;
}

/* The patient lying in bed n of ward w (pat-0021 on), or 0 for none. */
static int occupant(int w, int n, int patients)
{
    int p = 21 + w * BEDS + n;
    const char *s = bed_status(w, n);
    return (!strcmp(s, "occupied") || !strcmp(s, "reserved")) && p <= patients ? p : 0;
}

static enum err gen_beds(struct importer *im, struct buf *b, int patients)
{
    enum err err = ERR_OK;
    char since[40];
    time_format_instant(time_now_ms() - 2 * HOUR_MS, since, sizeof(since));
    for (int w = 0; !err && w < WARDS; w++)
        for (int n = 0; !err && n < BEDS; n++) {
            int room = depts[w].floor * 100 + n / 3 + 1, p = occupant(w, n, patients);
            const char *status = bed_status(w, n);
            if (!p && (!strcmp(status, "occupied") || !strcmp(status, "reserved")))
                status = "free"; /* too few demo patients to fill it */
            buf_printf(b,
                       "{\"resourceType\":\"Location\",\"id\":\"bed-zzu1-%d-%02d\"," DEMO_HELD_BY
                       "\"status\":\"active\",\"name\":\"%d-%d床\",\"mode\":\"instance\","
                       "\"operationalStatus\":{\"system\":\"" INPT_STATUS_SYSTEM
                       "\",\"code\":\"%s\"},\"type\":[{\"coding\":[{\"system\":\"" INPT_TYPE_SYSTEM
                       "\",\"code\":\"general\"}]}],\"physicalType\":{\"coding\":[{\"system\":"
                       "\"" INPT_PHYSICAL_SYSTEM "\",\"code\":\"bd\"}]},"
                       "\"partOf\":{\"reference\":\"Location/ward-zzu1-%d\"},\"extension\":["
                       "{\"url\":\"" INPT_EXT_SINCE "\",\"valueInstant\":\"%s\"}",
                       w, n + 1, HOSPITAL, room, n % 3 + 1, status, w, since);
            if (p)
                buf_printf(b,
                           ",{\"url\":\"" INPT_EXT_ENCOUNTER "\",\"valueReference\":{\"reference\":"
                           "\"Encounter/stay-%04d\"}}",
                           p);
            if (!strcmp(status, "blocked"))
                buf_append_str(b, ",{\"url\":\"" INPT_EXT_REASON
                                  "\",\"valueString\":\"床头设备带维修\"}");
            buf_append_str(b, "]}");
            err = demo_queue_json(im, b, "demo bed");
        }
    return err;
}

static enum err gen_stays(struct importer *im, struct buf *b, int patients)
{
    enum err err = ERR_OK;
    int64_t now = time_now_ms();
    for (int w = 0; !err && w < WARDS; w++)
        for (int n = 0; !err && n < BEDS; n++) {
            int p = occupant(w, n, patients);
            if (!p)
                continue;
            bool reserved = !strcmp(bed_status(w, n), "reserved");
            bool borrowed = w == 1 && n == 4; /* a 普外科 patient in a bed of 骨科 */
            char start[40];
            time_format_instant(now - (p % 5 + 1) * 24 * HOUR_MS, start, sizeof(start));
            buf_printf(b,
                       "{\"resourceType\":\"Encounter\",\"id\":\"stay-%04d\"," DEMO_HELD_BY
                       "\"status\":\"%s\",\"class\":{\"system\":\"" V3_ACT "\",\"code\":\"IMP\","
                       "\"display\":\"住院\"},\"subject\":{\"reference\":\"Patient/pat-%04d\"},"
                       "\"serviceProvider\":{\"reference\":\"Organization/%s\"},",
                       p, HOSPITAL, reserved ? "planned" : "in-progress", p,
                       borrowed ? depts[0].id : depts[w].id);
            if (!reserved)
                buf_printf(b, "\"period\":{\"start\":\"%s\"},", start);
            buf_printf(b,
                       "\"location\":[{\"location\":{\"reference\":\"Location/bed-zzu1-%d-%02d\","
                       "\"display\":\"%d-%d床\"},\"status\":\"%s\",\"physicalType\":{\"coding\":"
                       "[{\"system\":\"" INPT_PHYSICAL_SYSTEM "\",\"code\":\"bd\"}]},"
                       "\"period\":{\"start\":\"%s\"}",
                       w, n + 1, depts[w].floor * 100 + n / 3 + 1, n % 3 + 1,
                       reserved ? "reserved" : "active", start);
            if (borrowed)
                buf_printf(b,
                           ",\"extension\":[{\"url\":\"" INPT_EXT_BORROWED "\",\"valueReference\":"
                           "{\"reference\":\"Organization/%s\"}}]",
                           depts[1].id);
            buf_append_str(b, "}]}");
            err = demo_queue_json(im, b, "demo stay");
        }
    return err;
}

/* An admission notice for patient p to department d. */
static enum err notice(struct importer *im, struct buf *b, int i, int p, const struct dept *d,
                       const char *priority, int hours_ago, const char *extra)
{
    char authored[40];
    time_format_instant(time_now_ms() - hours_ago * HOUR_MS, authored, sizeof(authored));
    buf_printf(b,
               "{\"resourceType\":\"ServiceRequest\",\"id\":\"notice-zzu1-%d\"," DEMO_HELD_BY
               "\"status\":\"active\",\"intent\":\"order\",\"priority\":\"%s\","
               "\"subject\":{\"reference\":\"Patient/pat-%04d\"},"
               "\"performer\":[{\"reference\":\"Organization/%s\",\"display\":\"%s\"},"
               "{\"reference\":\"Organization/" HOSPITAL "\"}],"
               "\"insurance\":[{\"display\":\"%s\"}],"
               "\"authoredOn\":\"%s\",%s}",
               i, HOSPITAL, priority, p, d->id, d->name,
               p % 2 ? "城镇职工基本医疗保险" : "城乡居民基本医疗保险", authored, extra);
    return demo_queue_json(im, b, "demo admission notice");
}

#define CATEGORY(code)                                                                             \
    "\"category\":[{\"coding\":[{\"system\":\"" INPT_REQUEST_SYSTEM "\",\"code\":\"" code "\"}]}]"
#define DIAGNOSIS(code, name)                                                                      \
    "\"reasonCode\":[{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/icd-10\",\"code\":\"" code \
    "\",\"display\":\"" name "\"}]}]"
#define PROCEDURE(code, name)                                                                      \
    "\"code\":{\"coding\":[{\"system\":\"" DEMO_ICD9CM3 "\",\"code\":\"" code                      \
    "\",\"display\":\"" name "\"}]}"

static enum err gen_notices(struct importer *im, struct buf *b, int patients)
{
    if (patients < 68)
        return ERR_OK;
    char tomorrow[40];
    time_format_instant(time_now_ms() + 24 * HOUR_MS, tomorrow, sizeof(tomorrow));
    char booked[400];
    snprintf(booked, sizeof(booked),
             "\"occurrenceDateTime\":\"%s\",\"extension\":[{\"url\":\"" INPT_EXT_ASA
             "\",\"valueInteger\":1},{\"url\":\"" INPT_EXT_ESCORT "\",\"valueBoolean\":true}]",
             tomorrow);
    enum err err = notice(im, b, 1, 61, &depts[0], "routine", 50,
                          CATEGORY("admission") "," DIAGNOSIS(
                              "K80.2", "胆囊结石") ","
                                                   "\"extension\":[{\"url\":\"" INPT_EXT_ELECTIVE
                                                   "\",\"valueBoolean\":true},"
                                                   "{\"url\":\"" INPT_EXT_PREADM
                                                   "\",\"valueReference\":{\"reference\":"
                                                   "\"Encounter/pre-zzu1-1\"}}]");
    if (!err)
        err = notice(im, b, 2, 62, &depts[2], "urgent", 6,
                     CATEGORY("admission") "," DIAGNOSIS("I20.0", "不稳定型心绞痛"));
    if (!err)
        err = notice(im, b, 3, 63, &depts[1], "routine", 30,
                     CATEGORY("admission") "," DIAGNOSIS(
                         "M17.1", "膝关节骨关节炎") ","
                                                    "\"extension\":[{\"url\":\"" INPT_EXT_ELECTIVE
                                                    "\",\"valueBoolean\":true}]");
    if (!err)
        err = notice(im, b, 4, 64, &depts[3], "routine", 12,
                     CATEGORY("admission") "," DIAGNOSIS("J18.9", "肺炎"));
    if (!err)
        err = notice(im, b, 5, 65, &depts[0], "routine", 20,
                     CATEGORY("day-surgery") "," PROCEDURE("53.0201", "腹股沟斜疝修补术"));
    if (!err) { /* the day surgery booked for tomorrow */
        char extra[1000];
        snprintf(extra, sizeof(extra),
                 CATEGORY("day-surgery") "," PROCEDURE("51.2301", "腹腔镜胆囊切除术") ",%s",
                 booked);
        err = notice(im, b, 6, 66, &depts[0], "routine", 40, extra);
    }
    return err;
}

/* Pre-admission of notice 1 for two days, its tests done; a day surgery done yesterday. */
static enum err gen_pre_and_day(struct importer *im, struct buf *b, int patients)
{
    if (patients < 68)
        return ERR_OK;
    int64_t now = time_now_ms();
    char start[40], deadline[40], done[40], in[40], out[40];
    time_format_instant(now - 48 * HOUR_MS, start, sizeof(start));
    time_format_instant(now - 48 * HOUR_MS + 5 * 24 * HOUR_MS, deadline, sizeof(deadline));
    time_format_instant(now - 30 * HOUR_MS, done, sizeof(done));
    time_format_instant(now - 26 * HOUR_MS, in, sizeof(in));
    time_format_instant(now - 19 * HOUR_MS, out, sizeof(out));
    buf_printf(
        b,
        "{\"resourceType\":\"Encounter\",\"id\":\"pre-zzu1-1\"," DEMO_HELD_BY
        "\"status\":\"in-progress\",\"class\":{\"system\":\"" V3_ACT "\",\"code\":"
        "\"PRENC\",\"display\":\"预住院\"},\"subject\":{\"reference\":\"Patient/pat-0061\"},"
        "\"serviceProvider\":{\"reference\":\"Organization/%s\"},\"basedOn\":[{\"reference\":"
        "\"ServiceRequest/notice-zzu1-1\"}],\"period\":{\"start\":\"%s\"},\"extension\":["
        "{\"url\":\"" INPT_EXT_PREADM_DEADLINE "\",\"valueDateTime\":\"%s\"},"
        "{\"url\":\"" INPT_EXT_PREADM_ITEM "\",\"extension\":[{\"url\":\"item\","
        "\"valueCode\":\"tests\"},{\"url\":\"done\",\"valueDateTime\":\"%s\"}]}]}",
        HOSPITAL, depts[0].id, start, deadline, done);
    enum err err = demo_queue_json(im, b, "demo pre-admission");
    if (err)
        return err;
    buf_printf(
        b,
        "{\"resourceType\":\"ServiceRequest\",\"id\":\"notice-zzu1-7\"," DEMO_HELD_BY
        "\"status\":\"completed\",\"intent\":\"order\",\"priority\":\"routine\"," CATEGORY(
            "day-surgery") "," PROCEDURE("13.1901",
                                         "白内障超声乳化摘除术") ","
                                                                 "\"subject\":{\"reference\":"
                                                                 "\"Patient/pat-0067\"},"
                                                                 "\"performer\":[{\"reference\":"
                                                                 "\"Organization/%s\"}],"
                                                                 "\"authoredOn\":\"%s\","
                                                                 "\"occurrenceDateTime\":\"%s\"}",
        HOSPITAL, depts[0].id, start, in);
    err = demo_queue_json(im, b, "demo day-surgery notice");
    if (err)
        return err;
    buf_printf(
        b,
        "{\"resourceType\":\"Encounter\",\"id\":\"ds-zzu1-1\"," DEMO_HELD_BY
        "\"status\":\"finished\",\"class\":{\"system\":\"" V3_ACT "\",\"code\":\"SS\","
        "\"display\":\"日间手术\"},\"subject\":{\"reference\":\"Patient/pat-0067\"},"
        "\"serviceProvider\":{\"reference\":\"Organization/%s\"},\"basedOn\":[{\"reference\":"
        "\"ServiceRequest/notice-zzu1-7\"}],\"period\":{\"start\":\"%s\",\"end\":\"%s\"},"
        "\"location\":[{\"location\":{\"reference\":\"Location/bed-zzu1-0-08\"},"
        "\"status\":\"completed\",\"physicalType\":{\"coding\":[{\"system\":"
        "\"" INPT_PHYSICAL_SYSTEM "\",\"code\":\"bd\"}]},\"period\":{\"start\":\"%s\","
        "\"end\":\"%s\"}}],\"extension\":[{\"url\":\"" INPT_EXT_PADS "\",\"valueInteger\":10},"
        "{\"url\":\"" INPT_EXT_STAY "\",\"valueInteger\":420}]}",
        HOSPITAL, depts[0].id, in, out, in, out);
    return demo_queue_json(im, b, "demo day surgery");
}

static enum err gen_catalogue(struct importer *im, struct buf *b)
{
    buf_printf(b,
               "{\"resourceType\":\"ValueSet\",\"id\":\"day-surgery-" HOSPITAL "\"," DEMO_HELD_BY
               "\"url\":\"" INPT_CATALOGUE_URL HOSPITAL "\",\"version\":\"2024\","
               "\"name\":\"DaySurgeryCatalogueZZU1\",\"title\":\"郑大一附院日间手术目录\","
               "\"status\":\"active\",\"compose\":{\"include\":[{\"system\":\"" DEMO_ICD9CM3
               "\",\"concept\":[",
               HOSPITAL);
    for (size_t i = 0; i < sizeof(procedures) / sizeof(procedures[0]); i++)
        buf_printf(b, "%s{\"code\":\"%s\",\"display\":\"%s\"}", i ? "," : "", procedures[i].code,
                   procedures[i].name);
    buf_append_str(b, "]}]}}");
    return demo_queue_json(im, b, "demo day-surgery catalogue");
}

enum err demo_inpatient_generate(struct importer *im, int patients)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    enum err err = gen_place(im, &b);
    if (!err)
        err = gen_beds(im, &b, patients);
    if (!err)
        err = gen_stays(im, &b, patients);
    if (!err)
        err = gen_notices(im, &b, patients);
    if (!err)
        err = gen_pre_and_day(im, &b, patients);
    if (!err)
        err = gen_catalogue(im, &b);
    buf_release(&b);
    return err;
}
