/* candidate.c - RFC 8839 a=candidate parsing/formatting, RFC 8445 §5.1.2
 * priorities and §5.1.1.3 foundations. */
#include "agents/ice/candidate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKENS_MAX 40
#define TOKEN_MAX  64

struct tok {
	const char *p;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);
	return t->n == n && strncasecmp(t->p, word, n) == 0;
}

/* RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/" */
static bool is_ice_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/';
}

static int tok_uint(const struct tok *t, unsigned digits_max, unsigned long long max,
		    unsigned long long *out)
{
	unsigned long long v = 0;
	if (t->n == 0 || t->n > digits_max)
		return -EINVAL;
	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long long)(t->p[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int tok_addr(const struct tok *t, union ice_addr *a)
{
	char buf[TOKEN_MAX];
	if (t->n == 0 || t->n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, t->p, t->n);
	buf[t->n] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, &a->in4.sin_addr) == 1) {
		a->in4.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		return 0;
	}
	/* RFC 8839 §5.1: connection-address may be an FQDN (or an mDNS name);
	 * a lab agent does not resolve names. */
	return -EAFNOSUPPORT;
}

static int tok_port(const struct tok *t, uint16_t *port)
{
	unsigned long long v;
	int r = tok_uint(t, 5, 65535, &v);
	if (r == 0)
		*port = (uint16_t)v;
	return r;
}

int ice_candidate_parse(const char *s, size_t len, struct ice_candidate *c)
{
	struct tok t[TOKENS_MAX];
	size_t nt = 0;
	size_t i = 0;
	unsigned long long v;
	uint16_t port;
	int r;

	memset(c, 0, sizeof(*c));
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	if (len >= 2 && strncmp(s, "a=", 2) == 0) {
		s += 2;
		len -= 2;
	}
	if (len < 10 || strncasecmp(s, "candidate:", 10) != 0)
		return -EINVAL;
	s += 10;
	len -= 10;
	/* Split on single spaces (RFC 8839 uses SP between every field). */
	while (i < len) {
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (i == start)
			return -EINVAL;
		if (nt == TOKENS_MAX)
			return -EINVAL;
		t[nt].p = s + start;
		t[nt].n = i - start;
		nt++;
		if (i < len)
			i++; /* the SP */
		if (i == len && s[len - 1] == ' ')
			return -EINVAL;
	}
	/* foundation component transport priority addr port "typ" type */
	if (nt < 8)
		return -EINVAL;
	if (t[0].n == 0 || t[0].n > ICE_FOUNDATION_MAX)
		return -EINVAL;
	for (size_t k = 0; k < t[0].n; k++)
		if (!is_ice_char(t[0].p[k]))
			return -EINVAL;
	memcpy(c->foundation, t[0].p, t[0].n);
	c->foundation[t[0].n] = '\0';
	/* RFC 8839 §5.1: component-id = 1*3DIGIT, within 1..256 (RFC 8445). */
	if (tok_uint(&t[1], 3, ICE_COMPONENT_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	c->component = (unsigned)v;
	if (tok_is(&t[2], "udp"))
		c->transport = ICE_TRANSPORT_UDP;
	else if (tok_is(&t[2], "tcp"))
		c->transport = ICE_TRANSPORT_TCP;
	else
		return -EPROTONOSUPPORT;
	/* priority = 1*10DIGIT, a 32-bit value (RFC 8445 §5.1.2). */
	if (tok_uint(&t[3], 10, 0xffffffffULL, &v) < 0 || v == 0)
		return -EINVAL;
	c->priority = (uint32_t)v;
	r = tok_addr(&t[4], &c->addr);
	if (r < 0)
		return r;
	if (tok_port(&t[5], &port) < 0)
		return -EINVAL;
	ice_addr_set_port(&c->addr, port);
	if (!tok_is(&t[6], "typ"))
		return -EINVAL;
	if (tok_is(&t[7], "host"))
		c->type = ICE_CAND_HOST;
	else if (tok_is(&t[7], "srflx"))
		c->type = ICE_CAND_SRFLX;
	else if (tok_is(&t[7], "prflx"))
		c->type = ICE_CAND_PRFLX;
	else if (tok_is(&t[7], "relay"))
		c->type = ICE_CAND_RELAY;
	else
		return -EINVAL;
	i = 8;
	if (i + 1 < nt && tok_is(&t[i], "raddr")) {
		r = tok_addr(&t[i + 1], &c->related);
		if (r < 0)
			return r;
		c->has_related = true;
		i += 2;
		/* rel-port only makes sense after rel-addr. */
		if (i + 1 < nt && tok_is(&t[i], "rport")) {
			if (tok_port(&t[i + 1], &port) < 0)
				return -EINVAL;
			ice_addr_set_port(&c->related, port);
			i += 2;
		}
	}
	/* cand-extension = extension-att-name SP extension-att-value */
	if ((nt - i) % 2 != 0)
		return -EINVAL;
	for (; i < nt; i += 2) {
		if (!tok_is(&t[i], "tcptype"))
			continue; /* RFC 8839: unknown extensions MUST be ignored */
		if (tok_is(&t[i + 1], "active"))
			c->tcptype = ICE_TCP_ACTIVE;
		else if (tok_is(&t[i + 1], "passive"))
			c->tcptype = ICE_TCP_PASSIVE;
		else if (tok_is(&t[i + 1], "so"))
			c->tcptype = ICE_TCP_SO;
		else
			return -EINVAL;
	}
	/* RFC 6544 §4.5: TCP candidates carry a tcptype. */
	if (c->transport == ICE_TRANSPORT_TCP && c->tcptype == ICE_TCP_NONE)
		return -EINVAL;
	if (c->transport == ICE_TRANSPORT_UDP && c->tcptype != ICE_TCP_NONE)
		return -EINVAL;
	return 0;
}

const char *ice_cand_type_name(enum ice_cand_type t)
{
	switch (t) {
	case ICE_CAND_HOST:
		return "host";
	case ICE_CAND_SRFLX:
		return "srflx";
	case ICE_CAND_PRFLX:
		return "prflx";
	case ICE_CAND_RELAY:
		return "relay";
	}
	return "?";
}

const char *ice_transport_name(enum ice_transport t)
{
	return t == ICE_TRANSPORT_TCP ? "tcp" : "udp";
}

const char *ice_tcptype_name(enum ice_tcptype t)
{
	switch (t) {
	case ICE_TCP_ACTIVE:
		return "active";
	case ICE_TCP_PASSIVE:
		return "passive";
	case ICE_TCP_SO:
		return "so";
	case ICE_TCP_NONE:
		break;
	}
	return NULL;
}

int ice_candidate_format(const struct ice_candidate *c, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	char rip[INET6_ADDRSTRLEN];
	int n, m;

	n = snprintf(buf, size, "candidate:%s %u %s %u %s %u typ %s", c->foundation, c->component,
		     ice_transport_name(c->transport), c->priority,
		     ice_addr_ip(&c->addr, ip, sizeof(ip)), ice_addr_port(&c->addr),
		     ice_cand_type_name(c->type));
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	if (c->has_related) {
		m = snprintf(buf + n, size - (size_t)n, " raddr %s rport %u",
			     ice_addr_ip(&c->related, rip, sizeof(rip)),
			     ice_addr_port(&c->related));
		if (m < 0 || (size_t)m >= size - (size_t)n)
			return -ENOSPC;
		n += m;
	}
	if (c->transport == ICE_TRANSPORT_TCP && ice_tcptype_name(c->tcptype)) {
		m = snprintf(buf + n, size - (size_t)n, " tcptype %s",
			     ice_tcptype_name(c->tcptype));
		if (m < 0 || (size_t)m >= size - (size_t)n)
			return -ENOSPC;
		n += m;
	}
	return n;
}

uint32_t ice_priority(unsigned type_pref, unsigned local_pref, unsigned component)
{
	/* RFC 8445 §5.1.2.1: type preference 0..126, local preference
	 * 0..65535, component ID 1..256. */
	if (type_pref > 126)
		type_pref = 126;
	if (local_pref > 65535)
		local_pref = 65535;
	if (component < 1)
		component = 1;
	if (component > 256)
		component = 256;
	return (uint32_t)((1u << 24) * type_pref + (1u << 8) * local_pref + (256u - component));
}

unsigned ice_type_pref(enum ice_cand_type t, enum ice_transport tr)
{
	/* RFC 8445 §5.1.2.2: "The RECOMMENDED values are 126 for host
	 * candidates, 110 for peer-reflexive candidates, 100 for server-
	 * reflexive candidates, and 0 for relayed candidates." */
	unsigned p = 0;
	switch (t) {
	case ICE_CAND_HOST:
		p = 126;
		break;
	case ICE_CAND_PRFLX:
		p = 110;
		break;
	case ICE_CAND_SRFLX:
		p = 100;
		break;
	case ICE_CAND_RELAY:
		p = 0;
		break;
	}
	/* RFC 6544 §4.2: UDP preferred over TCP; lower TCP type preferences
	 * (here by a fixed step so that TCP host still beats UDP srflx). */
	if (tr == ICE_TRANSPORT_TCP && p >= 20)
		p -= 20;
	return p;
}

unsigned ice_tcp_local_pref(enum ice_cand_type t, enum ice_tcptype tt, unsigned other_pref)
{
	/* RFC 6544 §4.2: "local preference = (2^13) * direction-pref +
	 * other-pref"; "The direction-pref MUST be between 0 and 7 (both
	 * inclusive), with 7 being the most preferred. The other-pref MUST be
	 * between 0 and 8191 (both inclusive), with 8191 being the most
	 * preferred. It is RECOMMENDED that the host, UDP-tunneled, and
	 * relayed TCP candidates have the direction-pref assigned as follows:
	 * 6 for active, 4 for passive, and 2 for S-O. For the NAT-assisted and
	 * server reflexive candidates, the RECOMMENDED values are: 6 for S-O, 4
	 * for active, and 2 for passive." Peer-reflexive ones are ranked like
	 * server-reflexive ones: both are the address a NAT gave. */
	bool reflexive = t == ICE_CAND_SRFLX || t == ICE_CAND_PRFLX;
	unsigned dir = 0;
	switch (tt) {
	case ICE_TCP_ACTIVE:
		dir = reflexive ? 4 : 6;
		break;
	case ICE_TCP_PASSIVE:
		dir = reflexive ? 2 : 4;
		break;
	case ICE_TCP_SO:
		dir = reflexive ? 6 : 2;
		break;
	case ICE_TCP_NONE:
		break;
	}
	if (other_pref > 8191)
		other_pref = 8191;
	return (dir << 13) + other_pref;
}

bool ice_addr_is_v6(const union ice_addr *a)
{
	return a->sa.sa_family == AF_INET6;
}

bool ice_addr_same_ip(const union ice_addr *a, const union ice_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return false;
}

bool ice_addr_equal(const union ice_addr *a, const union ice_addr *b)
{
	return ice_addr_same_ip(a, b) && ice_addr_port(a) == ice_addr_port(b);
}

uint16_t ice_addr_port(const union ice_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in4.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

void ice_addr_set_port(union ice_addr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in4.sin_port = htons(port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
}

socklen_t ice_addr_len(const union ice_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in4);
}

const char *ice_addr_ip(const union ice_addr *a, char *buf, size_t size)
{
	const void *src = a->sa.sa_family == AF_INET6 ? (const void *)&a->in6.sin6_addr
						      : (const void *)&a->in4.sin_addr;
	if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6) {
		snprintf(buf, size, "?");
		return buf;
	}
	if (!inet_ntop(a->sa.sa_family, src, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	return buf;
}

int ice_addr_from_text(union ice_addr *a, const char *ip, uint16_t port)
{
	struct tok t = {ip, strlen(ip)};
	int r = tok_addr(&t, a);
	if (r == 0)
		ice_addr_set_port(a, port);
	return r;
}

int ice_addr_parse_hostport(union ice_addr *a, const char *s)
{
	char ip[TOKEN_MAX];
	const char *colon;
	const char *host = s;
	size_t hn;
	unsigned long long v;
	struct tok pt;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		host = s + 1;
		hn = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hn = (size_t)(colon - s);
	}
	if (hn == 0 || hn >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, host, hn);
	ip[hn] = '\0';
	pt.p = colon + 1;
	pt.n = strlen(colon + 1);
	if (tok_uint(&pt, 5, 65535, &v) < 0)
		return -EINVAL;
	return ice_addr_from_text(a, ip, (uint16_t)v);
}

bool ice_addr_is_link_local(const union ice_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) & 0xffff0000u) == 0xa9fe0000u;
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LINKLOCAL(&a->in6.sin6_addr);
	return false;
}

bool ice_addr_is_loopback(const union ice_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr);
	return false;
}

/* FNV-1a: stable across runs and machines, which a foundation must be
 * within one session. */
static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t fnv_ip(uint32_t h, const union ice_addr *a)
{
	if (!a)
		return fnv(h, "-", 1);
	if (a->sa.sa_family == AF_INET)
		return fnv(h, &a->in4.sin_addr, 4);
	if (a->sa.sa_family == AF_INET6)
		return fnv(h, &a->in6.sin6_addr, 16);
	return h;
}

/* @obtained_over: 0 for host and server-reflexive candidates (their own
 * transport says how they were obtained), else 1 + enum ice_relay_via. */
static void foundation(char out[ICE_FOUNDATION_MAX + 1], enum ice_cand_type t,
		       const union ice_addr *base, const union ice_addr *server,
		       enum ice_transport tr, unsigned char obtained_over)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t h = 2166136261u;
	unsigned char ty = (unsigned char)t;
	unsigned char trb = (unsigned char)tr;

	/* RFC 8445 §5.1.1.3: same foundation for candidates that "have the
	 * same type, base IP address, IP address of the STUN or TURN server,
	 * and transport protocol" (the server's IP only, not its port). */
	h = fnv(h, &ty, 1);
	h = fnv_ip(h, base);
	h = fnv_ip(h, server);
	h = fnv(h, &trb, 1);
	/* (hashed only when set, so host and srflx foundations stay what
	 * they were) */
	if (obtained_over)
		h = fnv(h, &obtained_over, 1);
	for (int i = 0; i < 6; i++) {
		out[i] = alphabet[h & 63];
		h >>= 6;
	}
	out[6] = '\0';
}

void ice_foundation_make(char out[ICE_FOUNDATION_MAX + 1], enum ice_cand_type t,
			 const union ice_addr *base, const union ice_addr *server,
			 enum ice_transport tr)
{
	foundation(out, t, base, server, tr, 0);
}

void ice_foundation_make_relay(char out[ICE_FOUNDATION_MAX + 1], const union ice_addr *relayed,
			       const union ice_addr *server, enum ice_relay_via via)
{
	/* RFC 8445 §5.1.1.3: "Two candidates have the same foundation when
	 * ... They were obtained using the same transport protocol (TCP,
	 * UDP)." A relayed candidate is always UDP towards the peer; what it
	 * was obtained with is the transport to the TURN server (RFC 8656
	 * §3.1: UDP, TCP or TLS-over-TCP). TLS counts as its own transport
	 * here: a path that passes TCP to one port of the server and not TLS
	 * to another (or the reverse: a firewall open to 443 only) makes the
	 * two allocations succeed or fail independently, which is what
	 * distinct foundations tell the frozen-pair algorithm (§6.1.2.6). */
	foundation(out, ICE_CAND_RELAY, relayed, server, ICE_TRANSPORT_UDP,
		   (unsigned char)(1 + (unsigned)via));
}
