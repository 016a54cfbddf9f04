/* stun.c - STUN message header, names, framing, the decoder and the core of
 * the builder (RFC 8489 §5, §6, §14). Attribute values: stun_attr.c;
 * integrity and fingerprint: stun_auth.c; ChannelData: stun_channel.c. */
#include "agents/stun/stun.h"
#include "agents/common/bytes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

/* RFC 8489 §5, Figure 3: the type is M11..M7 C1 M6..M4 C0 M3..M0. */
uint16_t stun_type_make(enum stun_class cls, uint16_t method)
{
	unsigned c = (unsigned)cls & 3u;
	unsigned m = method & 0xfffu;
	return (uint16_t)(((m & 0xf80u) << 2) | ((m & 0x070u) << 1) | (m & 0x00fu) |
			  ((c & 2u) << 7) | ((c & 1u) << 4));
}

enum stun_class stun_type_class(uint16_t type)
{
	return (enum stun_class)(((type >> 7) & 2u) | ((type >> 4) & 1u));
}

uint16_t stun_type_method(uint16_t type)
{
	return (uint16_t)(((type >> 2) & 0xf80u) | ((type >> 1) & 0x070u) | (type & 0x00fu));
}

const char *stun_method_name(uint16_t method)
{
	switch (method) {
	case STUN_METHOD_BINDING:
		return "Binding";
	case STUN_METHOD_ALLOCATE:
		return "Allocate";
	case STUN_METHOD_REFRESH:
		return "Refresh";
	case STUN_METHOD_SEND:
		return "Send";
	case STUN_METHOD_DATA:
		return "Data";
	case STUN_METHOD_CREATE_PERMISSION:
		return "CreatePermission";
	case STUN_METHOD_CHANNEL_BIND:
		return "ChannelBind";
	case STUN_METHOD_CONNECT:
		return "Connect";
	case STUN_METHOD_CONNECTION_BIND:
		return "ConnectionBind";
	case STUN_METHOD_CONNECTION_ATTEMPT:
		return "ConnectionAttempt";
	default:
		return "unknown";
	}
}

const char *stun_class_name(enum stun_class cls)
{
	static const char *const names[] = {"request", "indication", "success", "error"};
	return names[(unsigned)cls & 3u];
}

static const struct {
	uint16_t type;
	const char *name;
} attr_names[] = {
    {STUN_ATTR_MAPPED_ADDRESS, "MAPPED-ADDRESS"},
    {STUN_ATTR_RESPONSE_ADDRESS, "RESPONSE-ADDRESS"},
    {STUN_ATTR_CHANGE_REQUEST, "CHANGE-REQUEST"},
    {STUN_ATTR_SOURCE_ADDRESS, "SOURCE-ADDRESS"},
    {STUN_ATTR_CHANGED_ADDRESS, "CHANGED-ADDRESS"},
    {STUN_ATTR_USERNAME, "USERNAME"},
    {STUN_ATTR_MESSAGE_INTEGRITY, "MESSAGE-INTEGRITY"},
    {STUN_ATTR_ERROR_CODE, "ERROR-CODE"},
    {STUN_ATTR_UNKNOWN_ATTRIBUTES, "UNKNOWN-ATTRIBUTES"},
    {STUN_ATTR_REFLECTED_FROM, "REFLECTED-FROM"},
    {STUN_ATTR_CHANNEL_NUMBER, "CHANNEL-NUMBER"},
    {STUN_ATTR_LIFETIME, "LIFETIME"},
    {STUN_ATTR_XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS"},
    {STUN_ATTR_DATA, "DATA"},
    {STUN_ATTR_REALM, "REALM"},
    {STUN_ATTR_NONCE, "NONCE"},
    {STUN_ATTR_XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS"},
    {STUN_ATTR_REQUESTED_ADDRESS_FAMILY, "REQUESTED-ADDRESS-FAMILY"},
    {STUN_ATTR_EVEN_PORT, "EVEN-PORT"},
    {STUN_ATTR_REQUESTED_TRANSPORT, "REQUESTED-TRANSPORT"},
    {STUN_ATTR_DONT_FRAGMENT, "DONT-FRAGMENT"},
    {STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "MESSAGE-INTEGRITY-SHA256"},
    {STUN_ATTR_PASSWORD_ALGORITHM, "PASSWORD-ALGORITHM"},
    {STUN_ATTR_USERHASH, "USERHASH"},
    {STUN_ATTR_XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS"},
    {STUN_ATTR_RESERVATION_TOKEN, "RESERVATION-TOKEN"},
    {STUN_ATTR_PRIORITY, "PRIORITY"},
    {STUN_ATTR_USE_CANDIDATE, "USE-CANDIDATE"},
    {STUN_ATTR_PADDING, "PADDING"},
    {STUN_ATTR_RESPONSE_PORT, "RESPONSE-PORT"},
    {STUN_ATTR_CONNECTION_ID, "CONNECTION-ID"},
    {STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, "ADDITIONAL-ADDRESS-FAMILY"},
    {STUN_ATTR_ADDRESS_ERROR_CODE, "ADDRESS-ERROR-CODE"},
    {STUN_ATTR_PASSWORD_ALGORITHMS, "PASSWORD-ALGORITHMS"},
    {STUN_ATTR_ALTERNATE_DOMAIN, "ALTERNATE-DOMAIN"},
    {STUN_ATTR_ICMP, "ICMP"},
    {STUN_ATTR_SOFTWARE, "SOFTWARE"},
    {STUN_ATTR_ALTERNATE_SERVER, "ALTERNATE-SERVER"},
    {STUN_ATTR_FINGERPRINT, "FINGERPRINT"},
    {STUN_ATTR_ICE_CONTROLLED, "ICE-CONTROLLED"},
    {STUN_ATTR_ICE_CONTROLLING, "ICE-CONTROLLING"},
    {STUN_ATTR_RESPONSE_ORIGIN, "RESPONSE-ORIGIN"},
    {STUN_ATTR_OTHER_ADDRESS, "OTHER-ADDRESS"},
};

const char *stun_attr_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++) {
		if (attr_names[i].type == type)
			return attr_names[i].name;
	}
	return NULL;
}

bool stun_attr_is_known(uint16_t type)
{
	return stun_attr_name(type) != NULL;
}

const char *stun_error_reason(int code)
{
	switch (code) {
	case 300:
		return "Try Alternate";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthenticated";
	case 403:
		return "Forbidden";
	case 405:
		return "Mobility Forbidden";
	case 420:
		return "Unknown Attribute";
	case 437:
		return "Allocation Mismatch";
	case 438:
		return "Stale Nonce";
	case 440:
		return "Address Family not Supported";
	case 441:
		return "Wrong Credentials";
	case 442:
		return "Unsupported Transport Protocol";
	case 443:
		return "Peer Address Family Mismatch";
	case 446:
		return "Connection Already Exists";
	case 447:
		return "Connection Timeout or Failure";
	case 486:
		return "Allocation Quota Reached";
	case 487:
		return "Role Conflict";
	case 500:
		return "Server Error";
	case 508:
		return "Insufficient Capacity";
	default:
		return "Error";
	}
}

int stun_tid_random(uint8_t tid[STUN_TID_LEN])
{
	return RAND_bytes(tid, STUN_TID_LEN) == 1 ? 0 : -EIO;
}

bool stun_is_message(const uint8_t *buf, size_t len)
{
	if (len < STUN_HEADER_LEN)
		return false;
	/* RFC 8489 §5: "The most significant 2 bits of every STUN message
	 * MUST be zeroes." */
	if ((buf[0] & 0xc0u) != 0)
		return false;
	if (rd32(buf + 4) != STUN_MAGIC_COOKIE)
		return false;
	size_t mlen = rd16(buf + 2);
	return (mlen & 3u) == 0 && mlen + STUN_HEADER_LEN == len;
}

long stun_frame_length(const uint8_t *buf, size_t avail)
{
	if (avail < 4)
		return 0;
	unsigned top = buf[0] >> 6;
	size_t n = rd16(buf + 2);
	if (top == 0) {
		/* RFC 8489 §6.2.2: over TCP, STUN messages are delimited by
		 * their own length field. */
		if (n & 3u)
			return -EBADMSG;
		return (long)(STUN_HEADER_LEN + n);
	}
	if (top == 1) {
		/* RFC 8656 §12.5: "over TCP and TLS-over-TCP, the ChannelData
		 * message MUST be padded to a multiple of four bytes". */
		return (long)((STUN_CHANNEL_HEADER_LEN + n + 3u) & ~(size_t)3u);
	}
	return -EBADMSG;
}

static int fail(const char **why, const char *text, int err)
{
	if (why)
		*why = text;
	return err;
}

int stun_msg_decode(struct stun_msg *m, const uint8_t *buf, size_t len, unsigned flags,
		    const char **why)
{
	memset(m, 0, offsetof(struct stun_msg, attrs));
	m->mi_idx = m->mi256_idx = m->fp_idx = -1;
	m->n_unknown = 0;
	if (!buf || len < STUN_HEADER_LEN)
		return fail(why, "shorter than a STUN header", -EMSGSIZE);
	if ((buf[0] & 0xc0u) != 0)
		return fail(why, "first two bits are not zero", -ENOMSG);
	size_t mlen = rd16(buf + 2);
	/* RFC 8489 §5: "the message length MUST contain the size of the
	 * message in bytes, not including the 20-byte STUN header. Since all
	 * STUN attributes are padded to a multiple of 4 bytes, the last 2 bits
	 * of this field are always zero." */
	if (mlen & 3u)
		return fail(why, "length not a multiple of 4", -EBADMSG);
	if (mlen + STUN_HEADER_LEN != len)
		return fail(why, "length field does not match the message size",
			    mlen + STUN_HEADER_LEN > len ? -EMSGSIZE : -EBADMSG);
	bool classic = rd32(buf + 4) != STUN_MAGIC_COOKIE;
	if (classic && !(flags & STUN_DECODE_CLASSIC))
		return fail(why, "no magic cookie", -ENOMSG);
	m->buf = buf;
	m->len = len;
	m->type = rd16(buf);
	m->cls = stun_type_class(m->type);
	m->method = stun_type_method(m->type);
	m->classic = classic;
	memcpy(m->tid, buf + 8, STUN_TID_LEN);

	size_t pos = STUN_HEADER_LEN;
	while (pos < len) {
		if (len - pos < 4)
			return fail(why, "truncated attribute header", -EBADMSG);
		uint16_t type = rd16(buf + pos);
		size_t alen = rd16(buf + pos + 2);
		size_t padded = (alen + 3u) & ~(size_t)3u;
		if (padded > len - pos - 4)
			return fail(why, "attribute runs past the message", -EBADMSG);
		size_t voff = pos + 4;
		pos = voff + padded;
		if (m->fp_idx >= 0) {
			/* RFC 8489 §14.7: "the FINGERPRINT attribute MUST be
			 * the last attribute in the message" */
			return fail(why, "attribute after FINGERPRINT", -EBADMSG);
		}
		if (m->mi256_idx >= 0 && type != STUN_ATTR_FINGERPRINT) {
			/* RFC 8489 §14.6: "any attributes that follow the
			 * MESSAGE-INTEGRITY-SHA256 attribute, other than the
			 * FINGERPRINT attribute, MUST be ignored" */
			continue;
		}
		if (m->mi_idx >= 0 && type != STUN_ATTR_FINGERPRINT &&
		    type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
			/* RFC 8489 §14.5: likewise after MESSAGE-INTEGRITY,
			 * except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT. */
			continue;
		}
		if (m->n_attrs >= STUN_MAX_ATTRS)
			return fail(why, "too many attributes", -EBADMSG);
		int idx = (int)m->n_attrs++;
		m->attrs[idx].type = type;
		m->attrs[idx].len = (uint16_t)alen;
		m->attrs[idx].off = (uint32_t)voff;
		if (type == STUN_ATTR_MESSAGE_INTEGRITY && m->mi_idx < 0)
			m->mi_idx = idx;
		else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 && m->mi256_idx < 0)
			m->mi256_idx = idx;
		else if (type == STUN_ATTR_FINGERPRINT)
			m->fp_idx = idx;
		/* RFC 8489 §14: "Attributes with type values between 0x0000
		 * and 0x7FFF are comprehension-required attributes, which
		 * means that the STUN agent cannot successfully process the
		 * message unless it understands the attribute." */
		if (type < 0x8000u && !stun_attr_is_known(type) && m->n_unknown < STUN_MAX_UNKNOWN)
			m->unknown[m->n_unknown++] = type;
	}
	if (why)
		*why = NULL;
	return 0;
}

const struct stun_attr *stun_msg_find(const struct stun_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->n_attrs; i++) {
		if (m->attrs[i].type == type)
			return &m->attrs[i];
	}
	return NULL;
}

bool stun_msg_has(const struct stun_msg *m, uint16_t type)
{
	return stun_msg_find(m, type) != NULL;
}

/* ---- builder core ---- */

static int builder_fail(struct stun_builder *b, int err)
{
	if (b->err == 0)
		b->err = err;
	return b->err;
}

int stun_builder_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
		      const uint8_t tid[STUN_TID_LEN])
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	if (!buf || cap < STUN_HEADER_LEN || (type & 0xc000u))
		return builder_fail(b, buf && cap >= STUN_HEADER_LEN ? -EINVAL : -EMSGSIZE);
	wr16(buf, type);
	wr16(buf + 2, 0);
	wr32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, tid, STUN_TID_LEN);
	b->len = STUN_HEADER_LEN;
	return 0;
}

int stun_builder_init_classic(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
			      const uint8_t tid16[STUN_CLASSIC_TID_LEN])
{
	int r = stun_builder_init(b, buf, cap, type, tid16 + 4);
	if (r == 0)
		memcpy(buf + 4, tid16, 4);
	return r;
}

long stun_builder_finish(const struct stun_builder *b)
{
	return b->err ? b->err : (long)b->len;
}

/* stun_builder_reserve - append an attribute header for @type with value
 * length @len and return where the value goes (padding already written),
 * or NULL with b->err set. Internal to the codec (stun_wire.h). */
uint8_t *stun_builder_reserve(struct stun_builder *b, uint16_t type, size_t len)
{
	if (b->err)
		return NULL;
	if (b->sealed) {
		builder_fail(b, -EINVAL);
		return NULL;
	}
	if (b->have_mi && type != STUN_ATTR_FINGERPRINT &&
	    type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
		/* anything after MESSAGE-INTEGRITY would be ignored by the
		 * receiver: a caller bug */
		builder_fail(b, -EINVAL);
		return NULL;
	}
	if (len > 0xffffu) {
		builder_fail(b, -EMSGSIZE);
		return NULL;
	}
	size_t padded = (len + 3u) & ~(size_t)3u;
	if (b->len + 4 + padded > b->cap || b->len + 4 + padded > STUN_MAX_MSG_LEN) {
		builder_fail(b, -EMSGSIZE);
		return NULL;
	}
	uint8_t *p = b->buf + b->len;
	wr16(p, type);
	wr16(p + 2, (uint16_t)len);
	if (padded > len)
		memset(p + 4 + len, b->pad_byte, padded - len);
	b->len += 4 + padded;
	wr16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	return p + 4;
}

int stun_builder_add(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
	uint8_t *p = stun_builder_reserve(b, type, len);
	if (!p)
		return b->err;
	if (len)
		memcpy(p, val, len);
	return 0;
}
