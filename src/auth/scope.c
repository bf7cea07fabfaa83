/*
 * scope.c - parsing and checking SMART scopes (see scope.h).
 */
#include "auth/scope.h"

#include <stdio.h>
#include <string.h>

#include "fhir/model.h"

static const char letters[] = "cruds";

static bool parse_ops(const char *p, unsigned *out)
{
    /* v1 forms */
    if (!strcmp(p, "read")) {
        *out = AUTH_OP_R | AUTH_OP_S;
        return true;
    }
    if (!strcmp(p, "write")) {
        *out = AUTH_OP_C | AUTH_OP_U | AUTH_OP_D;
        return true;
    }
    if (!strcmp(p, "*")) {
        *out = AUTH_OP_C | AUTH_OP_R | AUTH_OP_U | AUTH_OP_D | AUTH_OP_S;
        return true;
    }
    /* v2: a non-empty subsequence of "cruds", in that order */
    unsigned ops = 0;
    const char *at = letters;
    for (; *p; p++) {
        const char *l = strchr(at, *p);
        if (!l)
            return false;
        ops |= 1u << (l - letters);
        at = l + 1;
    }
    *out = ops;
    return ops != 0;
}

static enum err parse_one(const char *s, size_t len, struct auth_scopes *out, char *why,
                          size_t size)
{
    char text[128];
    if (len >= sizeof(text)) {
        snprintf(why, size, "scope '%.40s...' is too long", s);
        return ERR_INVALID;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    if (!strcmp(text, "openid") || !strcmp(text, "fhirUser") || !strcmp(text, "offline_access") ||
        !strcmp(text, "online_access")) {
        out->openid |= !strcmp(text, "openid");
        out->fhir_user |= !strcmp(text, "fhirUser");
        out->offline_access |= !strcmp(text, "offline_access");
        return ERR_OK;
    }
    char *slash = strchr(text, '/');
    int context = -1;
    if (slash) {
        *slash = '\0';
        context = !strcmp(text, "patient")  ? AUTH_CONTEXT_PATIENT
                  : !strcmp(text, "user")   ? AUTH_CONTEXT_USER
                  : !strcmp(text, "system") ? AUTH_CONTEXT_SYSTEM
                                            : -1;
    }
    if (context < 0)
        return ERR_OK; /* launch, launch/patient and the like: no resource access */
    char *type = slash + 1;
    char *dot = strrchr(type, '.');
    if (strchr(type, '?')) {
        snprintf(why, size, "scope '%s/%s': search restrictions in scopes are not supported", text,
                 type);
        return ERR_INVALID;
    }
    if (!dot || dot == type) {
        snprintf(why, size, "scope '%s/%s' is not context/Type.permissions", text, type);
        return ERR_INVALID;
    }
    *dot = '\0';
    struct auth_scope sc = {.context = context};
    if (strcmp(type, "*") != 0 && fhir_resource_type_find(str_from(type)) < 0) {
        snprintf(why, size, "scope '%s/%s': unknown resource type '%s'", text, type, type);
        return ERR_INVALID;
    }
    if (!parse_ops(dot + 1, &sc.ops)) {
        snprintf(why, size, "scope '%s/%s.%s': permissions must be letters of 'cruds' in order",
                 text, type, dot + 1);
        return ERR_INVALID;
    }
    if (out->count == AUTH_MAX_SCOPES) {
        snprintf(why, size, "more than %d scopes", AUTH_MAX_SCOPES);
        return ERR_INVALID;
    }
    snprintf(sc.type, sizeof(sc.type), "%s", type);
    out->items[out->count++] = sc;
    return ERR_OK;
}

enum err auth_scopes_parse(const char *text, struct auth_scopes *out, char *why, size_t size)
{
    memset(out, 0, sizeof(*out));
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len) {
            enum err err = parse_one(p, len, out, why, size);
            if (err)
                return err;
        }
        p += len;
    }
    return ERR_OK;
}

static unsigned op_bit(char interaction)
{
    const char *l = strchr(letters, interaction);
    return l && interaction ? 1u << (l - letters) : 0;
}

bool auth_scopes_allow(const struct auth_scopes *s, char interaction, const char *type,
                       bool *out_confined)
{
    unsigned bit = op_bit(interaction);
    bool wide = false, narrow = false;
    for (size_t i = 0; i < s->count; i++) {
        const struct auth_scope *sc = &s->items[i];
        bool type_ok = !strcmp(sc->type, "*") || !strcmp(sc->type, type);
        if (!type_ok || !(sc->ops & bit))
            continue;
        if (sc->context == AUTH_CONTEXT_PATIENT)
            narrow = true;
        else
            wide = true;
    }
    *out_confined = !wide && narrow;
    return wide || narrow;
}

void auth_scopes_grant(const struct auth_scopes *role, const struct auth_scopes *requested,
                       struct buf *out)
{
    if (!requested->count) {
        auth_scopes_format(role, out);
        return;
    }
    struct auth_scopes granted;
    memset(&granted, 0, sizeof(granted));
    for (size_t i = 0; i < requested->count; i++) {
        struct auth_scope want = requested->items[i];
        unsigned ops = 0;
        for (size_t k = 0; k < role->count; k++) {
            const struct auth_scope *r = &role->items[k];
            bool type_ok = !strcmp(r->type, "*") || !strcmp(r->type, want.type);
            if (type_ok && r->context == want.context)
                ops |= r->ops;
        }
        want.ops &= ops;
        if (want.ops)
            granted.items[granted.count++] = want;
    }
    auth_scopes_format(&granted, out);
}

void auth_scopes_format(const struct auth_scopes *s, struct buf *out)
{
    static const char *const contexts[] = {"patient", "user", "system"};
    for (size_t i = 0; i < s->count; i++) {
        const struct auth_scope *sc = &s->items[i];
        char ops[8];
        size_t n = 0;
        for (int b = 0; b < 5; b++)
            if (sc->ops & (1u << b))
                ops[n++] = letters[b];
        ops[n] = '\0';
        buf_printf(out, "%s%s/%s.%s", i ? " " : "", contexts[sc->context], sc->type, ops);
    }
}
