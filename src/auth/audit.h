/*
 * audit.h - the audit trail: one AuditEvent (shaped after IHE BALP) per
 * request that reaches the API or the login endpoint, appended to an
 * append-only table in which every entry carries the SHA-256 of its
 * predecessor and of itself:
 *
 *   hash(n) = SHA-256( hash(n-1) || "\n" || json(n) )     hash(0) = ""
 *
 * so an altered, removed or reordered entry breaks the chain from there on
 * (audit_verify). A write's entry is staged in the same transaction as the
 * write (kept exactly when the write is); every other entry is queued. The
 * log's flusher appends both to the chain every 5 ms or so (see
 * docs/security.md for that window, store.h for where the chain is kept).
 */
#ifndef AUTH_AUDIT_H
#define AUTH_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

#define AUDIT_MAX_ENTITIES 16

struct audit_event {
    int64_t time_ms;                          /* when */
    const char *user;                         /* account, or "" when not authenticated */
    const char *role;                         /* its role code, or "" */
    const char *org;                          /* "Organization/id" or "" */
    const char *address;                      /* client IP address, or "" */
    const char *request_id;                   /* X-Request-Id */
    char action;                              /* C R U D E (BALP) */
    const char *subtype;                      /* "read", "search-type", "login" ... */
    const char *query;                        /* a search's query string, or NULL */
    const char *entities[AUDIT_MAX_ENTITIES]; /* "Type/id" (or "Type") touched */
    size_t nentities;                         /* how many */
    const char *patient;                      /* "Patient/id" whose data it was, or NULL */
    int status;                               /* HTTP status of the answer */
    const char *purpose;                      /* purpose of use given by the client, or NULL */
    const char *break_glass;                  /* the emergency reason of a break-glass access */
};

/* Render ev as an AuditEvent resource into out. */
void audit_event_json(const struct audit_event *ev, struct buf *out);

/* The chain hash of json after prev (hex, 64 characters + NUL). */
void audit_hash(const char *prev, const char *json, char out[65]);

/* Inside a unit of work: the unit's entry, staged with it for the chain. */
enum err audit_stage_tx(struct store_tx *tx, int64_t time_ms, const char *user, const char *patient,
                        const char *json);

struct audit_log;

/* A queue of entries over s (borrowed; must outlive the log). */
struct audit_log *audit_log_new(struct store *s);
/* Append what is queued (synchronously), then free. */
void audit_log_free(struct audit_log *l);
/* Queue ev; it is appended by a group commit shortly after. Any thread. */
void audit_log_submit(struct audit_log *l, const struct audit_event *ev);
/* True while the entries cannot be written (the last try failed): serve nothing meanwhile. */
bool audit_log_failing(struct audit_log *l);
/*
 * Wait (2 s at most) until every entry submitted or staged before the call
 * is in the chain; false if that could not be done. Before reading the trail.
 */
bool audit_log_sync(struct audit_log *l);

struct audit_verify_report {
    int64_t entries;    /* entries checked */
    int64_t first_bad;  /* seq of the first entry that breaks the chain, 0 if none */
    char reason[128];   /* what is wrong with it */
    char head_hash[65]; /* hash of the last entry (keep it elsewhere to detect truncation) */
};

/* Move what is staged, then check the whole chain. ERR_OK even when broken: see out->first_bad. */
enum err audit_verify(struct store *s, struct audit_verify_report *out);

#endif
