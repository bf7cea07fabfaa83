/*
 * buf.h - growable byte buffer with a hard cap (curl dynbuf). Growing past
 * the cap fails with ERR_TOO_LARGE and leaves the contents unchanged. The
 * contents are always NUL-terminated (the NUL is not counted in len).
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

struct buf {
    char *ptr;        /* owned; NULL until the first append */
    size_t len;       /* bytes used, excluding the NUL */
    size_t size;      /* bytes allocated */
    size_t max_bytes; /* cap on len */
};

/* Set up an empty buffer that may hold at most max_bytes. */
void buf_init(struct buf *b, size_t max_bytes);
/* Free the contents; the buffer must be init'ed again before reuse. */
void buf_release(struct buf *b);
/* Empty the buffer, keeping its allocation and cap. */
void buf_reset(struct buf *b);
/* Append len bytes; ERR_TOO_LARGE if the cap would be passed. */
enum err buf_append(struct buf *b, const void *data, size_t len);
enum err buf_append_str(struct buf *b, const char *s);
/* Append printf-formatted text; ERR_TOO_LARGE past the cap. */
enum err buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal (with quotes and escapes). */
enum err buf_append_json_string(struct buf *b, const char *s, size_t len);
/* Hand over the contents (caller frees with free()); the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *out_len);

#endif
