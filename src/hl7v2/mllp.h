/*
 * mllp.h - the MLLP listener (HL7 v2 minimal lower layer protocol): a
 * message is framed as <VT> message <FS><CR> on a TCP connection, and each
 * is answered, in order, with its framed acknowledgement once it is
 * stored (hl7_service.h). One thread per connection, at most
 * hl7.max_connections of them.
 *
 * Framing faults: bytes outside a frame are skipped; a frame the peer
 * breaks off (a new <VT>, or the connection closing, before its <FS>) is
 * dropped unacknowledged, so the sender sends it again; a frame longer than
 * hl7.max_message_kb is read to its end and refused (AR), its head kept as
 * a dead letter. A connection silent for hl7.idle_timeout_s is closed.
 */
#ifndef HL7V2_MLLP_H
#define HL7V2_MLLP_H

#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

struct mllp_server;

/* Listen on cfg's hl7.mllp_host:hl7.mllp_port; store and cfg are borrowed. */
enum err mllp_start(const struct config *cfg, struct store *store, struct mllp_server **out);
/* The port listened on (useful with port 0). */
int mllp_port(const struct mllp_server *s);
/* Stop accepting, close every connection (a message being stored finishes first), free. */
void mllp_stop(struct mllp_server *s);

#endif
