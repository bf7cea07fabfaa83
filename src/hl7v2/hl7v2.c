/*
 * hl7v2.c - the ER7 parser (hl7v2.h).
 */
#include "hl7v2/hl7v2.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool valid_delimiters(const struct hl7_message *m)
{
    const char d[5] = {m->field, m->component, m->repetition, m->escape, m->subcomponent};
    for (int i = 0; i < 5; i++) {
        if (!d[i] || isalnum((unsigned char)d[i]) || d[i] == '\r' || d[i] == '\n')
            return false;
        for (int j = 0; j < i; j++)
            if (d[i] == d[j])
                return false;
    }
    return true;
}

/* Split one segment (a NUL-terminated copy) into its fields. */
static bool split_segment(struct hl7_message *m, char *line, struct arena *a,
                          struct hl7_segment *seg, char *why, size_t size)
{
    size_t idlen = strcspn(line, (char[]){m->field, 0});
    if (idlen != 3 || !isupper((unsigned char)line[0]) || !isalnum((unsigned char)line[1]) ||
        !isalnum((unsigned char)line[2])) {
        snprintf(why, size, "'%.8s' is not a segment id", line);
        return false;
    }
    memcpy(seg->id, line, 3);
    seg->id[3] = '\0';
    size_t n = 1;
    for (const char *p = line; *p; p++)
        n += *p == m->field;
    if (n > HL7_MAX_FIELDS) {
        snprintf(why, size, "segment %s has more than %d fields", seg->id, HL7_MAX_FIELDS);
        return false;
    }
    seg->fields = arena_alloc(a, sizeof(*seg->fields) * n);
    seg->nfields = 0;
    for (char *p = line;;) {
        char *end = strchr(p, m->field);
        seg->fields[seg->nfields++] = p;
        if (!end)
            break;
        *end = '\0';
        p = end + 1;
    }
    return true;
}

static bool read_msh(struct hl7_message *m, const char *text, size_t len, char *why, size_t size)
{
    if (len < 8 || memcmp(text, "MSH", 3) != 0) {
        snprintf(why, size, "a message starts with an MSH segment");
        return false;
    }
    m->field = text[3];
    m->component = text[4];
    m->repetition = text[5];
    m->escape = text[6];
    m->subcomponent = text[7];
    if (!valid_delimiters(m)) {
        snprintf(why, size, "MSH-1 and MSH-2 do not give five distinct delimiters");
        return false;
    }
    return true;
}

bool hl7_parse(const char *text, size_t len, struct arena *a, struct hl7_message *out, char *why,
               size_t size)
{
    memset(out, 0, sizeof(*out));
    if (!read_msh(out, text, len, why, size))
        return false;
    if (memchr(text, '\0', len)) {
        snprintf(why, size, "the message contains a NUL byte");
        return false;
    }
    char *copy = arena_strndup(a, text, len);
    size_t max = 1;
    for (size_t i = 0; i < len; i++)
        max += copy[i] == '\r' || copy[i] == '\n';
    if (max > HL7_MAX_SEGMENTS)
        max = HL7_MAX_SEGMENTS + 1;
    out->segments = arena_alloc(a, sizeof(*out->segments) * max);
    for (char *line = copy; *line;) {
        size_t n = strcspn(line, "\r\n");
        char *next = line + n;
        if (*next)
            *next++ = '\0';
        while (*next == '\r' || *next == '\n')
            next++;
        if (n > 0) {
            if (out->nsegments == HL7_MAX_SEGMENTS) {
                snprintf(why, size, "more than %d segments", HL7_MAX_SEGMENTS);
                return false;
            }
            if (!split_segment(out, line, a, &out->segments[out->nsegments], why, size))
                return false;
            out->nsegments++;
        }
        line = next;
    }
    return true;
}

const struct hl7_segment *hl7_segment_find(const struct hl7_message *m, const char *id, size_t from,
                                           size_t *at)
{
    for (size_t i = from; i < m->nsegments; i++)
        if (!strcmp(m->segments[i].id, id)) {
            if (at)
                *at = i;
            return &m->segments[i];
        }
    return NULL;
}

/* The raw text of field n of s ("" when absent). */
static const char *raw_field(const struct hl7_segment *s, size_t n)
{
    static const char *const empty = "";
    if (!strcmp(s->id, "MSH")) {
        if (n == 1) /* the separator itself: not addressable as text here */
            return empty;
        n -= 1; /* fields[1] is MSH-2 */
    }
    return n > 0 && n < s->nfields ? s->fields[n] : empty;
}

/* The part number k (from 1) of [p, end) split by sep: *start and its length. */
static size_t part(const char *p, size_t len, char sep, size_t k, const char **start)
{
    const char *end = p + len;
    for (size_t i = 1; i < k && p < end; i++) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        if (!q) {
            *start = end;
            return 0;
        }
        p = q + 1;
    }
    if (p >= end && k > 1) {
        *start = end;
        return 0;
    }
    const char *q = memchr(p, sep, (size_t)(end - p));
    *start = p;
    return (size_t)((q ? q : end) - p);
}

static int hex(char c)
{
    return isdigit((unsigned char)c)    ? c - '0'
           : isxdigit((unsigned char)c) ? (tolower((unsigned char)c) - 'a' + 10)
                                        : -1;
}

/* One escape sequence body (between the escape characters) into out. */
static void unescape_one(const struct hl7_message *m, const char *e, size_t n, struct buf *out)
{
    char c = n == 1 ? e[0] : 0;
    if (c == 'F' || c == 'S' || c == 'T' || c == 'R' || c == 'E') {
        char d = c == 'F'   ? m->field
                 : c == 'S' ? m->component
                 : c == 'T' ? m->subcomponent
                 : c == 'R' ? m->repetition
                            : m->escape;
        buf_append(out, &d, 1);
    } else if (n >= 3 && e[0] == 'X' && n % 2 == 1) {
        for (size_t i = 1; i + 1 < n; i += 2) {
            int hi = hex(e[i]), lo = hex(e[i + 1]);
            if (hi < 0 || lo < 0)
                return;
            char byte = (char)(hi * 16 + lo);
            if (byte)
                buf_append(out, &byte, 1);
        }
    } else if (n == 3 && !memcmp(e, ".br", 3)) {
        buf_append(out, "\n", 1);
    } /* highlighting (\H\ \N\) and formatting commands carry no text */
}

static const char *unescape(const struct hl7_message *m, const char *p, size_t len, struct arena *a)
{
    if (!memchr(p, m->escape, len))
        return arena_strndup(a, p, len);
    struct buf out;
    buf_init(&out, len + 1);
    for (size_t i = 0; i < len; i++) {
        const char *close = p[i] == m->escape ? memchr(p + i + 1, m->escape, len - i - 1) : NULL;
        if (close) {
            unescape_one(m, p + i + 1, (size_t)(close - p - i - 1), &out);
            i = (size_t)(close - p);
        } else {
            buf_append(&out, p + i, 1);
        }
    }
    const char *r = arena_strndup(a, out.ptr ? out.ptr : "", out.len);
    buf_release(&out);
    return r;
}

const char *hl7_get(const struct hl7_message *m, const struct hl7_segment *s, size_t field,
                    size_t rep, size_t comp, size_t sub, struct arena *a)
{
    const char *f = raw_field(s, field), *p = f;
    size_t len = strlen(f);
    len = part(f, len, m->repetition, rep ? rep : 1, &p);
    if (comp) {
        const char *q;
        len = part(p, len, m->component, comp, &q);
        p = q;
    }
    if (comp && sub) {
        const char *q;
        len = part(p, len, m->subcomponent, sub, &q);
        p = q;
    }
    return unescape(m, p, len, a);
}

size_t hl7_repetitions(const struct hl7_message *m, const struct hl7_segment *s, size_t field)
{
    const char *f = raw_field(s, field);
    if (!*f)
        return 0;
    size_t n = 1;
    for (; *f; f++)
        n += *f == m->repetition;
    return n;
}

void hl7_escape(const struct hl7_message *m, const char *text, struct buf *out)
{
    for (const char *p = text; *p; p++) {
        char c = *p;
        const char *code = c == m->field          ? "F"
                           : c == m->component    ? "S"
                           : c == m->subcomponent ? "T"
                           : c == m->repetition   ? "R"
                           : c == m->escape       ? "E"
                                                  : NULL;
        if (code)
            buf_printf(out, "%c%s%c", m->escape, code, m->escape);
        else if (c == '\r' || c == '\n')
            buf_printf(out, "%c.br%c", m->escape, m->escape);
        else
            buf_append(out, &c, 1);
    }
}
