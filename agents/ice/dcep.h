/* dcep.h - the Data Channel Establishment Protocol (RFC 8832): the two
 * messages that open a WebRTC data channel on an SCTP stream.
 *
 * Pure: bytes in, struct out, no sockets. A decoded message points into
 * the caller's buffer (no copy), so the buffer must outlive it.
 *
 * RFC 8832 §5.1 DATA_CHANNEL_OPEN (all integers big-endian):
 *    0  u8   Message Type 0x03
 *    1  u8   Channel Type (dcep_channel_type)
 *    2  u16  Priority (RFC 8831 §6.4: 128 below normal, 256 normal, ...)
 *    4  u32  Reliability Parameter (retransmissions or lifetime in ms;
 *            ignored for the reliable types)
 *    8  u16  Label Length
 *   10  u16  Protocol Length
 *   12  Label (UTF-8, Label Length bytes), then Protocol, no padding
 * RFC 8832 §5.2 DATA_CHANNEL_ACK: one byte, Message Type 0x02.
 * Both travel with SCTP Payload Protocol Identifier 50 (§8.1).
 */
#ifndef NATLAB_AGENTS_ICE_DCEP_H
#define NATLAB_AGENTS_ICE_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 8831 §8 / RFC 8832 §8.1: SCTP Payload Protocol Identifiers */
#define DCEP_PPID	       50 /* WebRTC DCEP */
#define DCEP_PPID_STRING       51 /* WebRTC String */
#define DCEP_PPID_BINARY       53 /* WebRTC Binary */
#define DCEP_PPID_STRING_EMPTY 56
#define DCEP_PPID_BINARY_EMPTY 57

#define DCEP_MSG_ACK  0x02
#define DCEP_MSG_OPEN 0x03

#define DCEP_OPEN_HEADER_LEN 12
/* the largest OPEN: both lengths are u16 */
#define DCEP_OPEN_MAX (DCEP_OPEN_HEADER_LEN + 2 * 65535)

/* RFC 8832 §5.1 Channel Type; the 0x80 bit means unordered */
enum dcep_channel_type {
	DCEP_CHANNEL_RELIABLE = 0x00,
	DCEP_CHANNEL_RELIABLE_UNORDERED = 0x80,
	DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT = 0x01,
	DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED = 0x81,
	DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED = 0x02,
	DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED = 0x82,
};

struct dcep_msg {
	uint8_t type; /* DCEP_MSG_OPEN or DCEP_MSG_ACK */
	/* OPEN only */
	uint8_t channel_type;
	uint16_t priority;
	uint32_t reliability;
	const uint8_t *label; /* not NUL-terminated; points into the input */
	uint16_t label_len;
	const uint8_t *protocol;
	uint16_t protocol_len;
};

/* dcep_decode - one DCEP message of @len bytes (an SCTP message with PPID
 * 50). Returns 0, -EBADMSG when it is shorter than its type or its
 * lengths say, -EPROTO for an unknown message or channel type. Bytes past
 * the end of an OPEN's protocol are ignored (RFC 8832 gives no trailer).
 * On success @m points into @buf. */
int dcep_decode(const uint8_t *buf, size_t len, struct dcep_msg *m);

/* dcep_open_encode - write a DATA_CHANNEL_OPEN for @m (type ignored) into
 * @buf of @cap bytes. Returns its length, -ENOSPC when @cap is too small,
 * -EINVAL for an unknown channel type. */
int dcep_open_encode(const struct dcep_msg *m, uint8_t *buf, size_t cap);

/* dcep_ack_encode - write a DATA_CHANNEL_ACK into @buf (at least 1 byte).
 * Returns 1. */
int dcep_ack_encode(uint8_t *buf);

/* dcep_channel_unordered - the channel type's messages go unordered */
bool dcep_channel_unordered(uint8_t channel_type);

/* dcep_channel_type_name - "partial-reliable-rexmit-unordered" etc., or
 * NULL for an unknown type */
const char *dcep_channel_type_name(uint8_t channel_type);

#endif
