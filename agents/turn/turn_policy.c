#include "agents/turn/turn_policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct range {
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

struct turn_policy {
	bool allow_loopback;
	struct range deny[TURN_POLICY_RANGES_MAX];
	size_t ndeny;
	struct range allow[TURN_POLICY_RANGES_MAX];
	size_t nallow;
	struct sockaddr_storage own[TURN_POLICY_OWN_MAX];
	size_t nown;
};

static int range_parse(const char *cidr, struct range *r)
{
	char buf[64];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	char *end = NULL;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, cidr, n);
	buf[n] = 0;
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = AF_INET;
		r->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = AF_INET6;
		r->prefix = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || v > r->prefix)
			return -EINVAL;
		r->prefix = (unsigned)v;
	}
	return 0;
}

static bool range_has(const struct range *r, int family, const uint8_t *a)
{
	unsigned bits = r->prefix;
	unsigned i = 0;

	if (r->family != family)
		return false;
	for (; bits >= 8; bits -= 8, i++) {
		if (r->addr[i] != a[i])
			return false;
	}
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));
		if ((r->addr[i] & mask) != (a[i] & mask))
			return false;
	}
	return true;
}

static int add(struct range *tab, size_t *n, const char *cidr)
{
	if (*n >= TURN_POLICY_RANGES_MAX)
		return -ENOSPC;
	int r = range_parse(cidr, &tab[*n]);
	if (r == 0)
		(*n)++;
	return r;
}

struct turn_policy *turn_policy_new(bool allow_loopback)
{
	/* Denied by default: "this network", loopback, link-local, multicast,
	 * broadcast, and the IPv6 equivalents. IPv4-mapped IPv6 peers are
	 * checked as the IPv4 address they carry. */
	static const char *const defaults[] = {
	    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
	    "::/128",	 "::1/128",	"fe80::/10",	  "ff00::/8",
	};
	struct turn_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->allow_loopback = allow_loopback;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (allow_loopback && (strcmp(defaults[i], "127.0.0.0/8") == 0 ||
				       strcmp(defaults[i], "::1/128") == 0))
			continue;
		add(p->deny, &p->ndeny, defaults[i]);
	}
	return p;
}

void turn_policy_free(struct turn_policy *p)
{
	free(p);
}

int turn_policy_deny_add(struct turn_policy *p, const char *cidr)
{
	return add(p->deny, &p->ndeny, cidr);
}

int turn_policy_allow_add(struct turn_policy *p, const char *cidr)
{
	return add(p->allow, &p->nallow, cidr);
}

int turn_policy_own_add(struct turn_policy *p, const struct sockaddr *sa)
{
	if (p->nown >= TURN_POLICY_OWN_MAX)
		return -ENOSPC;
	size_t len =
	    sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	memset(&p->own[p->nown], 0, sizeof(p->own[0]));
	memcpy(&p->own[p->nown], sa, len);
	p->nown++;
	return 0;
}

static bool same_ip_port(const struct sockaddr_storage *own, int family, const uint8_t *a,
			 uint16_t port)
{
	if (own->ss_family == AF_INET && family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)own;
		bool any = s->sin_addr.s_addr == htonl(INADDR_ANY);
		return s->sin_port == port && (any || memcmp(&s->sin_addr, a, 4) == 0);
	}
	if (own->ss_family == AF_INET6 && family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)own;
		bool any = IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr);
		return s->sin6_port == port && (any || memcmp(&s->sin6_addr, a, 16) == 0);
	}
	return false;
}

bool turn_policy_peer_allowed(const struct turn_policy *p, const struct sockaddr *peer)
{
	int family = peer->sa_family;
	const uint8_t *a;
	uint16_t port;

	if (family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)peer;
		a = (const uint8_t *)&s->sin_addr;
		port = s->sin_port;
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)peer;
		a = (const uint8_t *)&s->sin6_addr;
		port = s->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			family = AF_INET;
			a += 12;
		}
	} else {
		return false;
	}
	/* A port of 0 is never a usable peer. */
	if (port == 0)
		return false;
	for (size_t i = 0; i < p->nown; i++) {
		if (same_ip_port(&p->own[i], family, a, port))
			return false;
	}
	for (size_t i = 0; i < p->nallow; i++) {
		if (range_has(&p->allow[i], family, a))
			return true;
	}
	for (size_t i = 0; i < p->ndeny; i++) {
		if (range_has(&p->deny[i], family, a))
			return false;
	}
	return true;
}

bool turn_bucket_take(struct turn_bucket *b, uint64_t rate, uint64_t burst, uint64_t n,
		      uint64_t now_ms)
{
	if (rate == 0)
		return true;
	if (burst < n)
		burst = n;
	if (b->last_ms == 0 && b->milli == 0) {
		b->milli = burst * 1000;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * rate; /* tokens/s * ms = milli-tokens */
		b->milli += add;
		if (b->milli > burst * 1000)
			b->milli = burst * 1000;
		b->last_ms = now_ms;
	}
	if (b->milli < n * 1000)
		return false;
	b->milli -= n * 1000;
	return true;
}

struct turn_ratelimit {
	uint32_t per_s, burst;
	struct turn_bucket slot[TURN_RATELIMIT_SLOTS];
};

struct turn_ratelimit *turn_ratelimit_new(uint32_t per_s, uint32_t burst)
{
	struct turn_ratelimit *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->per_s = per_s;
	r->burst = burst ? burst : per_s;
	return r;
}

void turn_ratelimit_free(struct turn_ratelimit *r)
{
	free(r);
}

bool turn_ratelimit_allow(struct turn_ratelimit *r, const struct sockaddr *src, uint64_t now_ms)
{
	uint32_t h = 2166136261u;
	const uint8_t *a;
	size_t n;

	if (r->per_s == 0)
		return true;
	if (src->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)src)->sin6_addr;
		n = 16;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)src)->sin_addr;
		n = 4;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 16777619u; /* FNV-1a */
	return turn_bucket_take(&r->slot[h % TURN_RATELIMIT_SLOTS], r->per_s, r->burst, 1,
				now_ms ? now_ms : 1);
}
