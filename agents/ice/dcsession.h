/* dcsession.h - natlab-ice's `datachannel` data plane as the agent
 * protocol sees it: the certificate made at start and the "session"
 * object announced in "local" (docs/agent-protocol.md), the peer's
 * session from "remote", the DTLS role they settle, and the transport
 * (agents/ice/dcplane.c) started on the ICE selected pair. DTLS datagrams
 * that arrive before the selection are kept and replayed.
 *
 * Built only with libusrsctp (NATLAB_HAVE_USRSCTP).
 */
#ifndef NATLAB_AGENTS_ICE_DCSESSION_H
#define NATLAB_AGENTS_ICE_DCSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agents/ice/agentproto.h"
#include "agents/ice/dcplane.h"

/* DTLS datagrams kept from before the selection (a ClientHello and its
 * retransmissions) */
#define DCSESSION_EARLY_MAX 8

struct dcsession;

/* dcsession_new - make the certificate; @ice_controlling decides the
 * setup announced (dtls_setup_offer). @cb as for dcplane (copied).
 * Returns 0 or a negative errno with @err. */
int dcsession_new(bool ice_controlling, const struct dcplane_cb *cb, struct dcsession **out,
		  char *err, size_t errlen);
void dcsession_free(struct dcsession *s);

/* dcsession_local - the "session" object of our "local" event */
void dcsession_local(const struct dcsession *s, struct agentproto_session *out);

/* dcsession_remote - the peer's session from a "remote" command.
 * Returns 0; -ENOENT when @peer is not present (the peer offers no data
 * channel); -EINVAL with @err naming the field (a fingerprint that is not
 * RFC 8122 "sha-256 XX:..", an unknown setup) . Later sessions (an ICE
 * restart's) are ignored once the plane runs. */
int dcsession_remote(struct dcsession *s, const struct agentproto_session *peer, char *err,
		     size_t errlen);

/* dcsession_start - the ICE pair is selected: start DTLS in the role the
 * two setups (or, unsettled, @ice_controlling) give. Idempotent. Returns 0
 * or a negative errno with @err. */
int dcsession_start(struct dcsession *s, bool ice_controlling, char *err, size_t errlen);
bool dcsession_started(const struct dcsession *s);
bool dcsession_client(const struct dcsession *s);

/* dcsession_input - a datagram from the pair with first byte 20..63 */
void dcsession_input(struct dcsession *s, const uint8_t *buf, size_t len);

int dcsession_send(struct dcsession *s, const uint8_t *buf, size_t len);
bool dcsession_open(const struct dcsession *s);
long dcsession_timeout_ms(struct dcsession *s);
void dcsession_tick(struct dcsession *s);
void dcsession_close(struct dcsession *s);
/* NULL before dcsession_start */
const struct dcplane *dcsession_plane(const struct dcsession *s);

#endif
