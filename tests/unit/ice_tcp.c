/* ice_tcp.c - ICE-TCP (RFC 6544) in the natlab agent: RFC 4571 framing,
 * RFC 6544 §4.2 priorities, and whole negotiations between two agents in
 * memory on a fake clock, over a simulated network whose UDP can be
 * blackholed and whose TCP connections (SYN, SYN-ACK, byte stream, FIN)
 * are simulated: every message crosses it RFC 4571-framed and cut into
 * random pieces, so the agents only ever see what the reader
 * reassembled. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/ice.h"
#include "agents/ice/tcpframe.h"
#include "ice_pair_sim.h"

#define QMAX	 8192
#define CONNS	 32
#define B_UDP	 0
#define B_PASS	 10
#define B_ACT	 11
#define DELAY_MS 5

/* what a queued item is (its kind); its base is the destination
 * connection for K_SYNACK/K_BYTES/K_FIN, the connecting one for K_SYN */
enum kind { K_UDP, K_SYN, K_SYNACK, K_BYTES, K_FIN };

struct conn {
	bool used, open;
	int side, peer; /* the other end's handle, -1 until accepted */
	union ice_addr local, remote;
	struct ice_tcpframe_reader rd;
};

struct side {
	struct ice_agent *ag;
	union ice_addr udp, pass, act_ip;
	bool tcp_unreachable; /* SYNs to this side are dropped (a firewall) */
	int selected, consent_lost, failed, data_rx;
	uint64_t selected_at;
	struct ice_candidate cands[16];
	int ncands;
	struct ice_local sel_l;
	struct ice_candidate sel_r;
	enum ice_state state;
};

struct sim {
	/* clock, queue (FIFO among equal times: a byte stream stays in
	 * order), random source */
	struct ice_pair_sim ps;
	struct side s[2];
	bool udp_blocked;
	struct conn c[CONNS];
	int closes; /* io->tcp_close calls */
};

static struct sim *g;

static uint32_t rnd(void)
{
	return ice_pair_sim_rand(&g->ps);
}

static struct ice_pair_sim_pkt *push(enum kind k, int side, int handle)
{
	struct ice_pair_sim_pkt *e = ice_pair_sim_push(&g->ps, side, handle);
	e->kind = k;
	return e;
}

static int side_of(void *ctx)
{
	return ctx == &g->s[0] ? 0 : 1;
}

/* handles are 100 + slot: never a base id (0, 10, 11) */
static int conn_new(int side, const union ice_addr *local, const union ice_addr *remote)
{
	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &g->c[i];
		if (c->used)
			continue;
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->side = side;
		c->peer = -1;
		c->local = *local;
		c->remote = *remote;
		ice_tcpframe_reader_init(&c->rd);
		return 100 + i;
	}
	fail_msg("out of simulated connections");
	return -1;
}

static struct conn *conn_get(int h)
{
	if (h < 100 || h >= 100 + CONNS || !g->c[h - 100].used)
		return NULL;
	return &g->c[h - 100];
}

static int open_conns(void)
{
	int n = 0;
	for (int i = 0; i < CONNS; i++)
		n += g->c[i].used && g->c[i].open;
	return n;
}

static void io_send(void *ctx, int base_id, const union ice_addr *to, const uint8_t *buf,
		    size_t len)
{
	int si = side_of(ctx);
	struct conn *c;
	uint8_t stream[ICE_TCPFRAME_HDR + 2048];
	size_t off = 0, n;

	if (base_id == B_UDP) {
		struct ice_pair_sim_pkt *e;
		if (g->udp_blocked || !ice_addr_equal(to, &g->s[1 - si].udp))
			return;
		e = ice_pair_sim_push_data(&g->ps, 1 - si, -1, &g->s[si].udp, to, buf, len);
		e->kind = K_UDP;
		return;
	}
	c = conn_get(base_id);
	assert_non_null(c); /* the agent only sends on connections it has */
	assert_int_equal(c->side, si);
	assert_true(c->open);
	assert_true(len <= 2048);
	/* RFC 4571 framing, then the stream in random pieces */
	assert_int_equal(ice_tcpframe_header(stream, len), 0);
	memcpy(stream + ICE_TCPFRAME_HDR, buf, len);
	len += ICE_TCPFRAME_HDR;
	while (off < len) {
		struct ice_pair_sim_pkt *e = push(K_BYTES, 1 - si, c->peer);
		n = 1 + rnd() % 40;
		if (n > len - off)
			n = len - off;
		e->len = n;
		memcpy(e->data, stream + off, n);
		off += n;
	}
}

static int io_tcp_connect(void *ctx, int base_id, const union ice_addr *to)
{
	int si = side_of(ctx);
	union ice_addr local = g->s[si].act_ip;
	struct ice_pair_sim_pkt *e;
	int h;
	assert_int_equal(base_id, B_ACT);
	ice_addr_set_port(&local, (uint16_t)(50000 + rnd() % 10000));
	h = conn_new(si, &local, to);
	e = push(K_SYN, 1 - si, h);
	e->from = local;
	e->to = *to;
	return h;
}

static void io_tcp_close(void *ctx, int h)
{
	struct conn *c = conn_get(h);
	assert_non_null(c);
	assert_int_equal(c->side, side_of(ctx));
	g->closes++;
	if (c->open && conn_get(c->peer))
		push(K_FIN, 1 - c->side, c->peer);
	c->used = false;
}

static void io_event(void *ctx, const struct ice_event *ev)
{
	struct side *s = ctx;
	switch (ev->type) {
	case ICE_EV_CANDIDATE:
		if (s->ncands < 16)
			s->cands[s->ncands++] = *ev->cand;
		break;
	case ICE_EV_STATE:
		s->state = ev->state;
		break;
	case ICE_EV_SELECTED:
	case ICE_EV_SWITCHED:
		s->selected++;
		s->selected_at = g->ps.now;
		s->sel_l = *ev->local;
		s->sel_r = *ev->remote;
		break;
	case ICE_EV_CONSENT_LOST:
		s->consent_lost++;
		break;
	case ICE_EV_FAILED:
		s->failed++;
		break;
	case ICE_EV_DATA:
		s->data_rx++;
		break;
	case ICE_EV_RESTARTED:
		s->ncands = 0;
		break;
	case ICE_EV_LOG:
		if (getenv("ICE_TEST_LOG"))
			fprintf(stderr, "[%d] %llu %s\n", side_of(ctx),
				(unsigned long long)g->ps.now, ev->reason);
		break;
	default:
		break;
	}
}

static void deliver(struct ice_pair_sim *ps, const struct ice_pair_sim_pkt *e)
{
	struct side *d = &g->s[e->side];
	struct conn *c;

	switch ((enum kind)e->kind) {
	case K_UDP:
		ice_agent_recv(d->ag, B_UDP, &e->from, e->data, e->len, ps->now);
		break;
	case K_SYN: {
		int h;
		if (d->tcp_unreachable || !ice_addr_equal(&e->to, &d->pass) || !conn_get(e->base))
			break; /* dropped: the connecting side times out */
		h = conn_new(e->side, &e->to, &e->from);
		conn_get(h)->open = true;
		conn_get(h)->peer = e->base;
		conn_get(e->base)->peer = h;
		ice_agent_tcp_accepted(d->ag, B_PASS, h, &e->from, ps->now);
		push(K_SYNACK, 1 - e->side, e->base);
		break;
	}
	case K_SYNACK:
		c = conn_get(e->base);
		if (!c)
			break;
		c->open = true;
		ice_agent_tcp_connected(d->ag, e->base, ps->now);
		break;
	case K_BYTES: {
		size_t off = 0;
		c = conn_get(e->base);
		while (c && off < e->len) {
			const uint8_t *msg;
			size_t ml;
			off += ice_tcpframe_feed(&c->rd, e->data + off, e->len - off, &msg, &ml);
			if (msg)
				ice_agent_recv(d->ag, e->base, &c->remote, msg, ml, ps->now);
			c = conn_get(e->base); /* the agent may have closed it */
		}
		break;
	}
	case K_FIN:
		c = conn_get(e->base);
		if (!c)
			break;
		c->used = false;
		ice_agent_tcp_closed(d->ag, e->base, ps->now);
		break;
	}
}

static void run(uint64_t until)
{
	struct ice_agent *const ag[2] = {g->s[0].ag, g->s[1].ag};
	ice_pair_sim_run(&g->ps, ag, until);
}

static void side_init(int k, bool controlling, const char *ip)
{
	struct side *s = &g->s[k];
	struct ice_config cfg;
	struct ice_io io = {.ctx = s,
			    .send = io_send,
			    .event = io_event,
			    .tcp_connect = io_tcp_connect,
			    .tcp_close = io_tcp_close};
	memset(&cfg, 0, sizeof(cfg));
	cfg.controlling = controlling;
	cfg.seed = 7 + (uint64_t)k;
	assert_int_equal(ice_agent_new(&cfg, &io, &s->ag), 0);
	ice_pair_sim_addr(&s->udp, ip, 5000);
	ice_pair_sim_addr(&s->pass, ip, 7000);
	ice_pair_sim_addr(&s->act_ip, ip, 0);
	assert_true(ice_agent_add_host(s->ag, 1, ICE_TRANSPORT_UDP, &s->udp, B_UDP, 0) >= 0);
	assert_true(ice_agent_add_tcp_host(s->ag, 1, ICE_TCP_PASSIVE, &s->pass, B_PASS, 0) >= 0);
	assert_true(ice_agent_add_tcp_host(s->ag, 1, ICE_TCP_ACTIVE, &s->act_ip, B_ACT, 0) >= 0);
}

static void sim_new(void)
{
	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	ice_pair_sim_init(&g->ps, QMAX, deliver);
	g->ps.fifo = true;
	g->ps.delay_ms = DELAY_MS;
	g->ps.rng = 42;
	side_init(0, true, "10.0.1.2");
	side_init(1, false, "10.0.2.2");
}

static void sim_free(void)
{
	ice_agent_free(g->s[0].ag);
	ice_agent_free(g->s[1].ag);
	ice_pair_sim_fini(&g->ps);
	free(g);
	g = NULL;
}

/* through the a=candidate text, as the harness relays it */
static void signal_to(int from, int to)
{
	ice_pair_sim_signal(&g->ps, g->s[from].ag, g->s[from].cands, g->s[from].ncands, g->s[to].ag,
			    true);
}

static void gather(void)
{
	ice_agent_gather(g->s[0].ag, false, g->ps.now);
	ice_agent_gather(g->s[1].ag, false, g->ps.now);
	run(g->ps.now + 10);
	assert_int_equal(g->s[0].ncands, 3);
	assert_int_equal(g->s[1].ncands, 3);
}

static void negotiate(void)
{
	gather();
	signal_to(0, 1);
	signal_to(1, 0);
}

static void exchange_data(void)
{
	static const uint8_t d[100] = {0xE1, 1};
	int rx0 = g->s[0].data_rx, rx1 = g->s[1].data_rx;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(ice_agent_send(g->s[0].ag, 1, d, sizeof(d), g->ps.now), 0);
		assert_int_equal(ice_agent_send(g->s[1].ag, 1, d, sizeof(d), g->ps.now), 0);
		run(g->ps.now + 20);
	}
	run(g->ps.now + 50);
	assert_int_equal(g->s[0].data_rx - rx0, 10);
	assert_int_equal(g->s[1].data_rx - rx1, 10);
}

/* ---- framing ------------------------------------------------------------- */

static void t_frame(void **st)
{
	static struct ice_tcpframe_reader r;
	const uint8_t stream[] = {0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'z'};
	const uint8_t *msg;
	size_t ml, off = 0;
	uint8_t hdr[2];
	int got = 0;
	(void)st;
	assert_int_equal(ice_tcpframe_header(hdr, 0x1234), 0);
	assert_int_equal(hdr[0], 0x12);
	assert_int_equal(hdr[1], 0x34);
	assert_int_equal(ice_tcpframe_header(hdr, 65536), -EMSGSIZE);
	/* byte by byte: three frames (one empty) come out whole */
	ice_tcpframe_reader_init(&r);
	while (off < sizeof(stream)) {
		off += ice_tcpframe_feed(&r, stream + off, 1, &msg, &ml);
		if (!msg)
			continue;
		if (got == 0) {
			assert_int_equal(ml, 3);
			assert_memory_equal(msg, "abc", 3);
		} else if (got == 1) {
			assert_int_equal(ml, 0);
		} else {
			assert_int_equal(ml, 1);
			assert_int_equal(msg[0], 'z');
		}
		got++;
	}
	assert_int_equal(got, 3);
	/* in one go: the reader stops at each frame's end */
	ice_tcpframe_reader_init(&r);
	assert_int_equal(ice_tcpframe_feed(&r, stream, sizeof(stream), &msg, &ml), 5);
	assert_non_null(msg);
	assert_int_equal(ml, 3);
}

/* ---- priorities ---------------------------------------------------------- */

static void t_priorities(void **st)
{
	struct ice_config cfg;
	struct ice_io io = {.send = NULL};
	struct ice_agent *ag;
	union ice_addr a1, a2;
	const struct ice_checklist *cl;
	(void)st;
	/* RFC 6544 §4.2: local preference = 2^13 * direction-pref + other-pref */
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_HOST, ICE_TCP_ACTIVE, 8191), 6 * 8192 + 8191);
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_HOST, ICE_TCP_PASSIVE, 8191), 4 * 8192 + 8191);
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_HOST, ICE_TCP_SO, 100), 2 * 8192 + 100);
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_RELAY, ICE_TCP_ACTIVE, 0), 6 * 8192);
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_SRFLX, ICE_TCP_SO, 8191), 6 * 8192 + 8191);
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_SRFLX, ICE_TCP_ACTIVE, 1), 4 * 8192 + 1);
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_PRFLX, ICE_TCP_PASSIVE, 5), 2 * 8192 + 5);
	assert_int_equal(ice_tcp_local_pref(ICE_CAND_HOST, ICE_TCP_ACTIVE, 99999), 6 * 8192 + 8191);

	/* an agent without TCP support in its io refuses TCP candidates */
	memset(&cfg, 0, sizeof(cfg));
	io.send = io_send;
	io.event = io_event;
	assert_int_equal(ice_agent_new(&cfg, &io, &ag), 0);
	ice_pair_sim_addr(&a1, "10.0.0.1", 7000);
	assert_int_equal(ice_agent_add_tcp_host(ag, 1, ICE_TCP_PASSIVE, &a1, 1, 0), -EOPNOTSUPP);
	ice_agent_free(ag);

	/* two addresses: other-pref 8191 then 8190, per tcptype; the active
	 * candidate is signalled on port 9 */
	sim_new();
	ice_pair_sim_addr(&a1, "10.0.3.2", 7001);
	ice_pair_sim_addr(&a2, "10.0.3.2", 0);
	assert_true(ice_agent_add_tcp_host(g->s[0].ag, 1, ICE_TCP_PASSIVE, &a1, 20, 0) >= 0);
	assert_true(ice_agent_add_tcp_host(g->s[0].ag, 1, ICE_TCP_ACTIVE, &a2, 21, 0) >= 0);
	ice_agent_gather(g->s[0].ag, false, 0);
	assert_int_equal(g->s[0].ncands, 5);
	for (int i = 0; i < 5; i++) {
		const struct ice_candidate *c = &g->s[0].cands[i];
		bool second = strcmp(c->foundation, g->s[0].cands[1].foundation) != 0;
		unsigned other = second ? 8190 : 8191;
		if (c->transport != ICE_TRANSPORT_TCP)
			continue;
		/* RFC 8445 §5.1.2.1 with the TCP host type preference */
		assert_int_equal(
		    c->priority,
		    (1u << 24) * ice_type_pref(ICE_CAND_HOST, ICE_TRANSPORT_TCP) +
			(1u << 8) * ice_tcp_local_pref(ICE_CAND_HOST, c->tcptype, other) + 255);
		if (c->tcptype == ICE_TCP_ACTIVE)
			assert_int_equal(ice_addr_port(&c->addr), 9);
	}
	/* RFC 6544 §6.2 pairing: active with passive only, and no pair with a
	 * local passive candidate is checked on its own initiative */
	g->s[1].ncands = 0;
	ice_agent_gather(g->s[1].ag, false, 0);
	signal_to(1, 0);
	cl = ice_agent_checklist(g->s[0].ag);
	/* locals: 0 udp, 1 passive, 2 active (10.0.1.2), 3 passive, 4 active
	 * (10.0.3.2); remotes: udp, passive, active. Pairs: udp-udp and each
	 * active with the remote passive; none on a local passive one. */
	assert_int_equal(cl->n, 3);
	for (unsigned i = 0; i < cl->n; i++) {
		assert_int_not_equal(cl->pairs[i].local, 1);
		assert_int_not_equal(cl->pairs[i].local, 3);
		assert_int_equal(cl->pairs[i].conn, -1); /* no connection before a check */
	}
	sim_free();
}

/* ---- negotiations -------------------------------------------------------- */

/* No UDP gets through: both agents complete over TCP, active -> passive,
 * carry data both ways, keep consent on the connection, and close the
 * connections they no longer need. */
static void t_udp_blocked(void **st)
{
	(void)st;
	sim_new();
	g->udp_blocked = true;
	negotiate();
	run(2000);
	/* 5 ms one way: connect (1 RTT), check (1 RTT), the regular
	 * nomination wait (100 ms: the UDP pairs above are still being
	 * checked), the nominating check (1 RTT) */
	fprintf(stderr, "selected over TCP after %llu / %llu ms\n",
		(unsigned long long)g->s[0].selected_at - 10,
		(unsigned long long)g->s[1].selected_at - 10);
	for (int k = 0; k < 2; k++) {
		assert_true(g->s[k].selected_at < 10 + 200);
		assert_int_equal(g->s[k].selected, 1);
		assert_int_equal(g->s[k].sel_l.c.transport, ICE_TRANSPORT_TCP);
		assert_int_equal(g->s[k].sel_r.transport, ICE_TRANSPORT_TCP);
		assert_int_equal(g->s[k].sel_l.c.type, ICE_CAND_HOST);
		assert_int_equal(g->s[k].sel_r.type, ICE_CAND_HOST);
	}
	/* the highest pair: the controlling agent's active candidate (its
	 * direction-pref 6 beats passive's 4, RFC 6544 §4.2) */
	assert_int_equal(g->s[0].sel_l.c.tcptype, ICE_TCP_ACTIVE);
	assert_int_equal(g->s[0].sel_r.tcptype, ICE_TCP_PASSIVE);
	assert_int_equal(g->s[1].sel_l.c.tcptype, ICE_TCP_PASSIVE);
	assert_int_equal(g->s[1].sel_r.tcptype, ICE_TCP_ACTIVE);
	exchange_data();
	/* the UDP checks time out (39.5 s with default timers), ICE
	 * completes, the other connection is closed; consent freshness keeps
	 * the selected one for minutes */
	run(g->ps.now + 120000);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(g->s[k].state, ICE_STATE_COMPLETED);
		assert_int_equal(g->s[k].consent_lost, 0);
		assert_int_equal(g->s[k].failed, 0);
	}
	assert_int_equal(open_conns(), 2); /* one connection, two ends */
	exchange_data();
	sim_free();
}

/* The controlling agent cannot be reached over TCP (a firewall in front of
 * it drops SYNs): the controlled agent's connection attempt times out and
 * is closed; the pair the controlling agent opens carries the call. */
static void t_one_way(void **st)
{
	(void)st;
	sim_new();
	g->udp_blocked = true;
	g->s[0].tcp_unreachable = true;
	negotiate();
	run(2000);
	assert_int_equal(g->s[0].selected, 1);
	assert_int_equal(g->s[1].selected, 1);
	assert_int_equal(g->s[1].sel_l.c.tcptype, ICE_TCP_PASSIVE);
	exchange_data();
	run(g->ps.now + 60000);
	assert_int_equal(g->s[1].state, ICE_STATE_COMPLETED);
	/* the connection that never came up was given up */
	assert_true(g->closes >= 1);
	assert_int_equal(open_conns(), 2);
	sim_free();
}

/* The selected connection is reset: both agents report consent lost at
 * once, without waiting for the consent timeout. */
static void t_conn_lost(void **st)
{
	(void)st;
	sim_new();
	g->udp_blocked = true;
	negotiate();
	run(2000);
	assert_int_equal(g->s[0].selected, 1);
	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &g->c[i];
		if (c->used && c->open && c->side == 0 &&
		    ice_addr_equal(&c->remote, &g->s[1].pass)) {
			/* a RST seen by both ends */
			push(K_FIN, 1, c->peer);
			push(K_FIN, 0, 100 + i);
		}
	}
	run(g->ps.now + 100);
	assert_int_equal(g->s[0].consent_lost, 1);
	assert_int_equal(g->s[1].consent_lost, 1);
	assert_int_equal(g->s[0].state, ICE_STATE_DISCONNECTED);
	sim_free();
}

/* With UDP open the UDP host pair wins (RFC 6544 §4.2: UDP is preferred) and
 * the TCP connections are closed once ICE completes. */
static void t_udp_preferred(void **st)
{
	(void)st;
	sim_new();
	negotiate();
	run(2000);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(g->s[k].selected, 1);
		assert_int_equal(g->s[k].sel_l.c.transport, ICE_TRANSPORT_UDP);
	}
	run(g->ps.now + 5000);
	assert_int_equal(g->s[0].state, ICE_STATE_COMPLETED);
	assert_int_equal(open_conns(), 0);
	exchange_data();
	sim_free();
}

/* The controlled agent gets the description a second late (its peer's
 * gathering waited for a STUN server that never answered): the
 * controlling agent has checked, and nominated, over TCP meanwhile. The
 * checks that came early (answered, RFC 8445 §7.3) are replayed once the
 * credentials arrive, USE-CANDIDATE included, so the controlled agent
 * selects the nominated pair at once. */
static void t_late_description(void **st)
{
	(void)st;
	sim_new();
	g->udp_blocked = true;
	gather();
	signal_to(1, 0);
	run(1000);
	assert_int_equal(g->s[0].selected, 1);
	assert_int_equal(g->s[1].selected, 0);
	signal_to(0, 1);
	run(1100);
	assert_int_equal(g->s[1].selected, 1);
	assert_true(g->s[1].selected_at <= 1000 + 4 * DELAY_MS);
	assert_int_equal(g->s[1].sel_l.c.transport, ICE_TRANSPORT_TCP);
	assert_int_equal(g->s[1].sel_l.c.tcptype, ICE_TCP_PASSIVE);
	exchange_data();
	sim_free();
}

/* An ICE restart over TCP (RFC 8445 §9): data keeps flowing on the old
 * connection until the new checks (new connections) select again; then
 * the old connection is closed. */
static void t_restart(void **st)
{
	int old = -1;
	(void)st;
	sim_new();
	g->udp_blocked = true;
	negotiate();
	run(2000);
	assert_int_equal(g->s[0].selected, 1);
	old = g->s[0].sel_l.base_id;
	ice_agent_restart(g->s[0].ag, false, g->ps.now);
	run(g->ps.now + 10);
	signal_to(0, 1); /* new credentials: the peer restarts too */
	exchange_data(); /* over the old pair meanwhile */
	signal_to(1, 0);
	run(g->ps.now + 2000);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(g->s[k].selected, 2);
		assert_int_equal(g->s[k].sel_l.c.transport, ICE_TRANSPORT_TCP);
	}
	assert_int_not_equal(g->s[0].sel_l.base_id, old);
	exchange_data();
	run(g->ps.now + 60000);
	assert_int_equal(g->s[0].state, ICE_STATE_COMPLETED);
	assert_null(conn_get(old));
	assert_int_equal(open_conns(), 2);
	exchange_data();
	sim_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_frame),
	    cmocka_unit_test(t_priorities),
	    cmocka_unit_test(t_udp_blocked),
	    cmocka_unit_test(t_one_way),
	    cmocka_unit_test(t_conn_lost),
	    cmocka_unit_test(t_udp_preferred),
	    cmocka_unit_test(t_late_description),
	    cmocka_unit_test(t_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
