/*
 * capability.h - the CapabilityStatement served at /fhir/metadata, built
 * once at start-up from what this server actually implements.
 */
#ifndef FHIR_CAPABILITY_H
#define FHIR_CAPABILITY_H

#include <stddef.h>

#include "core/buf.h"

struct fhir_operation;

#define YUJIAN_VERSION "0.1.0"

/* Append the CapabilityStatement JSON; base_url is the FHIR base; ops the modules' operations. */
void fhir_capability_write(struct buf *out, const char *base_url, const struct fhir_operation *ops,
                           size_t nops);

#endif
