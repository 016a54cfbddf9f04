#include "agents/turn/turn_chandata.h"

#include <errno.h>
#include <string.h>

long turn_chandata_decode(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data,
			  size_t *data_len)
{
	if (len < 4)
		return -EMSGSIZE;
	uint16_t ch = (uint16_t)(buf[0] << 8 | buf[1]);
	size_t n = (size_t)(buf[2] << 8 | buf[3]);
	if (ch < 0x4000u || ch > TURN_CHANNEL_LEGACY_MAX)
		return -ENOMSG;
	/* RFC 8656 §12.5: a Length larger than what arrived: discard */
	if (n > len - 4)
		return -EMSGSIZE;
	*channel = ch;
	*data = buf + 4;
	*data_len = n;
	size_t used = 4 + n, padded = (used + 3u) & ~(size_t)3u;
	return (long)(padded <= len ? padded : used);
}

long turn_chandata_encode(uint8_t *buf, size_t cap, uint16_t channel, const uint8_t *data,
			  size_t len, bool pad)
{
	if (channel < 0x4000u || channel > TURN_CHANNEL_LEGACY_MAX || len > 0xffffu)
		return -EINVAL;
	size_t total = 4 + len, framed = pad ? (total + 3u) & ~(size_t)3u : total;
	if (framed > cap)
		return -EMSGSIZE;
	if (len && buf + 4 != data)
		memmove(buf + 4, data, len);
	buf[0] = (uint8_t)(channel >> 8);
	buf[1] = (uint8_t)channel;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memset(buf + total, 0, framed - total);
	return (long)framed;
}
