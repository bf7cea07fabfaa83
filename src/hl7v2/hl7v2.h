/*
 * hl7v2.h - HL7 version 2 messages in the ER7 (pipe) encoding: parsing
 * with the message's own delimiters, field access, escape sequences, and
 * the text of an acknowledgement. Bounded: a message is at most
 * HL7_MAX_SEGMENTS segments of at most HL7_MAX_FIELDS fields.
 *
 * Numbering follows the standard: fields from 1, and for MSH field 1 is the
 * field separator itself and field 2 the encoding characters, so MSH-9 is
 * the message type as everywhere in the specification. Repetitions,
 * components and sub-components count from 1 too.
 *
 * No Debian-packaged C library parses HL7 v2 (docs/dependencies.md).
 */
#ifndef HL7V2_HL7V2_H
#define HL7V2_HL7V2_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"

#define HL7_MAX_SEGMENTS 4096
#define HL7_MAX_FIELDS   256

struct hl7_segment {
    char id[4];          /* "PID" */
    const char **fields; /* raw fields: [0] is the id (MSH: [1] is MSH-2) */
    size_t nfields;
};

struct hl7_message {
    char field, component, repetition, escape, subcomponent; /* MSH-1, MSH-2 */
    struct hl7_segment *segments;
    size_t nsegments;
};

/*
 * Parse text (UTF-8; segments end in CR, LF or CRLF) into out, in the
 * arena. False with the reason in why when it is not an HL7 v2 message:
 * no MSH first, bad delimiters, a malformed segment id, over the bounds.
 */
bool hl7_parse(const char *text, size_t len, struct arena *a, struct hl7_message *out, char *why,
               size_t size);

/* The index-th (from 0) segment with this id, or NULL; *at (if not NULL) its position. */
const struct hl7_segment *hl7_segment_find(const struct hl7_message *m, const char *id, size_t from,
                                           size_t *at);

/*
 * Component comp (sub-component sub) of repetition rep of field of s,
 * unescaped into the arena; "" when absent. Counting from 1; sub 0 = the
 * whole component, comp 0 = the whole repetition (still unescaped).
 */
const char *hl7_get(const struct hl7_message *m, const struct hl7_segment *s, size_t field,
                    size_t rep, size_t comp, size_t sub, struct arena *a);
/* How many repetitions field of s has (0 when empty). */
size_t hl7_repetitions(const struct hl7_message *m, const struct hl7_segment *s, size_t field);

/* Append text to out with the delimiters of m escaped (\F\ \S\ \R\ \E\ \T\). */
void hl7_escape(const struct hl7_message *m, const char *text, struct buf *out);

#endif
