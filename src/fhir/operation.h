/*
 * operation.h - how a module adds a FHIR operation (operations.html) to the
 * REST API: [base]/[type]/$name or [base]/[type]/[id]/$name, by GET (an
 * operation that changes nothing) and/or POST (a Parameters body).
 *
 * The REST layer checks the method and that the caller may do the
 * operation's interaction on its type, then calls run on a worker thread
 * with the request's context (fhir/rest_internal.h has what a handler may
 * use: errors, reads and searches as the caller, rest_write_many).
 * Operations are listed in the CapabilityStatement.
 */
#ifndef FHIR_OPERATION_H
#define FHIR_OPERATION_H

#include <stdbool.h>

#include <json-c/json.h>

#include "fhir/write.h"

struct fhir_app;
struct rest_ctx;

#define FHIR_MAX_OPERATIONS 32

/* id is NULL for a type-level call; params is the call's Parameters (borrowed). */
typedef void fhir_op_fn(struct rest_ctx *c, const char *type, const char *id, json_object *params,
                        void *self);

struct fhir_operation {
    const char *type;      /* resource type: "Patient" */
    const char *name;      /* without the '$': "recognizable" */
    bool on_type;          /* [type]/$name is served */
    bool on_instance;      /* [type]/[id]/$name is served */
    bool get;              /* GET allowed (the operation changes nothing) */
    char interaction;      /* what the caller must be allowed on type ("cruds") */
    const char *also_type; /* and also_interaction on this type (what it writes), or NULL */
    char also_interaction;
    const char *definition; /* its OperationDefinition's canonical URL */
    fhir_op_fn *run;        /* the handler */
    void *self;             /* its argument */
};

/* Add an operation before serving; op is copied. False when the table is full. */
bool fhir_app_add_operation(struct fhir_app *app, const struct fhir_operation *op);
/* Add n operations, each with self as its argument; false when the table is full. */
bool fhir_app_add_operations(struct fhir_app *app, const struct fhir_operation *ops, size_t n,
                             void *self);

/*
 * Parameters helpers for handlers: the value of the first parameter called
 * name as text (valueString, valueCode, valueUri, valueDateTime, valueDate,
 * valueId, valueBoolean, valueInteger, or a valueReference's reference),
 * or NULL.
 */
const char *fhir_params_text(json_object *params, const char *name);
/* Every parameter called name, in order: out[] up to max; returns how many there were. */
size_t fhir_params_all(json_object *params, const char *name, json_object **out, size_t max);

/*
 * A module's writes, all-or-nothing in one durable unit with the request's
 * audit entry, as the REST interactions write (the caller's reach is
 * checked: what is created must be the caller's to hold). The request is
 * suspended; done runs on a worker thread once the unit is durable or has
 * failed (result, and the writes' results as in fhir/write.h), and answers
 * the request. writes live in the request's arena; their resources are
 * released after done. False when the caller may not write them: the
 * request is answered, the resources released, and done is never called.
 */
/*
 * Search type as the caller would (the same confinement as a search of
 * theirs, recorded for the audit trail as touching patient's data, or NULL)
 * straight on the store, without an internal request's Bundle: the parsed
 * resources into out[] (the caller puts them), at most max, in the store's
 * key order. False (answered) when refused or malformed.
 */
bool rest_search_parsed(struct rest_ctx *c, const char *type, const char *const criteria[][2],
                        size_t n, const char *patient, json_object **out, size_t max,
                        size_t *found);

typedef void rest_written_fn(struct rest_ctx *c, enum err result, struct fhir_write *writes,
                             size_t n, void *arg);
bool rest_write_many(struct rest_ctx *c, struct fhir_write *writes, size_t n, rest_written_fn *done,
                     void *arg);

#define FHIR_MAX_RULES 16

/*
 * A module's rule on what may be written (DESIGN.md: modules add rules to
 * the writes of the types they care about). check runs on a worker thread
 * for every resource of type written through the API: a create, an
 * update or patch, each entry of a batch or transaction, a module's writes
 * (not the importer's bulk load). id is the resource's id, replaces whether
 * the write is an update (PUT, PATCH; the id may still be new). ERR_OK lets
 * the write go on; an error refuses it (ERR_RULE: 422 business-rule) with
 * the reason, Chinese / English, written to why (size bytes), and nothing
 * is written. The check runs before the write is queued: it sees what is
 * durable at that moment.
 */
typedef enum err fhir_rule_fn(struct rest_ctx *c, const char *type, const char *id,
                              json_object *resource, bool replaces, char *why, size_t size,
                              void *self);

struct fhir_rule {
    const char *type;    /* resource type: "ChargeItem" */
    fhir_rule_fn *check; /* the rule */
    void *self;          /* its argument */
};

/* Add a rule before serving; rule is copied. False when the table is full. */
bool fhir_app_add_rule(struct fhir_app *app, const struct fhir_rule *rule);

#endif
