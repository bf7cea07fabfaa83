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

enum err fhir_json_check_sizes(json_object *v, size_t max_string, size_t max_items, struct diag *d)
{
    switch (json_object_get_type(v)) {
    case json_type_string: {
        size_t n = (size_t)json_object_get_string_len(v);
        if (n > max_string) {
            diag_add(
                d, ERR_TOO_LARGE, NULL,
                "a string of %zu bytes is longer than the limit of %zu (fhir.max_string_bytes)", n,
                max_string);
            return ERR_TOO_LARGE;
        }
        return ERR_OK;
    }
    case json_type_array: {
        size_t n = json_object_array_length(v);
        if (n > max_items) {
            diag_add(d, ERR_TOO_LARGE, NULL,
                     "an array of %zu items is longer than the limit of %zu (fhir.max_array_items)",
                     n, max_items);
            return ERR_TOO_LARGE;
        }
        for (size_t i = 0; i < n; i++) {
            enum err err =
                fhir_json_check_sizes(json_object_array_get_idx(v, i), max_string, max_items, d);
            if (err)
                return err;
        }
        return ERR_OK;
    }
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            (void)key; /* keys are bounded by the body; values are what grows */
            enum err err = fhir_json_check_sizes(val, max_string, max_items, d);
            if (err)
                return err;
        }
        return ERR_OK;
    }
    default:
        return ERR_OK;
    }
}
