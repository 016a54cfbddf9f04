/* ice_pair_sim.h - two ICE agents on a fake clock: the harness shared by
 * the ICE unit tests (ice_negotiate.c, ice_restart.c, ice_tcp.c; included
 * by each, not a test itself).
 *
 * It holds the clock, a seeded random source, and a queue of items (a
 * datagram, or whatever the test's network carries: a SYN, a piece of a
 * byte stream) each due at a time; ice_pair_sim_run() fires both agents'
 * timers and hands every due item to the test's deliver callback. The
 * network itself (who reaches whom, a NAT, TCP) is the test's: its
 * io->send pushes items, its deliver callback gives them to an agent or
 * drops them. The agents are the test's too (created, fed and freed by
 * it); the harness only ticks them.
 */
#ifndef NATLAB_TESTS_ICE_PAIR_SIM_H
#define NATLAB_TESTS_ICE_PAIR_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/ice.h"

#define ICE_PAIR_SIM_PKT_MAX 1500 /* one Ethernet MTU: any datagram the agents send */

struct ice_pair_sim_pkt {
	uint64_t at;  /* due time (ms) */
	uint64_t seq; /* push order */
	int kind;     /* the test's own (0 where it has one kind) */
	int side;     /* destination: agent 0 or 1, or the test's own (a server) */
	int base;     /* destination base id, or connection handle */
	union ice_addr from, to;
	size_t len;
	uint8_t data[ICE_PAIR_SIM_PKT_MAX];
};

struct ice_pair_sim;
/* @p is due: hand it to its agent, or drop it. It may push new items. */
typedef void (*ice_pair_sim_deliver_fn)(struct ice_pair_sim *ps,
					const struct ice_pair_sim_pkt *p);
/* optional: after each instant's deliveries, before the clock moves */
typedef void (*ice_pair_sim_instant_fn)(struct ice_pair_sim *ps);

struct ice_pair_sim {
	uint64_t now; /* ms */
	uint64_t seq, rng;
	uint32_t delay_ms; /* from push to delivery: 5 unless the test says */
	/* due items in push order (a byte stream must stay in order); when
	 * false, in queue order, which reorders same-instant datagrams */
	bool fifo;
	struct ice_pair_sim_pkt *q;
	int nq, qmax;
	ice_pair_sim_deliver_fn deliver;
	ice_pair_sim_instant_fn instant_done;
};

static inline void ice_pair_sim_init(struct ice_pair_sim *ps, int qmax,
				     ice_pair_sim_deliver_fn deliver)
{
	memset(ps, 0, sizeof(*ps));
	ps->q = calloc((size_t)qmax, sizeof(*ps->q));
	assert_non_null(ps->q);
	ps->qmax = qmax;
	ps->delay_ms = 5;
	ps->deliver = deliver;
}

/* Frees the queue (not the agents: they are the test's). */
static inline void ice_pair_sim_fini(struct ice_pair_sim *ps)
{
	free(ps->q);
	ps->q = NULL;
}

/* a 64-bit LCG: the same sequence for the same seed on every machine */
static inline uint32_t ice_pair_sim_rand(struct ice_pair_sim *ps)
{
	ps->rng = ps->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(ps->rng >> 33);
}

static inline void ice_pair_sim_addr(union ice_addr *a, const char *ip, uint16_t port)
{
	assert_int_equal(ice_addr_from_text(a, ip, port), 0);
}

/* A new item for @side / @base, due delay_ms from now, with no payload;
 * the caller fills the rest. */
static inline struct ice_pair_sim_pkt *ice_pair_sim_push(struct ice_pair_sim *ps, int side,
							 int base)
{
	struct ice_pair_sim_pkt *p;
	assert_true(ps->nq < ps->qmax);
	p = &ps->q[ps->nq++];
	memset(p, 0, offsetof(struct ice_pair_sim_pkt, data));
	p->at = ps->now + ps->delay_ms;
	p->seq = ps->seq++;
	p->side = side;
	p->base = base;
	return p;
}

/* A datagram @from -> @to carrying @buf. */
static inline struct ice_pair_sim_pkt *
ice_pair_sim_push_data(struct ice_pair_sim *ps, int side, int base, const union ice_addr *from,
		       const union ice_addr *to, const uint8_t *buf, size_t len)
{
	struct ice_pair_sim_pkt *p;
	assert_true(len <= ICE_PAIR_SIM_PKT_MAX);
	p = ice_pair_sim_push(ps, side, base);
	p->from = *from;
	p->to = *to;
	p->len = len;
	memcpy(p->data, buf, len);
	return p;
}

/* the index of the next due item, or -1 */
static inline int ice_pair_sim_next_due(const struct ice_pair_sim *ps)
{
	int best = -1;
	for (int i = 0; i < ps->nq; i++) {
		if (ps->q[i].at > ps->now)
			continue;
		if (!ps->fifo)
			return i;
		if (best < 0 || ps->q[i].seq < ps->q[best].seq)
			best = i;
	}
	return best;
}

/* Run until @until_ms: tick both agents, deliver what is due (then tick
 * again: input may arm timers), and move the clock to the next timer or
 * due item. */
static inline void ice_pair_sim_run(struct ice_pair_sim *ps, struct ice_agent *const ag[2],
				    uint64_t until_ms)
{
	while (ps->now <= until_ms) {
		uint64_t next = until_ms + 1;
		int i;
		for (int k = 0; k < 2; k++) {
			uint64_t t = ice_agent_tick(ag[k], ps->now);
			if (t < next)
				next = t;
		}
		while ((i = ice_pair_sim_next_due(ps)) >= 0) {
			struct ice_pair_sim_pkt p = ps->q[i];
			ps->q[i] = ps->q[--ps->nq];
			ps->deliver(ps, &p);
			next = ps->now; /* re-tick after input */
		}
		for (i = 0; i < ps->nq; i++)
			if (ps->q[i].at < next)
				next = ps->q[i].at;
		if (ps->instant_done)
			ps->instant_done(ps);
		ps->now = next <= ps->now ? ps->now + 1 : next;
	}
}

/* Signal agent @from's credentials and its @n candidates @cands to agent
 * @to, then end of candidates. @via_text: each candidate goes through its
 * a=candidate text and back, as the harness relays it. */
static inline void ice_pair_sim_signal(struct ice_pair_sim *ps, struct ice_agent *from,
				       const struct ice_candidate *cands, int n,
				       struct ice_agent *to, bool via_text)
{
	assert_int_equal(
	    ice_agent_set_remote(to, ice_agent_ufrag(from), ice_agent_pwd(from), ps->now), 0);
	for (int i = 0; i < n; i++) {
		char line[ICE_CANDIDATE_STR_MAX];
		struct ice_candidate c = cands[i];
		if (via_text) {
			assert_true(ice_candidate_format(&cands[i], line, sizeof(line)) > 0);
			assert_int_equal(ice_candidate_parse(line, strlen(line), &c), 0);
		}
		assert_int_equal(ice_agent_add_remote(to, &c, ps->now), 0);
	}
	ice_agent_remote_done(to, ps->now);
}

#endif
