/* stun_channel.c - TURN ChannelData framing (RFC 8656 §12.4):
 *
 *   0                   1                   2                   3
 *   |         Channel Number        |            Length             |
 *   |                   Application Data (Length bytes)             |
 */
#include "agents/stun/stun.h"
#include "agents/common/bytes.h"

#include <errno.h>
#include <string.h>

long stun_channel_data_encode(uint8_t *buf, size_t cap, uint16_t channel, const void *data,
			      size_t len, bool pad)
{
	if (channel < STUN_CHANNEL_MIN || channel > STUN_CHANNEL_MAX || len > 0xffffu)
		return -EINVAL;
	size_t total = STUN_CHANNEL_HEADER_LEN + len;
	size_t framed = pad ? (total + 3u) & ~(size_t)3u : total;
	if (framed > cap)
		return -EMSGSIZE;
	wr16(buf, channel);
	wr16(buf + 2, (uint16_t)len);
	if (len)
		memmove(buf + STUN_CHANNEL_HEADER_LEN, data, len);
	/* the receiver ignores padding bytes; zero them so that no stale
	 * memory leaves the host */
	memset(buf + total, 0, framed - total);
	return (long)framed;
}

long stun_channel_data_decode(const uint8_t *buf, size_t len, uint16_t *channel,
			      const uint8_t **data, size_t *data_len)
{
	if (len < STUN_CHANNEL_HEADER_LEN)
		return -EMSGSIZE;
	/* RFC 8656 §12: channel numbers 0x4000-0x4FFF, so the first two
	 * bits are 01 (RFC 7983 demultiplexing); 0x5000-0x7FFF are reserved */
	uint16_t ch = rd16(buf);
	if ((ch & 0xc000u) != 0x4000u)
		return -ENOMSG;
	size_t n = rd16(buf + 2);
	/* a Length running past what arrived is a malformed (or, over a
	 * stream, incomplete) frame: never read past @len */
	if (n > len - STUN_CHANNEL_HEADER_LEN)
		return -EMSGSIZE;
	if (ch > STUN_CHANNEL_MAX)
		return -EBADMSG;
	*channel = ch;
	*data = buf + STUN_CHANNEL_HEADER_LEN;
	*data_len = n;
	size_t used = STUN_CHANNEL_HEADER_LEN + n;
	size_t padded = (used + 3u) & ~(size_t)3u;
	return (long)(padded <= len ? padded : used);
}
