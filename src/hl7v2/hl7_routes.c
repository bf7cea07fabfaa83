/*
 * hl7_routes.c - $reprocess of a dead letter (hl7_routes.h).
 */
#include "hl7v2/hl7_routes.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/operation.h"
#include "fhir/rest_internal.h"

/* The stored message of a dead letter (base64 decoded into the arena), or NULL. */
static const char *message_of(json_object *basic, struct arena *a, size_t *len)
{
    json_object *exts = NULL, *url = NULL, *v = NULL;
    if (!json_object_object_get_ex(basic, "extension", &exts) ||
        !json_object_is_type(exts, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(exts); i++) {
        json_object *e = json_object_array_get_idx(exts, i);
        if (!json_object_object_get_ex(e, "url", &url) ||
            strcmp(json_object_get_string(url), HL7_EXT "message") != 0 ||
            !json_object_object_get_ex(e, "valueBase64Binary", &v))
            continue;
        const char *b64 = json_object_get_string(v);
        size_t n = strlen(b64);
        unsigned char *out = arena_alloc(a, n + 1);
        if (sodium_base642bin(out, n, b64, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL))
            return NULL;
        out[*len] = '\0';
        return (const char *)out;
    }
    return NULL;
}

static void run_reprocess(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                          void *self)
{
    (void)type;
    (void)params;
    struct http_response got;
    memset(&got, 0, sizeof(got));
    buf_init(&got.body, 64u << 20);
    rest_get_internal(c, arena_printf(c->req->arena, "Basic/%s", id), &got);
    json_object *basic = got.status == 200 ? json_tokener_parse(got.body.ptr) : NULL;
    int status = got.status;
    buf_release(&got.body);
    size_t len = 0;
    const char *msg = basic ? message_of(basic, c->req->arena, &len) : NULL;
    json_object_put(basic);
    if (!msg) {
        rest_error(c,
                   status == 200   ? ERR_UNPROCESSABLE
                   : status == 404 ? ERR_NOT_FOUND
                                   : ERR_FORBIDDEN,
                   NULL, "'Basic/%s' is not a dead letter you may re-process", id);
        return;
    }
    struct buf ack;
    buf_init(&ack, 1u << 20);
    enum hl7_outcome o = hl7_handle(self, msg, len, c->req->peer, id, &ack);
    if (o == HL7_NOT_KEPT) {
        rest_error(c, ERR_IO, NULL, "the store could not take the message; try again");
        buf_release(&ack);
        return;
    }
    static const char *const codes[] = {"AA", "AE", "AR"};
    struct buf *out = &c->res->body;
    buf_reset(out);
    buf_printf(out,
               "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"acknowledgement\","
               "\"valueCode\":\"%s\"},{\"name\":\"ack\",\"valueString\":",
               codes[o]);
    buf_append_json_string(out, ack.ptr, ack.len);
    buf_append_str(out, "}]}");
    buf_release(&ack);
    c->res->status = 200;
    rest_json_type(c);
}

bool hl7_register(struct fhir_app *app, struct hl7_service *svc)
{
    const struct fhir_operation op = {
        .type = "Basic",
        .name = "reprocess",
        .on_instance = true,
        .interaction = 'u',
        .definition = "https://fhir.yujian.org.cn/OperationDefinition/Basic-reprocess",
        .run = run_reprocess,
        .self = svc,
    };
    return fhir_app_add_operation(app, &op);
}
