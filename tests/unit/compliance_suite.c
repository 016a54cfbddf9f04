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

struct model {
	int mapping, filtering; /* 0 EI, 1 AD, 2 APD */
	bool sequential, overload, hairpin, alg, icmp_kills, syn_rst, inbound_refresh;
	uint64_t timeout_ms;
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
	bool used, tcp, listening;
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
	struct compl_addr in, dst_key;
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
		if (n->s[i].used && n->s[i].side == side && n->s[i].tcp == tcp &&
		    n->s[i].addr.ip == a->ip && n->s[i].addr.port == a->port &&
		    (!tcp || n->s[i].listening))
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
	return n->now - m->last >= n->m.timeout_ms;
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
	memset(freem, 0, sizeof(*freem));
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
		n->s[i].addr.ip = side == COMPL_LAN ? LAN_IP : idx ? S1 : S0;
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
	if (!m)
		return 0;
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
	if (L->npend < QLEN)
		L->pend_from[L->npend++] = (struct compl_addr){PUB_IP, m->ext};
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
	memmove(L->pend_from, L->pend_from + 1, sizeof(L->pend_from[0]) * (size_t)--L->npend);
	int s = f_udp_open(ctx, COMPL_WAN, 0, 1, &b);
	if (s >= 0)
		n->s[s].tcp = true;
	return s;
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

static struct compl_report *run_model(const struct model *mod, int bound_s)
{
	static struct net n;
	static struct compl_report r;
	struct compl_io io = {&n,	    f_udp_open,	   f_udp_send,	 f_udp_recv,
			      f_tcp_listen, f_tcp_connect, f_tcp_accept, f_close,
			      f_now,	    f_sleep};
	struct compl_config cfg = {.server = {{S0, 3478}, {S1, 3478}},
				   .lan_ip = LAN_IP,
				   .wait_ms = 300,
				   .timeout_max_s = bound_s,
				   .timeout_resolution_ms = 1000,
				   .tcp = true,
				   .syn_wait_ms = 6500};

	memset(&n, 0, sizeof(n));
	n.m = *mod;
	n.now = 1000000;
	n.next_port = 20000;
	n.rnd = 7;
	assert_int_equal(compl_run(&cfg, &io, &r), 0);
	return &r;
}

static const struct compl_row *row(const struct compl_report *r, const char *key)
{
	for (int i = 0; i < r->n_rows; i++)
		if (strcmp(r->rows[i].key, key) == 0)
			return &r->rows[i];
	fail_msg("no row %s", key);
	return NULL;
}

static const struct model compliant = {
    .mapping = 0, .filtering = 0, .hairpin = true, .timeout_ms = 310000, .inbound_refresh = true};

static void test_compliant(void **st)
{
	(void)st;
	struct compl_report *r = run_model(&compliant, 400);

	for (int i = 0; i < r->n_rows; i++)
		if (r->rows[i].verdict != COMPL_PASS)
			fail_msg("%s %s: %s (%s; %s)", r->rows[i].req, r->rows[i].key,
				 compl_verdict_name(r->rows[i].verdict), r->rows[i].measured,
				 r->rows[i].evidence);
	assert_string_equal(r->mapping, "endpoint-independent");
	assert_string_equal(r->filtering, "endpoint-independent");
	/* the 310 s timeout found within the search's resolution */
	assert_true(r->timeout_alive_ms <= 310000 && r->timeout_expired_ms >= 310000);
	assert_true(r->timeout_expired_ms - r->timeout_alive_ms <= 1000 + 40000 / 10);
	assert_non_null(strstr(row(r, "refresh")->measured, "inbound refreshes"));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compliant),
	    cmocka_unit_test(test_non_compliant),
	    cmocka_unit_test(test_overloading),
	    cmocka_unit_test(test_short_bound_inconclusive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
