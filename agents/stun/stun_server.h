/* stun_server.h - the Binding service's answer logic (RFC 8489 §6.3,
 * RFC 5780 §6.1, RFC 3489 compatibility), with no sockets: the caller says
 * on which of its endpoints a request arrived and from where; this module
 * writes the answer and says from which endpoint and to where it must go.
 *
 * Endpoints: the server listens on up to two addresses x up to two ports.
 * Endpoint index = addr_index * 2 + port_index; index 0 is the primary
 * (A1, P1). RFC 5780 behaviour discovery needs all four.
 */
#ifndef NATLAB_AGENTS_STUN_SERVER_H
#define NATLAB_AGENTS_STUN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agents/stun/stun.h"

#define STUN_SERVER_ENDPOINTS 4
/* answers never exceed this: a Binding response with every attribute this
 * server adds, plus echoed PADDING bounded below */
#define STUN_SERVER_MAX_ANSWER 1600
/* RFC 5780 §7.6 PADDING: echoed up to this many bytes */
#define STUN_SERVER_MAX_PADDING 1400

enum stun_server_fingerprint {
	STUN_SERVER_FP_MIRROR = 0, /* when the request carried one (as coturn) */
	STUN_SERVER_FP_ALWAYS,
	STUN_SERVER_FP_NEVER,
};

struct stun_server_config {
	/* addr[0] primary, addr[1] alternate (family 0 = none); the port
	 * fields of the addresses are ignored */
	struct stun_addr addr[2];
	uint16_t port;				  /* P1 */
	uint16_t alt_port;			  /* P2, 0 = none */
	const char *software;			  /* SOFTWARE value, NULL = none; caller owns */
	enum stun_server_fingerprint fingerprint; /* RFC 5389+ answers only */
};

/* What to send: out[0..len) from endpoint @from to @to. */
struct stun_server_answer {
	size_t len;
	int from;
	struct stun_addr to;
};

/* stun_server_endpoint - the transport address of endpoint @ep; false when
 * the configuration does not have it. */
bool stun_server_endpoint(const struct stun_server_config *cfg, int ep, struct stun_addr *out);

/* stun_server_handle - answer the datagram (or TCP frame) @req from @src
 * received on endpoint @ep. Returns 1 with @ans filled when there is an
 * answer to send, 0 when the input must be dropped silently (not STUN, not
 * a request, malformed: RFC 8489 §6.3 "silently discarded"), or -EINVAL on
 * a bad argument. Never allocates. */
int stun_server_handle(const struct stun_server_config *cfg, int ep, bool tcp,
		       const struct stun_addr *src, const uint8_t *req, size_t len, uint8_t *out,
		       size_t cap, struct stun_server_answer *ans);

#endif
