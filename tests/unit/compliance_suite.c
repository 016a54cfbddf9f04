/* compliance_suite.c - the compliance suite (agents/compliance) against a
 * simulated NAT on a fake clock: no sockets, no root, minutes of mapping
 * timeout in microseconds. A compliant model must pass every requirement;
 * non-compliant models (address-and-port-dependent mapping, a 10 s
 * timeout, ICMP that kills mappings, an ALG, port overloading, no
 * hairpinning, a SYN answered at once) must each be flagged on the row
 * that concerns them, with the measured value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agents/compliance/compliance.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define LAN_IP	       IP(192, 168, 1, 2)
#define PUB_IP	       IP(203, 0, 113, 1)
#define S0	       IP(198, 51, 100, 1)
#define S1	       IP(198, 51, 100, 2)
#define SUB1_IP	       IP(192, 168, 1, 3)
#define SUB2_IP	       IP(192, 168, 1, 4)

struct model {
	int mapping, filtering; /* 0 EI, 1 AD, 2 APD */
	bool sequential, overload, hairpin, alg, icmp_kills, syn_rst, inbound_refresh;
	uint64_t timeout_ms;
	uint64_t tcp_timeout_ms; /* 0: TCP state never expires */
	bool simopen_drop;	 /* an inbound SYN toward a connecting host is dropped */
	bool rst_dropped;	 /* an inbound RST is not passed on */
	int quota;		 /* UDP mappings per internal address (0: none) */
	bool quota_global;	 /* ... counted over all addresses together (unfair) */
	bool quota_silent;	 /* no ICMP for a refused mapping */
};

#define SOCKS 256
#define MAPS  1024
#define QLEN  16

struct dgram {
	struct compl_addr from;
	uint8_t data[4096];
	int len; /* -ECONNREFUSED: an ICMP error */
};

struct sock {
	bool used, tcp, listening, connecting, failed;
	int peer;		  /* TCP: the other end's socket, -1 none */
	struct compl_addr target; /* TCP connecting: where to */
	int mapi;		  /* TCP: the connection's mapping */
	int pend_sock[QLEN];	  /* listener: the connecting sockets */
	enum compl_side side;
	struct compl_addr addr;
	struct dgram q[QLEN];
	int head, n;
	int pending[QLEN]; /* listener: accepted connections' peers as map index */
	struct compl_addr pend_from[QLEN];
	int npend;
};

struct map {
	bool used, tcp;
	struct compl_addr in, dst_key, dst;
	uint16_t ext;
	uint64_t last;
	struct compl_addr permit[32];
	int n_permit;
};

struct net {
	struct model m;
	uint64_t now;
	struct sock s[SOCKS];
	struct map maps[MAPS];
	uint16_t next_port;
	uint32_t rnd;
};

static uint16_t rnd_port(struct net *n)
{
	n->rnd = n->rnd * 1103515245u + 12345u;
	return (uint16_t)(1024 + (n->rnd >> 8) % 60000);
}

static int find_sock(struct net *n, enum compl_side side, const struct compl_addr *a, bool tcp)
{
	for (int i = 0; i < SOCKS; i++)
		if (n->s[i].used && (n->s[i].side == COMPL_WAN) == (side == COMPL_WAN) &&
		    n->s[i].tcp == tcp && n->s[i].addr.ip == a->ip &&
		    n->s[i].addr.port == a->port && (!tcp || n->s[i].listening))
			return i;
	return -1;
}

static void enqueue(struct net *n, int sock, const struct compl_addr *from, const void *buf,
		    int len)
{
	struct sock *s = &n->s[sock];
	struct dgram *d;

	if (s->n == QLEN)
		return;
	d = &s->q[(s->head + s->n++) % QLEN];
	d->from = *from;
	d->len = len;
	if (len > 0)
		memcpy(d->data, buf, (size_t)len);
}

static bool expired(struct net *n, struct map *m)
{
	if (m->tcp)
		return n->m.tcp_timeout_ms && n->now - m->last >= n->m.tcp_timeout_ms;
	return n->now - m->last >= n->m.timeout_ms;
}

/* live UDP mappings of internal address @ip (all of them: 0) */
static int mappings_of(struct net *n, uint32_t ip)
{
	int k = 0;

	for (int i = 0; i < MAPS; i++)
		k += n->maps[i].used && !n->maps[i].tcp && !expired(n, &n->maps[i]) &&
		     (!ip || n->maps[i].in.ip == ip);
	return k;
}

/* the mapping of internal @in toward @dst, made when absent */
static struct map *outbound(struct net *n, const struct compl_addr *in,
			    const struct compl_addr *dst, bool tcp)
{
	struct compl_addr key = {0, 0};
	struct map *freem = NULL;

	/* RFC 5382 behaviour of the model: TCP maps like UDP */
	if (n->m.mapping >= 1)
		key.ip = dst->ip;
	if (n->m.mapping == 2)
		key.port = dst->port;
	for (int i = 0; i < MAPS; i++) {
		struct map *m = &n->maps[i];
		if (m->used && expired(n, m))
			m->used = false;
		if (!m->used) {
			if (!freem)
				freem = m;
			continue;
		}
		if (m->tcp == tcp && m->in.ip == in->ip && m->in.port == in->port &&
		    m->dst_key.ip == key.ip && m->dst_key.port == key.port)
			return m;
	}
	if (!freem)
		return NULL;
	if (!tcp && n->m.quota && mappings_of(n, n->m.quota_global ? 0 : in->ip) >= n->m.quota)
		return NULL; /* RFC 6888 quota reached */
	memset(freem, 0, sizeof(*freem));
	freem->dst = *dst;
	freem->used = true;
	freem->tcp = tcp;
	freem->in = *in;
	freem->dst_key = key;
	freem->last = n->now;
	if (n->m.overload)
		freem->ext = 40000;
	else if (n->m.sequential)
		freem->ext = n->next_port++;
	else
		freem->ext = in->port;
	return freem;
}

static struct map *by_ext(struct net *n, uint16_t port, bool tcp)
{
	struct map *best = NULL;

	for (int i = 0; i < MAPS; i++) {
		struct map *m = &n->maps[i];
		if (m->used && m->tcp == tcp && m->ext == port && !expired(n, m))
			best = m; /* overloaded: the newest wins */
	}
	return best;
}

static bool permitted(struct net *n, struct map *m, const struct compl_addr *from)
{
	for (int i = 0; i < m->n_permit; i++) {
		if (n->m.filtering == 0)
			return true;
		if (m->permit[i].ip == from->ip &&
		    (n->m.filtering == 1 || m->permit[i].port == from->port))
			return true;
	}
	return n->m.filtering == 0;
}

static void permit(struct map *m, const struct compl_addr *dst)
{
	if (m->n_permit < 32)
		m->permit[m->n_permit++] = *dst;
}

/* a datagram from outside (or hairpinned) toward the public address */
static void inbound(struct net *n, const struct compl_addr *from, uint16_t port, const void *buf,
		    int len)
{
	struct map *m = by_ext(n, port, false);
	int s;

	if (!m || !permitted(n, m, from))
		return;
	if (n->m.inbound_refresh)
		m->last = n->now;
	s = find_sock(n, COMPL_LAN, &m->in, false);
	if (s >= 0)
		enqueue(n, s, from, buf, len);
}

static int f_udp_open(void *ctx, enum compl_side side, int idx, uint16_t port,
		      struct compl_addr *bound)
{
	struct net *n = ctx;

	for (int i = 0; i < SOCKS; i++) {
		if (n->s[i].used)
			continue;
		memset(&n->s[i], 0, sizeof(n->s[i]));
		n->s[i].used = true;
		n->s[i].side = side;
		n->s[i].addr.ip = side == COMPL_LAN    ? LAN_IP
				  : side == COMPL_SUB1 ? SUB1_IP
				  : side == COMPL_SUB2 ? SUB2_IP
				  : idx		       ? S1
						       : S0;
		n->s[i].peer = -1;
		n->s[i].addr.port = port ? port : rnd_port(n);
		*bound = n->s[i].addr;
		return i;
	}
	return -EMFILE;
}

static int f_udp_send(void *ctx, int sock, const struct compl_addr *to, const void *buf, size_t len)
{
	struct net *n = ctx;
	struct sock *s = &n->s[sock];
	uint8_t copy[4096];

	memcpy(copy, buf, len);
	if (s->side == COMPL_WAN) {
		if (to->ip == PUB_IP)
			inbound(n, &s->addr, to->port, copy, (int)len);
		return 0;
	}
	struct map *m = outbound(n, &s->addr, to, false);
	if (!m) {
		if (!n->m.quota_silent) /* ICMP host unreachable */
			enqueue(n, sock, to, NULL, -ECONNREFUSED);
		return 0;
	}
	m->last = n->now;
	permit(m, to);
	struct compl_addr ext = {PUB_IP, m->ext};
	if (n->m.alg) {
		/* a careless ALG: rewrites the internal address's raw bytes */
		uint8_t raw[4] = {LAN_IP >> 24, (LAN_IP >> 16) & 255, (LAN_IP >> 8) & 255,
				  LAN_IP & 255};
		for (size_t i = 0; i + 4 <= len; i++)
			if (memcmp(copy + i, raw, 4) == 0)
				copy[i] = 10;
	}
	if (to->ip == PUB_IP) {
		if (n->m.hairpin)
			inbound(n, &ext, to->port, copy, (int)len);
		return 0;
	}
	int w = find_sock(n, COMPL_WAN, to, false);
	if (w >= 0) {
		enqueue(n, w, &ext, copy, (int)len);
	} else {
		/* closed port: ICMP port unreachable back through the NAT */
		if (n->m.icmp_kills)
			m->used = false;
		enqueue(n, sock, to, NULL, -ECONNREFUSED);
	}
	return 0;
}

static int f_udp_recv(void *ctx, int sock, int timeout_ms, struct compl_addr *from, void *buf,
		      size_t len)
{
	struct net *n = ctx;
	struct sock *s = &n->s[sock];
	struct dgram *d;

	if (s->n == 0) {
		n->now += (uint64_t)timeout_ms;
		return -ETIMEDOUT;
	}
	n->now += 1; /* a millisecond of transit */
	d = &s->q[s->head];
	s->head = (s->head + 1) % QLEN;
	s->n--;
	if (d->len < 0)
		return d->len;
	*from = d->from;
	memcpy(buf, d->data, (size_t)d->len < len ? (size_t)d->len : len);
	return d->len;
}

static int f_tcp_listen(void *ctx, int idx, uint16_t port, struct compl_addr *bound)
{
	int s = f_udp_open(ctx, COMPL_WAN, idx, port, bound);
	struct net *n = ctx;

	if (s >= 0) {
		n->s[s].tcp = true;
		n->s[s].listening = true;
	}
	return s;
}

static int f_tcp_connect(void *ctx, enum compl_side side, uint16_t local_port,
			 const struct compl_addr *to, int timeout_ms, struct compl_addr *local)
{
	struct net *n = ctx;
	struct compl_addr l;
	int s;

	if (side == COMPL_WAN) {
		if (n->m.syn_rst)
			return -ECONNREFUSED;
		n->now += (uint64_t)timeout_ms;
		return -ETIMEDOUT;
	}
	s = f_udp_open(ctx, COMPL_LAN, 0, local_port, &l);
	if (s < 0)
		return s;
	n->s[s].tcp = true;
	if (local)
		*local = l;
	struct map *m = outbound(n, &l, to, true);
	int lis = find_sock(n, COMPL_WAN, to, true);
	if (!m || lis < 0) {
		n->s[s].used = false;
		return -ECONNREFUSED;
	}
	m->last = n->now;
	struct sock *L = &n->s[lis];
	if (L->npend < QLEN) {
		L->pend_sock[L->npend] = s;
		L->pend_from[L->npend++] = (struct compl_addr){PUB_IP, m->ext};
	}
	n->s[s].mapi = (int)(m - n->maps);
	return s;
}

static int f_tcp_accept(void *ctx, int listener, int timeout_ms, struct compl_addr *from)
{
	struct net *n = ctx;
	struct sock *L = &n->s[listener];
	struct compl_addr b;

	if (L->npend == 0) {
		n->now += (uint64_t)timeout_ms;
		return -ETIMEDOUT;
	}
	*from = L->pend_from[0];
	int c = L->pend_sock[0];
	memmove(L->pend_from, L->pend_from + 1, sizeof(L->pend_from[0]) * (size_t)(L->npend - 1));
	memmove(L->pend_sock, L->pend_sock + 1, sizeof(L->pend_sock[0]) * (size_t)--L->npend);
	int s = f_udp_open(ctx, COMPL_WAN, 0, 1, &b);
	if (s >= 0) {
		n->s[s].tcp = true;
		n->s[s].peer = c;
		n->s[s].mapi = n->s[c].mapi;
		n->s[c].peer = s;
	}
	return s;
}

static int f_tcp_start(void *ctx, enum compl_side side, int idx, uint16_t local_port,
		       const struct compl_addr *to, struct compl_addr *local)
{
	struct net *n = ctx;
	struct compl_addr l;
	int s = f_udp_open(ctx, side, idx, local_port, &l);

	if (s < 0)
		return s;
	n->s[s].tcp = true;
	*local = l;
	if (side != COMPL_WAN) {
		/* the SYN opens the mapping; beyond the device it is dropped */
		struct map *m = outbound(n, &l, to, true);
		if (!m) {
			n->s[s].failed = true;
			return s;
		}
		m->last = n->now;
		n->s[s].mapi = (int)(m - n->maps);
		n->s[s].connecting = true;
		n->s[s].target = *to;
		return s;
	}
	/* the peer's SYN toward the public address: a simultaneous open when
	 * a host is connecting to the peer through that mapping */
	struct map *m = to->ip == PUB_IP ? by_ext(n, to->port, true) : NULL;
	n->s[s].failed = true;
	for (int i = 0; m && !n->m.simopen_drop && i < SOCKS; i++) {
		struct sock *h = &n->s[i];
		if (h->used && h->connecting && h->mapi == (int)(m - n->maps) &&
		    h->target.ip == l.ip && h->target.port == l.port) {
			h->connecting = false;
			h->peer = s;
			n->s[s].peer = i;
			n->s[s].mapi = h->mapi;
			n->s[s].failed = false;
			break;
		}
	}
	return s;
}

static int f_tcp_wait(void *ctx, int sock, int timeout_ms)
{
	struct net *n = ctx;

	if (n->s[sock].peer >= 0)
		return 0;
	n->now += (uint64_t)timeout_ms;
	return -ETIMEDOUT;
}

/* a segment of connection @sock to its peer, through the mapping */
static int f_tcp_send(void *ctx, int sock, const void *buf, size_t len)
{
	struct net *n = ctx;
	struct sock *s = &n->s[sock];
	struct map *m;

	if (s->peer < 0)
		return -ENOTCONN;
	m = &n->maps[s->mapi];
	if (!m->used || expired(n, m)) {
		m->used = false; /* state gone: the segment dies at the device */
		return 0;
	}
	m->last = n->now;
	enqueue(n, s->peer, &s->addr, buf, (int)len);
	return 0;
}

static int f_tcp_recv(void *ctx, int sock, int timeout_ms, void *buf, size_t len)
{
	struct compl_addr from;

	return f_udp_recv(ctx, sock, timeout_ms, &from, buf, len);
}

static void f_tcp_abort(void *ctx, int sock)
{
	struct net *n = ctx;
	struct sock *s = &n->s[sock];

	if (s->peer >= 0 && !n->m.rst_dropped && n->maps[s->mapi].used &&
	    !expired(n, &n->maps[s->mapi]))
		enqueue(n, s->peer, &s->addr, NULL, -ECONNRESET);
	s->used = false;
}

static int f_wan_drop_syn(void *ctx, int idx, uint16_t port)
{
	(void)ctx;
	(void)idx;
	(void)port;
	return 0; /* f_tcp_start never delivers a LAN SYN to the peer */
}

static void f_close(void *ctx, int sock)
{
	struct net *n = ctx;

	if (sock >= 0 && sock < SOCKS)
		n->s[sock].used = false;
}

static uint64_t f_now(void *ctx)
{
	return ((struct net *)ctx)->now;
}

static void f_sleep(void *ctx, int ms)
{
	((struct net *)ctx)->now += (uint64_t)ms;
}

static struct compl_report *run_model_cfg(const struct model *mod, int bound_s, int tcp_bound_s,
					  bool cgn)
{
	static struct net n;
	static struct compl_report r;
	struct compl_io io = {.ctx = &n,
			      .udp_open = f_udp_open,
			      .udp_send = f_udp_send,
			      .udp_recv = f_udp_recv,
			      .tcp_listen = f_tcp_listen,
			      .tcp_connect = f_tcp_connect,
			      .tcp_accept = f_tcp_accept,
			      .close = f_close,
			      .now_ms = f_now,
			      .sleep_ms = f_sleep,
			      .tcp_start = f_tcp_start,
			      .tcp_wait = f_tcp_wait,
			      .tcp_send = f_tcp_send,
			      .tcp_recv = f_tcp_recv,
			      .tcp_abort = f_tcp_abort,
			      .wan_drop_syn = f_wan_drop_syn};
	struct compl_config cfg = {.server = {{S0, 3478}, {S1, 3478}},
				   .lan_ip = LAN_IP,
				   .wait_ms = 300,
				   .timeout_max_s = bound_s,
				   .timeout_resolution_ms = 1000,
				   .tcp = true,
				   .syn_wait_ms = 6500,
				   .tcp_timeout_max_s = tcp_bound_s,
				   .cgn = cgn,
				   .quota_max = 500};

	memset(&n, 0, sizeof(n));
	n.m = *mod;
	n.now = 1000000;
	n.next_port = 20000;
	n.rnd = 7;
	assert_int_equal(compl_run(&cfg, &io, &r), 0);
	return &r;
}

static struct compl_report *run_model(const struct model *mod, int bound_s)
{
	return run_model_cfg(mod, bound_s, 30, false);
}

static const struct compl_row *row(const struct compl_report *r, const char *key)
{
	for (int i = 0; i < r->n_rows; i++)
		if (strcmp(r->rows[i].key, key) == 0)
			return &r->rows[i];
	fail_msg("no row %s", key);
	return NULL;
}

static const struct model compliant = {.mapping = 0,
				       .filtering = 0,
				       .hairpin = true,
				       .timeout_ms = 310000,
				       .inbound_refresh = true,
				       .quota = 50};

static void test_compliant(void **st)
{
	(void)st;
	/* a TCP search bound past 2 h 4 min: the fake clock makes it cheap */
	struct compl_report *r = run_model_cfg(&compliant, 400, 8000, true);

	/* the rows this simulated network cannot exercise (no DF, and what
	 * natlab never measures) say so; every other row passes */
	static const char *const untestable[] = {"df", "tcp_transitory", "protocol_independence"};
	for (int i = 0; i < r->n_rows; i++) {
		bool skip = false;
		for (size_t k = 0; k < sizeof(untestable) / sizeof(untestable[0]); k++)
			if (strcmp(r->rows[i].key, untestable[k]) == 0 &&
			    r->rows[i].verdict == COMPL_NOT_TESTED)
				skip = true;
		if (!skip && r->rows[i].verdict != COMPL_PASS)
			fail_msg("%s %s: %s (%s; %s)", r->rows[i].req, r->rows[i].key,
				 compl_verdict_name(r->rows[i].verdict), r->rows[i].measured,
				 r->rows[i].evidence);
	}
	assert_string_equal(r->mapping, "endpoint-independent");
	assert_string_equal(r->filtering, "endpoint-independent");
	/* the 310 s timeout found within the search's resolution */
	assert_true(r->timeout_alive_ms <= 310000 && r->timeout_expired_ms >= 310000);
	assert_true(r->timeout_expired_ms - r->timeout_alive_ms <= 1000 + 40000 / 10);
	assert_non_null(strstr(row(r, "refresh")->measured, "inbound refreshes"));
	assert_string_equal(row(r, "cgn_port_quota")->measured, "50 mappings per subscriber");
	assert_int_equal(r->quota, 50);
	assert_true(r->tcp_timeout_alive_ms >= 7440000 && r->tcp_timeout_expired_ms < 0);
	json_t *j = compl_report_json(r, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "fail")),
			 0);
	json_decref(j);
}

static void test_non_compliant(void **st)
{
	(void)st;
	struct model m = {.mapping = 2,
			  .filtering = 2,
			  .sequential = true,
			  .timeout_ms = 10000,
			  .tcp_timeout_ms = 10000,
			  .alg = true,
			  .icmp_kills = true,
			  .syn_rst = true};
	struct compl_report *r = run_model(&m, 30);

	assert_int_equal(row(r, "udp_mapping")->verdict, COMPL_FAIL);
	assert_string_equal(row(r, "udp_mapping")->measured, "address-and-port-dependent");
	assert_int_equal(row(r, "udp_filtering")->verdict, COMPL_WARN);
	assert_int_equal(row(r, "udp_timeout")->verdict, COMPL_FAIL);
	assert_true(r->timeout_alive_ms < 10000 && r->timeout_expired_ms >= 10000 &&
		    r->timeout_expired_ms <= 11500);
	/* no inbound refresh in this model, outbound refresh works */
	assert_int_equal(row(r, "refresh")->verdict, COMPL_PASS);
	assert_non_null(strstr(row(r, "refresh")->measured, "inbound does not refresh"));
	assert_int_equal(row(r, "hairpinning")->verdict, COMPL_FAIL);
	assert_int_equal(row(r, "alg")->verdict, COMPL_WARN);
	assert_int_equal(row(r, "icmp")->verdict, COMPL_FAIL);
	assert_int_equal(row(r, "tcp_mapping")->verdict, COMPL_FAIL);
	assert_int_equal(row(r, "tcp_unsolicited_syn")->verdict, COMPL_FAIL);
	assert_int_equal(row(r, "determinism")->verdict, COMPL_PASS);
	/* RFC 5382 REQ-5: a 10 s TCP timeout found; simultaneous open not
	 * decidable under a mapping that is not endpoint-independent */
	assert_int_equal(row(r, "tcp_timeout")->verdict, COMPL_FAIL);
	assert_true(r->tcp_timeout_alive_ms < 10000 && r->tcp_timeout_expired_ms >= 10000 &&
		    r->tcp_timeout_expired_ms <= 11500);
	assert_int_equal(row(r, "tcp_simultaneous_open")->verdict, COMPL_INCONCLUSIVE);
	assert_int_equal(row(r, "port_randomization")->verdict, COMPL_WARN);
	assert_int_equal(row(r, "cgn_port_quota")->verdict, COMPL_NOT_TESTED);
	/* sequential ports from 20000: parity alternates */
	assert_int_equal(row(r, "port_parity")->verdict, COMPL_WARN);
	assert_non_null(strstr(row(r, "port_parity")->measured, "sequential"));
}

static void test_overloading(void **st)
{
	(void)st;
	struct model m = compliant;
	m.overload = true;
	struct compl_report *r = run_model(&m, 0);

	assert_int_equal(row(r, "port_assignment")->verdict, COMPL_FAIL);
	assert_non_null(strstr(row(r, "port_assignment")->measured, "port overloading"));
	assert_int_equal(row(r, "udp_timeout")->verdict, COMPL_NOT_TESTED);
}

static void test_short_bound_inconclusive(void **st)
{
	(void)st;
	struct compl_report *r = run_model(&compliant, 20);

	assert_int_equal(row(r, "udp_timeout")->verdict, COMPL_INCONCLUSIVE);
	assert_int_equal(row(r, "refresh")->verdict, COMPL_NOT_TESTED);
}

static void test_tcp_broken(void **st)
{
	(void)st;
	struct model m = compliant;
	m.tcp_timeout_ms = 60000;
	m.simopen_drop = true;
	m.rst_dropped = true;
	struct compl_report *r = run_model_cfg(&m, 0, 100, false);

	assert_int_equal(row(r, "tcp_mapping")->verdict, COMPL_PASS);
	assert_int_equal(row(r, "tcp_simultaneous_open")->verdict, COMPL_FAIL);
	assert_int_equal(row(r, "tcp_rst")->verdict, COMPL_FAIL);
	assert_int_equal(row(r, "tcp_timeout")->verdict, COMPL_FAIL);
	assert_true(r->tcp_timeout_alive_ms < 60000 && r->tcp_timeout_expired_ms >= 60000);
	/* a bound under the timeout: alive at the bound, undecided */
	m.simopen_drop = m.rst_dropped = false;
	r = run_model_cfg(&m, 0, 50, false);
	assert_int_equal(row(r, "tcp_simultaneous_open")->verdict, COMPL_PASS);
	assert_int_equal(row(r, "tcp_rst")->verdict, COMPL_PASS);
	assert_int_equal(row(r, "tcp_timeout")->verdict, COMPL_INCONCLUSIVE);
}

static void test_cgn(void **st)
{
	(void)st;
	struct model m = compliant;
	/* no quota up to the bound: undecided */
	m.quota = 0;
	struct compl_report *r = run_model_cfg(&m, 0, 0, true);
	assert_int_equal(row(r, "cgn_port_quota")->verdict, COMPL_INCONCLUSIVE);
	assert_int_equal(r->quota, 0);
	assert_int_equal(row(r, "cgn_fairness")->verdict, COMPL_NOT_TESTED);
	/* one quota for everybody: subscriber 2 gets nothing, and the
	 * refusals come without ICMP */
	m.quota = 120;
	m.quota_global = true;
	m.quota_silent = true;
	r = run_model_cfg(&m, 0, 0, true);
	assert_int_equal(row(r, "cgn_port_quota")->verdict, COMPL_PASS);
	assert_int_equal(row(r, "cgn_fairness")->verdict, COMPL_FAIL);
	assert_int_equal(row(r, "cgn_quota_exhausted")->verdict, COMPL_WARN);
	assert_non_null(strstr(row(r, "cgn_fairness")->measured, "0 of 20"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compliant),	cmocka_unit_test(test_non_compliant),
	    cmocka_unit_test(test_overloading), cmocka_unit_test(test_short_bound_inconclusive),
	    cmocka_unit_test(test_tcp_broken),	cmocka_unit_test(test_cgn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
