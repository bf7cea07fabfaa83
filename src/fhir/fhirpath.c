/*
 * fhirpath.c - parser and evaluator of the FHIRPath subset (see fhirpath.h).
 *
 * Precedence, highest first (FHIRPath N1 §6): invocation "." and indexer
 * "[n]"; "is"/"as"; "|"; "=" "!="; "and". A bare identifier at the start of
 * an expression is a type name when it names the focus's resource type (or
 * Resource/DomainResource), otherwise a member of the focus ($this).
 */
#include "fhir/fhirpath.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "fhir/model.h"

enum node_kind {
    N_MEMBER, /* name; input may be NULL (the focus) */
    N_FUNC,   /* name(args); input may be NULL */
    N_INDEX,  /* input[n] */
    N_UNION,  /* a | b */
    N_AS,     /* a as T */
    N_IS,     /* a is T */
    N_EQ,     /* a = b */
    N_NE,     /* a != b */
    N_AND,    /* a and b */
    N_STRING, /* 'literal' */
    N_BOOL,   /* true / false */
};

struct node {
    enum node_kind kind;  /* what */
    char *name;           /* member, function or type name; string literal */
    struct node *input;   /* left side / input of an invocation */
    struct node *arg;     /* right side / the single function argument */
    long index;           /* N_INDEX: the index; N_STRING: its type (fhir_types) */
    bool boolean;         /* N_BOOL */
    json_object *literal; /* N_STRING: the value, made once at compile time */
};

struct fhirpath {
    struct node *root; /* the expression */
};

struct parser {
    const char *p;   /* cursor */
    char *why;       /* error text */
    size_t why_size; /* its size */
    bool failed;     /* an error was reported */
};

static struct node *parse_expr(struct parser *ps, int min_prec);

/* The fhir_types index of the primitive "string" (the type of literals). */
static long string_type(void)
{
    for (size_t i = 0; i < fhir_type_count; i++)
        if (fhir_types[i].kind == FHIR_KIND_PRIMITIVE && !strcmp(fhir_types[i].name, "string"))
            return (long)i;
    return -1;
}

/* ---- lexing helpers ---- */

static void skip_ws(struct parser *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static void fail(struct parser *ps, const char *msg)
{
    if (!ps->failed)
        snprintf(ps->why, ps->why_size, "%s at '%.20s'", msg, ps->p);
    ps->failed = true;
}

static bool accept(struct parser *ps, const char *tok)
{
    skip_ws(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->p, tok, n) != 0)
        return false;
    /* a word operator must not run into an identifier */
    if (isalpha((unsigned char)tok[0]) && (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_'))
        return false;
    ps->p += n;
    return true;
}

static char *ident(struct parser *ps)
{
    skip_ws(ps);
    const char *start = ps->p;
    if (*ps->p == '`') { /* delimited identifier */
        const char *end = strchr(ps->p + 1, '`');
        if (!end) {
            fail(ps, "unterminated identifier");
            return NULL;
        }
        ps->p = end + 1;
        return xstrndup(start + 1, (size_t)(end - start - 1));
    }
    if (!isalpha((unsigned char)*ps->p) && *ps->p != '_') {
        fail(ps, "identifier expected");
        return NULL;
    }
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
        ps->p++;
    return xstrndup(start, (size_t)(ps->p - start));
}

static struct node *make(enum node_kind kind, struct node *input, struct node *arg, char *name)
{
    struct node *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->input = input;
    n->arg = arg;
    n->name = name;
    return n;
}

/* ---- parsing ---- */

static struct node *parse_invocation(struct parser *ps, struct node *input)
{
    char *name = ident(ps);
    if (!name)
        return input;
    skip_ws(ps);
    if (*ps->p != '(')
        return make(N_MEMBER, input, NULL, name);
    ps->p++;
    struct node *arg = NULL;
    if (!accept(ps, ")")) {
        arg = parse_expr(ps, 0);
        if (!accept(ps, ")"))
            fail(ps, "')' expected");
    }
    return make(N_FUNC, input, arg, name);
}

static struct node *parse_primary(struct parser *ps)
{
    skip_ws(ps);
    if (accept(ps, "(")) {
        struct node *n = parse_expr(ps, 0);
        if (!accept(ps, ")"))
            fail(ps, "')' expected");
        return n;
    }
    if (*ps->p == '\'') {
        const char *start = ++ps->p;
        while (*ps->p && *ps->p != '\'')
            ps->p++;
        if (!*ps->p) {
            fail(ps, "unterminated string");
            return NULL;
        }
        char *s = xstrndup(start, (size_t)(ps->p - start));
        ps->p++;
        struct node *lit = make(N_STRING, NULL, NULL, s);
        lit->literal = json_object_new_string(s);
        lit->index = string_type(); /* found at compile time, not per evaluation */
        return lit;
    }
    if (accept(ps, "true") || accept(ps, "false")) {
        struct node *n = make(N_BOOL, NULL, NULL, NULL);
        n->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u';
        return n;
    }
    return parse_invocation(ps, NULL);
}

static struct node *parse_postfix(struct parser *ps)
{
    struct node *n = parse_primary(ps);
    for (;;) {
        if (ps->failed)
            return n;
        if (accept(ps, ".")) {
            n = parse_invocation(ps, n);
        } else if (accept(ps, "[")) {
            skip_ws(ps);
            char *end = NULL;
            long idx = strtol(ps->p, &end, 10);
            if (end == ps->p || idx < 0) {
                fail(ps, "index expected");
                return n;
            }
            ps->p = end;
            if (!accept(ps, "]"))
                fail(ps, "']' expected");
            n = make(N_INDEX, n, NULL, NULL);
            n->index = idx;
        } else {
            return n;
        }
    }
}

struct binop {
    const char *tok;     /* operator text */
    enum node_kind kind; /* node made */
    int prec;            /* binding power */
};

static const struct binop binops[] = {
    {"and", N_AND, 1}, {"!=", N_NE, 2}, {"=", N_EQ, 2},
    {"|", N_UNION, 3}, {"is", N_IS, 4}, {"as", N_AS, 4},
};

static struct node *parse_expr(struct parser *ps, int min_prec)
{
    struct node *left = parse_postfix(ps);
    while (!ps->failed) {
        const struct binop *op = NULL;
        for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]) && !op; i++) {
            const char *save = ps->p;
            if (binops[i].prec >= min_prec && accept(ps, binops[i].tok))
                op = &binops[i];
            else
                ps->p = save;
        }
        if (!op)
            return left;
        if (op->kind == N_IS || op->kind == N_AS) {
            char *type = ident(ps);
            left = make(op->kind, left, NULL, type);
        } else {
            struct node *right = parse_expr(ps, op->prec + 1);
            left = make(op->kind, left, right, NULL);
        }
    }
    return left;
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    node_free(n->input);
    node_free(n->arg);
    json_object_put(n->literal);
    free(n->name);
    free(n);
}

enum err fhirpath_compile(const char *text, struct fhirpath **out, char *why, size_t why_size)
{
    struct parser ps = {text, why, why_size, false};
    struct node *root = parse_expr(&ps, 0);
    skip_ws(&ps);
    if (!ps.failed && *ps.p)
        fail(&ps, "unexpected text");
    if (ps.failed) {
        node_free(root);
        return ERR_INVALID;
    }
    struct fhirpath *fp = xmalloc(sizeof(*fp));
    fp->root = root;
    *out = fp;
    return ERR_OK;
}

void fhirpath_free(struct fhirpath *fp)
{
    if (!fp)
        return;
    node_free(fp->root);
    free(fp);
}

/* ---- results ---- */

void fhirpath_result_init(struct fhirpath_result *r)
{
    r->items = NULL;
    r->count = 0;
    r->size = 0;
}

void fhirpath_result_release(struct fhirpath_result *r)
{
    free(r->items);
    fhirpath_result_init(r);
}

static void push(struct fhirpath_result *r, json_object *value, int type, const char *ref_type,
                 bool boolean)
{
    if (r->count == r->size) {
        r->size = r->size ? r->size * 2 : 8;
        r->items = xrealloc(r->items, r->size * sizeof(*r->items));
    }
    r->items[r->count++] = (struct fhirpath_item){value, type, ref_type, boolean, NULL};
}

/* A copy of an item (where(), indexers, as): it keeps its implicit code system. */
static void push_item(struct fhirpath_result *r, const struct fhirpath_item *it)
{
    push(r, it->value, it->type, it->ref_type, it->boolean);
    r->items[r->count - 1].system = it->system;
}

static void push_bool(struct fhirpath_result *r, bool b)
{
    push(r, NULL, -1, NULL, b);
}

/* ---- evaluation ---- */

struct evalctx {
    json_object *resource; /* %resource */
    int resource_type;     /* its fhir_types index */
};

static void eval(const struct node *n, const struct fhirpath_result *focus,
                 const struct evalctx *ctx, struct fhirpath_result *out);

static int type_of_resource(json_object *obj)
{
    json_object *rt = NULL;
    if (!json_object_object_get_ex(obj, "resourceType", &rt))
        return -1;
    return fhir_resource_type_find(str_from(json_object_get_string(rt)));
}

/* Add the value(s) of one element, flattening arrays; Resource* items get their real type. */
static void push_values(struct fhirpath_result *out, json_object *v, int type)
{
    if (json_object_get_type(v) == json_type_array) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(v, i);
            if (item)
                push_values(out, item, type);
        }
        return;
    }
    if (fhir_types[type].kind == FHIR_KIND_ANY_RESOURCE)
        type = type_of_resource(v);
    if (type >= 0)
        push(out, v, type, NULL, false);
}

static void member_of(const struct fhirpath_item *it, const char *name, struct fhirpath_result *out)
{
    if (it->type < 0 || json_object_get_type(it->value) != json_type_object)
        return;
    const struct fhir_type *t = &fhir_types[it->type];
    const struct fhir_element *e = fhir_element_find(it->type, str_from(name));
    json_object *v = NULL;
    if (e) {
        size_t from = out->count;
        if (json_object_object_get_ex(it->value, e->name, &v))
            push_values(out, v, e->type);
        for (size_t i = from; e->system && i < out->count; i++)
            out->items[i].system = e->system;
        return;
    }
    /* a choice element: "value" finds valueQuantity, valueString, ... */
    size_t n = strlen(name);
    for (uint32_t i = 0; i < t->count; i++) {
        const struct fhir_element *alt = &fhir_elements[t->first + i];
        const char *cname = alt->choice ? fhir_choice_names[alt->choice] : NULL;
        if (cname && strncmp(cname, name, n) == 0 && strcmp(cname + n, "[x]") == 0 &&
            json_object_object_get_ex(it->value, alt->name, &v))
            push_values(out, v, alt->type);
    }
}

/*
 * The primitive types that specialise another (R4 datatypes.html): a
 * canonical is a uri, a code a string, and so on. "x as uri" keeps them.
 */
static const struct {
    const char *type; /* the specialised type */
    const char *base; /* what it specialises */
} primitive_bases[] = {
    {"canonical", "uri"},
    {"url", "uri"},
    {"oid", "uri"},
    {"uuid", "uri"},
    {"code", "string"},
    {"id", "string"},
    {"markdown", "string"},
    {"positiveInt", "integer"},
    {"unsignedInt", "integer"},
};

/* FHIRPath System types and the FHIR primitives that carry them ("value.as(DateTime)"). */
static const struct {
    const char *system;
    const char *fhir;
} system_types[] = {
    {"Boolean", "boolean"},  {"String", "string"}, {"Integer", "integer"},
    {"Decimal", "decimal"},  {"Date", "date"},     {"DateTime", "dateTime"},
    {"DateTime", "instant"}, {"Time", "time"},
};

static bool is_fhir_type(const struct fhirpath_item *it, const char *type);

static bool is_type(const struct fhirpath_item *it, const char *type)
{
    if (!strncmp(type, "System.", 7))
        type += 7;
    for (size_t i = 0; i < sizeof(system_types) / sizeof(system_types[0]); i++)
        if (!strcmp(type, system_types[i].system) && is_fhir_type(it, system_types[i].fhir))
            return true;
    return is_fhir_type(it, type);
}

static bool is_fhir_type(const struct fhirpath_item *it, const char *type)
{
    if (it->ref_type)
        return strcmp(it->ref_type, type) == 0;
    if (it->type < 0)
        return false;
    const char *name = fhir_types[it->type].name;
    if (strcmp(name, type) == 0)
        return true;
    for (size_t i = 0; i < sizeof(primitive_bases) / sizeof(primitive_bases[0]); i++)
        if (!strcmp(name, primitive_bases[i].type) && !strcmp(type, primitive_bases[i].base))
            return true;
    return fhir_types[it->type].kind == FHIR_KIND_RESOURCE &&
           (!strcmp(type, "Resource") || !strcmp(type, "DomainResource"));
}

/* The referenced type of a Reference: "Patient/1", ".../fhir/Patient/1", "Patient/1/_history/2". */
static const char *reference_type(json_object *ref)
{
    json_object *r = NULL;
    if (!json_object_object_get_ex(ref, "reference", &r))
        return NULL;
    const char *s = json_object_get_string(r);
    const char *hist = strstr(s, "/_history/");
    size_t len = hist ? (size_t)(hist - s) : strlen(s);
    /* the type is the segment before the last one */
    size_t end = len;
    while (end > 0 && s[end - 1] != '/')
        end--;
    if (end == 0)
        return NULL;
    size_t start = end - 1;
    while (start > 0 && s[start - 1] != '/')
        start--;
    int t = fhir_resource_type_find(str_make(s + start, end - 1 - start));
    return t >= 0 ? fhir_types[t].name : NULL;
}

static bool has_extension(json_object *obj, const char *url)
{
    json_object *exts = NULL;
    if (!json_object_object_get_ex(obj, "extension", &exts) ||
        json_object_get_type(exts) != json_type_array)
        return false;
    for (size_t i = 0; i < json_object_array_length(exts); i++) {
        json_object *u = NULL;
        if (json_object_object_get_ex(json_object_array_get_idx(exts, i), "url", &u) &&
            !strcmp(json_object_get_string(u), url))
            return true;
    }
    return false;
}

static bool single_true(const struct fhirpath_result *r)
{
    return r->count == 1 && r->items[0].type < 0 && !r->items[0].ref_type && r->items[0].boolean;
}

static void eval_func(const struct node *n, const struct fhirpath_result *in,
                      const struct evalctx *ctx, struct fhirpath_result *out)
{
    const char *f = n->name;
    const char *arg_text = n->arg && n->arg->kind == N_STRING ? n->arg->name : NULL;
    const char *arg_type = n->arg && n->arg->kind == N_MEMBER ? n->arg->name : NULL;
    if (!strcmp(f, "exists")) {
        push_bool(out, in->count > 0);
        return;
    }
    for (size_t i = 0; i < in->count; i++) {
        const struct fhirpath_item *it = &in->items[i];
        if (!strcmp(f, "where") && n->arg) {
            struct fhirpath_result one, r;
            fhirpath_result_init(&r);
            one = (struct fhirpath_result){(struct fhirpath_item *)it, 1, 1};
            eval(n->arg, &one, ctx, &r);
            if (single_true(&r))
                push_item(out, it);
            fhirpath_result_release(&r);
        } else if (!strcmp(f, "resolve")) {
            const char *t = it->value ? reference_type(it->value) : NULL;
            if (t)
                push(out, it->value, -1, t, false);
        } else if ((!strcmp(f, "ofType") || !strcmp(f, "as")) && arg_type) {
            if (is_type(it, arg_type))
                push_item(out, it);
        } else if (!strcmp(f, "extension") && arg_text) {
            struct fhirpath_result exts;
            fhirpath_result_init(&exts);
            member_of(it, "extension", &exts);
            for (size_t k = 0; k < exts.count; k++) {
                json_object *u = NULL;
                if (json_object_object_get_ex(exts.items[k].value, "url", &u) &&
                    !strcmp(json_object_get_string(u), arg_text))
                    push(out, exts.items[k].value, exts.items[k].type, NULL, false);
            }
            fhirpath_result_release(&exts);
        } else if (!strcmp(f, "hasExtension") && arg_text) {
            push_bool(out, it->value && has_extension(it->value, arg_text));
        }
    }
}

/* Equality of the first items of two results (string or boolean); -1 if either is empty. */
static int equal_first(const struct fhirpath_result *a, const struct fhirpath_result *b)
{
    if (a->count == 0 || b->count == 0)
        return -1;
    const struct fhirpath_item *x = &a->items[0], *y = &b->items[0];
    bool xb = x->type < 0 ? x->boolean : json_object_get_boolean(x->value);
    bool yb = y->type < 0 ? y->boolean : json_object_get_boolean(y->value);
    bool x_is_bool = x->type < 0 || json_object_get_type(x->value) == json_type_boolean;
    bool y_is_bool = y->type < 0 || json_object_get_type(y->value) == json_type_boolean;
    if (x_is_bool || y_is_bool)
        return x_is_bool && y_is_bool && xb == yb;
    return strcmp(json_object_get_string(x->value), json_object_get_string(y->value)) == 0;
}

static void eval_binary(const struct node *n, const struct fhirpath_result *focus,
                        const struct evalctx *ctx, struct fhirpath_result *out)
{
    struct fhirpath_result a, b;
    fhirpath_result_init(&a);
    fhirpath_result_init(&b);
    eval(n->input, focus, ctx, &a);
    eval(n->arg, focus, ctx, &b);
    if (n->kind == N_UNION) {
        for (size_t i = 0; i < a.count; i++)
            push_item(out, &a.items[i]);
        for (size_t i = 0; i < b.count; i++)
            push_item(out, &b.items[i]);
    } else if (n->kind == N_AND) {
        push_bool(out, single_true(&a) && single_true(&b));
    } else {
        int eq = equal_first(&a, &b);
        if (eq >= 0)
            push_bool(out, n->kind == N_EQ ? eq == 1 : eq == 0);
    }
    fhirpath_result_release(&a);
    fhirpath_result_release(&b);
}

/*
 * is_type for the root resource, the start of most paths: a search
 * parameter shared by many types is a union of one path per type, and
 * is_type compares the name with every system and primitive type first.
 */
static bool root_is(const struct fhirpath_item *root, const char *type)
{
    if (root->ref_type || root->type < 0 || fhir_types[root->type].kind != FHIR_KIND_RESOURCE)
        return is_type(root, type);
    return !strcmp(fhir_types[root->type].name, type) || !strcmp(type, "Resource") ||
           !strcmp(type, "DomainResource");
}

static void eval_member(const struct node *n, const struct fhirpath_result *focus,
                        const struct evalctx *ctx, struct fhirpath_result *in_buf,
                        struct fhirpath_result *out)
{
    if (!n->input) {
        /* the start of a path: a type name for the root resource, or a member of $this */
        if (isupper((unsigned char)n->name[0])) {
            struct fhirpath_item root = {ctx->resource, ctx->resource_type, NULL, false, NULL};
            if (root_is(&root, n->name) && focus->count == 1 &&
                focus->items[0].value == ctx->resource)
                push(out, ctx->resource, ctx->resource_type, NULL, false);
            return;
        }
        for (size_t i = 0; i < focus->count; i++)
            member_of(&focus->items[i], n->name, out);
        return;
    }
    eval(n->input, focus, ctx, in_buf);
    for (size_t i = 0; i < in_buf->count; i++)
        member_of(&in_buf->items[i], n->name, out);
}

static void eval(const struct node *n, const struct fhirpath_result *focus,
                 const struct evalctx *ctx, struct fhirpath_result *out)
{
    struct fhirpath_result in;
    fhirpath_result_init(&in);
    switch (n->kind) {
    case N_MEMBER:
        eval_member(n, focus, ctx, &in, out);
        break;
    case N_FUNC:
        if (n->input)
            eval(n->input, focus, ctx, &in);
        eval_func(n, n->input ? &in : focus, ctx, out);
        break;
    case N_INDEX:
        eval(n->input, focus, ctx, &in);
        if ((size_t)n->index < in.count) {
            const struct fhirpath_item *it = &in.items[n->index];
            push_item(out, it);
        }
        break;
    case N_AS:
    case N_IS:
        eval(n->input, focus, ctx, &in);
        for (size_t i = 0; i < in.count; i++) {
            bool match = is_type(&in.items[i], n->name);
            if (n->kind == N_IS)
                push_bool(out, match);
            else if (match)
                push_item(out, &in.items[i]);
        }
        break;
    case N_STRING:
        push(out, n->literal, (int)n->index, NULL, false);
        break;
    case N_BOOL:
        push_bool(out, n->boolean);
        break;
    default:
        eval_binary(n, focus, ctx, out);
    }
    fhirpath_result_release(&in);
}

void fhirpath_eval(const struct fhirpath *fp, json_object *resource, struct fhirpath_result *out)
{
    out->count = 0;
    struct evalctx ctx = {resource, type_of_resource(resource)};
    if (ctx.resource_type < 0)
        return;
    struct fhirpath_item root = {resource, ctx.resource_type, NULL, false, NULL};
    struct fhirpath_result focus = {&root, 1, 1};
    eval(fp->root, &focus, &ctx, out);
}

void fhirpath_eval_focus(const struct fhirpath *fp, json_object *resource,
                         const struct fhirpath_item *item, struct fhirpath_result *out)
{
    out->count = 0;
    struct evalctx ctx = {resource, type_of_resource(resource)};
    if (ctx.resource_type < 0 || !item->value)
        return;
    struct fhirpath_result focus = {(struct fhirpath_item *)item, 1, 1};
    eval(fp->root, &focus, &ctx, out);
}
