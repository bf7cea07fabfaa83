/*
 * fhirpath_dump.c - for the differential FHIRPath test (tests/e2e/
 * fhirpath.test.mjs): evaluate every R4 search-parameter expression that
 * applies to each example resource in a directory and print one JSON line
 * per (file, parameter): {"file":..,"expr":..,"values":[..]}. The test
 * evaluates the same expressions with the npm fhirpath package and
 * compares. Expressions using resolve() are skipped: they need a server.
 *
 *   fhirpath_dump EXAMPLES_DIR
 */
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "fhir/fhirpath.h"
#include "fhir/model.h"
#include "fhir/search_params.h"

static struct fhirpath **compiled; /* parallel to fhir_search_params; NULL = skipped */

static void compile_all(void)
{
    compiled = calloc(fhir_search_param_count, sizeof(*compiled));
    for (size_t i = 0; i < fhir_search_param_count; i++) {
        const char *e = fhir_search_params[i].expression;
        char why[160];
        if (*e && !strstr(e, "resolve()") &&
            fhirpath_compile(e, &compiled[i], why, sizeof(why)) != ERR_OK)
            compiled[i] = NULL;
    }
}

static void print_values(const struct fhirpath_result *r)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r->count; i++) {
        const struct fhirpath_item *it = &r->items[i];
        json_object_array_add(arr, it->value ? json_object_get(it->value)
                                             : json_object_new_boolean(it->boolean));
    }
    fputs(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN), stdout);
    json_object_put(arr);
}

static void dump_params(const char *file, json_object *res, const char *base)
{
    size_t n = 0;
    const struct fhir_search_param *first = NULL;
    for (size_t i = 0; i < fhir_search_param_count; i++) {
        if (strcmp(fhir_search_params[i].base, base) != 0)
            continue;
        if (!first)
            first = &fhir_search_params[i];
        n++;
        if (!compiled[i])
            continue;
        struct fhirpath_result r;
        fhirpath_result_init(&r);
        fhirpath_eval(compiled[i], res, &r);
        json_object *f = json_object_new_string(file);
        json_object *e = json_object_new_string(fhir_search_params[i].expression);
        printf("{\"file\":%s,\"expr\":%s,\"values\":",
               json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN),
               json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
        json_object_put(f);
        json_object_put(e);
        print_values(&r);
        fputs("}\n", stdout);
        fhirpath_result_release(&r);
    }
    (void)first;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fhirpath_dump EXAMPLES_DIR\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    compile_all();
    struct dirent *ent;
    char path[4096];
    while ((ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        if (len < 6 || strcmp(ent->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", argv[1], ent->d_name);
        json_object *res = json_object_from_file(path);
        json_object *rt = NULL;
        if (res && json_object_object_get_ex(res, "resourceType", &rt) &&
            fhir_resource_type_find(str_from(json_object_get_string(rt))) >= 0) {
            dump_params(ent->d_name, res, json_object_get_string(rt));
            dump_params(ent->d_name, res, "Resource");
        }
        json_object_put(res);
    }
    closedir(d);
    return 0;
}
