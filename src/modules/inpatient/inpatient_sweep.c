/*
 * inpatient_sweep.c - lapsed pre-admissions and day-surgery overstays
 * settled when they lapse (see inpatient_sweep.h).
 */
#include "modules/inpatient/inpatient_sweep.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/audit.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/strmap.h"
#include "core/xalloc.h"
#include "fhir/access.h"
#include "fhir/scan.h"
#include "fhir/write.h"
#include "modules/inpatient/admission.h"
#include "modules/inpatient/admission_routes.h"
#include "modules/inpatient/bed_edit.h"
#include "modules/inpatient/inpatient.h"
#include "modules/inpatient/inpt_call.h"

#define SWEEP_MAX 256 /* changes per pass: the rest wait for the next one */

/* One encounter to change, as read. */
struct due {
    json_object *enc;   /* owned: the new version being made */
    char id[65];        /* its id */
    int64_t version;    /* the version read (If-Match) */
    const char *action; /* audit subtype */
};

/* An open pre-admission, to end if its patient is admitted at another hospital. */
struct open_pre {
    char id[65];
    const char *patient, *hospital; /* in the pass's arena */
    int64_t start;
    size_t next; /* the patient's next open one, index + 1; 0 none */
    bool ended;  /* kept as due already */
};

struct pass {
    const struct config *cfg;
    struct store *store;
    struct arena *a;
    int64_t now;
    struct due due[SWEEP_MAX];
    size_t n;
    bool full;             /* SWEEP_MAX reached: the scans stop */
    struct open_pre *open; /* xrealloc'd */
    size_t nopen, cap_open;
    struct strmap by_patient; /* patient -> first open_pre, index + 1, as text */
};

/* Keep enc as due: the new version to edit, or NULL (no usable id, or the pass is full). */
static json_object *keep(struct pass *p, json_object *enc, const char *action)
{
    const char *id = bed_edit_text(enc, "id");
    if (!id || strlen(id) >= sizeof(p->due[0].id))
        return NULL;
    if (p->n == SWEEP_MAX) {
        p->full = true;
        return NULL;
    }
    struct due *d = &p->due[p->n++];
    d->enc = json_object_get(enc);
    snprintf(d->id, sizeof(d->id), "%s", id);
    d->version = bed_edit_version(enc);
    d->action = action;
    return d->enc;
}

/* A pre-admission e finished at end, its costs outpatient costs, and why (lapsed, ...). */
static void end_outpatient(json_object *e, int64_t end, const char *why)
{
    json_object_object_add(e, "status", json_object_new_string("finished"));
    json_object_object_add(bed_edit_member(e, "period"), "end", bed_edit_instant(end));
    bed_edit_set_ext(e, INPT_EXT_SETTLEMENT, "valueCode", json_object_new_string("outpatient"));
    bed_edit_set_ext(e, INPT_EXT_PREADM_ENDED, "valueCode", json_object_new_string(why));
}

/* An open pre-admission within its window, with a patient and a hospital: remembered. */
static void remember_open(struct pass *p, json_object *enc, int64_t start)
{
    const char *id = bed_edit_text(enc, "id");
    const char *patient = inpt_ref_text(enc, "subject");
    const char *hospital = fhir_access_custodian(enc);
    if (!id || strlen(id) >= sizeof(p->open[0].id) || !patient || !hospital)
        return;
    if (p->nopen == p->cap_open) {
        p->cap_open = p->cap_open ? p->cap_open * 2 : 64;
        p->open = xrealloc(p->open, p->cap_open * sizeof(*p->open));
    }
    struct open_pre *o = &p->open[p->nopen++];
    *o = (struct open_pre){.patient = arena_strndup(p->a, patient, strlen(patient)),
                           .hospital = arena_strndup(p->a, hospital, strlen(hospital)),
                           .start = start};
    snprintf(o->id, sizeof(o->id), "%s", id);
    const char *first = strmap_get(&p->by_patient, o->patient);
    if (!first) {
        strmap_put(&p->by_patient, o->patient, arena_printf(p->a, "%zu", p->nopen));
        return;
    }
    struct open_pre *head =
        &p->open[strtoull(first, NULL, 10) - 1]; /* the chain goes on after it */
    o->next = head->next;
    head->next = p->nopen;
}

/* An open pre-admission past its window: finished at its deadline, settled as outpatient care. */
static bool lapsed_pre_admission(void *arg, json_object *enc, int64_t last_updated)
{
    (void)last_updated;
    struct pass *p = arg;
    struct inpt_pre_window pw = inpt_pre_window(p->cfg, enc, p->now);
    if (!pw.start)
        return true;
    if (!pw.lapsed) {
        remember_open(p, enc, pw.start);
        return true;
    }
    json_object *e = keep(p, enc, "pre-admission-lapsed");
    if (!e)
        return !p->full;
    end_outpatient(e, pw.deadline, "lapsed");
    return true;
}

/*
 * A stay (IMP, SS) written since the last pass: each open pre-admission of
 * its patient at another hospital, registered before the stay began, ends
 * then, its costs outpatient costs (DOMAIN.md §2: admitted elsewhere).
 */
static bool admitted_elsewhere(void *arg, json_object *stay, int64_t last_updated)
{
    (void)last_updated;
    struct pass *p = arg;
    const char *patient = inpt_ref_text(stay, "subject");
    const char *hospital = fhir_access_custodian(stay);
    int64_t start = bed_edit_time(bed_edit_member(stay, "period"), "start");
    const char *first = patient ? strmap_get(&p->by_patient, patient) : NULL;
    if (!first || !hospital || !start)
        return true;
    for (size_t at = strtoull(first, NULL, 10); at; at = p->open[at - 1].next) {
        struct open_pre *o = &p->open[at - 1];
        if (o->ended || !strcmp(o->hospital, hospital) || start < o->start)
            continue;
        int64_t version = 0;
        json_object *pre = inpt_read_current(p->store, "Encounter", o->id, &version);
        const char *status = bed_edit_text(pre, "status");
        json_object *e = status && !strcmp(status, "in-progress")
                             ? keep(p, pre, "pre-admission-admitted-elsewhere")
                             : NULL;
        json_object_put(pre);
        if (!e)
            continue;
        o->ended = true;
        end_outpatient(e, start, "admitted-elsewhere");
    }
    return !p->full;
}

/* A day-surgery stay past 24 hours: an ordinary inpatient stay from now on. */
static bool overstayed(void *arg, json_object *enc, int64_t last_updated)
{
    (void)last_updated;
    struct pass *p = arg;
    int64_t start = bed_edit_time(bed_edit_member(enc, "period"), "start");
    if (!start || !adm_day_overstayed(start, p->now))
        return true;
    json_object *e = keep(p, enc, "day-surgery-converted");
    if (!e)
        return !p->full;
    inpt_convert_stay(e, NULL);
    return true;
}

struct audited {
    int64_t time_ms;
    const char *patient;
    const char *json;
};

static enum err audit_unit(struct store_tx *tx, void *ctx)
{
    struct audited *a = ctx;
    return audit_stage_tx(tx, a->time_ms, "system:inpatient-sweep", a->patient, a->json);
}

/* Write d's new version with its audit entry; true when it was written. */
static bool settle(struct store *store, struct pass *p, struct due *d)
{
    /* meta stays: its custodian tag is what keeps the encounter its hospital's; the write stamps
     * the rest */
    const char *subject = bed_edit_text(bed_edit_member(d->enc, "subject"), "reference");
    const char *provider = bed_edit_text(bed_edit_member(d->enc, "serviceProvider"), "reference");
    char entity[80];
    snprintf(entity, sizeof(entity), "Encounter/%s", d->id);
    struct audit_event ev = {.time_ms = p->now,
                             .user = "system:inpatient-sweep",
                             .role = "system",
                             .org = provider ? provider : "",
                             .address = "",
                             .request_id = "",
                             .action = 'U',
                             .subtype = d->action,
                             .entities = {entity},
                             .nentities = 1,
                             .patient = subject,
                             .status = 200};
    struct buf json;
    buf_init(&json, 1u << 20);
    audit_event_json(&ev, &json);
    struct audited a = {p->now, subject, json.ptr};
    struct fhir_write w = {.kind = FHIR_WRITE_UPDATE,
                           .type = "Encounter",
                           .id = d->id,
                           .resource = d->enc,
                           .if_match = d->version};
    struct fhir_write_job job = {.writes = &w, .count = 1, .also = audit_unit, .also_ctx = &a};
    enum err err = fhir_write_run_job(store, &job);
    free(w.body);
    buf_release(&json);
    if (err && err != ERR_VERSION_CONFLICT)
        log_warn(LOG_MAIN, "inpatient sweep: Encounter/%s not settled err=%s", d->id,
                 err_name(err));
    return err == ERR_OK;
}

int inpt_sweep_once(struct store *store, const struct config *cfg, int64_t now_ms, int64_t *since)
{
    int64_t since_ms = *since;
    struct pass *p = xcalloc(1, sizeof(*p));
    struct arena a;
    arena_init(&a, 4096);
    p->cfg = cfg;
    p->store = store;
    p->a = &a;
    p->now = now_ms;
    strmap_init(&p->by_patient, &a, 64);
    if (!since_ms) /* the first pass: as far back as a pre-admission can be open */
        since_ms =
            now_ms - (int64_t)(cfg->inpatient_preadm_extended_days > cfg->inpatient_preadm_days
                                   ? cfg->inpatient_preadm_extended_days
                                   : cfg->inpatient_preadm_days) *
                         ADM_DAY_MS;
    char since_text[48];
    time_format_instant(since_ms, since_text, sizeof(since_text));
    static const char *const pre[][2] = {{"class", INPT_V3_ACT "|PRENC"},
                                         {"status", "in-progress"}};
    static const char *const day[][2] = {{"class", INPT_V3_ACT "|SS"}, {"status", "in-progress"}};
    const char *stays[][2] = {{"class", INPT_V3_ACT "|IMP," INPT_V3_ACT "|SS"},
                              {"_lastUpdated", arena_printf(&a, "ge%s", since_text)}};
    struct fhir_scan s1 = {"Encounter", pre, 2, 0, false, 0, false};
    struct fhir_scan s2 = {"Encounter", day, 2, 0, false, 0, false};
    struct fhir_scan s3 = {"Encounter", stays, 2, 0, false, 0, false};
    enum err err = fhir_scan_run(store, cfg, &a, &s1, lapsed_pre_admission, p);
    if (!err)
        err = fhir_scan_run(store, cfg, &a, &s2, overstayed, p);
    if (!err && p->nopen && !p->full)
        err = fhir_scan_run(store, cfg, &a, &s3, admitted_elsewhere, p);
    if (!err && !p->full) /* every stay since was looked at: the next pass from now, less a minute
                             for clocks and writes stamped before they commit */
        *since = now_ms - 60 * 1000;
    free(p->open);
    arena_release(&a);
    int changed = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!err && settle(store, p, &p->due[i]))
            changed++;
        json_object_put(p->due[i].enc);
    }
    free(p);
    if (err) {
        log_warn(LOG_MAIN, "inpatient sweep: the encounters could not be read err=%s",
                 err_name(err));
        return -1;
    }
    if (changed)
        log_info(LOG_MAIN, "inpatient sweep settled=%d", changed);
    return changed;
}

/* ---- the thread ---- */

struct inpt_sweep {
    struct store *store;      /* borrowed */
    const struct config *cfg; /* borrowed */
    pthread_t thread;         /* runs the passes */
    pthread_mutex_t lock;     /* over stopping */
    pthread_cond_t wake;      /* signalled to stop */
    bool stopping;            /* inpt_sweep_stop was called */
};

static void *sweep_main(void *arg)
{
    struct inpt_sweep *s = arg;
    int64_t since = 0; /* the stays written since then are still to be looked at */
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        inpt_sweep_once(s->store, s->cfg, time_now_ms(), &since);
        pthread_mutex_lock(&s->lock);
        struct timespec until = time_deadline((int64_t)s->cfg->inpatient_sweep_s * 1000);
        while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

struct inpt_sweep *inpt_sweep_start(struct store *store, const struct config *cfg)
{
    if (cfg->inpatient_sweep_s <= 0)
        return NULL;
    struct inpt_sweep *s = xcalloc(1, sizeof(*s));
    s->store = store;
    s->cfg = cfg;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->thread, NULL, sweep_main, s) != 0) {
        log_error(LOG_MAIN, "inpatient sweep: no thread; lapses are settled when acted on");
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

void inpt_sweep_stop(struct inpt_sweep *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
