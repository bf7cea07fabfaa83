/*
 * roles.h - the roles of DESIGN.md §1 and what each may do: the permission
 * matrix as data. A role's scopes are the most its tokens can carry; a
 * token may ask for less. roles.c holds the table; docs/security.md shows
 * it (tests/e2e/auth.test.mjs checks the two agree).
 */
#ifndef AUTH_ROLES_H
#define AUTH_ROLES_H

#include <stdbool.h>
#include <stddef.h>

struct auth_role {
    const char *code;   /* "doctor": what accounts store */
    const char *zh;     /* 医师: shown to users */
    const char *en;     /* Doctor */
    const char *scopes; /* SMART scopes, the most a token of the role carries */
    bool admin;         /* may run server-wide operations and manage accounts */
    /*
     * Whose records the role works on (fhir/guard.h): 'p' patients (own and
     * granted), 'o' its organisation's and those shared with it, 'r' its
     * region's indicators, 'a' all ('o' for a system client bound to an
     * organisation).
     */
    char reach;
    bool break_glass; /* may read any record in an emergency, giving a reason */
};

extern const struct auth_role auth_roles[];
extern const size_t auth_role_count;

/* The role called code, or NULL. */
const struct auth_role *auth_role_find(const char *code);

#endif
