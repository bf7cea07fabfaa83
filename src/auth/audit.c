/*
 * audit.c - the audit trail (see audit.h).
 *
 * The queue: requests append to a list under a mutex; a flusher thread
 * appends the entries that writes staged, then the list, every
 * AUDIT_FLUSH_MS, in transactions of at most AUDIT_UNIT_MAX listed entries
 * written one after another (store_audit_append: the trail's own
 * connection, not the database's writer).
 */
#include "auth/audit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "fhir/resource.h"

#define AUDIT_FLUSH_MS     5     /* the longest an entry of a read waits to be written */
#define AUDIT_UNIT_MAX     256   /* entries per transaction of the trail */
#define AUDIT_SYNC_WAIT_S  2     /* the longest audit_log_sync waits */
#define AUDIT_RETRY_MAX_MS 1000  /* the longest wait between two tries while they fail */
#define AUDIT_LOG_EVERY_MS 30000 /* how often a failure that goes on is logged again */

static const char *outcome_code(int status)
{
    /* AuditEvent.outcome: 0 success, 4 minor failure (refused), 8 serious failure */
    return status < 400 ? "0" : status < 500 ? "4" : "8";
}

static void coding(struct buf *out, const char *system, const char *code)
{
    buf_printf(out, "{\"system\":\"%s\",\"code\":\"%s\"}", system, code);
}

static void entity(struct buf *out, const char *ref, const char *type_code, const char *role)
{
    buf_append_str(out, ",{\"what\":{\"reference\":");
    buf_append_json_string(out, ref, strlen(ref));
    buf_append_str(out, "},\"type\":");
    coding(out, "http://terminology.hl7.org/CodeSystem/audit-entity-type", type_code);
    if (role) {
        buf_append_str(out, ",\"role\":");
        coding(out, "http://terminology.hl7.org/CodeSystem/object-role", role);
    }
    buf_append_str(out, "}");
}

static void agents(const struct audit_event *ev, struct buf *out)
{
    buf_append_str(out, ",\"agent\":[{\"type\":{\"coding\":[");
    coding(out, "http://dicom.nema.org/resources/ontology/DCM", "110153");
    buf_append_str(out, "]},\"who\":{\"identifier\":{\"system\":\"urn:yujian:user\",\"value\":");
    buf_append_json_string(out, ev->user, strlen(ev->user));
    buf_append_str(out, "}},\"requestor\":true");
    if (*ev->role) {
        buf_append_str(out, ",\"role\":[{\"text\":");
        buf_append_json_string(out, ev->role, strlen(ev->role));
        buf_append_str(out, "}]");
    }
    if (*ev->address) {
        buf_append_str(out, ",\"network\":{\"address\":");
        buf_append_json_string(out, ev->address, strlen(ev->address));
        buf_append_str(out, ",\"type\":\"2\"}");
    }
    if (ev->break_glass) {
        /* BALP: an emergency access is purposeOfUse BTG, with the reason given */
        buf_append_str(out, ",\"purposeOfUse\":[{\"coding\":[");
        coding(out, "http://terminology.hl7.org/CodeSystem/v3-ActReason", "BTG");
        buf_append_str(out, "],\"text\":");
        buf_append_json_string(out, ev->break_glass, strnlen(ev->break_glass, 200));
        buf_append_str(out, "}]");
    } else if (ev->purpose && *ev->purpose) {
        buf_append_str(out, ",\"purposeOfUse\":[{\"text\":");
        buf_append_json_string(out, ev->purpose, strnlen(ev->purpose, 200));
        buf_append_str(out, "}]");
    }
    buf_append_str(out, "}");
    if (*ev->org) {
        /* R4 has no agent.onBehalfOf: the organisation is an agent of its own (BALP) */
        buf_append_str(out, ",{\"who\":{\"reference\":");
        buf_append_json_string(out, ev->org, strlen(ev->org));
        buf_append_str(out, "},\"requestor\":false}");
    }
    buf_append_str(out, "]");
}

void audit_event_json(const struct audit_event *ev, struct buf *out)
{
    char id[37], when[32];
    fhir_uuid_v7(id);
    time_format_instant(ev->time_ms, when, sizeof(when));
    bool login = !strcmp(ev->subtype, "login") || !strcmp(ev->subtype, "logout");
    buf_printf(out, "{\"resourceType\":\"AuditEvent\",\"id\":\"%s\",\"type\":", id);
    if (login)
        coding(out, "http://dicom.nema.org/resources/ontology/DCM", "110114");
    else
        coding(out, "http://terminology.hl7.org/CodeSystem/audit-event-type", "rest");
    buf_append_str(out, ",\"subtype\":[");
    coding(out, login ? "urn:yujian:audit" : "http://hl7.org/fhir/restful-interaction",
           ev->subtype);
    buf_printf(out, "],\"action\":\"%c\",\"recorded\":\"%s\",\"outcome\":\"%s\"", ev->action, when,
               outcome_code(ev->status));
    if (ev->status >= 400)
        buf_printf(out, ",\"outcomeDesc\":\"HTTP %d\"", ev->status);
    agents(ev, out);
    buf_printf(out,
               ",\"source\":{\"site\":\"%s\",\"observer\":{\"display\":\"yujian\"},"
               "\"type\":[",
               ev->request_id ? ev->request_id : "");
    coding(out, "http://terminology.hl7.org/CodeSystem/security-source-type", "4");
    buf_append_str(out, "]}");
    struct buf ents;
    buf_init(&ents, 1 << 20);
    for (size_t i = 0; i < ev->nentities; i++)
        if (!ev->patient || strcmp(ev->entities[i], ev->patient) != 0)
            entity(&ents, ev->entities[i], "2", NULL);
    if (ev->patient)
        entity(&ents, ev->patient, "1", "1");
    if (ev->query && *ev->query) {
        /* BALP: the query itself, base64, never the results */
        size_t qlen = strnlen(ev->query, 8192);
        size_t b64 = sodium_base64_encoded_len(qlen, sodium_base64_VARIANT_ORIGINAL);
        char *enc = xmalloc(b64);
        sodium_bin2base64(enc, b64, (const unsigned char *)ev->query, qlen,
                          sodium_base64_VARIANT_ORIGINAL);
        buf_append_str(&ents, ",{\"type\":");
        coding(&ents, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2");
        buf_append_str(&ents, ",\"role\":");
        coding(&ents, "http://terminology.hl7.org/CodeSystem/object-role", "24");
        buf_printf(&ents, ",\"query\":\"%s\"}", enc);
        free(enc);
    }
    if (ents.len)
        buf_printf(out, ",\"entity\":[%s]", ents.ptr + 1);
    buf_release(&ents);
    buf_append_str(out, "}");
}

void audit_hash(const char *prev, const char *json, char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)prev, strlen(prev));
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)json, strlen(json));
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, 65, digest, sizeof(digest));
}

enum err audit_stage_tx(struct store_tx *tx, int64_t time_ms, const char *user, const char *patient,
                        const char *json)
{
    struct store_audit_entry e = {time_ms, user, patient ? patient : "", json};
    return store_tx_audit_stage(tx, &e);
}

/* ---- the queue ---- */

struct queued {
    struct queued *next; /* list link */
    int64_t time_ms;     /* when */
    char *user;          /* owned */
    char *patient;       /* owned; NULL = none */
    char *json;          /* owned */
};

struct audit_log {
    struct store *store;  /* borrowed */
    pthread_t flusher;    /* appends what is queued, every AUDIT_FLUSH_MS */
    pthread_mutex_t lock; /* guards every field below */
    pthread_cond_t wake;  /* signalled to stop, or to append now (audit_log_sync) */
    pthread_cond_t tried; /* broadcast after each try of the flusher */
    uint64_t tries;       /* tries of the flusher so far */
    struct queued *head;  /* oldest waiting entry */
    struct queued *tail;  /* newest */
    bool stopping;        /* audit_log_free was called */
    atomic_bool failing;  /* the last try to write failed (read without the lock) */
    int64_t failed_since; /* ms of the first failure of this run of them, 0 = none */
    int64_t logged_at;    /* ms of the last log line about it */
};

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void free_list(struct queued *q)
{
    while (q) {
        struct queued *next = q->next;
        free(q->user);
        free(q->patient);
        free(q->json);
        free(q);
        q = next;
    }
}

/* Append the n entries of list (and what writes staged) in one transaction of the trail. */
static enum err append_list(struct audit_log *l, struct queued *list, size_t n, size_t *moved)
{
    struct store_audit_entry *e = xcalloc(n ? n : 1, sizeof(*e));
    size_t i = 0;
    for (struct queued *q = list; q && i < n; q = q->next, i++)
        e[i] = (struct store_audit_entry){q->time_ms, q->user, q->patient, q->json};
    enum err err = store_audit_append(l->store, e, n, audit_hash, moved);
    free(e);
    return err;
}

/* Put list (ending at last) back at the front of the queue, for the next try. */
static void requeue(struct audit_log *l, struct queued *list, struct queued *last)
{
    pthread_mutex_lock(&l->lock);
    last->next = l->head;
    if (!l->head)
        l->tail = last;
    l->head = list;
    pthread_mutex_unlock(&l->lock);
}

/*
 * Append what writes staged, then everything queued, AUDIT_UNIT_MAX
 * entries per transaction, each durable before the next. On failure the
 * entries not yet written go back to the front of the queue for the next
 * try. Only the flusher thread and audit_log_free (after the flusher
 * stopped) call this.
 */
static enum err flush_once(struct audit_log *l)
{
    pthread_mutex_lock(&l->lock);
    struct queued *rest = l->head;
    struct queued *last = l->tail;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->lock);
    size_t moved = STORE_AUDIT_MOVE_MAX;
    while (rest || moved == STORE_AUDIT_MOVE_MAX) {
        struct queued *unit = rest, *end = rest;
        size_t n = rest ? 1 : 0;
        for (; end && n < AUDIT_UNIT_MAX && end->next; n++)
            end = end->next;
        rest = end ? end->next : NULL;
        if (end)
            end->next = NULL;
        enum err err = append_list(l, unit, n, &moved);
        if (err) {
            if (end) {
                end->next = rest;
                requeue(l, unit, rest ? last : end);
            }
            return err;
        }
        free_list(unit);
    }
    return ERR_OK;
}

/*
 * After a try: a failure sets failing (the gate refuses requests meanwhile,
 * audit_log_failing) and is logged at once, then every AUDIT_LOG_EVERY_MS
 * while it goes on, not at every try (a full disk would fill the log too);
 * the end of it is logged. The wait before the next try, in ms.
 */
static int after_try(struct audit_log *l, enum err err, int wait_ms)
{
    int64_t now = time_now_ms();
    pthread_mutex_lock(&l->lock);
    bool first = err && !l->failed_since;
    bool again = err && !first && now - l->logged_at >= AUDIT_LOG_EVERY_MS;
    int64_t waiting = 0; /* counted only for the log line, at most every AUDIT_LOG_EVERY_MS */
    for (struct queued *q = l->head; (first || again) && q; q = q->next)
        waiting++;
    int64_t since = l->failed_since;
    if (first)
        l->failed_since = now;
    if (first || again)
        l->logged_at = now;
    if (!err)
        l->failed_since = 0;
    pthread_mutex_unlock(&l->lock);
    atomic_store(&l->failing, err != ERR_OK);
    if (first || again)
        log_error(LOG_MAIN,
                  "audit entries cannot be written err=%s waiting=%lld: requests are refused "
                  "until they are",
                  err_name(err), (long long)waiting);
    if (!err && since)
        log_info(LOG_MAIN, "audit entries written again after %lld ms of failures",
                 (long long)(now - since));
    if (!err)
        return AUDIT_FLUSH_MS;
    return wait_ms * 2 < AUDIT_RETRY_MAX_MS ? wait_ms * 2 : AUDIT_RETRY_MAX_MS;
}

bool audit_log_failing(struct audit_log *l)
{
    return atomic_load(&l->failing);
}

/*
 * Entries of reads are appended in groups every AUDIT_FLUSH_MS rather than
 * one commit each: every commit rewrites the audit table's last pages and
 * syncs (measured when the trail shared the database: 3,700 reads/s with a
 * commit per read). Nor in large groups: appending 50 ms of entries at once
 * kept a core busy for 4-6 ms, and on a small machine a request waiting for
 * that core waited as long ($find-bed p99 at one connection 2.2-3.1 ms;
 * 1.3-1.5 ms with groups every 5 ms; see docs/performance.md).
 */
static void *flusher_main(void *arg)
{
    struct audit_log *l = arg;
    int wait_ms = AUDIT_FLUSH_MS;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        struct timespec until = time_deadline(wait_ms);
        pthread_cond_timedwait(&l->wake, &l->lock, &until);
        pthread_mutex_unlock(&l->lock);
        wait_ms = after_try(l, flush_once(l), wait_ms);
        pthread_mutex_lock(&l->lock);
        l->tries++;
        pthread_cond_broadcast(&l->tried);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

struct audit_log *audit_log_new(struct store *s)
{
    struct audit_log *l = xcalloc(1, sizeof(*l));
    l->store = s;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    pthread_cond_init(&l->tried, NULL);
    if (pthread_create(&l->flusher, NULL, flusher_main, l) != 0)
        abort(); /* no thread for the audit trail: do not serve without one */
    return l;
}

void audit_log_submit(struct audit_log *l, const struct audit_event *ev)
{
    struct buf json;
    buf_init(&json, 4u << 20);
    audit_event_json(ev, &json);
    struct queued *q = xcalloc(1, sizeof(*q));
    q->time_ms = ev->time_ms;
    q->user = dup_or_null(ev->user);
    q->patient = dup_or_null(ev->patient);
    q->json = dup_or_null(json.ptr);
    buf_release(&json);
    pthread_mutex_lock(&l->lock);
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    pthread_mutex_unlock(&l->lock);
}

bool audit_log_sync(struct audit_log *l)
{
    struct timespec until = time_deadline(AUDIT_SYNC_WAIT_S * 1000);
    pthread_mutex_lock(&l->lock);
    /* the try under way may have begun before the call: wait for the one after it */
    uint64_t want = l->tries + 2;
    bool timed_out = false;
    while (l->tries < want && !l->stopping && !timed_out) {
        pthread_cond_signal(&l->wake);
        timed_out = pthread_cond_timedwait(&l->tried, &l->lock, &until) != 0;
    }
    bool ok = l->tries >= want && !atomic_load(&l->failing);
    pthread_mutex_unlock(&l->lock);
    return ok;
}

void audit_log_free(struct audit_log *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->flusher, NULL);
    if (flush_once(l))
        log_error(LOG_MAIN, "audit entries lost at shutdown: the store refused them");
    free_list(l->head);
    pthread_cond_destroy(&l->wake);
    pthread_cond_destroy(&l->tried);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* ---- verification ---- */

struct verify_state {
    struct audit_verify_report *rep; /* being filled */
    int64_t expect_seq;              /* next seq */
    char prev[65];                   /* hash of the previous entry */
};

static bool verify_one(const struct store_audit *a, void *arg)
{
    struct verify_state *st = arg;
    struct audit_verify_report *rep = st->rep;
    char hash[65];
    audit_hash(st->prev, a->json, hash);
    const char *why = a->seq != st->expect_seq         ? "an entry before it is missing"
                      : strcmp(a->prev_hash, st->prev) ? "it does not follow the entry before it"
                      : strcmp(a->hash, hash)          ? "its content was changed"
                                                       : NULL;
    if (why) {
        rep->first_bad = a->seq;
        snprintf(rep->reason, sizeof(rep->reason), "%s", why);
        return false;
    }
    rep->entries++;
    st->expect_seq++;
    memcpy(st->prev, hash, sizeof(hash));
    memcpy(rep->head_hash, hash, sizeof(hash));
    return true;
}

enum err audit_verify(struct store *s, struct audit_verify_report *out)
{
    memset(out, 0, sizeof(*out));
    /* what writes staged and no appender moved yet (a server stopped by a crash) first */
    size_t moved = STORE_AUDIT_MOVE_MAX;
    while (moved == STORE_AUDIT_MOVE_MAX) {
        enum err err = store_audit_append(s, NULL, 0, audit_hash, &moved);
        if (err)
            return err;
    }
    struct verify_state st = {out, 1, ""};
    return store_audit_scan(s, 0, NULL, 0, verify_one, &st);
}
