/* dcplane.h - the transport of natlab-ice's `datachannel` data plane: DTLS
 * (agents/ice/dtls.c) on the ICE selected pair, SCTP on DTLS (RFC 8261,
 * agents/ice/sctpdc.c), one WebRTC data channel on SCTP (RFC 8831/8832).
 * The caller moves DTLS datagrams to and from the pair and gets whole
 * data channel messages; agents/ice/dataplane.c numbers and acknowledges
 * them exactly as on the datagram plane.
 *
 * Built only with libusrsctp (NATLAB_HAVE_USRSCTP).
 */
#ifndef NATLAB_AGENTS_ICE_DCPLANE_H
#define NATLAB_AGENTS_ICE_DCPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agents/ice/dtls.h"

/* the channel natlab-ice opens: unordered, no retransmissions
 * (maxRetransmits 0), like a datagram (RFC 8831 §6.1: that combination
 * "provides a UDP-like service") */
#define DCPLANE_LABEL "natlab"

struct dcplane_config {
	bool dtls_client;	 /* dtls_setup_is_client() */
	const uint8_t *peer_fp;	 /* SHA-256 the peer must present (copied) */
	size_t peer_fp_len;	 /* 0: not checked */
	uint16_t local_port;	 /* a=sctp-port, ours */
	uint16_t remote_port;	 /* the peer's */
	size_t peer_max_message; /* the peer's a=max-message-size (0: 64 KiB) */
};

struct dcplane_cb {
	void *ctx;
	/* a DTLS datagram for the ICE selected pair */
	void (*send)(void *ctx, const uint8_t *buf, size_t len);
	/* the channel can carry messages (once) */
	void (*open)(void *ctx);
	/* a message on the channel */
	void (*message)(void *ctx, const uint8_t *buf, size_t len);
	/* progress ("info") and trouble ("warning") */
	void (*log)(void *ctx, const char *level, const char *msg);
	/* the plane is dead (handshake failed, fingerprint mismatch, SCTP
	 * association lost, the peer closed): once */
	void (*failed)(void *ctx, const char *reason);
};

/* Milliseconds from dcplane_new to each step; 0 = not reached yet. */
struct dcplane_times {
	uint64_t dtls_ms; /* DTLS handshake complete */
	uint64_t sctp_ms; /* SCTP association up */
	uint64_t open_ms; /* data channel open (ACK received or OPEN accepted) */
};

struct dcplane;

/* dcplane_new - start the plane with @cert (not owned; must outlive it).
 * A DTLS client sends its ClientHello at once. Returns 0 or a negative
 * errno with @err. */
int dcplane_new(struct dtls_cert *cert, const struct dcplane_config *cfg,
		const struct dcplane_cb *cb, struct dcplane **out, char *err, size_t errlen);
void dcplane_free(struct dcplane *p);

/* dcplane_input - a datagram from the pair whose first byte is 20..63
 * (RFC 7983 §7: DTLS) */
void dcplane_input(struct dcplane *p, const uint8_t *buf, size_t len);

/* dcplane_send - one binary message (PPID 53). 0, -ENOTCONN before the
 * channel opened, or another negative errno (the message is lost). */
int dcplane_send(struct dcplane *p, const uint8_t *buf, size_t len);

/* dcplane_timeout_ms - ms until dcplane_tick is due (0: now), -1: none */
long dcplane_timeout_ms(struct dcplane *p);
void dcplane_tick(struct dcplane *p);

/* dcplane_close - DTLS close_notify to the peer (before freeing) */
void dcplane_close(struct dcplane *p);

bool dcplane_open(const struct dcplane *p);
const struct dcplane_times *dcplane_times(const struct dcplane *p);
/* the DTLS cipher suite, "" before the handshake */
const char *dcplane_cipher(const struct dcplane *p);

#endif
