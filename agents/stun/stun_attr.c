/* stun_attr.c - typed attribute values: getters over a decoded stun_msg and
 * the matching builder adds, and transport address helpers. Every getter
 * checks the value's length before reading it. */
#include "agents/stun/stun.h"
#include "agents/common/bytes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8489 §14.1: family 0x01 IPv4, 0x02 IPv6 */
#define FAMILY_IPV4 0x01u
#define FAMILY_IPV6 0x02u

static int find(const struct stun_msg *m, uint16_t type, const struct stun_attr **a)
{
	*a = stun_msg_find(m, type);
	return *a ? 0 : -ENOENT;
}

/* RFC 8489 §14.1 MAPPED-ADDRESS: 0x00, family, port, address (32/128
 * bits). XOR variants (§14.2) XOR the port with the cookie's top 16 bits,
 * the IPv4 address with the cookie and the IPv6 address with the cookie
 * followed by the transaction ID. */
static int addr_decode(const struct stun_msg *m, const struct stun_attr *a, bool xor,
		       struct stun_addr *out)
{
	const uint8_t *v = stun_attr_value(m, a);
	if (a->len < 4)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	uint16_t port = rd16(v + 2);
	uint8_t mask[16];
	wr32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, m->tid, STUN_TID_LEN);
	if (xor)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	out->port = port;
	if (v[1] == FAMILY_IPV4) {
		if (a->len != 8)
			return -EBADMSG;
		out->family = AF_INET;
		for (int i = 0; i < 4; i++)
			out->ip[i] = (uint8_t)(v[4 + i] ^ (xor? mask[i] : 0));
		return 0;
	}
	if (v[1] == FAMILY_IPV6) {
		if (a->len != 20)
			return -EBADMSG;
		out->family = AF_INET6;
		for (int i = 0; i < 16; i++)
			out->ip[i] = (uint8_t)(v[4 + i] ^ (xor? mask[i] : 0));
		return 0;
	}
	return -EBADMSG;
}

int stun_msg_get_addr(const struct stun_msg *m, uint16_t type, struct stun_addr *out)
{
	const struct stun_attr *a;
	int r = find(m, type, &a);
	return r ? r : addr_decode(m, a, false, out);
}

int stun_msg_get_xor_addr_nth(const struct stun_msg *m, uint16_t type, unsigned nth,
			      struct stun_addr *out)
{
	for (unsigned i = 0; i < m->n_attrs; i++) {
		if (m->attrs[i].type != type)
			continue;
		if (nth-- == 0)
			return addr_decode(m, &m->attrs[i], true, out);
	}
	return -ENOENT;
}

int stun_msg_get_xor_addr(const struct stun_msg *m, uint16_t type, struct stun_addr *out)
{
	return stun_msg_get_xor_addr_nth(m, type, 0, out);
}

int stun_msg_get_bytes(const struct stun_msg *m, uint16_t type, const uint8_t **val, size_t *len)
{
	const struct stun_attr *a;
	int r = find(m, type, &a);
	if (r)
		return r;
	*val = stun_attr_value(m, a);
	*len = a->len;
	return 0;
}

int stun_msg_get_string(const struct stun_msg *m, uint16_t type, char *out, size_t cap)
{
	const uint8_t *v;
	size_t n;
	int r = stun_msg_get_bytes(m, type, &v, &n);
	if (r)
		return r;
	if (n + 1 > cap)
		return -EMSGSIZE;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

static int get_fixed(const struct stun_msg *m, uint16_t type, size_t len, const uint8_t **v)
{
	const struct stun_attr *a;
	int r = find(m, type, &a);
	if (r)
		return r;
	if (a->len != len)
		return -EBADMSG;
	*v = stun_attr_value(m, a);
	return 0;
}

int stun_msg_get_u32(const struct stun_msg *m, uint16_t type, uint32_t *out)
{
	const uint8_t *v;
	int r = get_fixed(m, type, 4, &v);
	if (r == 0)
		*out = rd32(v);
	return r;
}

int stun_msg_get_u64(const struct stun_msg *m, uint16_t type, uint64_t *out)
{
	const uint8_t *v;
	int r = get_fixed(m, type, 8, &v);
	if (r == 0)
		*out = rd64(v);
	return r;
}

/* RFC 8489 §14.8: 21 reserved bits, Class (3 bits, 3..6), Number (0..99),
 * reason phrase. */
static int error_decode(const uint8_t *v, size_t len, int *code, const char **reason,
			size_t *reason_len)
{
	if (len < 4)
		return -EBADMSG;
	unsigned cls = v[2] & 0x07u;
	unsigned num = v[3];
	if (cls < 3 || cls > 6 || num > 99)
		return -EBADMSG;
	*code = (int)(cls * 100 + num);
	if (reason)
		*reason = (const char *)v + 4;
	if (reason_len)
		*reason_len = len - 4;
	return 0;
}

int stun_msg_get_error(const struct stun_msg *m, int *code, const char **reason, size_t *reason_len)
{
	const struct stun_attr *a;
	int r = find(m, STUN_ATTR_ERROR_CODE, &a);
	return r ? r : error_decode(stun_attr_value(m, a), a->len, code, reason, reason_len);
}

int stun_msg_get_unknown_attrs(const struct stun_msg *m, uint16_t *types, size_t cap, size_t *n)
{
	const struct stun_attr *a;
	int r = find(m, STUN_ATTR_UNKNOWN_ATTRIBUTES, &a);
	if (r)
		return r;
	if (a->len & 1u)
		return -EBADMSG;
	const uint8_t *v = stun_attr_value(m, a);
	size_t k = 0;
	for (size_t i = 0; i + 2 <= a->len && k < cap; i += 2)
		types[k++] = rd16(v + i);
	*n = k;
	return 0;
}

int stun_msg_get_channel(const struct stun_msg *m, uint16_t *channel)
{
	const uint8_t *v;
	int r = get_fixed(m, STUN_ATTR_CHANNEL_NUMBER, 4, &v);
	if (r == 0)
		*channel = rd16(v);
	return r;
}

int stun_msg_get_response_port(const struct stun_msg *m, uint16_t *port)
{
	const uint8_t *v;
	int r = get_fixed(m, STUN_ATTR_RESPONSE_PORT, 4, &v);
	if (r == 0)
		*port = rd16(v);
	return r;
}

int stun_msg_get_requested_transport(const struct stun_msg *m, uint8_t *proto)
{
	const uint8_t *v;
	int r = get_fixed(m, STUN_ATTR_REQUESTED_TRANSPORT, 4, &v);
	if (r == 0)
		*proto = v[0];
	return r;
}

static int family_decode(uint8_t f, int *family)
{
	if (f == FAMILY_IPV4)
		*family = AF_INET;
	else if (f == FAMILY_IPV6)
		*family = AF_INET6;
	else
		return -EBADMSG;
	return 0;
}

int stun_msg_get_family(const struct stun_msg *m, uint16_t type, int *family)
{
	const uint8_t *v;
	int r = get_fixed(m, type, 4, &v);
	return r ? r : family_decode(v[0], family);
}

int stun_msg_get_even_port(const struct stun_msg *m, bool *reserve_next)
{
	const uint8_t *v;
	int r = get_fixed(m, STUN_ATTR_EVEN_PORT, 1, &v);
	if (r == 0)
		*reserve_next = (v[0] & 0x80u) != 0;
	return r;
}

/* RFC 8656 §14.12: Family (8 bits), Rsvd (13 bits), Class (3), Number (8),
 * reason. */
int stun_msg_get_address_error(const struct stun_msg *m, int *family, int *code,
			       const char **reason, size_t *reason_len)
{
	const struct stun_attr *a;
	int r = find(m, STUN_ATTR_ADDRESS_ERROR_CODE, &a);
	if (r)
		return r;
	const uint8_t *v = stun_attr_value(m, a);
	if (a->len < 4)
		return -EBADMSG;
	r = family_decode(v[0], family);
	return r ? r : error_decode(v, a->len, code, reason, reason_len);
}

/* RFC 8656 §14.13: Reserved (16 bits), ICMP Type (8), ICMP Code (8), Error
 * Data (32). */
int stun_msg_get_icmp(const struct stun_msg *m, uint8_t *icmp_type, uint8_t *icmp_code,
		      uint32_t *error_data)
{
	const uint8_t *v;
	int r = get_fixed(m, STUN_ATTR_ICMP, 8, &v);
	if (r == 0) {
		*icmp_type = v[2];
		*icmp_code = v[3];
		*error_data = rd32(v + 4);
	}
	return r;
}

/* RFC 8489 §14.11: a list of {Algorithm (16), Parameters Length (16),
 * Parameters (padded to 4)}. */
int stun_msg_get_password_algorithms(const struct stun_msg *m, uint16_t *algs, size_t cap,
				     size_t *n)
{
	const struct stun_attr *a;
	int r = find(m, STUN_ATTR_PASSWORD_ALGORITHMS, &a);
	if (r)
		return r;
	const uint8_t *v = stun_attr_value(m, a);
	size_t pos = 0;
	size_t k = 0;
	while (pos < a->len) {
		if (a->len - pos < 4)
			return -EBADMSG;
		size_t plen = (rd16(v + pos + 2) + 3u) & ~3u;
		if (plen > a->len - pos - 4)
			return -EBADMSG;
		if (k < cap)
			algs[k++] = rd16(v + pos);
		pos += 4 + plen;
	}
	*n = k;
	return 0;
}

int stun_msg_get_password_algorithm(const struct stun_msg *m, uint16_t *alg)
{
	const struct stun_attr *a;
	int r = find(m, STUN_ATTR_PASSWORD_ALGORITHM, &a);
	if (r)
		return r;
	const uint8_t *v = stun_attr_value(m, a);
	if (a->len < 4 || rd16(v + 2) > a->len - 4)
		return -EBADMSG;
	*alg = rd16(v);
	return 0;
}

/* ---- builder adds ---- */

int stun_builder_add_string(struct stun_builder *b, uint16_t type, const char *s)
{
	return stun_builder_add(b, type, s, strlen(s));
}

int stun_builder_add_flag(struct stun_builder *b, uint16_t type)
{
	return stun_builder_add(b, type, NULL, 0);
}

int stun_builder_add_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t *p = stun_builder_reserve(b, type, 4);
	if (!p)
		return b->err;
	wr32(p, v);
	return 0;
}

int stun_builder_add_u64(struct stun_builder *b, uint16_t type, uint64_t v)
{
	uint8_t *p = stun_builder_reserve(b, type, 8);
	if (!p)
		return b->err;
	wr64(p, v);
	return 0;
}

static int addr_encode(struct stun_builder *b, uint16_t type, const struct stun_addr *a, bool xor)
{
	size_t iplen;
	uint8_t fam;
	if (a->family == AF_INET) {
		iplen = 4;
		fam = FAMILY_IPV4;
	} else if (a->family == AF_INET6) {
		iplen = 16;
		fam = FAMILY_IPV6;
	} else {
		if (b->err == 0)
			b->err = -EINVAL;
		return b->err;
	}
	uint8_t *p = stun_builder_reserve(b, type, 4 + iplen);
	if (!p)
		return b->err;
	uint8_t mask[16];
	wr32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, b->buf + 8, STUN_TID_LEN);
	p[0] = 0;
	p[1] = fam;
	wr16(p + 2, (uint16_t)(a->port ^ (xor? STUN_MAGIC_COOKIE >> 16 : 0)));
	for (size_t i = 0; i < iplen; i++)
		p[4 + i] = (uint8_t)(a->ip[i] ^ (xor? mask[i] : 0));
	return 0;
}

int stun_builder_add_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a)
{
	return addr_encode(b, type, a, false);
}

int stun_builder_add_xor_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a)
{
	return addr_encode(b, type, a, true);
}

static int error_encode(struct stun_builder *b, uint16_t type, uint8_t first, int code,
			const char *reason)
{
	if (code < 300 || code > 699) {
		if (b->err == 0)
			b->err = -EINVAL;
		return b->err;
	}
	if (!reason)
		reason = stun_error_reason(code);
	size_t rlen = strlen(reason);
	if (rlen > STUN_MAX_REASON_LEN)
		rlen = STUN_MAX_REASON_LEN;
	uint8_t *p = stun_builder_reserve(b, type, 4 + rlen);
	if (!p)
		return b->err;
	p[0] = first;
	p[1] = 0;
	p[2] = (uint8_t)(code / 100);
	p[3] = (uint8_t)(code % 100);
	memcpy(p + 4, reason, rlen);
	return 0;
}

int stun_builder_add_error(struct stun_builder *b, int code, const char *reason)
{
	return error_encode(b, STUN_ATTR_ERROR_CODE, 0, code, reason);
}

int stun_builder_add_address_error(struct stun_builder *b, int family, int code, const char *reason)
{
	uint8_t f = family == AF_INET6 ? FAMILY_IPV6 : FAMILY_IPV4;
	return error_encode(b, STUN_ATTR_ADDRESS_ERROR_CODE, f, code, reason);
}

int stun_builder_add_unknown_attrs(struct stun_builder *b, const uint16_t *types, size_t n)
{
	uint8_t *p = stun_builder_reserve(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
	if (!p)
		return b->err;
	for (size_t i = 0; i < n; i++)
		wr16(p + 2 * i, types[i]);
	return 0;
}

int stun_builder_add_change_request(struct stun_builder *b, uint32_t flags)
{
	return stun_builder_add_u32(b, STUN_ATTR_CHANGE_REQUEST,
				    flags & (STUN_CHANGE_IP | STUN_CHANGE_PORT));
}

/* RFC 5780 §7.5: "a 16-bit port value followed by 16 bits of padding" */
int stun_builder_add_response_port(struct stun_builder *b, uint16_t port)
{
	return stun_builder_add_u32(b, STUN_ATTR_RESPONSE_PORT, (uint32_t)port << 16);
}

/* RFC 8656 §14.1: channel number (16 bits) + RFFU (16 bits, zero) */
int stun_builder_add_channel(struct stun_builder *b, uint16_t channel)
{
	return stun_builder_add_u32(b, STUN_ATTR_CHANNEL_NUMBER, (uint32_t)channel << 16);
}

/* RFC 8656 §14.7: protocol (8 bits) + RFFU (24 bits) */
int stun_builder_add_requested_transport(struct stun_builder *b, uint8_t proto)
{
	return stun_builder_add_u32(b, STUN_ATTR_REQUESTED_TRANSPORT, (uint32_t)proto << 24);
}

/* RFC 8656 §14.8 / §14.11: family (8 bits) + reserved (24 bits) */
int stun_builder_add_family(struct stun_builder *b, uint16_t type, int family)
{
	uint32_t f = family == AF_INET6 ? FAMILY_IPV6 : FAMILY_IPV4;
	return stun_builder_add_u32(b, type, f << 24);
}

/* RFC 8656 §14.6: one byte, R in the top bit; padded to 4 by the framing */
int stun_builder_add_even_port(struct stun_builder *b, bool reserve_next)
{
	uint8_t v = reserve_next ? 0x80u : 0;
	return stun_builder_add(b, STUN_ATTR_EVEN_PORT, &v, 1);
}

int stun_builder_add_icmp(struct stun_builder *b, uint8_t icmp_type, uint8_t icmp_code,
			  uint32_t error_data)
{
	uint8_t *p = stun_builder_reserve(b, STUN_ATTR_ICMP, 8);
	if (!p)
		return b->err;
	p[0] = 0;
	p[1] = 0;
	p[2] = icmp_type;
	p[3] = icmp_code;
	wr32(p + 4, error_data);
	return 0;
}

/* MD5 and SHA-256 have no parameters: each entry is 4 bytes. */
int stun_builder_add_password_algorithms(struct stun_builder *b, const uint16_t *algs, size_t n)
{
	uint8_t *p = stun_builder_reserve(b, STUN_ATTR_PASSWORD_ALGORITHMS, 4 * n);
	if (!p)
		return b->err;
	for (size_t i = 0; i < n; i++) {
		wr16(p + 4 * i, algs[i]);
		wr16(p + 4 * i + 2, 0);
	}
	return 0;
}

int stun_builder_add_password_algorithm(struct stun_builder *b, uint16_t alg)
{
	return stun_builder_add_u32(b, STUN_ATTR_PASSWORD_ALGORITHM, (uint32_t)alg << 16);
}

/* ---- addresses ---- */

int stun_addr_from_sockaddr(struct stun_addr *a, const struct sockaddr *sa, socklen_t sa_len)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && sa_len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		a->family = AF_INET;
		a->port = ntohs(in->sin_port);
		memcpy(a->ip, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && sa_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		a->family = AF_INET6;
		a->port = ntohs(in6->sin6_port);
		memcpy(a->ip, &in6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->ip, 16);
		return sizeof(*in6);
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	in->sin_port = htons(a->port);
	memcpy(&in->sin_addr, a->ip, 4);
	return sizeof(*in);
}

bool stun_addr_ip_equal(const struct stun_addr *a, const struct stun_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

bool stun_addr_equal(const struct stun_addr *a, const struct stun_addr *b)
{
	return a->port == b->port && stun_addr_ip_equal(a, b);
}

char *stun_addr_ip_format(const struct stun_addr *a, char out[STUN_ADDR_STRLEN])
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->ip, out, STUN_ADDR_STRLEN))
		snprintf(out, STUN_ADDR_STRLEN, "?");
	return out;
}

char *stun_addr_format(const struct stun_addr *a, char out[STUN_ADDR_STRLEN])
{
	char ip[STUN_ADDR_STRLEN];
	stun_addr_ip_format(a, ip);
	if (a->family == AF_INET6)
		snprintf(out, STUN_ADDR_STRLEN, "[%s]:%u", ip, a->port);
	else
		snprintf(out, STUN_ADDR_STRLEN, "%s:%u", ip, a->port);
	return out;
}

/* writes @out only on success */
int stun_addr_parse(struct stun_addr *out, const char *s)
{
	char host[STUN_ADDR_STRLEN];
	const char *port = NULL;
	struct stun_addr tmp;
	struct stun_addr *a = &tmp;
	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (size_t)(end - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -EINVAL;
	} else {
		const char *colon = strrchr(s, ':');
		bool v6 = colon && strchr(s, ':') != colon; /* bare IPv6 */
		size_t n = (colon && !v6) ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
		if (colon && !v6)
			port = colon + 1;
	}
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->family = AF_INET6;
	else
		return -EINVAL;
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p > 65535)
			return -EINVAL;
		a->port = (uint16_t)p;
	}
	*out = tmp;
	return 0;
}
