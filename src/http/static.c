/*
 * static.c - the web console's files (see static.h).
 */
#include "http/static.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"

enum { STATIC_MAX_BYTES = 8 << 20 };

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return NULL;
}

/* A relative name of [A-Za-z0-9._-] segments, none starting with a dot, 255 bytes at most. */
static bool safe_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255 || name[0] == '/')
        return false;
    bool segment_start = true;
    for (const char *p = name; *p; p++) {
        char ch = *p;
        if (ch == '/') {
            if (segment_start)
                return false; /* empty segment */
            segment_start = true;
            continue;
        }
        if (segment_start && ch == '.')
            return false; /* "..", ".hidden" */
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
        segment_start = false;
    }
    return !segment_start;
}

static void plain(struct http_response *res, int status, const char *text)
{
    res->status = status;
    res->content_type = "text/plain; charset=utf-8";
    buf_reset(&res->body);
    buf_append_str(&res->body, text);
}

/* Read path into res->body; false (and errno) when it is not a regular file under the cap. */
static bool read_file(const char *path, struct http_response *res)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (!S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_BYTES) {
        errno = S_ISREG(st.st_mode) ? EFBIG : ENOENT;
        return false;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char chunk[16384];
    size_t got;
    bool ok = true;
    while (ok && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ok = buf_append(&res->body, chunk, got) == ERR_OK;
    ok = ok && !ferror(f);
    fclose(f);
    return ok;
}

void http_static_serve(const char *root, const char *prefix, struct http_request *req,
                       struct http_response *res)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_response_header(res, "Allow", "GET, HEAD");
        plain(res, 405, "method not allowed / 不支持该方法");
        return;
    }
    const char *name = req->path + strlen(prefix);
    while (*name == '/')
        name++;
    if (!*name)
        name = "index.html";
    const char *type = type_of(name);
    char path[1024];
    if (!root || !*root || !safe_name(name) || !type ||
        snprintf(path, sizeof(path), "%s/%s", root, name) >= (int)sizeof(path)) {
        plain(res, 404, "not found / 未找到");
        return;
    }
    buf_reset(&res->body);
    if (!read_file(path, res)) {
        bool missing = errno == ENOENT || errno == ENOTDIR;
        if (!missing)
            log_error(LOG_HTTP, "cannot serve a console file errno=%d", errno);
        plain(res, missing ? 404 : 500, missing ? "not found / 未找到" : "cannot read / 无法读取");
        return;
    }
    res->status = 200;
    res->content_type = type;
    /* revalidated on every load (no-cache), never shared: the files are small and local */
    http_response_header(res, "Cache-Control", "no-cache");
    http_response_header(res, "Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                         "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
}
