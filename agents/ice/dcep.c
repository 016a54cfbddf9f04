/* dcep.c - RFC 8832 message codec (see dcep.h). */
#include "agents/ice/dcep.h"

#include <errno.h>
#include <string.h>

#include "agents/common/bytes.h"

const char *dcep_channel_type_name(uint8_t t)
{
	switch (t) {
	case DCEP_CHANNEL_RELIABLE:
		return "reliable";
	case DCEP_CHANNEL_RELIABLE_UNORDERED:
		return "reliable-unordered";
	case DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT:
		return "partial-reliable-rexmit";
	case DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED:
		return "partial-reliable-rexmit-unordered";
	case DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED:
		return "partial-reliable-timed";
	case DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED:
		return "partial-reliable-timed-unordered";
	}
	return NULL;
}

bool dcep_channel_unordered(uint8_t t)
{
	/* RFC 8832 §5.1: the high bit of each unordered type */
	return (t & 0x80) != 0;
}

int dcep_decode(const uint8_t *buf, size_t len, struct dcep_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < 1)
		return -EBADMSG;
	m->type = buf[0];
	if (m->type == DCEP_MSG_ACK)
		return 0; /* §5.2: the type byte is the whole message */
	if (m->type != DCEP_MSG_OPEN)
		return -EPROTO;
	if (len < DCEP_OPEN_HEADER_LEN)
		return -EBADMSG;
	m->channel_type = buf[1];
	m->priority = rd16(buf + 2);
	m->reliability =
	    (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	m->label_len = rd16(buf + 8);
	m->protocol_len = rd16(buf + 10);
	if (!dcep_channel_type_name(m->channel_type))
		return -EPROTO;
	if (len - DCEP_OPEN_HEADER_LEN < (size_t)m->label_len + m->protocol_len)
		return -EBADMSG;
	m->label = buf + DCEP_OPEN_HEADER_LEN;
	m->protocol = m->label + m->label_len;
	return 0;
}

int dcep_open_encode(const struct dcep_msg *m, uint8_t *buf, size_t cap)
{
	size_t len = DCEP_OPEN_HEADER_LEN + (size_t)m->label_len + m->protocol_len;

	if (!dcep_channel_type_name(m->channel_type))
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	buf[0] = DCEP_MSG_OPEN;
	buf[1] = m->channel_type;
	wr16(buf + 2, m->priority);
	buf[4] = (uint8_t)(m->reliability >> 24);
	buf[5] = (uint8_t)(m->reliability >> 16);
	buf[6] = (uint8_t)(m->reliability >> 8);
	buf[7] = (uint8_t)m->reliability;
	wr16(buf + 8, m->label_len);
	wr16(buf + 10, m->protocol_len);
	if (m->label_len)
		memcpy(buf + DCEP_OPEN_HEADER_LEN, m->label, m->label_len);
	if (m->protocol_len)
		memcpy(buf + DCEP_OPEN_HEADER_LEN + m->label_len, m->protocol, m->protocol_len);
	return (int)len;
}

int dcep_ack_encode(uint8_t *buf)
{
	buf[0] = DCEP_MSG_ACK;
	return 1;
}
