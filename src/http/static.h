/*
 * static.h - the web console's files, served from a directory (server.web_dir)
 * under a URL prefix: GET and HEAD only, names of a safe alphabet only (no
 * "..", no hidden files), a size cap, a content type by extension, and a
 * content policy that lets a page load its own scripts and styles and talk
 * to this server, nothing else.
 */
#ifndef HTTP_STATIC_H
#define HTTP_STATIC_H

#include "http/server.h"

/*
 * Answer req (whose path starts with prefix) from the file under root:
 * "prefix" and "prefix/" serve index.html. Sets status, type, headers and
 * body; a missing file is 404, a refused name 404, a method other than GET
 * or HEAD 405, a file over 8 MiB 500 (the console's own files never are).
 */
void http_static_serve(const char *root, const char *prefix, struct http_request *req,
                       struct http_response *res);

#endif
