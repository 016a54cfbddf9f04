/* ice_negotiate.c - whole ICE negotiations between two natlab agents in
 * memory, on a fake clock: a simulated network with delay, seeded loss, an
 * optional NAT in front of agent A (endpoint-independent mapping,
 * address-and-port-dependent filtering) and a STUN server. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/ice.h"
#include "agents/stun/stun.h"
#include "ice_pair_sim.h"

#define QMAX  4096
#define NBASE 4
#define NPERM 64
/* the queue's "side" for the STUN server */
#define TO_STUN 2

struct side {
	struct ice_agent *ag;
	union ice_addr base[NBASE];
	int nbase;
	bool natted;
	union ice_addr pub;	    /* NAT public IP (port preserved) */
	union ice_addr perm[NPERM]; /* filtering: remote endpoints sent to */
	int nperm;
	/* what the agent reported */
	int selected, switched, consent_lost, failed, restarted, gathered, data_rx;
	uint64_t first_check_at, selected_at; /* fake-clock ms; 0 = not yet */
	enum ice_state state;
	struct ice_candidate cands[16];
	int ncands;
	char sel_local_type[8];
	char sel_remote_type[8];
};

struct sim {
	struct ice_pair_sim ps; /* clock, queue, random source */
	struct side s[2];
	uint32_t loss_pct;
	bool blackhole;
	/* drop what goes to or comes from @cut until @cut_until (ms) */
	union ice_addr cut;
	uint64_t cut_until;
	union ice_addr stun;
	int sent;
};

static struct sim *g_sim;

static void enqueue(struct sim *sm, int agent, int base, const union ice_addr *from,
		    const union ice_addr *to, const uint8_t *buf, size_t len)
{
	if (sm->blackhole)
		return;
	if (sm->ps.now < sm->cut_until &&
	    (ice_addr_equal(from, &sm->cut) || ice_addr_equal(to, &sm->cut)))
		return;
	if (sm->loss_pct && ice_pair_sim_rand(&sm->ps) % 100 < sm->loss_pct)
		return;
	ice_pair_sim_push_data(&sm->ps, agent, base, from, to, buf, len);
}

/* Route a datagram leaving side @si base @bi to @to. */
static void route(struct sim *sm, int si, int bi, const union ice_addr *to, const uint8_t *buf,
		  size_t len)
{
	struct side *s = &sm->s[si];
	union ice_addr from = s->base[bi];
	sm->sent++;
	if (s->natted) {
		/* Endpoint-independent mapping, port preserved. */
		from = s->pub;
		ice_addr_set_port(&from, ice_addr_port(&s->base[bi]));
		if (s->nperm < NPERM)
			s->perm[s->nperm++] = *to;
	}
	if (ice_addr_equal(to, &sm->stun)) {
		enqueue(sm, TO_STUN, 0, &from, to, buf, len);
		return;
	}
	for (int k = 0; k < 2; k++) {
		struct side *d = &sm->s[k];
		for (int b = 0; b < d->nbase; b++) {
			union ice_addr vis = d->base[b];
			if (d->natted) {
				vis = d->pub;
				ice_addr_set_port(&vis, ice_addr_port(&d->base[b]));
			}
			if (ice_addr_equal(&vis, to)) {
				enqueue(sm, k, b, &from, to, buf, len);
				return;
			}
		}
	}
	/* no such address: dropped */
}

static void io_send(void *ctx, int base_id, const union ice_addr *to, const uint8_t *buf,
		    size_t len)
{
	struct side *s = ctx;
	int si = s == &g_sim->s[0] ? 0 : 1;
	route(g_sim, si, base_id, to, buf, len);
}

static void io_event(void *ctx, const struct ice_event *ev)
{
	struct side *s = ctx;
	switch (ev->type) {
	case ICE_EV_CANDIDATE:
		if (s->ncands < 16)
			s->cands[s->ncands++] = *ev->cand;
		break;
	case ICE_EV_GATHERING_DONE:
		s->gathered++;
		break;
	case ICE_EV_STATE:
		s->state = ev->state;
		if (getenv("ICE_TEST_LOG"))
			fprintf(stderr, "[%d] t=%llu state %s\n", s == &g_sim->s[0] ? 0 : 1,
				(unsigned long long)g_sim->ps.now, ice_state_name(ev->state));
		break;
	case ICE_EV_SELECTED:
	case ICE_EV_SWITCHED:
		if (ev->type == ICE_EV_SELECTED && !s->selected)
			s->selected_at = g_sim->ps.now;
		if (ev->type == ICE_EV_SELECTED)
			s->selected++;
		else
			s->switched++;
		snprintf(s->sel_local_type, sizeof(s->sel_local_type), "%s",
			 ice_cand_type_name(ev->local->c.type));
		snprintf(s->sel_remote_type, sizeof(s->sel_remote_type), "%s",
			 ice_cand_type_name(ev->remote->type));
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
		s->restarted++;
		s->ncands = 0;
		s->gathered = 0;
		break;
	case ICE_EV_LOG:
		if (!s->first_check_at && strstr(ev->reason, " check "))
			s->first_check_at = g_sim->ps.now;
		if (getenv("ICE_TEST_LOG"))
			fprintf(stderr, "[%d] %s\n", s == &g_sim->s[0] ? 0 : 1, ev->reason);
		break;
	}
}

static void stun_server_answer(struct sim *sm, const struct ice_pair_sim_pkt *p)
{
	struct stun_msg m;
	struct stun_builder b;
	struct stun_addr sa;
	uint8_t out[256];
	long n;
	if (stun_msg_decode(&m, p->data, p->len, 0, NULL) < 0 || m.cls != STUN_CLASS_REQUEST)
		return;
	stun_builder_init(&b, out, sizeof(out),
			  stun_type_make(STUN_CLASS_SUCCESS, STUN_METHOD_BINDING), m.tid);
	stun_addr_from_sockaddr(&sa, &p->from.sa, ice_addr_len(&p->from));
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	assert_true(n > 0);
	/* back to whoever sent it */
	for (int k = 0; k < 2; k++) {
		struct side *d = &sm->s[k];
		for (int bi = 0; bi < d->nbase; bi++) {
			union ice_addr vis = d->base[bi];
			if (d->natted) {
				vis = d->pub;
				ice_addr_set_port(&vis, ice_addr_port(&d->base[bi]));
			}
			if (ice_addr_equal(&vis, &p->from))
				enqueue(sm, k, bi, &sm->stun, &p->from, out, (size_t)n);
		}
	}
}

static bool nat_allows(const struct side *s, const union ice_addr *from)
{
	/* address-and-port-dependent filtering */
	for (int i = 0; i < s->nperm; i++)
		if (ice_addr_equal(&s->perm[i], from))
			return true;
	return false;
}

/* A due datagram: answered by the STUN server, or through A's NAT
 * filter (if any) to its agent. */
static void deliver(struct ice_pair_sim *ps, const struct ice_pair_sim_pkt *p)
{
	struct sim *sm = g_sim;
	struct side *d;
	if (p->side == TO_STUN) {
		stun_server_answer(sm, p);
		return;
	}
	d = &sm->s[p->side];
	if (d->natted && !ice_addr_equal(&p->from, &sm->stun) && !nat_allows(d, &p->from))
		return;
	ice_agent_recv(d->ag, p->base, &p->from, p->data, p->len, ps->now);
}

/* Run until @until_ms, delivering packets and firing timers. */
static void run(struct sim *sm, uint64_t until_ms)
{
	struct ice_agent *const ag[2] = {sm->s[0].ag, sm->s[1].ag};
	ice_pair_sim_run(&sm->ps, ag, until_ms);
}

static void side_init(struct sim *sm, int k, const struct ice_config *cfg, const char *ip,
		      unsigned components)
{
	struct side *s = &sm->s[k];
	struct ice_io io = {.ctx = s, .send = io_send, .event = io_event};
	assert_int_equal(ice_agent_new(cfg, &io, &s->ag), 0);
	for (unsigned c = 1; c <= components; c++) {
		ice_pair_sim_addr(&s->base[s->nbase], ip, (uint16_t)(40000 + 10 * k + c));
		assert_true(ice_agent_add_host(s->ag, c, ICE_TRANSPORT_UDP, &s->base[s->nbase],
					       s->nbase, sm->ps.now) >= 0);
		s->nbase++;
	}
}

static struct sim *sim_new(uint64_t seed)
{
	struct sim *sm = calloc(1, sizeof(*sm));
	assert_non_null(sm);
	ice_pair_sim_init(&sm->ps, QMAX, deliver);
	sm->ps.rng = seed;
	ice_pair_sim_addr(&sm->stun, "198.51.100.1", 3478);
	g_sim = sm;
	return sm;
}

static void sim_free(struct sim *sm)
{
	ice_agent_free(sm->s[0].ag);
	ice_agent_free(sm->s[1].ag);
	ice_pair_sim_fini(&sm->ps);
	free(sm);
}

/* Signal side @from's credentials and candidates to side @to, through
 * the text form, as the harness does. */
static void signal_to(struct sim *sm, int from, int to)
{
	ice_pair_sim_signal(&sm->ps, sm->s[from].ag, sm->s[from].cands, sm->s[from].ncands,
			    sm->s[to].ag, true);
}

static void gather_both(struct sim *sm, uint64_t ms)
{
	ice_agent_gather(sm->s[0].ag, false, sm->ps.now);
	ice_agent_gather(sm->s[1].ag, false, sm->ps.now);
	run(sm, sm->ps.now + ms);
	assert_int_equal(sm->s[0].gathered, 1);
	assert_int_equal(sm->s[1].gathered, 1);
}

static struct ice_config base_cfg(bool controlling, uint64_t seed)
{
	struct ice_config c;
	memset(&c, 0, sizeof(c));
	c.controlling = controlling;
	c.seed = seed;
	c.ta_ms = 20;
	c.rto_ms = 100;
	return c;
}

static void dump(struct sim *sm)
{
	if (!getenv("ICE_TEST_LOG"))
		return;
	for (int k = 0; k < 2; k++) {
		const struct ice_checklist *cl = ice_agent_checklist(sm->s[k].ag);
		for (unsigned i = 0; i < cl->n; i++)
			fprintf(stderr, "[%d] pair %u c%u %s valid=%d nom=%d tx=%d\n", k, i,
				cl->pairs[i].component, ice_pair_state_name(cl->pairs[i].state),
				cl->pairs[i].valid, cl->pairs[i].nominated, cl->pairs[i].tx_active);
	}
}

static void assert_same_pair(struct sim *sm, unsigned comp)
{
	const struct ice_local *la, *lb;
	const struct ice_candidate *ra, *rb;
	assert_true(ice_agent_selected(sm->s[0].ag, comp, &la, &ra));
	assert_true(ice_agent_selected(sm->s[1].ag, comp, &lb, &rb));
	/* what A sends to is where B's packets come from, and back */
	assert_true(ice_addr_equal(&ra->addr, &lb->c.addr));
	assert_true(ice_addr_equal(&rb->addr, &la->c.addr));
}

static void test_host_host(void **st)
{
	struct sim *sm = sim_new(1);
	struct ice_config a = base_cfg(true, 11), b = base_cfg(false, 22);
	uint8_t msg[] = "hello";
	(void)st;
	side_init(sm, 0, &a, "10.0.0.1", 1);
	side_init(sm, 1, &b, "10.0.0.2", 1);
	gather_both(sm, 10);
	assert_int_equal(sm->s[0].ncands, 1);
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 1000);
	dump(sm);
	assert_int_equal(sm->s[0].selected, 1);
	assert_int_equal(sm->s[1].selected, 1);
	assert_string_equal(sm->s[0].sel_local_type, "host");
	assert_string_equal(sm->s[1].sel_remote_type, "host");
	assert_int_equal(sm->s[0].state, ICE_STATE_COMPLETED);
	assert_same_pair(sm, 1);
	/* the check list as reported: one host pair, succeeded, nominated,
	 * the same ends as the selected pair; nothing past the end */
	for (int k = 0; k < 2; k++) {
		struct ice_pair_info pi;
		const struct ice_local *sl;
		const struct ice_candidate *sr;
		assert_int_equal(ice_agent_pair_count(sm->s[k].ag), 1);
		assert_true(ice_agent_pair_info(sm->s[k].ag, 0, &pi));
		assert_false(ice_agent_pair_info(sm->s[k].ag, 1, &pi));
		assert_int_equal(pi.state, ICE_PAIR_SUCCEEDED);
		assert_true(pi.valid && pi.nominated);
		assert_true(pi.checks >= 1);
		assert_true(ice_agent_selected(sm->s[k].ag, 1, &sl, &sr));
		assert_true(ice_addr_equal(&pi.local->c.addr, &sl->c.addr));
		assert_true(ice_addr_equal(&pi.remote->addr, &sr->addr));
	}
	assert_int_equal(ice_agent_send(sm->s[0].ag, 1, msg, 5, sm->ps.now), 0);
	assert_int_equal(ice_agent_send(sm->s[1].ag, 1, msg, 5, sm->ps.now), 0);
	run(sm, sm->ps.now + 50);
	assert_int_equal(sm->s[0].data_rx, 1);
	assert_int_equal(sm->s[1].data_rx, 1);
	sim_free(sm);
}

static void test_two_components_aggressive(void **st)
{
	struct sim *sm = sim_new(2);
	struct ice_config a = base_cfg(true, 1), b = base_cfg(false, 2);
	(void)st;
	a.components = b.components = 2;
	a.aggressive = b.aggressive = true;
	side_init(sm, 0, &a, "10.0.0.1", 2);
	side_init(sm, 1, &b, "10.0.0.2", 2);
	gather_both(sm, 10);
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 1000);
	dump(sm);
	assert_int_equal(sm->s[0].selected, 2);
	assert_int_equal(sm->s[1].selected, 2);
	assert_same_pair(sm, 1);
	assert_same_pair(sm, 2);
	assert_true(sm->s[1].state == ICE_STATE_CONNECTED || sm->s[1].state == ICE_STATE_COMPLETED);
	sim_free(sm);
}

static void test_loss(void **st)
{
	/* 40% loss each way: retransmissions and triggered checks still get
	 * both sides onto the same pair. */
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct sim *sm = sim_new(seed * 7919);
		struct ice_config a = base_cfg(true, seed), b = base_cfg(false, seed + 100);
		(void)st;
		side_init(sm, 0, &a, "10.0.0.1", 1);
		side_init(sm, 1, &b, "10.0.0.2", 1);
		gather_both(sm, 10);
		sm->loss_pct = 40;
		signal_to(sm, 0, 1);
		signal_to(sm, 1, 0);
		run(sm, sm->ps.now + 20000);
		assert_int_equal(sm->s[0].selected, 1);
		assert_int_equal(sm->s[1].selected, 1);
		assert_same_pair(sm, 1);
		sim_free(sm);
	}
}

static void test_role_conflict(void **st)
{
	/* Both start controlling; the 487 repair leaves exactly one
	 * controlling agent, and they agree on a pair. */
	for (int both = 0; both < 2; both++) {
		struct sim *sm = sim_new(3);
		struct ice_config a = base_cfg(true, 5), b = base_cfg(true, 6);
		(void)st;
		if (both) {
			a.controlling = b.controlling = false;
		}
		a.tiebreaker = 1000;
		b.tiebreaker = 2000;
		side_init(sm, 0, &a, "10.0.0.1", 1);
		side_init(sm, 1, &b, "10.0.0.2", 1);
		gather_both(sm, 10);
		signal_to(sm, 0, 1);
		signal_to(sm, 1, 0);
		run(sm, sm->ps.now + 2000);
		/* higher tie-breaker wins the controlling role */
		assert_false(ice_agent_controlling(sm->s[0].ag));
		assert_true(ice_agent_controlling(sm->s[1].ag));
		assert_int_equal(sm->s[0].selected, 1);
		assert_int_equal(sm->s[1].selected, 1);
		assert_same_pair(sm, 1);
		sim_free(sm);
	}
}

static void test_nat_srflx_and_prflx(void **st)
{
	/* A behind a NAT with address-and-port-dependent filtering, B public.
	 * A learns a srflx candidate; B can only reach A after A's check
	 * opened the NAT: B learns A as peer-reflexive or srflx. */
	struct sim *sm = sim_new(4);
	struct ice_config a = base_cfg(true, 7), b = base_cfg(false, 8);
	(void)st;
	a.stun[0] = sm->stun;
	a.n_stun = 1;
	b.stun[0] = sm->stun;
	b.n_stun = 1;
	side_init(sm, 0, &a, "192.168.1.10", 1);
	side_init(sm, 1, &b, "203.0.113.20", 1);
	sm->s[0].natted = true;
	ice_pair_sim_addr(&sm->s[0].pub, "203.0.113.1", 0);
	gather_both(sm, 200);
	assert_int_equal(sm->s[0].ncands, 2); /* host + srflx */
	assert_int_equal(sm->s[0].cands[1].type, ICE_CAND_SRFLX);
	assert_int_equal(sm->s[1].ncands, 1); /* public: srflx == host, dropped */
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 3000);
	assert_int_equal(sm->s[0].selected, 1);
	assert_int_equal(sm->s[1].selected, 1);
	assert_string_equal(sm->s[0].sel_local_type, "srflx");
	assert_string_equal(sm->s[1].sel_remote_type, "srflx");
	sim_free(sm);
}

static void test_policy_nohost(void **st)
{
	/* --policy nohost: the host candidate is not signalled, only the
	 * server-reflexive one, and the agents still connect through it. */
	struct sim *sm = sim_new(9);
	struct ice_config a = base_cfg(true, 21), b = base_cfg(false, 22);
	(void)st;
	a.policy = ICE_POLICY_NOHOST;
	a.stun[0] = sm->stun;
	a.n_stun = 1;
	side_init(sm, 0, &a, "192.168.1.10", 1);
	side_init(sm, 1, &b, "203.0.113.20", 1);
	sm->s[0].natted = true;
	ice_pair_sim_addr(&sm->s[0].pub, "203.0.113.1", 0);
	gather_both(sm, 200);
	assert_int_equal(sm->s[0].ncands, 1);
	assert_int_equal(sm->s[0].cands[0].type, ICE_CAND_SRFLX);
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 3000);
	assert_int_equal(sm->s[0].selected, 1);
	assert_int_equal(sm->s[1].selected, 1);
	assert_string_equal(sm->s[1].sel_remote_type, "srflx");
	sim_free(sm);
}

static void test_relay_candidates(void **st)
{
	/* Relayed candidates through the pure interface: A's only way out is a
	 * relay whose base the caller wraps (here: the relay is simulated as
	 * a public address of A's own, reachable by B). */
	struct sim *sm = sim_new(10);
	struct ice_config a = base_cfg(true, 23), b = base_cfg(false, 24);
	union ice_addr relayed, server, mapped;
	(void)st;
	a.policy = ICE_POLICY_RELAY;
	sm->s[0].ag = NULL;
	{
		struct ice_io io = {.ctx = &sm->s[0], .send = io_send, .event = io_event};
		assert_int_equal(ice_agent_new(&a, &io, &sm->s[0].ag), 0);
	}
	/* base 0 of side A is the relay's public face */
	ice_pair_sim_addr(&relayed, "198.51.100.7", 50000);
	ice_pair_sim_addr(&server, "198.51.100.7", 3478);
	ice_pair_sim_addr(&mapped, "203.0.113.1", 40000);
	sm->s[0].base[0] = relayed;
	sm->s[0].nbase = 1;
	side_init(sm, 1, &b, "203.0.113.20", 1);
	ice_agent_gather(sm->s[0].ag, true, sm->ps.now);
	ice_agent_gather(sm->s[1].ag, false, sm->ps.now);
	run(sm, sm->ps.now + 10);
	assert_int_equal(sm->s[0].gathered, 0); /* waiting for the relay */
	assert_true(ice_agent_add_relay(sm->s[0].ag, 1, &relayed, &server, &mapped,
					ICE_RELAY_VIA_UDP, 0, sm->ps.now) >= 0);
	ice_agent_gather_done(sm->s[0].ag, sm->ps.now);
	assert_int_equal(sm->s[0].gathered, 1);
	assert_int_equal(sm->s[0].ncands, 1);
	assert_int_equal(sm->s[0].cands[0].type, ICE_CAND_RELAY);
	assert_true(sm->s[0].cands[0].has_related);
	/* RFC 8445 §5.1.2.2: relayed candidates have type preference 0 */
	assert_int_equal(sm->s[0].cands[0].priority >> 24, 0);
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 2000);
	assert_int_equal(sm->s[0].selected, 1);
	assert_string_equal(sm->s[0].sel_local_type, "relay");
	assert_string_equal(sm->s[1].sel_remote_type, "relay");
	/* a restart keeps the allocation and signals it again */
	ice_agent_restart(sm->s[0].ag, false, sm->ps.now);
	assert_int_equal(sm->s[0].restarted, 1);
	assert_int_equal(sm->s[0].ncands, 1);
	assert_int_equal(sm->s[0].cands[0].type, ICE_CAND_RELAY);
	sim_free(sm);
}

/* A (controlling) with a host candidate and a relayed one, whose public
 * face is A's base 1 (as in test_relay_candidates); B with a host
 * candidate; A's host path cut for its first @cut_ms, so the relayed pair
 * is valid first. Both agents with --nominate-relay-first when
 * @relay_first. Gathered and signalled, not yet run. */
static struct sim *relay_cut_sim(uint64_t seed, bool relay_first, uint64_t cut_ms)
{
	struct sim *sm = sim_new(seed);
	struct ice_config a = base_cfg(true, seed), b = base_cfg(false, seed + 1);
	union ice_addr relayed, server, mapped;

	a.relay_first = relay_first;
	b.relay_first = relay_first;
	side_init(sm, 0, &a, "203.0.113.10", 1);
	ice_pair_sim_addr(&relayed, "198.51.100.7", 50000);
	ice_pair_sim_addr(&server, "198.51.100.7", 3478);
	ice_pair_sim_addr(&mapped, "203.0.113.10", 40001);
	sm->s[0].base[1] = relayed;
	sm->s[0].nbase = 2;
	side_init(sm, 1, &b, "203.0.113.20", 1);
	sm->cut = sm->s[0].base[0];
	sm->cut_until = sm->ps.now + cut_ms;
	ice_agent_gather(sm->s[0].ag, true, sm->ps.now);
	ice_agent_gather(sm->s[1].ag, false, sm->ps.now);
	run(sm, sm->ps.now + 10);
	assert_true(ice_agent_add_relay(sm->s[0].ag, 1, &relayed, &server, &mapped,
					ICE_RELAY_VIA_UDP, 1, sm->ps.now) >= 0);
	ice_agent_gather_done(sm->s[0].ag, sm->ps.now);
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	return sm;
}

static void test_relay_first_switches(void **st)
{
	/* natlab-ice --nominate-relay-first (the behaviour of stacks that
	 * switch after selecting): the relayed pair is valid first and is
	 * nominated at once; once a retransmitted direct check gets
	 * through, the direct pair is nominated too and both sides switch
	 * to it (tests/cli/wire_verdicts.sh checks the same on the wire). */
	struct sim *sm = relay_cut_sim(31, true, 300);
	(void)st;
	run(sm, sm->ps.now + 250);
	/* on the relay, before the direct path opened */
	assert_int_equal(sm->s[0].selected, 1);
	assert_int_equal(sm->s[1].selected, 1);
	assert_string_equal(sm->s[0].sel_local_type, "relay");
	assert_string_equal(sm->s[1].sel_remote_type, "relay");
	assert_int_equal(sm->s[0].switched + sm->s[1].switched, 0);
	run(sm, sm->ps.now + 3000);
	dump(sm);
	/* then direct, on both sides, each with one switch */
	assert_int_equal(sm->s[0].switched, 1);
	assert_int_equal(sm->s[1].switched, 1);
	assert_string_equal(sm->s[0].sel_local_type, "host");
	assert_string_equal(sm->s[0].sel_remote_type, "host");
	assert_string_equal(sm->s[1].sel_remote_type, "host");
	sim_free(sm);
}

/* Without the option, a cut longer than the wait for the direct checks
 * (at most 1.5 s, ice.c nominate_at): the relay nominated when the wait
 * ran out stays selected (RFC 8445 §8.1.1: no second nomination)
 * although the direct pair turns valid later. */
static void test_relay_not_first_by_default(void **st)
{
	struct sim *sm = relay_cut_sim(33, false, 2000);
	(void)st;
	run(sm, sm->ps.now + 5000);
	assert_int_equal(sm->s[0].selected, 1);
	assert_int_equal(sm->s[1].selected, 1);
	assert_int_equal(sm->s[0].switched + sm->s[1].switched, 0);
	assert_string_equal(sm->s[0].sel_local_type, "relay");
	sim_free(sm);
}

static void test_prflx_unsignalled(void **st)
{
	/* A signals nothing (no STUN server, host unreachable for B): B only
	 * learns A through A's checks, as a peer-reflexive candidate. */
	struct sim *sm = sim_new(5);
	struct ice_config a = base_cfg(true, 9), b = base_cfg(false, 10);
	(void)st;
	side_init(sm, 0, &a, "192.168.1.10", 1);
	side_init(sm, 1, &b, "203.0.113.20", 1);
	sm->s[0].natted = true;
	ice_pair_sim_addr(&sm->s[0].pub, "203.0.113.1", 0);
	gather_both(sm, 10);
	signal_to(sm, 0, 1); /* B gets A's private host: unreachable */
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 3000);
	assert_int_equal(sm->s[0].selected, 1);
	assert_int_equal(sm->s[1].selected, 1);
	assert_string_equal(sm->s[1].sel_remote_type, "prflx");
	assert_string_equal(sm->s[0].sel_local_type, "prflx");
	sim_free(sm);
}

static void test_consent_lost_and_restart(void **st)
{
	struct sim *sm = sim_new(6);
	struct ice_config a = base_cfg(true, 12), b = base_cfg(false, 13);
	uint8_t msg[] = "x";
	(void)st;
	a.keepalive_ms = b.keepalive_ms = 200;
	a.consent_timeout_ms = b.consent_timeout_ms = 1000;
	side_init(sm, 0, &a, "10.0.0.1", 1);
	side_init(sm, 1, &b, "10.0.0.2", 1);
	gather_both(sm, 10);
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 1000);
	assert_int_equal(sm->s[0].selected, 1);
	/* consent keeps the pair alive while the path works */
	run(sm, sm->ps.now + 3000);
	assert_int_equal(sm->s[0].consent_lost, 0);
	sm->blackhole = true;
	run(sm, sm->ps.now + 800);
	assert_int_equal(sm->s[0].consent_lost, 0); /* not before the timeout */
	run(sm, sm->ps.now + 400);
	assert_int_equal(sm->s[0].consent_lost, 1);
	assert_int_equal(sm->s[1].consent_lost, 1);
	assert_int_equal(sm->s[0].state, ICE_STATE_DISCONNECTED);
	assert_int_equal(ice_agent_send(sm->s[0].ag, 1, msg, 1, sm->ps.now), -ENOTCONN);
	/* ICE restart once the path is back */
	sm->blackhole = false;
	ice_agent_restart(sm->s[0].ag, false, sm->ps.now);
	assert_int_equal(sm->s[0].restarted, 1);
	run(sm, sm->ps.now + 10);
	signal_to(sm, 0, 1); /* B sees new credentials: restarts too */
	assert_int_equal(sm->s[1].restarted, 1);
	run(sm, sm->ps.now + 10);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 1000);
	dump(sm);
	assert_int_equal(sm->s[0].selected, 2);
	assert_int_equal(sm->s[1].selected, 2);
	assert_same_pair(sm, 1);
	assert_int_equal(ice_agent_send(sm->s[0].ag, 1, msg, 1, sm->ps.now), 0);
	sim_free(sm);
}

static void test_trickle_failure_waits_for_end(void **st)
{
	/* Trickled remote candidates that cannot work: the agent fails only
	 * after end-of-candidates. */
	struct sim *sm = sim_new(7);
	struct ice_config a = base_cfg(true, 14), b = base_cfg(false, 15);
	struct ice_candidate c;
	const char *line = "candidate:1 1 udp 2130706431 10.9.9.9 9 typ host";
	(void)st;
	a.trickle = true;
	a.max_tx = 2;
	side_init(sm, 0, &a, "10.0.0.1", 1);
	side_init(sm, 1, &b, "10.0.0.2", 1);
	gather_both(sm, 10);
	assert_int_equal(
	    ice_agent_set_remote(sm->s[0].ag, "abcd", "0123456789012345678901", sm->ps.now), 0);
	assert_int_equal(ice_candidate_parse(line, strlen(line), &c), 0);
	assert_int_equal(ice_agent_add_remote(sm->s[0].ag, &c, sm->ps.now), 0);
	run(sm, sm->ps.now + 10000);
	assert_int_equal(sm->s[0].failed, 0);
	ice_agent_remote_done(sm->s[0].ag, sm->ps.now);
	run(sm, sm->ps.now + 10);
	assert_int_equal(sm->s[0].failed, 1);
	assert_int_equal(sm->s[0].state, ICE_STATE_FAILED);
	sim_free(sm);
}

static void test_pacing(void **st)
{
	/* RFC 8445 §6.1.4.2 / §14.2: one new check per Ta. Four remote
	 * candidates, unreachable: the first transmissions of the four checks
	 * are Ta apart. */
	struct sim *sm = sim_new(8);
	struct ice_config a = base_cfg(true, 16), b = base_cfg(false, 17);
	(void)st;
	a.ta_ms = 50;
	a.rto_ms = 10000; /* no retransmission inside the window */
	side_init(sm, 0, &a, "10.0.0.1", 1);
	side_init(sm, 1, &b, "10.0.0.2", 1);
	gather_both(sm, 10);
	assert_int_equal(
	    ice_agent_set_remote(sm->s[0].ag, "abcd", "0123456789012345678901", sm->ps.now), 0);
	for (int i = 0; i < 4; i++) {
		char line[128];
		struct ice_candidate c;
		snprintf(line, sizeof(line), "candidate:%d 1 udp %u 10.9.9.%d 9 typ host", i + 1,
			 2130706431u - (unsigned)i, i + 1);
		assert_int_equal(ice_candidate_parse(line, strlen(line), &c), 0);
		assert_int_equal(ice_agent_add_remote(sm->s[0].ag, &c, sm->ps.now), 0);
	}
	run(sm, sm->ps.now + 120);
	assert_int_equal(ice_agent_checks_sent(sm->s[0].ag), 3); /* t=0, 50, 100 */
	run(sm, sm->ps.now + 60);
	assert_int_equal(ice_agent_checks_sent(sm->s[0].ag), 4);
	sim_free(sm);
}

/* Both behind address-and-port-dependent NATs, 100 ms one way (RTT 200),
 * default Ta (50), RTO and nomination wait (100): the host-host checks go
 * to private addresses of the other network and are never answered; the
 * host -> srflx pair is valid one RTT after its check. The higher-priority
 * host-host check has then been unanswered for longer than that round
 * trip: waiting nominate_wait_ms for it cannot make it win (its
 * retransmission is an RTO away), so the controlling agent nominates at
 * once. Selected on both sides within first check + 2 RTT + 2 Ta: one Ta
 * for the pair's check slot, one for the nominating check's; waiting the
 * 100 ms too took 550 ms. */
static void test_nomination_not_held_by_unanswerable_pair(void **st)
{
	struct sim *sm = sim_new(9);
	struct ice_config a, b;
	uint64_t t0;
	(void)st;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.controlling = true;
	a.seed = 18;
	b.seed = 19;
	a.stun[0] = b.stun[0] = sm->stun;
	a.n_stun = b.n_stun = 1;
	sm->ps.delay_ms = 100;
	side_init(sm, 0, &a, "192.168.1.10", 1);
	side_init(sm, 1, &b, "192.168.2.10", 1);
	sm->s[0].natted = sm->s[1].natted = true;
	ice_pair_sim_addr(&sm->s[0].pub, "203.0.113.1", 0);
	ice_pair_sim_addr(&sm->s[1].pub, "203.0.113.2", 0);
	gather_both(sm, 1000);
	signal_to(sm, 0, 1);
	signal_to(sm, 1, 0);
	run(sm, sm->ps.now + 3000);
	assert_int_equal(sm->s[0].selected, 1);
	assert_int_equal(sm->s[1].selected, 1);
	assert_string_equal(sm->s[0].sel_remote_type, "srflx");
	assert_same_pair(sm, 1);
	t0 = sm->s[0].first_check_at < sm->s[1].first_check_at ? sm->s[0].first_check_at
							       : sm->s[1].first_check_at;
	assert_true(t0 > 0);
	if (getenv("ICE_TEST_LOG"))
		fprintf(stderr, "first check %llu, selected %llu / %llu\n", (unsigned long long)t0,
			(unsigned long long)sm->s[0].selected_at,
			(unsigned long long)sm->s[1].selected_at);
	assert_in_range(sm->s[0].selected_at, t0 + 400, t0 + 400 + 2 * 50);
	assert_in_range(sm->s[1].selected_at, t0 + 300, t0 + 400 + 2 * 50);
	sim_free(sm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_host),
	    cmocka_unit_test(test_two_components_aggressive),
	    cmocka_unit_test(test_loss),
	    cmocka_unit_test(test_role_conflict),
	    cmocka_unit_test(test_nat_srflx_and_prflx),
	    cmocka_unit_test(test_prflx_unsignalled),
	    cmocka_unit_test(test_policy_nohost),
	    cmocka_unit_test(test_relay_candidates),
	    cmocka_unit_test(test_relay_first_switches),
	    cmocka_unit_test(test_relay_not_first_by_default),
	    cmocka_unit_test(test_consent_lost_and_restart),
	    cmocka_unit_test(test_trickle_failure_waits_for_end),
	    cmocka_unit_test(test_pacing),
	    cmocka_unit_test(test_nomination_not_held_by_unanswerable_pair),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
