/* tcpframe.c - RFC 4571 framing (see tcpframe.h). */
#include "agents/ice/tcpframe.h"

#include <errno.h>
#include <string.h>

int ice_tcpframe_header(uint8_t hdr[ICE_TCPFRAME_HDR], size_t len)
{
	if (len > ICE_TCPFRAME_MAX)
		return -EMSGSIZE;
	/* RFC 4571 §2: LENGTH "coded in network byte order (big-endian)" */
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)(len & 0xff);
	return 0;
}

void ice_tcpframe_reader_init(struct ice_tcpframe_reader *r)
{
	r->have = 0;
}

size_t ice_tcpframe_feed(struct ice_tcpframe_reader *r, const uint8_t *in, size_t len,
			 const uint8_t **msg, size_t *msg_len)
{
	size_t taken = 0, want, n;

	*msg = NULL;
	*msg_len = 0;
	/* A frame completed by the previous call is gone now. */
	if (r->have >= ICE_TCPFRAME_HDR &&
	    r->have == ICE_TCPFRAME_HDR + (((size_t)r->buf[0] << 8) | r->buf[1]))
		r->have = 0;
	if (r->have < ICE_TCPFRAME_HDR) {
		n = ICE_TCPFRAME_HDR - r->have;
		if (n > len)
			n = len;
		memcpy(r->buf + r->have, in, n);
		r->have += n;
		taken += n;
		if (r->have < ICE_TCPFRAME_HDR)
			return taken;
	}
	/* The header bounds the copy: at most ICE_TCPFRAME_MAX bytes follow,
	 * which is what buf has room for. */
	want = ICE_TCPFRAME_HDR + (((size_t)r->buf[0] << 8) | r->buf[1]);
	n = want - r->have;
	if (n > len - taken)
		n = len - taken;
	memcpy(r->buf + r->have, in + taken, n);
	r->have += n;
	taken += n;
	if (r->have == want) {
		*msg = r->buf + ICE_TCPFRAME_HDR;
		*msg_len = want - ICE_TCPFRAME_HDR;
	}
	return taken;
}
