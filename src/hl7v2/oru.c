/*
 * oru.c - ORU^R01 to FHIR (oru.h).
 */
#include "hl7v2/oru.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "fhir/access.h"

#define CUSTODIAN_SYSTEM FHIR_CUSTODIAN_SYSTEM
#define INTERPRETATION   "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#define CATEGORY         "http://terminology.hl7.org/CodeSystem/observation-category"

void oru_id(const char *key, char out[44])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
    memcpy(out, "v2-", 3);
    for (int i = 0; i < 20; i++)
        snprintf(out + 3 + 2 * i, 3, "%02x", h[i]);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

const char *oru_time(const char *ts, const char *tz, struct arena *a)
{
    size_t n = strcspn(ts, "+-"), frac = 0;
    const char *zone = ts[n] ? ts + n : NULL;
    const char *dot = memchr(ts, '.', n);
    size_t digits = dot ? (size_t)(dot - ts) : n;
    if (dot)
        frac = n - digits - 1;
    if (!all_digits(ts, digits) || (dot && (!frac || !all_digits(dot + 1, frac))) ||
        (digits != 4 && digits != 6 && digits != 8 && digits != 10 && digits != 12 &&
         digits != 14) ||
        (zone && (strlen(zone) != 5 || !all_digits(zone + 1, 4))))
        return NULL;
    if (digits <= 8)
        return digits == 4   ? arena_printf(a, "%.4s", ts)
               : digits == 6 ? arena_printf(a, "%.4s-%.2s", ts, ts + 4)
                             : arena_printf(a, "%.4s-%.2s-%.2s", ts, ts + 4, ts + 6);
    char off[8];
    if (zone)
        snprintf(off, sizeof(off), "%c%.2s:%.2s", zone[0], zone + 1, zone + 3);
    else
        snprintf(off, sizeof(off), "%s", tz);
    return arena_printf(a, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%s%.*s%s", ts, ts + 4, ts + 6, ts + 8,
                        digits >= 12 ? ts + 10 : "00", digits >= 14 ? ts + 12 : "00",
                        dot && digits == 14 ? "." : "", dot && digits == 14 ? (int)frac : 0,
                        dot ? dot + 1 : "", off);
}

/* ---- JSON helpers ---- */

static void set_str(json_object *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_object_add(o, key, json_object_new_string(v));
}

static json_object *reference(const char *ref)
{
    json_object *r = json_object_new_object();
    set_str(r, "reference", ref);
    return r;
}

static json_object *held_by(const char *lab)
{
    json_object *tag = json_object_new_object(), *meta = json_object_new_object();
    set_str(tag, "system", CUSTODIAN_SYSTEM);
    set_str(tag, "code", lab);
    json_object *tags = json_object_new_array();
    json_object_array_add(tags, tag);
    json_object_object_add(meta, "tag", tags);
    return meta;
}

/*
 * code, text and coding system (CE/CWE components 1-3) as a CodeableConcept;
 * NULL when there is no code and no text. A system not named is
 * unnamed_system, or (NULL) the laboratory's own codes.
 */
static json_object *concept_of(const char *code, const char *text, const char *sys,
                               const char *unnamed_system, const char *lab_id, struct arena *a)
{
    if (!*code && !*text)
        return NULL;
    if (!*sys && unnamed_system)
        sys = unnamed_system;
    json_object *cc = json_object_new_object();
    if (*code) {
        json_object *coding = json_object_new_object(), *list = json_object_new_array();
        const char *system = !strcmp(sys, "LN")                           ? "http://loinc.org"
                             : !strcmp(sys, "SCT") || !strcmp(sys, "SNM") ? "http://snomed.info/sct"
                             : !strcmp(sys, "UCUM")    ? "http://unitsofmeasure.org"
                             : !strcmp(sys, "HL70487") ? ORU_HL7_TABLE "0487" /* specimen type */
                             : !strcmp(sys, "HL70070") ? ORU_HL7_TABLE "0070" /* specimen source */
                             : !strcmp(sys, "HL70163")
                                 ? ORU_HL7_TABLE "0163" /* body site */
                                 : arena_printf(a, ORU_LOCAL_CODES "%s", lab_id);
        set_str(coding, "system", system);
        set_str(coding, "code", code);
        set_str(coding, "display", text);
        json_object_array_add(list, coding);
        json_object_object_add(cc, "coding", list);
    }
    set_str(cc, "text", text);
    return cc;
}

/* A CE/CWE field (code^text^system) as a CodeableConcept; NULL when it has no code and no text. */
static json_object *concept(const struct hl7_message *m, const struct hl7_segment *s, size_t field,
                            size_t rep, const char *lab_id, struct arena *a)
{
    return concept_of(hl7_get(m, s, field, rep, 1, 0, a), hl7_get(m, s, field, rep, 2, 0, a),
                      hl7_get(m, s, field, rep, 3, 0, a), NULL, lab_id, a);
}

/* ---- the patient ---- */

static bool is_resident_id(const char *authority, const char *type)
{
    return !strcmp(type, "NNCHN") || !strcmp(authority, "CHN");
}

bool oru_read_patient(const struct hl7_message *m, const char *lab_id, struct arena *a,
                      struct oru_patient *out, char *why, size_t size)
{
    memset(out, 0, sizeof(*out));
    const struct hl7_segment *pid = hl7_segment_find(m, "PID", 0, NULL);
    size_t reps = pid ? hl7_repetitions(m, pid, 3) : 0;
    for (size_t r = 1; r <= reps && out->nids < ORU_MAX_IDS; r++) {
        const char *value = hl7_get(m, pid, 3, r, 1, 0, a);
        const char *authority = hl7_get(m, pid, 3, r, 4, 1, a);
        const char *type = hl7_get(m, pid, 3, r, 5, 0, a);
        if (!*value)
            continue;
        struct oru_identifier id = {is_resident_id(authority, type)
                                        ? ORU_RESIDENT_ID_SYSTEM
                                        : arena_printf(a, ORU_MRN_SYSTEM "%s", lab_id),
                                    value};
        if (id.system[0] && !strcmp(id.system, ORU_RESIDENT_ID_SYSTEM) && out->nids) {
            out->ids[out->nids++] = out->ids[0]; /* the resident id first */
            out->ids[0] = id;
        } else {
            out->ids[out->nids++] = id;
        }
    }
    if (!out->nids) {
        snprintf(why, size, "PID-3 (patient identifier list) is required");
        return false;
    }
    const char *family = hl7_get(m, pid, 5, 1, 1, 1, a), *given = hl7_get(m, pid, 5, 1, 2, 0, a);
    const char *sex = hl7_get(m, pid, 8, 1, 0, 0, a), *birth = hl7_get(m, pid, 7, 1, 1, 0, a);
    out->family = *family ? family : NULL;
    out->given = *given ? given : NULL;
    out->gender = !strcmp(sex, "M")   ? "male"
                  : !strcmp(sex, "F") ? "female"
                  : !strcmp(sex, "O") ? "other"
                  : *sex              ? "unknown"
                                      : NULL;
    out->birth_date = *birth ? oru_time(birth, "+08:00", a) : NULL;
    if (out->birth_date && strlen(out->birth_date) > 10)
        out->birth_date = arena_strndup(a, out->birth_date, 10);
    return true;
}

json_object *oru_patient_resource(const struct oru_patient *p, const char *id, const char *lab)
{
    json_object *o = json_object_new_object(), *ids = json_object_new_array();
    set_str(o, "resourceType", "Patient");
    set_str(o, "id", id);
    json_object_object_add(o, "meta", held_by(lab));
    for (size_t i = 0; i < p->nids; i++) {
        json_object *x = json_object_new_object();
        set_str(x, "system", p->ids[i].system);
        set_str(x, "value", p->ids[i].value);
        json_object_array_add(ids, x);
    }
    json_object_object_add(o, "identifier", ids);
    if (p->family || p->given) {
        json_object *name = json_object_new_object(), *names = json_object_new_array();
        char text[512];
        snprintf(text, sizeof(text), "%s%s", p->family ? p->family : "", p->given ? p->given : "");
        set_str(name, "text", text);
        set_str(name, "family", p->family);
        if (p->given) {
            json_object *g = json_object_new_array();
            json_object_array_add(g, json_object_new_string(p->given));
            json_object_object_add(name, "given", g);
        }
        json_object_array_add(names, name);
        json_object_object_add(o, "name", names);
    }
    set_str(o, "gender", p->gender);
    set_str(o, "birthDate", p->birth_date);
    return o;
}

/* ---- reports and results ---- */

/* A decimal as JSON allows it ("+5", "5." and "05.1" are tidied; anything else refused). */
static const char *decimal(const char *s, struct arena *a)
{
    bool neg = *s == '-';
    if (*s == '+' || *s == '-')
        s++;
    while (s[0] == '0' && isdigit((unsigned char)s[1]))
        s++;
    size_t int_digits = strspn(s, "0123456789"), n = int_digits;
    if (!int_digits)
        return NULL;
    if (s[n] == '.') {
        size_t frac = strspn(s + n + 1, "0123456789");
        n += frac ? 1 + frac : 0;
        if (!frac && s[n + 1] == '\0')
            return arena_printf(a, "%s%.*s", neg ? "-" : "", (int)n, s); /* "5." */
    }
    if (s[n] != '\0')
        return NULL;
    return arena_printf(a, "%s%s", neg ? "-" : "", s);
}

static json_object *number(const char *text)
{
    return json_object_new_double_s(strtod(text, NULL), text);
}

/* OBR-25 / OBX-11 result status codes (HL7 table 0123 / 0085) as FHIR statuses. */
static const char *status_of(const char *code, bool report)
{
    if (!strcmp(code, "F") || !*code)
        return "final";
    if (!strcmp(code, "C"))
        return "corrected";
    if (!strcmp(code, "P") || !strcmp(code, "R"))
        return "preliminary";
    if (!strcmp(code, "A"))
        return report ? "partial" : "preliminary";
    if (!strcmp(code, "X"))
        return "cancelled";
    if (!strcmp(code, "D") || !strcmp(code, "W"))
        return "entered-in-error";
    return "registered";
}

/* OBX-6 units and the quantity of a numeric OBX-5 (NM, or SN "<^5"). */
static bool quantity(const struct hl7_message *m, const struct hl7_segment *obx, const char *type,
                     struct arena *a, json_object *obs)
{
    const char *comparator = "", *text = hl7_get(m, obx, 5, 1, 0, 0, a);
    if (!strcmp(type, "SN")) {
        comparator = hl7_get(m, obx, 5, 1, 1, 0, a);
        text = hl7_get(m, obx, 5, 1, 2, 0, a);
        if (*comparator && strcmp(comparator, "<") && strcmp(comparator, ">") &&
            strcmp(comparator, "<=") && strcmp(comparator, ">="))
            return false;
    }
    const char *value = decimal(text, a);
    if (!value)
        return false;
    json_object *q = json_object_new_object();
    json_object_object_add(q, "value", number(value));
    set_str(q, "comparator", comparator);
    const char *code = hl7_get(m, obx, 6, 1, 1, 0, a), *unit = hl7_get(m, obx, 6, 1, 2, 0, a);
    set_str(q, "unit", *unit ? unit : code);
    if (*code && !strcmp(hl7_get(m, obx, 6, 1, 3, 0, a), "UCUM"))
        set_str(q, "system", "http://unitsofmeasure.org");
    set_str(q, "code", code);
    json_object_object_add(obs, "valueQuantity", q);
    return true;
}

/* OBX-5 by its type OBX-2; false when a numeric value is not a number. */
static bool value(const struct hl7_message *m, const struct hl7_segment *obx, const char *lab_id,
                  struct arena *a, json_object *obs)
{
    const char *type = hl7_get(m, obx, 2, 1, 0, 0, a);
    if (!hl7_repetitions(m, obx, 5))
        return true; /* no value: a result to come, or cancelled */
    if (!strcmp(type, "NM") || !strcmp(type, "SN"))
        return quantity(m, obx, type, a, obs);
    if (!strcmp(type, "CE") || !strcmp(type, "CWE") || !strcmp(type, "CNE")) {
        json_object *cc = concept(m, obx, 5, 1, lab_id, a);
        if (cc)
            json_object_object_add(obs, "valueCodeableConcept", cc);
        return true;
    }
    struct buf text;
    buf_init(&text, 1u << 20);
    for (size_t r = 1; r <= hl7_repetitions(m, obx, 5); r++) {
        if (r > 1)
            buf_append_str(&text, "\n");
        buf_append_str(&text, hl7_get(m, obx, 5, r, 0, 0, a));
    }
    set_str(obs, "valueString", text.ptr);
    buf_release(&text);
    return true;
}

/* OBX-7 "3.9-6.1", "<5", ">1" or free text as a referenceRange. */
static void reference_range(const char *range, json_object *obs, json_object *quantity_unit,
                            struct arena *a)
{
    if (!*range)
        return;
    json_object *rr = json_object_new_object(), *list = json_object_new_array();
    const char *dash = strchr(range + 1, '-');
    const char *low = NULL, *high = NULL;
    if (range[0] == '<')
        high = decimal(range + 1, a);
    else if (range[0] == '>')
        low = decimal(range + 1, a);
    else if (dash) {
        low = decimal(arena_strndup(a, range, (size_t)(dash - range)), a);
        high = decimal(dash + 1, a);
    }
    const char *unit = quantity_unit ? json_object_get_string(quantity_unit) : NULL;
    for (int k = 0; k < 2; k++) {
        const char *v = k ? high : low;
        if (!v)
            continue;
        json_object *q = json_object_new_object();
        json_object_object_add(q, "value", number(v));
        set_str(q, "unit", unit);
        json_object_object_add(rr, k ? "high" : "low", q);
    }
    if (!low && !high)
        set_str(rr, "text", range);
    json_object_array_add(list, rr);
    json_object_object_add(obs, "referenceRange", list);
}

struct report {
    const char *ref;      /* "DiagnosticReport/id" */
    const char *key;      /* what identifies it at the laboratory */
    const char *issued;   /* its report time (FHIR instant) */
    const char *when;     /* observation time */
    const char *status;   /* OBR-25 as a FHIR status */
    const char *specimen; /* "Specimen/id" of its first specimen, or NULL */
};

static json_object *base_resource(const char *type, const char *id, const char *patient,
                                  const char *lab_id, struct arena *a)
{
    json_object *o = json_object_new_object();
    set_str(o, "resourceType", type);
    set_str(o, "id", id);
    json_object_object_add(o, "meta", held_by(arena_printf(a, "Organization/%s", lab_id)));
    json_object_object_add(o, "subject", reference(patient));
    json_object *perf = json_object_new_array();
    json_object_array_add(perf, reference(arena_printf(a, "Organization/%s", lab_id)));
    json_object_object_add(o, "performer", perf);
    return o;
}

static bool map_obx(const struct hl7_message *m, const struct hl7_segment *obx,
                    const struct report *rep, const char *patient, const char *lab_id,
                    const char *tz, struct arena *a, struct oru_resource *out, char *why,
                    size_t size)
{
    out->resource = NULL;
    json_object *code = concept(m, obx, 3, 1, lab_id, a);
    if (!code) {
        snprintf(why, size, "OBX-3 (observation identifier) is required");
        return false;
    }
    char *key = arena_printf(a, "%s|%s|%s|%s", rep->key, hl7_get(m, obx, 3, 1, 3, 0, a),
                             hl7_get(m, obx, 3, 1, 1, 0, a), hl7_get(m, obx, 4, 1, 0, 0, a));
    oru_id(key, out->id);
    out->type = "Observation";
    json_object *o = base_resource("Observation", out->id, patient, lab_id, a);
    out->resource = o;
    const char *status = hl7_get(m, obx, 11, 1, 0, 0, a);
    set_str(o, "status", *status ? status_of(status, false) : rep->status);
    json_object *cat = json_object_new_object(), *cats = json_object_new_array(),
                *codings = json_object_new_array(), *coding = json_object_new_object();
    set_str(coding, "system", CATEGORY);
    set_str(coding, "code", "laboratory");
    json_object_array_add(codings, coding);
    json_object_object_add(cat, "coding", codings);
    json_object_array_add(cats, cat);
    json_object_object_add(o, "category", cats);
    json_object_object_add(o, "code", code);
    const char *ts = hl7_get(m, obx, 14, 1, 1, 0, a);
    const char *when = *ts ? oru_time(ts, tz, a) : rep->when;
    if (*ts && !when) {
        snprintf(why, size, "OBX-14 '%.40s' is not a timestamp", ts);
        return false;
    }
    set_str(o, "effectiveDateTime", when);
    set_str(o, "issued", rep->issued);
    if (rep->specimen)
        json_object_object_add(o, "specimen", reference(rep->specimen));
    if (!value(m, obx, lab_id, a, o)) {
        snprintf(why, size, "OBX-5 '%.40s' is not a number (OBX-2 %s)",
                 hl7_get(m, obx, 5, 1, 0, 0, a), hl7_get(m, obx, 2, 1, 0, 0, a));
        return false;
    }
    json_object *q = NULL, *unit = NULL;
    if (json_object_object_get_ex(o, "valueQuantity", &q))
        json_object_object_get_ex(q, "unit", &unit);
    reference_range(hl7_get(m, obx, 7, 1, 0, 0, a), o, unit, a);
    const char *flag = hl7_get(m, obx, 8, 1, 1, 0, a);
    if (*flag) {
        json_object *interp = json_object_new_object(), *list = json_object_new_array(),
                    *cl = json_object_new_array(), *c = json_object_new_object();
        set_str(c, "system", INTERPRETATION);
        set_str(c, "code", flag);
        json_object_array_add(cl, c);
        json_object_object_add(interp, "coding", cl);
        json_object_array_add(list, interp);
        json_object_object_add(o, "interpretation", list);
    }
    return true;
}

/* OBR: what identifies the report, its times and status. */
static bool read_obr(const struct hl7_message *m, const struct hl7_segment *obr, const char *lab_id,
                     const char *tz, struct arena *a, struct report *rep, char *why, size_t size)
{
    const char *filler = hl7_get(m, obr, 3, 1, 1, 0, a), *placer = hl7_get(m, obr, 2, 1, 1, 0, a);
    if (!*filler && !*placer) {
        snprintf(why, size, "OBR-3 (filler order number) or OBR-2 is required");
        return false;
    }
    rep->key = arena_printf(a, "%s|%s|%s", lab_id, *filler ? "F" : "P", *filler ? filler : placer);
    const char *observed = hl7_get(m, obr, 7, 1, 1, 0, a);
    const char *reported = hl7_get(m, obr, 22, 1, 1, 0, a);
    if (!*reported) {
        const struct hl7_segment *msh = &m->segments[0];
        reported = hl7_get(m, msh, 7, 1, 1, 0, a);
    }
    rep->when = *observed ? oru_time(observed, tz, a) : NULL;
    rep->issued = *reported ? oru_time(reported, tz, a) : NULL;
    if ((*observed && !rep->when) || (*reported && !rep->issued)) {
        snprintf(why, size, "OBR-7 or OBR-22 (or MSH-7) is not a timestamp");
        return false;
    }
    if (rep->issued && strlen(rep->issued) <= 10)
        rep->issued = NULL; /* issued is an instant: a bare date is no report time */
    rep->status = status_of(hl7_get(m, obr, 25, 1, 0, 0, a), true);
    return true;
}

/*
 * A Specimen of the order rep from spm (an SPM segment, v2.5 and later) or,
 * when spm is NULL, from the order's OBR-15 (specimen source, v2.3-2.4);
 * into out, its reference into refs. False with why on a malformed time.
 */
static bool map_specimen(const struct hl7_message *m, const struct hl7_segment *obr,
                         const struct hl7_segment *spm, size_t nth, struct report *rep,
                         const char *patient, const char *lab_id, const char *tz, struct arena *a,
                         struct oru_resource *out, json_object *refs, char *why, size_t size)
{
    /* SPM-2 specimen id (placer^filler), SPM-4 type, SPM-8 site, SPM-17 collected, SPM-18
     * received; OBR-15 source^additives^text^site, OBR-7 collected, OBR-14 received */
    const char *filler = spm ? hl7_get(m, spm, 2, 1, 2, 1, a) : "";
    const char *placer = spm ? hl7_get(m, spm, 2, 1, 1, 1, a) : "";
    const char *accession = *filler ? filler : placer;
    char *key = arena_printf(a, "%s|S|%s", rep->key, *accession ? accession : "");
    if (!*accession)
        key = arena_printf(a, "%s%zu", key, nth);
    oru_id(key, out->id);
    out->type = "Specimen";
    json_object *s = json_object_new_object();
    out->resource = s;
    set_str(s, "resourceType", "Specimen");
    set_str(s, "id", out->id);
    json_object_object_add(s, "meta", held_by(arena_printf(a, "Organization/%s", lab_id)));
    if (*accession) {
        json_object *id = json_object_new_object();
        set_str(id, "system", arena_printf(a, ORU_SPECIMEN_IDS "%s", lab_id));
        set_str(id, "value", accession);
        json_object_object_add(s, "accessionIdentifier", id);
    }
    /* OBR-15's component 1 is itself code&text&system, in sub-components; table 0070 unless
     * named */
    json_object *type =
        spm ? concept(m, spm, 4, 1, lab_id, a)
            : concept_of(hl7_get(m, obr, 15, 1, 1, 1, a), hl7_get(m, obr, 15, 1, 1, 2, a),
                         hl7_get(m, obr, 15, 1, 1, 3, a), "HL70070", lab_id, a);
    if (type)
        json_object_object_add(s, "type", type);
    json_object_object_add(s, "subject", reference(patient));
    const char *collected_ts = spm ? hl7_get(m, spm, 17, 1, 1, 0, a) : "";
    const char *received_ts =
        spm ? hl7_get(m, spm, 18, 1, 1, 0, a) : hl7_get(m, obr, 14, 1, 1, 0, a);
    const char *collected = *collected_ts ? oru_time(collected_ts, tz, a) : rep->when;
    const char *received = *received_ts ? oru_time(received_ts, tz, a) : NULL;
    if ((*collected_ts && !collected) || (*received_ts && !received)) {
        snprintf(why, size, "%s is not a timestamp",
                 spm ? "SPM-17 or SPM-18" : "OBR-14 (specimen received)");
        return false;
    }
    set_str(s, "receivedTime", received);
    json_object *site =
        spm ? concept(m, spm, 8, 1, lab_id, a)
            : concept_of(hl7_get(m, obr, 15, 1, 4, 1, a), hl7_get(m, obr, 15, 1, 4, 2, a),
                         hl7_get(m, obr, 15, 1, 4, 3, a), "HL70163", lab_id, a);
    if (collected || site) {
        json_object *collection = json_object_new_object();
        set_str(collection, "collectedDateTime", collected);
        if (site)
            json_object_object_add(collection, "bodySite", site);
        json_object_object_add(s, "collection", collection);
    }
    const char *ref = arena_printf(a, "Specimen/%s", out->id);
    json_object_array_add(refs, reference(ref));
    if (!rep->specimen)
        rep->specimen = ref;
    return true;
}

/* The specimens of one order as they are mapped. */
struct specimens {
    const struct hl7_message *m;
    const struct hl7_segment *obr;
    struct report *rep;
    const char *patient, *lab_id, *tz;
    struct arena *a;
    struct oru_resource *out;
    size_t *n;    /* resources of the message so far */
    size_t first; /* the order's first specimen in out */
    size_t nth;   /* specimens of the order so far */
    json_object *refs;
};

/* One more specimen (spm, or NULL: OBR-15); one named twice in the order is kept once. */
static bool add_specimen(struct specimens *sp, const struct hl7_segment *spm, char *why,
                         size_t size)
{
    if (*sp->n == ORU_MAX_RESOURCES) {
        snprintf(why, size, "more than %d results in one message", ORU_MAX_RESOURCES);
        return false;
    }
    struct oru_resource *o = &sp->out[*sp->n];
    bool ok = map_specimen(sp->m, sp->obr, spm, ++sp->nth, sp->rep, sp->patient, sp->lab_id, sp->tz,
                           sp->a, o, sp->refs, why, size);
    (*sp->n)++;
    for (size_t i = sp->first; ok && i + 1 < *sp->n; i++)
        if (!strcmp(sp->out[i].id, o->id)) { /* the same specimen again: dropped */
            json_object_array_del_idx(sp->refs, json_object_array_length(sp->refs) - 1, 1);
            json_object_put(o->resource);
            (*sp->n)--;
            break;
        }
    return ok;
}

/* The order's specimens (its SPM segments, else OBR-15) into out[*n...], the report's list. */
static bool map_specimens(const struct hl7_message *m, size_t at, struct report *rep,
                          const char *patient, const char *lab_id, const char *tz, struct arena *a,
                          struct oru_resource *out, size_t *n, json_object *report, char *why,
                          size_t size)
{
    struct specimens sp = {m, &m->segments[at], rep, patient, lab_id, tz, a, out, n, *n, 0, NULL};
    sp.refs = json_object_new_array();
    json_object_object_add(report, "specimen", sp.refs);
    for (size_t i = at + 1; i < m->nsegments && strcmp(m->segments[i].id, "OBR"); i++)
        if (!strcmp(m->segments[i].id, "SPM") && !add_specimen(&sp, &m->segments[i], why, size))
            return false;
    bool source = *hl7_get(m, sp.obr, 15, 1, 1, 1, a) || *hl7_get(m, sp.obr, 15, 1, 1, 2, a);
    if (!sp.nth && source && !add_specimen(&sp, NULL, why, size))
        return false;
    if (!json_object_array_length(sp.refs))
        json_object_object_del(report, "specimen");
    return true;
}

/* One OBR and the OBX segments after it (up to the next OBR). */
static bool map_order(const struct hl7_message *m, size_t at, const char *patient,
                      const char *lab_id, const char *tz, struct arena *a, struct oru_resource *out,
                      size_t *n, char *why, size_t size)
{
    const struct hl7_segment *obr = &m->segments[at];
    struct report rep;
    if (!read_obr(m, obr, lab_id, tz, a, &rep, why, size))
        return false;
    size_t dr = (*n)++;
    oru_id(rep.key, out[dr].id);
    out[dr].type = "DiagnosticReport";
    rep.ref = arena_printf(a, "DiagnosticReport/%s", out[dr].id);
    json_object *report = base_resource("DiagnosticReport", out[dr].id, patient, lab_id, a);
    out[dr].resource = report;
    set_str(report, "status", rep.status);
    json_object *code = concept(m, obr, 4, 1, lab_id, a);
    if (!code) {
        snprintf(why, size, "OBR-4 (universal service identifier) is required");
        return false;
    }
    json_object_object_add(report, "code", code);
    set_str(report, "effectiveDateTime", rep.when);
    set_str(report, "issued", rep.issued);
    rep.specimen = NULL;
    if (!map_specimens(m, at, &rep, patient, lab_id, tz, a, out, n, report, why, size))
        return false;
    json_object *results = json_object_new_array();
    json_object_object_add(report, "result", results);
    for (size_t i = at + 1; i < m->nsegments && strcmp(m->segments[i].id, "OBR"); i++) {
        if (strcmp(m->segments[i].id, "OBX") != 0)
            continue; /* NTE ...: not mapped; SPM: above */
        if (*n == ORU_MAX_RESOURCES) {
            snprintf(why, size, "more than %d results in one message", ORU_MAX_RESOURCES);
            return false;
        }
        if (!map_obx(m, &m->segments[i], &rep, patient, lab_id, tz, a, &out[*n], why, size)) {
            (*n)++;
            return false;
        }
        json_object_array_add(results, reference(arena_printf(a, "Observation/%s", out[*n].id)));
        (*n)++;
    }
    if (!json_object_array_length(results))
        json_object_object_del(report, "result");
    return true;
}

bool oru_map(const struct hl7_message *m, const char *patient, const char *lab_id, const char *tz,
             struct arena *a, struct oru_resource *out, size_t *n, char *why, size_t size)
{
    *n = 0;
    size_t at = 0;
    bool ok = hl7_segment_find(m, "OBR", 0, &at) != NULL;
    if (!ok)
        snprintf(why, size, "an ORU^R01 message has at least one OBR segment");
    while (ok && at < m->nsegments) {
        if (*n >= ORU_MAX_RESOURCES) {
            snprintf(why, size, "more than %d results in one message", ORU_MAX_RESOURCES);
            ok = false;
            break;
        }
        ok = map_order(m, at, patient, lab_id, tz, a, out, n, why, size);
        if (!hl7_segment_find(m, "OBR", at + 1, &at))
            break;
    }
    if (!ok) {
        for (size_t i = 0; i < *n; i++)
            json_object_put(out[i].resource);
        *n = 0;
    }
    return ok;
}
