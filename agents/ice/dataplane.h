/* dataplane.h - numbered datagrams over a selected pair, acknowledged one
 * by one, to prove that two-way traffic flows and to measure loss and RTT.
 *
 * Pure: the caller passes the time (microseconds, monotonic) and moves
 * the bytes. Used by natlab-ice and the libnice adapter alike, so both
 * measure the same way.
 *
 * Wire format (all integers big-endian), DATAPLANE_HEADER_LEN bytes then
 * zero padding up to the requested size:
 *   0  u8   0xE1 magic: above the RFC 7983 ranges of STUN (0-3), DTLS
 *           (20-63), TURN channels (64-79) and RTP/RTCP (128-191), so it is
 *           never mistaken for any of them
 *   1  u8   kind: 1 data, 2 acknowledgement
 *   2  u16  reserved, 0
 *   4  u32  sequence number (0-based)
 *   8  u64  sender's timestamp in microseconds (echoed by the ack)
 *  16  u32  how many datagrams the sender will send in all
 */
#ifndef NATLAB_AGENTS_ICE_DATAPLANE_H
#define NATLAB_AGENTS_ICE_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATAPLANE_HEADER_LEN 20
#define DATAPLANE_MAGIC	     0xE1
#define DATAPLANE_SIZE_MAX   1400
#define DATAPLANE_N_MAX	     1000000
/* After our last datagram and the peer's last one, this much silence ends
 * the run and produces the report. */
#define DATAPLANE_QUIET_US 1000000ULL

struct dataplane;

struct dataplane_report {
	unsigned sent;			  /* our datagrams sent */
	unsigned received;		  /* distinct peer datagrams received */
	unsigned acked;			  /* our datagrams the peer acknowledged */
	unsigned lost;			  /* sent - acked */
	double rtt_ms_median, rtt_ms_p95; /* -1 without samples */
};

int dataplane_new(struct dataplane **out);
void dataplane_free(struct dataplane *d);

/* dataplane_check - whether @n datagrams of @size bytes are within bounds
 * (1..DATAPLANE_N_MAX, at most DATAPLANE_SIZE_MAX): 0 or -EINVAL. */
int dataplane_check(unsigned n, unsigned size);

/* dataplane_start - send @n datagrams of @size bytes, one every
 * @interval_us, the first at @now_us. -EBUSY while a run is going on,
 * -EINVAL out of bounds (dataplane_check). */
int dataplane_start(struct dataplane *d, unsigned n, unsigned size, uint64_t interval_us,
		    uint64_t now_us);

/* dataplane_next_send - when a datagram is due (≤ @now_us), write it into
 * @buf (at least DATAPLANE_SIZE_MAX bytes) and return its length; 0 when
 * none is due. */
size_t dataplane_next_send(struct dataplane *d, uint64_t now_us, uint8_t *buf);

enum dataplane_input {
	DATAPLANE_NOT_OURS, /* not a dataplane datagram */
	DATAPLANE_DATA,	    /* a peer datagram: *seq set; send the ack in @reply */
	DATAPLANE_ACK,	    /* an acknowledgement of ours */
};

/* dataplane_input - a datagram arrived. For DATA, @reply (at least
 * DATAPLANE_HEADER_LEN bytes) receives the acknowledgement to send back,
 * *reply_len its length. */
enum dataplane_input dataplane_input(struct dataplane *d, const uint8_t *buf, size_t len,
				     uint64_t now_us, uint32_t *seq, uint8_t *reply,
				     size_t *reply_len);

/* dataplane_deadline - the next time the caller must call in (a datagram
 * due, or the quiet period ending); UINT64_MAX when idle. */
uint64_t dataplane_deadline(const struct dataplane *d);

/* dataplane_report_due - true once, when our run finished and the peer
 * has been quiet for DATAPLANE_QUIET_US; fills @r. */
bool dataplane_report_due(struct dataplane *d, uint64_t now_us, struct dataplane_report *r);

/* dataplane_first_rx_us - when the first peer datagram arrived (0: not
 * yet); dataplane_first_ack_us - the first acknowledgement. */
uint64_t dataplane_first_rx_us(const struct dataplane *d);
uint64_t dataplane_first_ack_us(const struct dataplane *d);

#endif
