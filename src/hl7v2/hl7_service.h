/*
 * hl7_service.h - what happens to one HL7 v2 message received from a
 * laboratory system: it is decoded (MSH-18: UTF-8, GB18030, ISO 8859-1),
 * checked (ORU^R01, versions 2.3 to 2.5.1), its sending facility (MSH-4)
 * found among the Organizations (identifier system HL7_FACILITY_SYSTEM),
 * mapped to FHIR (oru.h) and written in one durable unit with its audit
 * entry — or, when any of that fails, kept whole as a dead letter (a
 * Basic resource, HL7_DEAD_LETTER_CODE) for re-processing. Only then is
 * it acknowledged: AA, AE (a valid message the platform could not take)
 * or AR (not a message it accepts), with the reason in MSA-3 and ERR.
 * If even the dead letter cannot be stored there is no acknowledgement:
 * the sender keeps the message and sends it again. Nothing is lost.
 */
#ifndef HL7V2_HL7_SERVICE_H
#define HL7V2_HL7_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/config.h"
#include "store/store.h"

#define HL7_FACILITY_SYSTEM  "https://fhir.yujian.org.cn/sid/hl7-facility"
#define HL7_DEAD_LETTER_CODE "https://fhir.yujian.org.cn/CodeSystem/hl7v2"
#define HL7_EXT              "https://fhir.yujian.org.cn/StructureDefinition/hl7v2-"

struct hl7_service {
    struct store *store;      /* borrowed */
    const struct config *cfg; /* borrowed: limits, time zone */
};

enum hl7_outcome {
    HL7_ACCEPTED, /* AA: the results are stored */
    HL7_ERROR,    /* AE: kept as a dead letter */
    HL7_REJECTED, /* AR: kept as a dead letter */
    HL7_NOT_KEPT, /* nothing stored (the store failed): no ACK, the sender resends */
};

/*
 * Handle one message (the bytes between the MLLP frame marks) from peer
 * (an address, for the audit trail): store it, and write the ACK into ack
 * (unless HL7_NOT_KEPT). dead_letter: when re-processing a dead letter,
 * its id (it is marked done on success, and no new one is made on failure).
 */
enum hl7_outcome hl7_handle(const struct hl7_service *svc, const char *msg, size_t len,
                            const char *peer, const char *dead_letter, struct buf *ack);

/*
 * A frame longer than hl7.max_message_kb (total bytes), of which head is
 * the first head_len: refused (AR), its head kept as a dead letter.
 */
enum hl7_outcome hl7_handle_oversized(const struct hl7_service *svc, const char *head,
                                      size_t head_len, size_t total, const char *peer,
                                      struct buf *ack);

#endif
