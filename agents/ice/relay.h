/* relay.h - one TURN allocation for the ICE agent: the socket (UDP, TCP or
 * TLS to the TURN server) around the TURN client state machine
 * (agents/turn/turn_client.h). natlab-ice owns one per TURN server and
 * component; its relayed address becomes a relayed candidate whose base is
 * the relay itself (RFC 8445 §5.1.1.2).
 *
 * Unlike the ICE agent this is I/O code: it owns a socket (and a TLS
 * session), and the caller polls ice_relay_fd().
 */
#ifndef NATLAB_AGENTS_ICE_RELAY_H
#define NATLAB_AGENTS_ICE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agents/ice/candidate.h"
#include "agents/turn/turn_alloc.h"

#define ICE_RELAY_CONNECT_TIMEOUT_MS 3000

struct ice_relay;

struct ice_relay_config {
	enum turn_transport transport;
	union ice_addr server;
	const char *user, *pass; /* copied by the TURN client */
	uint32_t rto_ms;	 /* 0: 500 */
	/* the relayed address's family: 0 follows the server's (RFC 6156
	 * §4.2 default); the other one lets a single-stack host reach peers
	 * of the other family through the relay */
	int family;
};

struct ice_relay_cb {
	void *ctx;
	/* the allocation succeeded: @relayed, and @mapped (may be NULL) */
	void (*allocated)(void *ctx, struct ice_relay *r, const union ice_addr *relayed,
			  const union ice_addr *mapped);
	/* it failed for good (@code: STUN error, or negative errno) */
	void (*failed)(void *ctx, struct ice_relay *r, int code);
	/* data relayed from @peer */
	void (*data)(void *ctx, struct ice_relay *r, const union ice_addr *peer, const uint8_t *buf,
		     size_t len);
};

/* ice_relay_new - open the socket to the server and send the first
 * Allocate. TCP/TLS: the connect and the TLS handshake run without
 * blocking, driven by ice_relay_io() (poll ice_relay_fd() for
 * ice_relay_want_write() too) and bounded by ICE_RELAY_CONNECT_TIMEOUT_MS
 * (ice_relay_tick() reports failed(-ETIMEDOUT)); the Allocate goes out
 * once connected. A refused connection is reported through failed(), not
 * by this call. The certificate is not verified: lab servers use
 * throw-away certificates. A 300 Try Alternate over TCP/TLS is followed
 * here: the connection is closed and a new one (same timeout, TLS again)
 * made to the ALTERNATE-SERVER, where the Allocate is sent anew; over UDP
 * the TURN client moves by itself. Caller owns *@out. */
int ice_relay_new(const struct ice_relay_config *cfg, const struct ice_relay_cb *cb,
		  uint64_t now_ms, struct ice_relay **out, char *err, size_t errlen);
void ice_relay_free(struct ice_relay *r);

int ice_relay_fd(const struct ice_relay *r);
bool ice_relay_want_write(const struct ice_relay *r);
/* ice_relay_io - the socket is readable (or writable): read and dispatch. */
void ice_relay_io(struct ice_relay *r, bool readable, bool writable, uint64_t now_ms);
/* ice_relay_tick - TURN retransmissions and refreshes; next deadline. */
uint64_t ice_relay_tick(struct ice_relay *r, uint64_t now_ms);
/* ice_relay_send - relay @buf to @peer. The first datagram to a peer asks
 * for a channel (which also installs the permission, RFC 8656 §12); until
 * the server has answered, Send indications are used (they may be dropped
 * before the permission exists: ICE checks are retransmitted). */
int ice_relay_send(struct ice_relay *r, const union ice_addr *peer, const uint8_t *buf, size_t len,
		   uint64_t now_ms);
/* ice_relay_prepare - ask for the channel (and permission) to @peer now,
 * before the first check needs it: natlab-ice calls it for every remote
 * candidate as it arrives. */
void ice_relay_prepare(struct ice_relay *r, const union ice_addr *peer, uint64_t now_ms);
/* ice_relay_release - delete the allocation now (a Refresh with LIFETIME
 * 0, its answer not awaited): natlab-ice calls it as it stops, so the
 * server frees the relay and reports its counters at once instead of
 * when the lifetime runs out. */
void ice_relay_release(struct ice_relay *r, uint64_t now_ms);
/* "udp", "tcp" or "tls": how the relay reaches its server */
const char *ice_relay_transport_name(const struct ice_relay *r);
/* the server the allocation is on (the alternate after a 300) */
const union ice_addr *ice_relay_server(const struct ice_relay *r);

#endif
