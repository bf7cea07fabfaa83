/*
 * capability.c - every concrete R4 resource type gets the same set of
 * interactions, the ones rest.c implements; nothing is claimed that the
 * server does not do (no search, no conditional interactions yet).
 */
#include "fhir/capability.h"

#include <string.h>

#include "core/timeutil.h"
#include "fhir/model.h"

static const char *const type_interactions[] = {
    "read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
};

void fhir_capability_write(struct buf *out, const char *base_url)
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
                        "\"rest\":[{\"mode\":\"server\",\"resource\":[");
    for (size_t i = 0; i < fhir_resource_type_count; i++) {
        const char *name = fhir_types[fhir_resource_types[i]].name;
        buf_printf(out,
                   "%s{\"type\":\"%s\",\"profile\":\"http://hl7.org/fhir/StructureDefinition/"
                   "%s\",\"interaction\":[",
                   i ? "," : "", name, name);
        for (size_t k = 0; k < sizeof(type_interactions) / sizeof(type_interactions[0]); k++)
            buf_printf(out, "%s{\"code\":\"%s\"}", k ? "," : "", type_interactions[k]);
        buf_append_str(out, "],\"versioning\":\"versioned-update\",\"readHistory\":true,"
                            "\"updateCreate\":true,\"conditionalCreate\":false,"
                            "\"conditionalRead\":\"not-supported\",\"conditionalUpdate\":false,"
                            "\"conditionalDelete\":\"not-supported\"}");
    }
    buf_append_str(out, "],\"interaction\":[{\"code\":\"history-system\"}]}]}");
}
