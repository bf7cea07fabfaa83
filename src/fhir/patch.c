/*
 * patch.c - RFC 6902 over RFC 6901 JSON Pointers. Every operation works on
 * a private deep copy, so a failure half-way leaves the caller's tree as
 * it was ("a patch is applied atomically", RFC 6902 section 5).
 */
#include "fhir/patch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POINTER_TOKENS 64
#define MAX_TOKEN_BYTES    256

struct pointer {
    char tokens[MAX_POINTER_TOKENS][MAX_TOKEN_BYTES]; /* unescaped reference tokens */
    int count;                                        /* tokens in use */
};

static bool pointer_parse(const char *s, struct pointer *p)
{
    p->count = 0;
    if (*s == '\0')
        return true;
    if (*s != '/')
        return false;
    while (*s == '/') {
        if (p->count == MAX_POINTER_TOKENS)
            return false;
        s++;
        char *t = p->tokens[p->count++];
        size_t n = 0;
        while (*s && *s != '/') {
            char c = *s++;
            if (c == '~') {
                if (*s == '0')
                    c = '~';
                else if (*s == '1')
                    c = '/';
                else
                    return false;
                s++;
            }
            if (n + 1 >= MAX_TOKEN_BYTES)
                return false;
            t[n++] = c;
        }
        t[n] = '\0';
    }
    return true;
}

/* Array index per RFC 6901: "0" or no leading zero; "-" gives len when allowed. */
static bool array_index(const char *tok, size_t len, bool allow_end, size_t *out)
{
    if (allow_end && strcmp(tok, "-") == 0) {
        *out = len;
        return true;
    }
    if (!*tok || (tok[0] == '0' && tok[1]))
        return false;
    for (const char *c = tok; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    errno = 0;
    unsigned long long v = strtoull(tok, NULL, 10);
    if (errno || v > len || (!allow_end && v == len))
        return false;
    *out = (size_t)v;
    return true;
}

/* The value the first n tokens point at, or NULL. */
static json_object *resolve(json_object *root, const struct pointer *p, int n)
{
    json_object *cur = root;
    for (int i = 0; i < n && cur; i++) {
        if (json_object_get_type(cur) == json_type_object) {
            json_object *next = NULL;
            cur = json_object_object_get_ex(cur, p->tokens[i], &next) ? next : NULL;
        } else if (json_object_get_type(cur) == json_type_array) {
            size_t idx;
            cur = array_index(p->tokens[i], json_object_array_length(cur), false, &idx)
                      ? json_object_array_get_idx(cur, idx)
                      : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur;
}

static bool array_insert(json_object *arr, size_t idx, json_object *val)
{
    size_t len = json_object_array_length(arr);
    if (idx == len)
        return json_object_array_add(arr, val) == 0;
    /* shift right: append the last, then move each element up by one */
    json_object_array_add(arr, json_object_get(json_object_array_get_idx(arr, len - 1)));
    for (size_t i = len - 1; i > idx; i--)
        json_object_array_put_idx(arr, i, json_object_get(json_object_array_get_idx(arr, i - 1)));
    json_object_array_put_idx(arr, idx, val);
    return true;
}

/* Remove the value at p; if out_removed, hand it back with a reference. */
static bool remove_at(json_object *root, const struct pointer *p, json_object **out_removed)
{
    if (p->count == 0)
        return false;
    json_object *parent = resolve(root, p, p->count - 1);
    const char *last = p->tokens[p->count - 1];
    if (parent && json_object_get_type(parent) == json_type_object) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(parent, last, &v))
            return false;
        if (out_removed)
            *out_removed = json_object_get(v);
        json_object_object_del(parent, last);
        return true;
    }
    if (parent && json_object_get_type(parent) == json_type_array) {
        size_t idx;
        if (!array_index(last, json_object_array_length(parent), false, &idx))
            return false;
        if (out_removed)
            *out_removed = json_object_get(json_object_array_get_idx(parent, idx));
        json_object_array_del_idx(parent, idx, 1);
        return true;
    }
    return false;
}

/* Add val (consumed) at p; replace_only requires the target to exist. */
static bool add_at(json_object **root, const struct pointer *p, json_object *val, bool replace_only)
{
    if (p->count == 0) {
        json_object_put(*root);
        *root = val;
        return true;
    }
    json_object *parent = resolve(*root, p, p->count - 1);
    const char *last = p->tokens[p->count - 1];
    bool ok = false;
    if (parent && json_object_get_type(parent) == json_type_object) {
        if (!replace_only || json_object_object_get_ex(parent, last, NULL))
            ok = json_object_object_add(parent, last, val) == 0;
    } else if (parent && json_object_get_type(parent) == json_type_array) {
        size_t idx;
        size_t len = json_object_array_length(parent);
        if (replace_only) {
            ok = array_index(last, len, false, &idx) &&
                 json_object_array_put_idx(parent, idx, val) == 0;
        } else {
            ok = array_index(last, len, true, &idx) && array_insert(parent, idx, val);
        }
    }
    if (!ok)
        json_object_put(val);
    return ok;
}

static const char *member_string(json_object *op, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(op, name, &v) || json_object_get_type(v) != json_type_string)
        return NULL;
    return json_object_get_string(v);
}

static enum err apply_one(json_object **doc, json_object *op, size_t index, struct diag *d)
{
    char loc[48];
    snprintf(loc, sizeof(loc), "patch[%zu]", index);
    if (json_object_get_type(op) != json_type_object) {
        diag_add(d, ERR_INVALID, loc, "patch operation must be an object");
        return ERR_INVALID;
    }
    const char *name = member_string(op, "op");
    const char *path = member_string(op, "path");
    struct pointer p, from;
    if (!name || !path || !pointer_parse(path, &p)) {
        diag_add(d, ERR_INVALID, loc, "patch operation needs a valid 'op' and 'path'");
        return ERR_INVALID;
    }
    json_object *value = NULL;
    bool has_value = json_object_object_get_ex(op, "value", &value);
    bool needs_value = !strcmp(name, "add") || !strcmp(name, "replace") || !strcmp(name, "test");
    bool needs_from = !strcmp(name, "move") || !strcmp(name, "copy");
    const char *from_text = member_string(op, "from");
    if ((needs_value && !has_value) ||
        (needs_from && (!from_text || !pointer_parse(from_text, &from)))) {
        diag_add(d, ERR_INVALID, loc, "patch operation '%s' is missing '%s'", name,
                 needs_value ? "value" : "from");
        return ERR_INVALID;
    }
    bool ok;
    if (!strcmp(name, "add")) {
        json_object *copy = NULL;
        json_object_deep_copy(value, &copy, NULL);
        ok = add_at(doc, &p, copy, false);
    } else if (!strcmp(name, "replace")) {
        json_object *copy = NULL;
        json_object_deep_copy(value, &copy, NULL);
        ok = add_at(doc, &p, copy, true);
    } else if (!strcmp(name, "remove")) {
        ok = remove_at(*doc, &p, NULL);
    } else if (!strcmp(name, "test")) {
        json_object *cur = resolve(*doc, &p, p.count);
        ok = cur && json_object_equal(cur, value);
        if (!ok) {
            diag_add(d, ERR_UNPROCESSABLE, loc, "patch test failed at '%s'", path);
            return ERR_UNPROCESSABLE;
        }
    } else if (!strcmp(name, "move")) {
        json_object *moved = NULL;
        size_t flen = strlen(from_text);
        bool into_itself = strncmp(path, from_text, flen) == 0 && path[flen] == '/';
        ok = !into_itself && remove_at(*doc, &from, &moved) && add_at(doc, &p, moved, false);
    } else if (!strcmp(name, "copy")) {
        json_object *src = resolve(*doc, &from, from.count);
        json_object *copy = NULL;
        ok = src && json_object_deep_copy(src, &copy, NULL) == 0 && add_at(doc, &p, copy, false);
    } else {
        diag_add(d, ERR_INVALID, loc, "unknown patch operation '%s'", name);
        return ERR_INVALID;
    }
    if (!ok) {
        diag_add(d, ERR_UNPROCESSABLE, loc, "patch operation '%s' failed: path '%s' not usable",
                 name, path);
        return ERR_UNPROCESSABLE;
    }
    return ERR_OK;
}

enum err fhir_json_patch(json_object *target, json_object *patch, struct diag *d, json_object **out)
{
    if (json_object_get_type(patch) != json_type_array) {
        diag_add(d, ERR_INVALID, NULL, "a JSON Patch document must be an array of operations");
        return ERR_INVALID;
    }
    json_object *doc = NULL;
    if (json_object_deep_copy(target, &doc, NULL) != 0)
        return ERR_INTERNAL;
    size_t n = json_object_array_length(patch);
    for (size_t i = 0; i < n; i++) {
        enum err err = apply_one(&doc, json_object_array_get_idx(patch, i), i, d);
        if (err) {
            json_object_put(doc);
            return err;
        }
    }
    *out = doc;
    return ERR_OK;
}
