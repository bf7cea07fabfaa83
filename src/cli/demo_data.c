/*
 * demo_data.c - generates the demo set as JSON text and queues it through
 * the importer, so demo data passes the same validation as any import.
 */
#include "cli/demo_data.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "fhir/access.h"
#include "fhir/json.h"
#include "modules/inpatient/inpatient.h"
#include "modules/recognition/recognition.h"

/* meta holding a custodian tag: what the organisation holds (fhir/access.h) */
#define HELD_BY DEMO_HELD_BY

struct city {
    const char *code; /* GB/T 2260 */
    const char *name; /* Chinese */
};

static const struct city cities[] = {
    {"410100", "郑州市"},   {"410200", "开封市"},     {"410300", "洛阳市"}, {"410400", "平顶山市"},
    {"410500", "安阳市"},   {"410600", "鹤壁市"},     {"410700", "新乡市"}, {"410800", "焦作市"},
    {"410900", "濮阳市"},   {"411000", "许昌市"},     {"411100", "漯河市"}, {"411200", "三门峡市"},
    {"411300", "南阳市"},   {"411400", "商丘市"},     {"411500", "信阳市"}, {"411600", "周口市"},
    {"411700", "驻马店市"}, {"419001", "济源示范区"},
};

/* Counties (and districts) with institutions in the demo: the third level of the tree. */
static const struct city counties[] = {
    {"410104", "管城回族区"},
    {"411525", "固始县"},
};

static const char *const county_city[] = {"410100", "411500"};

struct hospital {
    const char *id;        /* resource id */
    const char *name;      /* Chinese name */
    const char *city_code; /* owning city */
    const char *grade;     /* 三甲, 二级, ... */
    const char *parent;    /* the health commission above it (city or county) */
    const char *level;     /* hospital-level code for day surgery's catalogue minimum, or NULL */
};

static const struct hospital hospitals[] = {
    {"org-zzu1", "郑州大学第一附属医院", "410100", "三级甲等", "hc-410100", "3-general"},
    {"org-hnsrmyy", "河南省人民医院", "410100", "三级甲等", "hc-410100", "3-general"},
    {"org-hnzyy1", "河南中医药大学第一附属医院", "410100", "三级甲等", "hc-410100", "3-tcm"},
    {"org-hnzlyy", "河南省肿瘤医院", "410100", "三级甲等", "hc-410100", "3-general"},
    {"org-zzu3", "郑州大学第三附属医院", "410100", "三级甲等", "hc-410100", "3-general"},
    {"org-zzszxyy", "郑州市中心医院", "410100", "三级甲等", "hc-410100", "3-general"},
    {"org-zkszxyy", "周口市中心医院", "411600", "三级甲等", "hc-411600", "3-general"},
    {"org-sqsyy", "商丘市第一人民医院", "411400", "三级甲等", "hc-411400", "3-general"},
    {"org-aysrmyy", "安阳市人民医院", "410500", "三级甲等", "hc-410500", "3-general"},
    {"org-xcszxyy", "许昌市中心医院", "411000", "三级甲等", "hc-411000", "3-general"},
    {"org-lyzgyy", "河南省洛阳正骨医院", "410300", "三级甲等", "hc-410300", "3-tcm"},
    {"org-gsxfybjy", "固始县妇幼保健院", "411500", "二级", "hc-411525", NULL},
    {"org-bxjsqzx", "郑州市管城区北下街社区卫生服务中心", "410100", "基层", "hc-410104", NULL},
    {"org-zz120", "郑州市紧急医疗救援中心", "410100", "120", "hc-410100", NULL},
};

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴",
                                       "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"};
static const char *const given[] = {"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊",   "军",
                                    "洋", "勇", "艳", "杰",   "娟", "涛", "明", "超", "秀兰", "霞"};

struct lab_item {
    const char *loinc;   /* LOINC code */
    const char *display; /* Chinese display */
    const char *unit;    /* UCUM unit */
    int low_x100;        /* reference low, x100 */
    int high_x100;       /* reference high, x100 */
};

static const struct lab_item lab_items[] = {
    {"2345-7", "葡萄糖", "mmol/L", 390, 610},         {"718-7", "血红蛋白", "g/L", 11500, 15000},
    {"6690-2", "白细胞计数", "10*9/L", 350, 950},     {"2160-0", "肌酐", "umol/L", 5700, 11100},
    {"1742-6", "丙氨酸氨基转移酶", "U/L", 900, 5000},
};

#define LAB_ITEM_COUNT (sizeof(lab_items) / sizeof(lab_items[0]))

struct catalogue_item {
    const char *code, *display, *kind, *scope;
    int window_days, price_fen;
    const char *unit, *convert;
};

/* Haemoglobin etc. province-wide, ALT city-wide, chest CT province-wide with a 30-day window. */
static const struct catalogue_item catalogue[] = {
    {"2345-7", "葡萄糖", "lab", "province", 7, 500, "mmol/L", "mg/dL 0.0555"},
    {"718-7", "血红蛋白", "lab", "province", 7, 2000, "g/L", "g/dL 10"},
    {"6690-2", "白细胞计数", "lab", "province", 7, 1000, "10*9/L", NULL},
    {"2160-0", "肌酐", "lab", "province", 7, 800, "umol/L", "mg/dL 88.4"},
    {"1742-6", "丙氨酸氨基转移酶", "lab", "city", 7, 600, "U/L", NULL},
    {"24627-2", "胸部CT", "imaging", "province", 30, 20000, NULL, NULL},
};

#define RECENT_PATIENTS 20 /* the first patients' results are from the last days */
#define CATALOGUE_COUNT (sizeof(catalogue) / sizeof(catalogue[0]))

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: small, deterministic, good enough for demo data */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int rng_range(uint64_t *s, int lo, int hi)
{
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

char demo_resident_id_check(const char *first17)
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char checks[] = "10X98765432";
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * weights[i];
    return checks[sum % 11];
}

enum err demo_queue_json(struct importer *im, struct buf *b, const char *label)
{
    struct arena arena;
    arena_init(&arena, 1024);
    struct diag d;
    diag_init(&d, &arena);
    json_object *obj = NULL;
    enum err err = fhir_json_parse(b->ptr, b->len, 64, &d, &obj);
    if (err) /* a bug in this generator, not bad input */
        fprintf(stderr, "yujian demo: %s: generated bad JSON: %s\n", label,
                d.count ? d.issues[0].message : "?");
    arena_release(&arena);
    if (!err) {
        err = importer_add(im, obj, label);
        json_object_put(obj);
    }
    buf_reset(b);
    return err;
}

/*
 * Result recognition (modules/recognition): every hospital passed the EQA
 * (室间质评) of each catalogue item for 2024-2027, except 商丘市第一人民医院,
 * which failed haemoglobin from 2025-06-01; 郑大一附院 and the 北下街
 * community centre form an alliance (医联体).
 */
static void hospital_extensions(struct buf *b, const struct hospital *h)
{
    bool is_lab = strcmp(h->grade, "120") != 0;
    bool in_alliance = !strcmp(h->id, "org-zzu1") || !strcmp(h->id, "org-bxjsqzx");
    if (!is_lab && !in_alliance)
        return;
    buf_append_str(b, "\"extension\":[");
    bool first = true;
    for (size_t i = 0; is_lab && i < CATALOGUE_COUNT; i++) {
        buf_printf(b,
                   "%s{\"url\":\"" RECOG_EXT_EQA "\",\"extension\":[{\"url\":\"item\","
                   "\"valueCoding\":{\"system\":\"http://loinc.org\",\"code\":\"%s\"}},"
                   "{\"url\":\"period\",\"valuePeriod\":{\"start\":\"2024-01-01\",\"end\":"
                   "\"2027-12-31\"}},{\"url\":\"result\",\"valueCode\":\"pass\"}]}",
                   first ? "" : ",", catalogue[i].code);
        first = false;
    }
    if (!strcmp(h->id, "org-sqsyy"))
        buf_append_str(b, ",{\"url\":\"" RECOG_EXT_EQA "\",\"extension\":[{\"url\":\"item\","
                          "\"valueCoding\":{\"system\":\"http://loinc.org\",\"code\":\"718-7\"}},"
                          "{\"url\":\"period\",\"valuePeriod\":{\"start\":\"2025-06-01\",\"end\":"
                          "\"2027-12-31\"}},{\"url\":\"result\",\"valueCode\":\"fail\"}]}");
    if (in_alliance)
        buf_printf(b,
                   "%s{\"url\":\"" RECOG_EXT_ALLIANCE "\",\"valueReference\":{\"reference\":"
                   "\"Organization/all-zzu1\"}}",
                   first ? "" : ",");
    if (h->level) /* the hospital's level: day surgery's catalogue minimum (modules/inpatient) */
        buf_printf(b, ",{\"url\":\"" INPT_EXT_LEVEL "\",\"valueCode\":\"%s\"}", h->level);
    buf_append_str(b, "],");
}

/* The recognition catalogue [A]: windows by DOMAIN.md §1, prices illustrative. */
static enum err gen_catalogue(struct importer *im, struct buf *b)
{
    buf_append_str(
        b, "{\"resourceType\":\"CodeSystem\",\"id\":\"recognition-items-2024\","
           "\"url\":\"" RECOG_CATALOGUE_URL "\",\"version\":\"2024\","
           "\"name\":\"RecognitionItems\",\"title\":\"河南省检查检验结果互认项目目录\","
           "\"status\":\"active\",\"content\":\"complete\",\"extension\":[{\"url\":"
           "\"" RECOG_EXT_MARK "\",\"valueString\":\"豫HR\"}],\"property\":["
           "{\"code\":\"system\",\"type\":\"string\"},{\"code\":\"kind\",\"type\":\"code\"},"
           "{\"code\":\"scope\",\"type\":\"code\"},{\"code\":\"window-days\","
           "\"type\":\"integer\"},{\"code\":\"price-fen\",\"type\":\"integer\"},"
           "{\"code\":\"unit\",\"type\":\"string\"},{\"code\":\"convert\","
           "\"type\":\"string\"}],\"concept\":[");
    for (size_t i = 0; i < CATALOGUE_COUNT; i++) {
        const struct catalogue_item *it = &catalogue[i];
        buf_printf(b,
                   "%s{\"code\":\"%s\",\"display\":\"%s\",\"property\":[{\"code\":\"system\","
                   "\"valueString\":\"http://loinc.org\"},{\"code\":\"kind\",\"valueCode\":"
                   "\"%s\"},{\"code\":\"scope\",\"valueCode\":\"%s\"},{\"code\":"
                   "\"window-days\",\"valueInteger\":%d},{\"code\":\"price-fen\","
                   "\"valueInteger\":%d}",
                   i ? "," : "", it->code, it->display, it->kind, it->scope, it->window_days,
                   it->price_fen);
        if (it->unit)
            buf_printf(b, ",{\"code\":\"unit\",\"valueString\":\"%s\"}", it->unit);
        if (it->convert)
            buf_printf(b, ",{\"code\":\"convert\",\"valueString\":\"%s\"}", it->convert);
        buf_append_str(b, "]}");
    }
    buf_append_str(b, "]}");
    enum err err = demo_queue_json(im, b, "demo catalogue");
    if (err)
        return err;
    buf_append_str(b, "{\"resourceType\":\"Organization\",\"id\":\"all-zzu1\",\"active\":true,"
                      "\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                      "organization-type\",\"code\":\"other\"}],\"text\":\"医联体\"}],"
                      "\"name\":\"郑州大学第一附属医院医疗联合体\"}");
    return demo_queue_json(im, b, "demo alliance");
}

static enum err gen_organizations(struct importer *im, struct buf *b)
{
    buf_printf(b, "{\"resourceType\":\"Organization\",\"id\":\"hc-410000\",\"active\":true,"
                  "\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                  "organization-type\",\"code\":\"govt\"}]}],\"name\":\"河南省卫生健康委员会\","
                  "\"alias\":[\"Health Commission of Henan Province\"]}");
    enum err err = demo_queue_json(im, b, "demo province");
    for (size_t i = 0; !err && i < sizeof(cities) / sizeof(cities[0]); i++) {
        buf_printf(
            b,
            "{\"resourceType\":\"Organization\",\"id\":\"hc-%s\",\"active\":true,"
            "\"identifier\":[{\"system\":\"urn:oid:2.16.156.10011.0.9.2.1\",\"value\":\"%s\"}],"
            "\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
            "organization-type\",\"code\":\"govt\"}]}],\"name\":\"%s卫生健康委员会\","
            "\"partOf\":{\"reference\":\"Organization/hc-410000\"}}",
            cities[i].code, cities[i].code, cities[i].name);
        err = demo_queue_json(im, b, "demo city");
    }
    for (size_t i = 0; !err && i < sizeof(counties) / sizeof(counties[0]); i++) {
        buf_printf(
            b,
            "{\"resourceType\":\"Organization\",\"id\":\"hc-%s\",\"active\":true,"
            "\"identifier\":[{\"system\":\"urn:oid:2.16.156.10011.0.9.2.1\",\"value\":\"%s\"}],"
            "\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
            "organization-type\",\"code\":\"govt\"}]}],\"name\":\"%s卫生健康委员会\","
            "\"partOf\":{\"reference\":\"Organization/hc-%s\"}}",
            counties[i].code, counties[i].code, counties[i].name, county_city[i]);
        err = demo_queue_json(im, b, "demo county");
    }
    for (size_t i = 0; !err && i < sizeof(hospitals) / sizeof(hospitals[0]); i++) {
        const struct hospital *h = &hospitals[i];
        /* an institution holds its own record: its administrators keep it */
        buf_printf(b,
                   "{\"resourceType\":\"Organization\",\"id\":\"%s\"," HELD_BY "\"active\":true,",
                   h->id, h->id);
        hospital_extensions(b, h);
        buf_printf(b,
                   "\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                   "organization-type\",\"code\":\"prov\"}],\"text\":\"%s\"}],\"name\":\"%s\","
                   "\"address\":[{\"state\":\"河南省\",\"district\":\"%s\"}],"
                   "\"partOf\":{\"reference\":\"Organization/%s\"}}",
                   h->grade, h->name, h->city_code, h->parent);
        err = demo_queue_json(im, b, "demo hospital");
    }
    return err;
}

static enum err gen_practitioners(struct importer *im, struct buf *b, uint64_t *rng)
{
    enum err err = ERR_OK;
    for (size_t i = 0; !err && i < sizeof(hospitals) / sizeof(hospitals[0]); i++) {
        for (int k = 1; !err && k <= 3; k++) {
            const char *family = surnames[rng_range(rng, 0, 19)];
            const char *name = given[rng_range(rng, 0, 19)];
            buf_printf(b,
                       "{\"resourceType\":\"Practitioner\",\"id\":\"pr-%s-%d\"," HELD_BY
                       "\"active\":true,"
                       "\"name\":[{\"text\":\"%s%s\",\"family\":\"%s\",\"given\":[\"%s\"]}]}",
                       hospitals[i].id + 4, k, hospitals[i].id, family, name, family, name);
            err = demo_queue_json(im, b, "demo practitioner");
            if (err)
                break;
            buf_printf(b,
                       "{\"resourceType\":\"PractitionerRole\",\"id\":\"prr-%s-%d\"," HELD_BY
                       "\"active\":true,"
                       "\"practitioner\":{\"reference\":\"Practitioner/pr-%s-%d\"},"
                       "\"organization\":{\"reference\":\"Organization/%s\"},"
                       "\"code\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                       "practitioner-role\",\"code\":\"%s\"}]}]}",
                       hospitals[i].id + 4, k, hospitals[i].id, hospitals[i].id + 4, k,
                       hospitals[i].id, k == 3 ? "nurse" : "doctor");
            err = demo_queue_json(im, b, "demo role");
        }
    }
    return err;
}

static enum err gen_results(struct importer *im, struct buf *b, uint64_t *rng, int p,
                            const struct hospital *h)
{
    int year = 2024, month = rng_range(rng, 1, 11), day = rng_range(rng, 1, 28);
    int hour = rng_range(rng, 0, 15);
    char when[40];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:00+08:00", year, month, day, hour + 8,
             rng_range(rng, 0, 59));
    if (p <= RECENT_PATIENTS) /* recent enough to be recognised (windows of 7 days and more) */
        time_format_instant(time_now_ms() - (int64_t)(1 + p % 5) * 86400000, when, sizeof(when));
    char refs[LAB_ITEM_COUNT * 48] = "";
    enum err err = ERR_OK;
    for (size_t i = 0; !err && i < LAB_ITEM_COUNT; i++) {
        const struct lab_item *it = &lab_items[i];
        int span = it->high_x100 - it->low_x100;
        int v = it->low_x100 - span / 4 + rng_range(rng, 0, span + span / 2);
        if (v < it->low_x100 / 2)
            v = it->low_x100 / 2; /* results are positive quantities */
        const char *flag = v < it->low_x100 ? "L" : v > it->high_x100 ? "H" : "N";
        buf_printf(b,
                   "{\"resourceType\":\"Observation\",\"id\":\"obs-%04d-%zu\"," HELD_BY
                   "\"status\":\"final\","
                   "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                   "observation-category\",\"code\":\"laboratory\"}]}],"
                   "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"%s\"}],"
                   "\"text\":\"%s\"},\"subject\":{\"reference\":\"Patient/pat-%04d\"},"
                   "\"effectiveDateTime\":\"%s\",\"issued\":\"%s\","
                   "\"performer\":[{\"reference\":\"Organization/%s\"}],"
                   "\"valueQuantity\":{\"value\":%d.%02d,\"unit\":\"%s\",\"system\":"
                   "\"http://unitsofmeasure.org\",\"code\":\"%s\"},"
                   "\"interpretation\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
                   "CodeSystem/v3-ObservationInterpretation\",\"code\":\"%s\"}]}],"
                   "\"referenceRange\":[{\"low\":{\"value\":%d.%02d,\"unit\":\"%s\"},"
                   "\"high\":{\"value\":%d.%02d,\"unit\":\"%s\"}}]}",
                   p, i, h->id, it->loinc, it->display, p, when, when, h->id, v / 100, v % 100,
                   it->unit, it->unit, flag, it->low_x100 / 100, it->low_x100 % 100, it->unit,
                   it->high_x100 / 100, it->high_x100 % 100, it->unit);
        err = demo_queue_json(im, b, "demo observation");
        size_t n = strlen(refs);
        snprintf(refs + n, sizeof(refs) - n, "%s{\"reference\":\"Observation/obs-%04d-%zu\"}",
                 i ? "," : "", p, i);
    }
    if (err)
        return err;
    buf_printf(b,
               "{\"resourceType\":\"DiagnosticReport\",\"id\":\"dr-%04d\"," HELD_BY
               "\"status\":\"final\","
               "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
               "v2-0074\",\"code\":\"LAB\"}]}],\"code\":{\"coding\":[{\"system\":"
               "\"http://loinc.org\",\"code\":\"24323-8\"}],\"text\":\"生化常规\"},"
               "\"subject\":{\"reference\":\"Patient/pat-%04d\"},\"effectiveDateTime\":\"%s\","
               "\"issued\":\"%s\",\"performer\":[{\"reference\":\"Organization/%s\"}],"
               "\"result\":[%s]}",
               p, h->id, p, when, when, h->id, refs);
    return demo_queue_json(im, b, "demo report");
}

static enum err gen_patients(struct importer *im, struct buf *b, uint64_t *rng, int count)
{
    enum err err = ERR_OK;
    /* the last institution is the 120 centre: it produces no lab results */
    size_t hospital_count = sizeof(hospitals) / sizeof(hospitals[0]) - 1;
    for (int p = 1; !err && p <= count; p++) {
        const struct hospital *h = &hospitals[(size_t)rng_range(rng, 0, (int)hospital_count - 1)];
        bool male = rng_range(rng, 0, 1) == 1;
        int year = rng_range(rng, 1940, 2020), month = rng_range(rng, 1, 12);
        int day = rng_range(rng, 1, 28);
        char idno[19];
        snprintf(idno, sizeof(idno), "%.4s02%04d%02d%02d%02d%d", h->city_code, year, month, day,
                 rng_range(rng, 0, 99), male ? 1 : 2);
        idno[17] = demo_resident_id_check(idno);
        idno[18] = '\0';
        const char *family = surnames[rng_range(rng, 0, 19)];
        const char *name = given[rng_range(rng, 0, 19)];
        buf_printf(
            b,
            "{\"resourceType\":\"Patient\",\"id\":\"pat-%04d\"," HELD_BY "\"active\":true,"
            "\"identifier\":[{\"use\":\"official\",\"system\":\"%s\",\"value\":\"%s\"}],"
            "\"name\":[{\"use\":\"official\",\"text\":\"%s%s\",\"family\":\"%s\","
            "\"given\":[\"%s\"]}],\"telecom\":[{\"system\":\"phone\",\"value\":\"1%02d%08d\"}],"
            "\"gender\":\"%s\",\"birthDate\":\"%04d-%02d-%02d\","
            "\"address\":[{\"state\":\"河南省\",\"district\":\"%.6s\"}],"
            "\"managingOrganization\":{\"reference\":\"Organization/%s\"}}",
            p, h->id, DEMO_RESIDENT_ID_SYSTEM, idno, family, name, family, name,
            rng_range(rng, 30, 89), rng_range(rng, 0, 99999999), male ? "male" : "female", year,
            month, day, h->city_code, h->id);
        err = demo_queue_json(im, b, "demo patient");
        if (!err)
            err = gen_results(im, b, rng, p, h);
    }
    return err;
}

/*
 * Sharing in the demo (fhir/access.h): the first patient (the demo
 * resident) is in an outpatient visit at 郑大一附院 (the demo doctor's
 * hospital), so that hospital reaches their records from any hospital; and
 * has granted 河南省人民医院 access to their whole record.
 */
/*
 * Imaging for recognition: the demo resident had a chest CT at 河南省人民医院
 * three days ago (a study with its UID); the second patient a chest CT
 * report at 周口市中心医院 without images (not recognisable).
 */
static enum err gen_imaging(struct importer *im, struct buf *b)
{
    char when[40];
    time_format_instant(time_now_ms() - 3 * 86400000LL, when, sizeof(when));
    buf_printf(b,
               "{\"resourceType\":\"ImagingStudy\",\"id\":\"is-0001\"," HELD_BY
               "\"status\":\"available\",\"identifier\":[{\"system\":\"urn:dicom:uid\","
               "\"value\":\"urn:oid:1.2.156.112605.14038.20241.1\"}],"
               "\"modality\":[{\"system\":\"http://dicom.nema.org/resources/ontology/DCM\","
               "\"code\":\"CT\"}],\"subject\":{\"reference\":\"Patient/pat-0001\"},"
               "\"started\":\"%s\",\"numberOfSeries\":1,\"numberOfInstances\":240}",
               "org-hnsrmyy", when);
    enum err err = demo_queue_json(im, b, "demo imaging study");
    for (int i = 1; !err && i <= 2; i++) {
        const char *org = i == 1 ? "org-hnsrmyy" : "org-zkszxyy";
        buf_printf(b,
                   "{\"resourceType\":\"DiagnosticReport\",\"id\":\"dr-ct-%04d\"," HELD_BY
                   "\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":"
                   "\"http://terminology.hl7.org/CodeSystem/v2-0074\",\"code\":\"RAD\"}]}],"
                   "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"24627-2\"}],"
                   "\"text\":\"胸部CT\"},\"subject\":{\"reference\":\"Patient/pat-%04d\"},"
                   "\"effectiveDateTime\":\"%s\",\"issued\":\"%s\","
                   "\"performer\":[{\"reference\":\"Organization/%s\"}],%s"
                   "\"conclusion\":\"双肺未见明显异常\"}",
                   i, org, i, when, when, org,
                   i == 1 ? "\"imagingStudy\":[{\"reference\":\"ImagingStudy/is-0001\"}]," : "");
        err = demo_queue_json(im, b, "demo imaging report");
    }
    return err;
}

static enum err gen_sharing(struct importer *im, struct buf *b)
{
    buf_printf(b,
               "{\"resourceType\":\"Encounter\",\"id\":\"enc-0001\"," HELD_BY
               "\"status\":\"in-progress\",\"class\":{\"system\":\"http://terminology.hl7.org/"
               "CodeSystem/v3-ActCode\",\"code\":\"AMB\",\"display\":\"门诊\"},"
               "\"subject\":{\"reference\":\"Patient/pat-0001\"},"
               "\"serviceProvider\":{\"reference\":\"Organization/org-zzu1\"}}",
               "org-zzu1");
    enum err err = demo_queue_json(im, b, "demo encounter");
    if (err)
        return err;
    buf_printf(b,
               "{\"resourceType\":\"Consent\",\"id\":\"consent-0001\",\"status\":\"active\","
               "\"scope\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
               "consentscope\",\"code\":\"patient-privacy\"}]},"
               "\"category\":[{\"coding\":[{\"system\":\"%s\",\"code\":\"%s\"}],"
               "\"text\":\"授权查阅健康档案\"}],\"patient\":{\"reference\":\"Patient/pat-0001\"},"
               "\"dateTime\":\"2024-01-01T09:00:00+08:00\","
               "\"policyRule\":{\"text\":\"居民授权 / resident's authorisation\"},"
               "\"provision\":{\"type\":\"permit\",\"period\":{\"start\":\"2024-01-01\"},"
               "\"actor\":[{\"role\":{\"text\":\"grantee\"},"
               "\"reference\":{\"reference\":\"Organization/org-hnsrmyy\"}}]}}",
               FHIR_GRANT_SYSTEM, FHIR_GRANT_CODE);
    return demo_queue_json(im, b, "demo consent");
}

enum err demo_data_generate(struct importer *im, int patients, uint64_t seed)
{
    uint64_t rng = seed ? seed : 2024;
    struct buf b;
    buf_init(&b, 64 * 1024);
    enum err err = gen_organizations(im, &b);
    if (!err)
        err = gen_catalogue(im, &b);
    if (!err)
        err = gen_practitioners(im, &b, &rng);
    if (!err)
        err = gen_patients(im, &b, &rng, patients);
    if (!err && patients > 0)
        err = gen_sharing(im, &b);
    if (!err && patients > 1)
        err = gen_imaging(im, &b);
    if (!err)
        err = demo_inpatient_generate(im, patients);
    buf_release(&b);
    return err;
}
