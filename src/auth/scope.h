/*
 * scope.h - SMART App Launch v2 scopes (scopes-and-launch-context.html):
 * "patient/Observation.rs", "user/(star).cruds" (star: any type), "system/Patient.r", and the v1
 * forms ".read", ".write", ".*". A scope set answers whether an
 * interaction on a type is allowed, and whether only in a patient's
 * compartment.
 */
#ifndef AUTH_SCOPE_H
#define AUTH_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define AUTH_MAX_SCOPES 64

enum auth_context {
    AUTH_CONTEXT_PATIENT, /* patient/: the patient in context only */
    AUTH_CONTEXT_USER,    /* user/: what the user may see */
    AUTH_CONTEXT_SYSTEM,  /* system/: a back-end client */
};

/* Interactions as bits, in the order of the letters "cruds". */
enum auth_ops {
    AUTH_OP_C = 1 << 0,
    AUTH_OP_R = 1 << 1,
    AUTH_OP_U = 1 << 2,
    AUTH_OP_D = 1 << 3,
    AUTH_OP_S = 1 << 4,
};

struct auth_scope {
    int context;   /* enum auth_context */
    char type[64]; /* resource type, or "*" */
    unsigned ops;  /* enum auth_ops bits */
};

struct auth_scopes {
    struct auth_scope items[AUTH_MAX_SCOPES]; /* resource scopes */
    size_t count;                             /* used */
    bool openid;                              /* "openid" */
    bool fhir_user;                           /* "fhirUser" */
    bool offline_access;                      /* "offline_access" or "online_access" */
};

/*
 * Parse space-separated scopes into out. Unknown non-resource scopes
 * ("launch/patient") are accepted and ignored; a malformed resource scope
 * is ERR_INVALID with the reason in why.
 */
enum err auth_scopes_parse(const char *text, struct auth_scopes *out, char *why, size_t size);

/*
 * Does s allow interaction (one of "cruds") on type? *out_confined is set
 * when only patient/ scopes allow it (the caller sees one compartment).
 */
bool auth_scopes_allow(const struct auth_scopes *s, char interaction, const char *type,
                       bool *out_confined);

/*
 * What to grant when requested is asked of an account whose role allows
 * role: each requested scope narrowed to what role allows (requested
 * "user/Observation.rs" under role "user/(star).r" gives "user/Observation.r");
 * all of role when requested is empty. Written to out, space-separated.
 */
void auth_scopes_grant(const struct auth_scopes *role, const struct auth_scopes *requested,
                       struct buf *out);

/* Append s in canonical form ("user/Observation.rs ...") to out. */
void auth_scopes_format(const struct auth_scopes *s, struct buf *out);

#endif
