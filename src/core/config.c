/*
 * config.c - parsing, validation and help text, all driven by the one table
 * in config_options.def (Redis static_configs, PostgreSQL GUC table).
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

enum opt_type { OPT_INT, OPT_STR };

struct opt {
    enum opt_type type; /* value type */
    const char *name;   /* "server.port" */
    size_t offset;      /* field offset in struct config */
    const char *def;    /* default, as text */
    long min, max;      /* bounds (INT only) */
    const char *flag;   /* command-line flag without "--" */
    const char *help;   /* one line */
};

static const struct opt opts[] = {
#define OPT(type, name, field, def, min, max, flag, help)                                          \
    {OPT_##type, name, offsetof(struct config, field), def, min, max, flag, help},
#include "core/config_options.def"
#undef OPT
};

#define OPT_COUNT (sizeof(opts) / sizeof(opts[0]))

/* String values live in a list of heap copies chained through owned_strings. */
static const char *keep_string(struct config *c, const char *value)
{
    size_t len = strlen(value);
    char *block = xmalloc(sizeof(char *) + len + 1);
    memcpy(block, &c->owned_strings, sizeof(char *));
    memcpy(block + sizeof(char *), value, len + 1);
    c->owned_strings = block;
    return block + sizeof(char *);
}

static enum err apply(struct config *c, const struct opt *o, const char *value, struct buf *errbuf)
{
    char *field = (char *)c + o->offset;
    if (o->type == OPT_STR) {
        *(const char **)field = keep_string(c, value);
        return ERR_OK;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0') {
        buf_printf(errbuf, "option '%s': not an integer: '%s'", o->name, value);
        return ERR_CONFIG;
    }
    if (v < o->min || v > o->max) {
        buf_printf(errbuf, "option '%s': %ld is outside %ld..%ld", o->name, v, o->min, o->max);
        return ERR_CONFIG;
    }
    *(int *)field = (int)v;
    return ERR_OK;
}

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < OPT_COUNT; i++) {
        enum err err = apply(c, &opts[i], opts[i].def, NULL);
        (void)err;
    }
}

void config_release(struct config *c)
{
    char *block = c->owned_strings;
    while (block) {
        char *next;
        memcpy(&next, block, sizeof(char *));
        free(block);
        block = next;
    }
    c->owned_strings = NULL;
}

enum err config_set(struct config *c, const char *name, const char *value, struct buf *errbuf)
{
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (strcmp(opts[i].name, name) == 0)
            return apply(c, &opts[i], value, errbuf);
    buf_printf(errbuf, "unknown option '%s'", name);
    return ERR_CONFIG;
}

enum err config_set_flag(struct config *c, const char *flag, const char *value, struct buf *errbuf)
{
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (strcmp(opts[i].flag, flag) == 0)
            return apply(c, &opts[i], value, errbuf);
    buf_printf(errbuf, "unknown option '--%s'", flag);
    return ERR_CONFIG;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

enum err config_load_stream(struct config *c, FILE *f, const char *name, struct buf *errbuf)
{
    char line[4096];
    int lineno = 0;
    enum err err = ERR_OK;
    while (!err && fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            buf_printf(errbuf, "%s:%d: line too long", name, lineno);
            return ERR_CONFIG;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            buf_printf(errbuf, "%s:%d: expected 'name = value'", name, lineno);
            return ERR_CONFIG;
        }
        *eq = '\0';
        err = config_set(c, trim(s), trim(eq + 1), errbuf);
        if (err)
            buf_printf(errbuf, " (%s:%d)", name, lineno);
    }
    return err;
}

enum err config_load_file(struct config *c, const char *path, struct buf *errbuf)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        buf_printf(errbuf, "cannot open config file '%s': %s", path, strerror(errno));
        return ERR_CONFIG;
    }
    enum err err = config_load_stream(c, f, path, errbuf);
    fclose(f);
    return err;
}

static void env_name(const struct opt *o, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "YUJIAN_");
    for (const char *p = o->name; *p && n + 1 < size; p++)
        out[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

enum err config_load_env(struct config *c, struct buf *errbuf)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        char name[128];
        env_name(&opts[i], name, sizeof(name));
        const char *v = getenv(name);
        if (!v)
            continue;
        enum err err = apply(c, &opts[i], v, errbuf);
        if (err) {
            buf_printf(errbuf, " (from %s)", name);
            return err;
        }
    }
    return ERR_OK;
}

void config_print_help(FILE *out)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        char env[128];
        env_name(&opts[i], env, sizeof(env));
        fprintf(out, "  --%-16s %s (default '%s', env %s)\n", opts[i].flag, opts[i].help,
                opts[i].def, env);
    }
}

void config_print_markdown(FILE *out)
{
    fprintf(out,
            "# Configuration\n\n"
            "Generated from `src/core/config_options.def` by `yujian config-doc`; do not edit.\n"
            "Precedence: built-in default < config file (`--config FILE`, lines `name = "
            "value`) < environment < command-line flag.\n\n"
            "| option | flag | environment | type | default | bounds | meaning |\n"
            "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < OPT_COUNT; i++) {
        char env[128];
        env_name(&opts[i], env, sizeof(env));
        char bounds[64] = "";
        if (opts[i].type == OPT_INT)
            snprintf(bounds, sizeof(bounds), "%ld..%ld", opts[i].min, opts[i].max);
        fprintf(out, "| `%s` | `--%s` | `%s` | %s | `%s` | %s | %s |\n", opts[i].name, opts[i].flag,
                env, opts[i].type == OPT_INT ? "integer" : "string", opts[i].def, bounds,
                opts[i].help);
    }
}
