/* fuzz target: the RFC 4571 frame reader of ICE-TCP connections. A stream
 * cut anywhere must give the same messages as the stream fed whole, and
 * every message must be exactly the bytes its LENGTH field announced
 * (re-framing the messages gives back the stream's complete prefix). The
 * first input byte seeds where the stream is cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents/ice/tcpframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feed @in in pieces (sizes from @seed; 0 = whole) and append every
 * message re-framed to @out. Returns the bytes written to @out. */
static size_t reframe(const uint8_t *in, size_t len, unsigned seed, uint8_t *out)
{
	static struct ice_tcpframe_reader r;
	size_t pos = 0, w = 0;

	ice_tcpframe_reader_init(&r);
	while (pos < len) {
		size_t piece = len - pos;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			piece = 1 + (seed >> 16) % 7;
			if (piece > len - pos)
				piece = len - pos;
		}
		const uint8_t *p = in + pos;
		size_t left = piece;

		while (left) {
			const uint8_t *msg;
			size_t msg_len;
			size_t took = ice_tcpframe_feed(&r, p, left, &msg, &msg_len);

			if (took == 0 && !msg)
				abort(); /* no progress on non-empty input */
			if (took > left)
				abort();
			p += took;
			left -= took;
			if (msg) {
				if (msg_len > ICE_TCPFRAME_MAX ||
				    ice_tcpframe_header(out + w, msg_len) != 0)
					abort();
				memcpy(out + w + ICE_TCPFRAME_HDR, msg, msg_len);
				w += ICE_TCPFRAME_HDR + msg_len;
			}
		}
		pos += piece;
	}
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *whole, *cut;
	size_t nw, nc;

	if (size < 1 || size > 1 << 18)
		return 0;
	whole = malloc(size);
	cut = malloc(size);
	if (!whole || !cut)
		abort();
	nw = reframe(data + 1, size - 1, 0, whole);
	nc = reframe(data + 1, size - 1, data[0] | 1u, cut);
	/* same messages either way, and they are the stream's whole frames */
	if (nw != nc || memcmp(whole, cut, nw) != 0 || memcmp(whole, data + 1, nw) != 0)
		abort();
	free(whole);
	free(cut);
	return 0;
}
