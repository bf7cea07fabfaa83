/*
 * cmd_import.c - `yujian import FILE|-`: a JSON file holding one resource or
 * a Bundle (its entries' resources are loaded), or NDJSON (one resource per
 * line, each possibly a Bundle). Input is bounded: a single JSON document
 * may be at most IMPORT_MAX_DOCUMENT_BYTES; NDJSON streams line by line.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/importer.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/diag.h"
#include "core/xalloc.h"
#include "fhir/json.h"

#define IMPORT_MAX_DOCUMENT_BYTES (1024u * 1024 * 1024)

static enum err add_document(struct importer *im, json_object *doc, const char *where)
{
    json_object *rt = NULL;
    if (json_object_get_type(doc) == json_type_object &&
        json_object_object_get_ex(doc, "resourceType", &rt) &&
        !strcmp(json_object_get_string(rt), "Bundle")) {
        json_object *entries = NULL;
        if (!json_object_object_get_ex(doc, "entry", &entries) ||
            json_object_get_type(entries) != json_type_array)
            return ERR_OK;
        size_t n = json_object_array_length(entries);
        for (size_t i = 0; i < n; i++) {
            json_object *res = NULL;
            json_object *e = json_object_array_get_idx(entries, i);
            if (!json_object_object_get_ex(e, "resource", &res))
                continue;
            char label[128];
            snprintf(label, sizeof(label), "%s entry[%zu]", where, i);
            enum err err = importer_add(im, res, label);
            if (err)
                return err;
        }
        return ERR_OK;
    }
    return importer_add(im, doc, where);
}

static json_object *parse_text(const struct config *cfg, const char *text, size_t len,
                               const char *where, bool quiet)
{
    struct arena arena;
    arena_init(&arena, 1024);
    struct diag d;
    diag_init(&d, &arena);
    json_object *obj = NULL;
    if (fhir_json_parse(text, len, cfg->max_json_depth, &d, &obj) && !quiet)
        fprintf(stderr, "yujian import: %s: %s\n", where,
                d.count ? d.issues[0].message : "bad JSON");
    arena_release(&arena);
    return obj;
}

static int import_stream(struct importer *im, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, in);
    int rc = CLI_EXIT_OK;
    json_object *first = len > 0 ? parse_text(im->cfg, line, (size_t)len, "line 1", true) : NULL;
    if (!first && len > 0) {
        /* not NDJSON: the whole input is one document */
        struct buf all;
        buf_init(&all, IMPORT_MAX_DOCUMENT_BYTES);
        enum err err = buf_append(&all, line, (size_t)len);
        char chunk[65536];
        size_t n;
        while (!err && (n = fread(chunk, 1, sizeof(chunk), in)) > 0)
            err = buf_append(&all, chunk, n);
        if (err) {
            fprintf(stderr, "yujian import: document larger than %u bytes; use NDJSON\n",
                    IMPORT_MAX_DOCUMENT_BYTES);
            rc = CLI_EXIT_FAIL;
        } else {
            json_object *doc = parse_text(im->cfg, all.ptr, all.len, "document", false);
            if (!doc || add_document(im, doc, "document"))
                rc = CLI_EXIT_FAIL;
            json_object_put(doc);
        }
        buf_release(&all);
        free(line);
        return rc;
    }
    long lineno = 1;
    if (first && add_document(im, first, "line 1"))
        rc = CLI_EXIT_FAIL;
    json_object_put(first);
    while (!rc && (len = getline(&line, &cap, in)) > 0) {
        lineno++;
        char where[32];
        snprintf(where, sizeof(where), "line %ld", lineno);
        size_t l = (size_t)len;
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
            l--;
        if (l == 0)
            continue;
        json_object *doc = parse_text(im->cfg, line, l, where, false);
        if (!doc) {
            im->rejected++;
            continue;
        }
        if (add_document(im, doc, where))
            rc = CLI_EXIT_FAIL;
        json_object_put(doc);
    }
    free(line);
    return rc;
}

int cmd_import(struct config *cfg, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: yujian import [OPTIONS] FILE|-\n");
        return CLI_EXIT_USAGE;
    }
    FILE *in = strcmp(argv[0], "-") ? fopen(argv[0], "r") : stdin;
    if (!in) {
        fprintf(stderr, "yujian import: cannot open '%s'\n", argv[0]);
        return CLI_EXIT_FAIL;
    }
    struct store *store = NULL;
    if (cli_open_store(cfg, "import", &store)) {
        if (in != stdin)
            fclose(in);
        return CLI_EXIT_FAIL;
    }
    struct importer *im = xmalloc(sizeof(*im));
    importer_init(im, cfg, store);
    int rc = import_stream(im, in);
    if (importer_finish(im))
        rc = CLI_EXIT_FAIL;
    printf("imported %zu resources, rejected %zu\n", im->imported, im->rejected);
    if (im->rejected && !rc)
        rc = CLI_EXIT_FAIL;
    free(im);
    store_close(store);
    if (in != stdin)
        fclose(in);
    return rc;
}
