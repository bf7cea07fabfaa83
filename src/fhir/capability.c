/*
 * capability.c - every concrete R4 resource type gets the same set of
 * interactions, the ones rest.c implements, and the search parameters
 * query.c applies; nothing is claimed that the server does not do (no
 * composite parameters or conditional read yet).
 */
#include "fhir/capability.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/model.h"
#include "fhir/operation.h"
#include "fhir/search_index.h"
#include "fhir/search_params.h"

static const char *const type_interactions[] = {
    "read",         "vread",  "update",      "patch", "delete", "history-instance",
    "history-type", "create", "search-type",
};

/* The parameters search.c applies: not special ones, nor composites of three parts. */
static void search_params(struct buf *out, const struct fhir_search_param *first, size_t n,
                          bool *any)
{
    for (size_t i = 0; i < n; i++) {
        const struct fhir_search_param *p = &first[i];
        struct fhir_composite_part parts[FHIR_COMPOSITE_MAX_PARTS];
        if (p->type == FHIR_SEARCH_SPECIAL ||
            (p->type == FHIR_SEARCH_COMPOSITE && !fhir_search_composite_is_indexed(p, parts)))
            continue;
        buf_printf(out, "%s{\"name\":\"%s\",\"type\":\"%s\"}", *any ? "," : "", p->code,
                   fhir_search_type_names[p->type]);
        *any = true;
    }
}

/* rest.security: bearer tokens from the server's own endpoints (SMART App Launch). */
static void security(struct buf *out, const char *base_url)
{
    size_t n = strlen(base_url);
    if (n >= 5 && !strcmp(base_url + n - 5, "/fhir"))
        n -= 5; /* the endpoints are beside /fhir, not under it */
    buf_append_str(out, "\"security\":{\"extension\":[{\"url\":\"http://"
                        "fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris\","
                        "\"extension\":[");
    static const char *const uris[] = {"token", "revoke"};
    for (size_t i = 0; i < 2; i++) {
        char uri[1024];
        snprintf(uri, sizeof(uri), "%.*s/auth/%s", (int)n, base_url, uris[i]);
        buf_printf(out, "%s{\"url\":\"%s\",\"valueUri\":", i ? "," : "", uris[i]);
        buf_append_json_string(out, uri, strlen(uri));
        buf_append_str(out, "}");
    }
    buf_append_str(out, "]}],\"service\":[{\"coding\":[{\"system\":\"http://"
                        "terminology.hl7.org/CodeSystem/restful-security-service\",\"code\":"
                        "\"SMART-on-FHIR\"}]}],\"description\":\"OAuth2 bearer tokens with "
                        "SMART App Launch v2 scopes (password and refresh grants); see "
                        "/.well-known/smart-configuration\"}");
}

/* The operations on type: $everything on Patient, then the modules' ones. */
static void operations(struct buf *out, const char *type, const struct fhir_operation *ops,
                       size_t nops)
{
    bool any = !strcmp(type, "Patient");
    if (any)
        buf_append_str(out, ",\"operation\":[{\"name\":\"everything\",\"definition\":"
                            "\"http://hl7.org/fhir/OperationDefinition/Patient-everything\"}");
    for (size_t i = 0; i < nops; i++) {
        if (strcmp(ops[i].type, type) != 0)
            continue;
        buf_append_str(out, any ? "," : ",\"operation\":[");
        buf_printf(out, "{\"name\":\"%s\",\"definition\":", ops[i].name);
        buf_append_json_string(out, ops[i].definition, strlen(ops[i].definition));
        buf_append_str(out, "}");
        any = true;
    }
    if (any)
        buf_append_str(out, "]");
}

void fhir_capability_write(struct buf *out, const char *base_url, const struct fhir_operation *ops,
                           size_t nops)
{
    char now[32];
    time_format_instant(time_now_ms(), now, sizeof(now));
    buf_printf(out,
               "{\"resourceType\":\"CapabilityStatement\",\"status\":\"active\","
               "\"date\":\"%s\",\"publisher\":\"Yujian\",\"kind\":\"instance\","
               "\"software\":{\"name\":\"Yujian (豫健)\",\"version\":\"%s\"},"
               "\"implementation\":{\"description\":\"Yujian regional health-service platform "
               "FHIR server\",\"url\":",
               now, YUJIAN_VERSION);
    buf_append_json_string(out, base_url, strlen(base_url));
    buf_append_str(out, "},\"fhirVersion\":\"4.0.1\",\"format\":[\"json\"],"
                        "\"patchFormat\":[\"application/json-patch+json\"],"
                        "\"rest\":[{\"mode\":\"server\",");
    security(out, base_url);
    buf_append_str(out, ",\"resource\":[");
    for (size_t i = 0; i < fhir_resource_type_count; i++) {
        const char *name = fhir_types[fhir_resource_types[i]].name;
        buf_printf(out,
                   "%s{\"type\":\"%s\",\"profile\":\"http://hl7.org/fhir/StructureDefinition/"
                   "%s\",\"interaction\":[",
                   i ? "," : "", name, name);
        for (size_t k = 0; k < sizeof(type_interactions) / sizeof(type_interactions[0]); k++)
            buf_printf(out, "%s{\"code\":\"%s\"}", k ? "," : "", type_interactions[k]);
        buf_append_str(out, "],\"searchParam\":[");
        bool any = false;
        size_t n;
        const struct fhir_search_param *own = fhir_search_params_of(name, &n);
        size_t n0 = n;
        search_params(out, own, n, &any);
        const struct fhir_search_param *common = fhir_search_params_of("Resource", &n);
        search_params(out, common, n, &any);
        buf_append_str(out, "],\"searchInclude\":[\"*\"");
        for (size_t k = 0; k < n0; k++)
            if (own[k].type == FHIR_SEARCH_REFERENCE)
                buf_printf(out, ",\"%s:%s\"", name, own[k].code);
        buf_append_str(out, "],\"versioning\":\"versioned-update\",\"readHistory\":true,"
                            "\"updateCreate\":true,\"conditionalCreate\":true,"
                            "\"conditionalRead\":\"not-supported\",\"conditionalUpdate\":true,"
                            "\"conditionalDelete\":\"multiple\"");
        operations(out, name, ops, nops);
        buf_append_str(out, "}");
    }
    buf_append_str(out, "],\"interaction\":[{\"code\":\"transaction\"},{\"code\":\"batch\"},"
                        "{\"code\":\"history-system\"}]}]}");
}
