/*
 * buf.c - capped growable buffer.
 */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void buf_init(struct buf *b, size_t max_bytes)
{
    b->ptr = NULL;
    b->len = 0;
    b->size = 0;
    b->max_bytes = max_bytes;
}

void buf_release(struct buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->size = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

static enum err reserve(struct buf *b, size_t extra)
{
    if (extra > b->max_bytes || b->len > b->max_bytes - extra)
        return ERR_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->size)
        return ERR_OK;
    size_t size = b->size ? b->size : 64;
    while (size < need)
        size *= 2;
    if (size > b->max_bytes + 1)
        size = b->max_bytes + 1;
    b->ptr = xrealloc(b->ptr, size);
    b->size = size;
    return ERR_OK;
}

enum err buf_append(struct buf *b, const void *data, size_t len)
{
    enum err err = reserve(b, len);
    if (err)
        return err;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return ERR_OK;
}

enum err buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return ERR_INTERNAL;
    enum err err = reserve(b, (size_t)n);
    if (err)
        return err;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return ERR_OK;
}

enum err buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum err err = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

enum err buf_append_json_string(struct buf *b, const char *s, size_t len)
{
    enum err err = buf_append(b, "\"", 1);
    for (size_t i = 0; !err && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            err = buf_append(b, esc, 2);
        } else if (c < 0x20) {
            err = buf_printf(b, "\\u%04x", c);
        } else {
            err = buf_append(b, &s[i], 1);
        }
    }
    if (!err)
        err = buf_append(b, "\"", 1);
    return err;
}

char *buf_detach(struct buf *b, size_t *out_len)
{
    char *p = b->ptr;
    if (!p)
        p = xcalloc(1, 1);
    if (out_len)
        *out_len = b->len;
    b->ptr = NULL;
    b->len = 0;
    b->size = 0;
    return p;
}
