/* tcpframe.h - RFC 4571 framing of STUN and data messages over the TCP
 * connections of ICE-TCP candidates (RFC 6544).
 *
 * RFC 4571 §2: every message is preceded by "a 16-bit unsigned integer
 * LENGTH field, coded in network byte order (big-endian)" giving the
 * length of the message that follows. RFC 6544 applies it to everything an
 * ICE-TCP connection carries (connectivity checks and media alike).
 *
 * Pure code: bytes in, messages out; no socket. The reader holds at most
 * one message (ICE_TCPFRAME_MAX bytes) and is meant to be embedded in the
 * caller's per-connection state.
 */
#ifndef NATLAB_AGENTS_ICE_TCPFRAME_H
#define NATLAB_AGENTS_ICE_TCPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ICE_TCPFRAME_HDR 2
#define ICE_TCPFRAME_MAX 65535 /* the 16-bit LENGTH field */

/* ice_tcpframe_header - the two LENGTH bytes for a @len-byte message.
 * Returns 0, or -EMSGSIZE when @len does not fit in 16 bits. */
int ice_tcpframe_header(uint8_t hdr[ICE_TCPFRAME_HDR], size_t len);

struct ice_tcpframe_reader {
	size_t have; /* bytes of the current frame (header included) */
	uint8_t buf[ICE_TCPFRAME_HDR + ICE_TCPFRAME_MAX];
};

void ice_tcpframe_reader_init(struct ice_tcpframe_reader *r);

/* ice_tcpframe_feed - take stream bytes from @in (@len of them) up to the
 * end of the current frame. Returns how many were taken; when a frame is
 * complete, *@msg and *@msg_len give its message (inside @r, valid until
 * the next call), else *@msg is NULL. Call again with the rest of @in
 * until it is used up. An empty frame (LENGTH 0) completes with
 * *@msg_len 0. */
size_t ice_tcpframe_feed(struct ice_tcpframe_reader *r, const uint8_t *in, size_t len,
			 const uint8_t **msg, size_t *msg_len);

#endif
