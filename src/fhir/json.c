/*
 * json.c - json-c wrapped with our limits and error vocabulary.
 */
#include "fhir/json.h"

#include <string.h>

enum err fhir_json_parse(const char *data, size_t len, int max_depth, struct diag *d,
                         json_object **out)
{
    if (len == 0) {
        diag_add(d, ERR_STRUCTURE, NULL, "request body is empty");
        return ERR_STRUCTURE;
    }
    if (memchr(data, '\0', len)) {
        diag_add(d, ERR_STRUCTURE, NULL, "request body contains a NUL byte");
        return ERR_STRUCTURE;
    }
    struct json_tokener *tok = json_tokener_new_ex(max_depth);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, data, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t consumed = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    enum err err = ERR_OK;
    if (jerr == json_tokener_continue) {
        diag_add(d, ERR_STRUCTURE, NULL, "malformed JSON: unexpected end of input");
        err = ERR_STRUCTURE;
    } else if (jerr == json_tokener_error_depth) {
        diag_add(d, ERR_TOO_LARGE, NULL, "JSON nesting deeper than %d levels", max_depth);
        err = ERR_TOO_LARGE;
    } else if (jerr != json_tokener_success) {
        diag_add(d, ERR_STRUCTURE, NULL, "malformed JSON at byte %zu: %s", consumed,
                 json_tokener_error_desc(jerr));
        err = ERR_STRUCTURE;
    } else {
        for (size_t i = consumed; i < len && !err; i++) {
            char c = data[i];
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                diag_add(d, ERR_STRUCTURE, NULL, "malformed JSON at byte %zu: trailing data", i);
                err = ERR_STRUCTURE;
            }
        }
    }
    if (err) {
        json_object_put(obj);
        return err;
    }
    *out = obj;
    return ERR_OK;
}

const char *fhir_json_text(json_object *obj, size_t *out_len)
{
    return json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, out_len);
}
