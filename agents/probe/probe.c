/* probe.c - the RFC 5780 NAT behaviour probe (see probe.h for the steps).
 *
 * One test at a time: a "transaction" sends a Binding request from one of
 * the probe's sockets, resends it every rto_ms, and ends with the first
 * answer carrying its transaction ID or after `attempts` sends. When it
 * ends, step_done() reads the outcome and starts the next step. */
#include "agents/probe/probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum step {
	S_T1,
	S_MAP2,
	S_MAP3,
	S_FILT1,
	S_FILT2,
	S_FILT3,
	S_PORTS,
	S_HAIR_A,
	S_HAIR_B,
	S_HAIR_X,
	S_LIFE_BIND,
	S_LIFE_WAIT,
	S_LIFE_CHECK,
	S_DONE,
};

struct txn {
	bool active;
	int sock;
	struct stun_addr to;
	uint32_t change;
	int response_port; /* -1: none */
	uint8_t tid[STUN_TID_LEN];
	int sent;
	uint64_t next_ms;
	/* outcome */
	bool answered;
	bool error; /* an error response */
	int error_code;
	int recv_sock;
	struct stun_addr from;
	bool have_mapped, have_plain, have_other;
	struct stun_addr mapped, plain, other;
};

struct probe {
	struct probe_config cfg;
	struct probe_io io;
	struct probe_result res;
	enum step step;
	uint64_t start_ms;
	uint64_t wait_until; /* S_LIFE_WAIT, S_HAIR_X */
	struct txn t;
	int socks[PROBE_MAX_SOCKETS];
	int n_socks;
	int s0, s1, h0, h1, x;
	struct stun_addr local_of[PROBE_MAX_SOCKETS]; /* by index into socks */
	struct stun_addr m_first, m_second;
	int port_i;
	int port_socks[PROBE_MAX_PORT_SAMPLES];
	/* hairpin */
	uint8_t hair_tid[2][STUN_TID_LEN];
	int hair_sent;
	/* lifetime search: alive at lo, gone at hi (hi < 0: never seen gone) */
	int life_lo, life_hi, life_t;
	uint16_t life_port;
};

const char *probe_behaviour_name(enum probe_behaviour b)
{
	switch (b) {
	case PROBE_ENDPOINT_INDEPENDENT:
		return "endpoint-independent";
	case PROBE_ADDRESS_DEPENDENT:
		return "address-dependent";
	case PROBE_ADDRESS_AND_PORT_DEPENDENT:
		return "address-and-port-dependent";
	default:
		return "unknown";
	}
}

const char *probe_ports_name(enum probe_ports p)
{
	switch (p) {
	case PROBE_PORTS_PRESERVED:
		return "preserved";
	case PROBE_PORTS_SEQUENTIAL:
		return "sequential";
	case PROBE_PORTS_RANDOM:
		return "random";
	default:
		return "unknown";
	}
}

enum probe_ports probe_classify_ports(const uint16_t *local, const uint16_t *mapped, int n)
{
	if (n < 2)
		return PROBE_PORTS_UNKNOWN;
	bool preserved = true;
	bool sequential = true;
	for (int i = 0; i < n; i++) {
		if (local[i] != mapped[i])
			preserved = false;
		if (i > 0) {
			int d = (int)mapped[i] - (int)mapped[i - 1];
			/* a NAT handing out ports in order may skip a few taken
			 * by other hosts behind it */
			if (d < 1 || d > 8)
				sequential = false;
		}
	}
	if (preserved)
		return PROBE_PORTS_PRESERVED;
	return sequential ? PROBE_PORTS_SEQUENTIAL : PROBE_PORTS_RANDOM;
}

static void set_error(struct probe *p, const char *msg)
{
	if (!p->res.error[0])
		snprintf(p->res.error, sizeof(p->res.error), "%s", msg);
}

/* open_sock - returns the io's socket id or -1 (error recorded) */
static int open_sock(struct probe *p)
{
	if (p->n_socks >= PROBE_MAX_SOCKETS) {
		set_error(p, "too many sockets");
		return -1;
	}
	struct stun_addr local;
	int id = p->io.open(p->io.ctx, &local);
	if (id < 0) {
		set_error(p, "cannot open a UDP socket");
		return -1;
	}
	p->local_of[p->n_socks] = local;
	p->socks[p->n_socks++] = id;
	return id;
}

static const struct stun_addr *local_of(const struct probe *p, int id)
{
	for (int i = 0; i < p->n_socks; i++) {
		if (p->socks[i] == id)
			return &p->local_of[i];
	}
	return NULL;
}

static void close_sock(struct probe *p, int id)
{
	for (int i = 0; i < p->n_socks; i++) {
		if (p->socks[i] != id)
			continue;
		p->io.close(p->io.ctx, id);
		p->socks[i] = p->socks[p->n_socks - 1];
		p->local_of[i] = p->local_of[p->n_socks - 1];
		p->n_socks--;
		return;
	}
}

static void txn_send(struct probe *p, uint64_t now)
{
	struct txn *t = &p->t;
	uint8_t buf[128];
	struct stun_builder b;
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), t->tid);
	if (t->change)
		stun_builder_add_change_request(&b, t->change);
	if (t->response_port >= 0)
		stun_builder_add_response_port(&b, (uint16_t)t->response_port);
	stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	if (n > 0)
		p->io.send(p->io.ctx, t->sock, &t->to, buf, (size_t)n);
	t->sent++;
	t->next_ms = now + (uint64_t)p->cfg.rto_ms;
}

static void txn_start(struct probe *p, uint64_t now, int sock, const struct stun_addr *to,
		      uint32_t change, int response_port)
{
	struct txn *t = &p->t;
	memset(t, 0, sizeof(*t));
	t->active = true;
	t->sock = sock;
	t->to = *to;
	t->change = change;
	t->response_port = response_port;
	t->recv_sock = -1;
	if (stun_tid_random(t->tid) != 0) {
		/* no randomness: still unique enough within one probe */
		for (int i = 0; i < STUN_TID_LEN; i++)
			t->tid[i] = (uint8_t)(now >> (i % 8) ^ (uint64_t)i * 37u ^ (uint64_t)sock);
	}
	txn_send(p, now);
}

static void step_done(struct probe *p, uint64_t now);

/* begin_step helpers: each opens what it needs and starts a transaction,
 * or falls through to the next step */
static void go(struct probe *p, enum step s, uint64_t now);

static void go_life_bind(struct probe *p, uint64_t now)
{
	p->step = S_LIFE_BIND;
	p->x = open_sock(p);
	if (p->x < 0) {
		go(p, S_DONE, now);
		return;
	}
	txn_start(p, now, p->x, &p->cfg.server, 0, -1);
}

static void go(struct probe *p, enum step s, uint64_t now)
{
	struct stun_addr to;
	p->step = s;
	switch (s) {
	case S_MAP2:
		/* RFC 5780 §4.3 test II: to the alternate address, primary
		 * port */
		to = p->res.other;
		to.port = p->cfg.server.port;
		txn_start(p, now, p->s0, &to, 0, -1);
		return;
	case S_MAP3:
		/* test III: to the alternate address and port */
		txn_start(p, now, p->s0, &p->res.other, 0, -1);
		return;
	case S_FILT1:
		/* a fresh mapping that has only ever talked to the primary
		 * address, so the filter holds nothing else */
		p->s1 = open_sock(p);
		if (p->s1 < 0) {
			go(p, S_PORTS, now);
			return;
		}
		txn_start(p, now, p->s1, &p->cfg.server, 0, -1);
		return;
	case S_FILT2:
		/* RFC 5780 §4.4 test II: CHANGE-REQUEST with both "change IP"
		 * and "change port" */
		txn_start(p, now, p->s1, &p->cfg.server, STUN_CHANGE_IP | STUN_CHANGE_PORT, -1);
		return;
	case S_FILT3:
		/* test III: "change port" only */
		txn_start(p, now, p->s1, &p->cfg.server, STUN_CHANGE_PORT, -1);
		return;
	case S_PORTS:
		if (p->port_i >= p->cfg.port_samples || p->port_i >= PROBE_MAX_PORT_SAMPLES) {
			for (int i = 0; i < p->port_i; i++)
				close_sock(p, p->port_socks[i]);
			p->res.ports = probe_classify_ports(p->res.sample_local,
							    p->res.sample_mapped, p->res.n_samples);
			go(p, S_HAIR_A, now);
			return;
		}
		p->port_socks[p->port_i] = open_sock(p);
		if (p->port_socks[p->port_i] < 0) {
			p->port_i = p->cfg.port_samples;
			go(p, S_PORTS, now);
			return;
		}
		txn_start(p, now, p->port_socks[p->port_i], &p->cfg.server, 0, -1);
		return;
	case S_HAIR_A:
		if (!p->cfg.hairpin) {
			go(p, S_LIFE_BIND, now);
			return;
		}
		p->h0 = open_sock(p);
		if (p->h0 < 0) {
			go(p, S_LIFE_BIND, now);
			return;
		}
		txn_start(p, now, p->h0, &p->cfg.server, 0, -1);
		return;
	case S_HAIR_B:
		p->h1 = open_sock(p);
		if (p->h1 < 0) {
			go(p, S_LIFE_BIND, now);
			return;
		}
		txn_start(p, now, p->h1, &p->cfg.server, 0, -1);
		return;
	case S_HAIR_X:
		/* each sends to the other's mapped address: the first send
		 * also opens the sender's filter toward the other mapping, so
		 * a filtering NAT does not hide a working hairpin */
		p->hair_sent = 0;
		stun_tid_random(p->hair_tid[0]);
		stun_tid_random(p->hair_tid[1]);
		p->hair_tid[1][0] ^= 0x5a; /* never equal, even without entropy */
		p->wait_until = now;
		return;
	case S_LIFE_BIND:
		if (p->cfg.lifetime_max_ms <= 0) {
			go(p, S_DONE, now);
			return;
		}
		if (!p->res.lifetime_tested) {
			p->res.lifetime_tested = true;
			p->life_lo = 0;
			p->life_hi = -1;
			p->life_t = p->cfg.lifetime_max_ms; /* first: is it alive at the bound? */
		}
		go_life_bind(p, now);
		return;
	case S_LIFE_WAIT:
		p->wait_until = now + (uint64_t)p->life_t;
		return;
	case S_LIFE_CHECK: {
		/* RFC 5780 §7.5 RESPONSE-PORT: sent from another socket, so the
		 * mapping under test stays idle; the server answers from its
		 * primary address, which that mapping did talk to */
		int y = open_sock(p);
		if (y < 0) {
			go(p, S_DONE, now);
			return;
		}
		txn_start(p, now, y, &p->cfg.server, 0, p->life_port);
		return;
	}
	case S_DONE:
		p->t.active = false;
		while (p->n_socks > 0)
			close_sock(p, p->socks[0]);
		p->res.duration_ms = now - p->start_ms;
		return;
	case S_T1:
		break;
	}
}

static void step_done(struct probe *p, uint64_t now)
{
	struct txn *t = &p->t;
	t->active = false;
	bool ok = t->answered && !t->error && t->have_mapped;
	switch (p->step) {
	case S_T1:
		if (!ok) {
			set_error(p, t->answered ? "the server answered with an error"
						 : "no answer from the STUN server (UDP blocked?)");
			go(p, S_DONE, now);
			return;
		}
		p->res.udp = true;
		p->res.local = *local_of(p, p->s0);
		p->res.mapped = t->mapped;
		p->m_first = t->mapped;
		p->res.nat = !stun_addr_equal(&t->mapped, &p->res.local);
		p->res.rfc5780 = t->have_other;
		p->res.other = t->other;
		/* an ALG that rewrites addresses it finds in payloads changes
		 * MAPPED-ADDRESS (plain bytes) but not XOR-MAPPED-ADDRESS */
		if (t->have_plain) {
			p->res.alg_mapped = t->plain;
			p->res.alg = stun_addr_equal(&t->plain, &t->mapped) ? 0 : 1;
		}
		if (!p->res.rfc5780) {
			set_error(p, "the server gave no OTHER-ADDRESS: mapping and filtering "
				     "not tested");
			go(p, S_PORTS, now);
			return;
		}
		go(p, S_MAP2, now);
		return;
	case S_MAP2:
		if (!ok) {
			set_error(p, "no answer from the alternate address");
			go(p, S_FILT1, now);
			return;
		}
		p->m_second = t->mapped;
		/* RFC 5780 §4.3 (paraphrased): the same mapped address as in
		 * test I means endpoint-independent mapping */
		if (stun_addr_equal(&t->mapped, &p->m_first)) {
			p->res.mapping = PROBE_ENDPOINT_INDEPENDENT;
			go(p, S_FILT1, now);
		} else {
			go(p, S_MAP3, now);
		}
		return;
	case S_MAP3:
		if (!ok) {
			set_error(p, "no answer from the alternate address and port");
		} else {
			/* the same as test II: address-dependent; otherwise
			 * address-and-port-dependent (RFC 5780 §4.3) */
			p->res.mapping = stun_addr_equal(&t->mapped, &p->m_second)
					     ? PROBE_ADDRESS_DEPENDENT
					     : PROBE_ADDRESS_AND_PORT_DEPENDENT;
		}
		go(p, S_FILT1, now);
		return;
	case S_FILT1:
		go(p, ok ? S_FILT2 : S_PORTS, now);
		return;
	case S_FILT2:
		if (t->answered && t->error) {
			set_error(p, "the server refused CHANGE-REQUEST");
			go(p, S_PORTS, now);
			return;
		}
		if (ok && stun_addr_ip_equal(&t->from, &p->cfg.server)) {
			set_error(p, "the server ignored CHANGE-REQUEST");
			go(p, S_PORTS, now);
			return;
		}
		/* RFC 5780 §4.4 (paraphrased): an answer to test II means
		 * endpoint-independent filtering */
		if (ok) {
			p->res.filtering = PROBE_ENDPOINT_INDEPENDENT;
			go(p, S_PORTS, now);
		} else {
			go(p, S_FILT3, now);
		}
		return;
	case S_FILT3:
		/* test III answered: address-dependent filtering; silence:
		 * address-and-port-dependent (RFC 5780 §4.4) */
		p->res.filtering = ok ? PROBE_ADDRESS_DEPENDENT : PROBE_ADDRESS_AND_PORT_DEPENDENT;
		go(p, S_PORTS, now);
		return;
	case S_PORTS:
		if (ok) {
			int k = p->res.n_samples++;
			p->res.sample_local[k] = local_of(p, t->sock)->port;
			p->res.sample_mapped[k] = t->mapped.port;
		}
		p->port_i++;
		go(p, S_PORTS, now);
		return;
	case S_HAIR_A:
		if (!ok) {
			go(p, S_LIFE_BIND, now);
			return;
		}
		p->m_first = t->mapped;
		go(p, S_HAIR_B, now);
		return;
	case S_HAIR_B:
		if (!ok) {
			go(p, S_LIFE_BIND, now);
			return;
		}
		p->m_second = t->mapped;
		go(p, S_HAIR_X, now);
		return;
	case S_LIFE_BIND:
		if (!ok) {
			set_error(p, "lifetime: no answer while creating a mapping");
			go(p, S_DONE, now);
			return;
		}
		p->life_port = t->mapped.port;
		go(p, S_LIFE_WAIT, now);
		return;
	case S_LIFE_CHECK: {
		int y = t->sock;
		bool alive = t->answered && t->recv_sock == p->x;
		bool misrouted = t->answered && t->recv_sock == y;
		close_sock(p, y);
		close_sock(p, p->x);
		if (misrouted || t->error) {
			set_error(p, "lifetime: the server does not honour RESPONSE-PORT");
			p->res.lifetime_tested = false;
			go(p, S_DONE, now);
			return;
		}
		if (alive)
			p->life_lo = p->life_t;
		else
			p->life_hi = p->life_t;
		p->res.lifetime_alive_ms = p->life_lo;
		p->res.lifetime_expired_ms = p->life_hi;
		if (alive && p->life_t >= p->cfg.lifetime_max_ms) {
			go(p, S_DONE, now); /* lives at least as long as the bound */
			return;
		}
		if (p->life_hi >= 0 && p->life_hi - p->life_lo <= p->cfg.lifetime_resolution_ms) {
			go(p, S_DONE, now);
			return;
		}
		p->life_t = (p->life_lo + p->life_hi) / 2;
		go_life_bind(p, now);
		return;
	}
	default:
		return;
	}
}

struct probe *probe_new(const struct probe_config *cfg, const struct probe_io *io)
{
	struct probe *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	if (p->cfg.rto_ms <= 0)
		p->cfg.rto_ms = 200;
	if (p->cfg.attempts <= 0)
		p->cfg.attempts = 3;
	if (p->cfg.port_samples < 0)
		p->cfg.port_samples = 0;
	if (p->cfg.port_samples > PROBE_MAX_PORT_SAMPLES)
		p->cfg.port_samples = PROBE_MAX_PORT_SAMPLES;
	if (p->cfg.lifetime_resolution_ms <= 0)
		p->cfg.lifetime_resolution_ms = 1000;
	p->io = *io;
	p->res.hairpin = -1;
	p->res.alg = -1;
	p->res.lifetime_expired_ms = -1;
	p->s0 = p->s1 = p->h0 = p->h1 = p->x = -1;
	p->step = S_T1;
	return p;
}

void probe_free(struct probe *p)
{
	if (!p)
		return;
	while (p->n_socks > 0)
		close_sock(p, p->socks[0]);
	free(p);
}

uint64_t probe_start(struct probe *p, uint64_t now_ms)
{
	p->start_ms = now_ms;
	p->s0 = open_sock(p);
	if (p->s0 < 0) {
		go(p, S_DONE, now_ms);
		return 0;
	}
	p->step = S_T1;
	txn_start(p, now_ms, p->s0, &p->cfg.server, 0, -1);
	return probe_tick(p, now_ms);
}

bool probe_done(const struct probe *p)
{
	return p->step == S_DONE;
}

const struct probe_result *probe_result(const struct probe *p)
{
	return &p->res;
}

static void hairpin_send(struct probe *p, uint64_t now)
{
	uint8_t buf[64];
	struct stun_builder b;
	const struct stun_addr *to[2] = {&p->m_second, &p->m_first};
	int from[2] = {p->h0, p->h1};
	for (int i = 0; i < 2; i++) {
		stun_builder_init(&b, buf, sizeof(buf), 0x0001, p->hair_tid[i]);
		stun_builder_add_fingerprint(&b);
		long n = stun_builder_finish(&b);
		if (n > 0)
			p->io.send(p->io.ctx, from[i], to[i], buf, (size_t)n);
	}
	p->hair_sent++;
	p->wait_until = now + (uint64_t)p->cfg.rto_ms;
}

void probe_input(struct probe *p, uint64_t now_ms, int sock, const struct stun_addr *from,
		 const uint8_t *buf, size_t len)
{
	struct stun_msg m;
	if (p->step == S_DONE || stun_msg_decode(&m, buf, len, 0, NULL) != 0)
		return;
	if (p->step == S_HAIR_X && m.cls == STUN_CLASS_REQUEST) {
		/* hairpinning (RFC 4787 §6): a request from our other socket
		 * came back in through the NAT's public address */
		bool a = sock == p->h1 && memcmp(m.tid, p->hair_tid[0], STUN_TID_LEN) == 0;
		bool b = sock == p->h0 && memcmp(m.tid, p->hair_tid[1], STUN_TID_LEN) == 0;
		if (a || b) {
			p->res.hairpin = 1;
			close_sock(p, p->h0);
			close_sock(p, p->h1);
			go(p, S_LIFE_BIND, now_ms);
		}
		return;
	}
	struct txn *t = &p->t;
	if (!t->active || (m.cls != STUN_CLASS_SUCCESS && m.cls != STUN_CLASS_ERROR) ||
	    memcmp(m.tid, t->tid, STUN_TID_LEN) != 0)
		return;
	t->answered = true;
	t->recv_sock = sock;
	t->from = *from;
	/* RFC 8489 §6.3.3: If the success response contains unknown
	 * comprehension-required attributes, the response is discarded and
	 * the transaction is considered to have failed (§6.3.4: the same for
	 * an error response). The step sees a failed answer, never its
	 * addresses, and the report says why. */
	if (m.n_unknown) {
		set_error(p, "the server's answer carried an unknown comprehension-required "
			     "attribute (RFC 8489 §6.3.3)");
		t->error = true;
		t->error_code = 0;
		step_done(p, now_ms);
		return;
	}
	if (m.cls == STUN_CLASS_ERROR) {
		t->error = true;
		stun_msg_get_error(&m, &t->error_code, NULL, NULL);
	} else {
		t->have_mapped =
		    stun_msg_get_xor_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, &t->mapped) == 0 ||
		    stun_msg_get_addr(&m, STUN_ATTR_MAPPED_ADDRESS, &t->mapped) == 0;
		t->have_plain = stun_msg_get_addr(&m, STUN_ATTR_MAPPED_ADDRESS, &t->plain) == 0;
		t->have_other = stun_msg_get_addr(&m, STUN_ATTR_OTHER_ADDRESS, &t->other) == 0;
	}
	step_done(p, now_ms);
}

uint64_t probe_tick(struct probe *p, uint64_t now_ms)
{
	/* loop: a step may end and the next begin at the same instant */
	for (int guard = 0; guard < 1000; guard++) {
		if (p->step == S_DONE)
			return 0;
		if (p->step == S_LIFE_WAIT) {
			if (now_ms < p->wait_until)
				return p->wait_until;
			go(p, S_LIFE_CHECK, now_ms);
			continue;
		}
		if (p->step == S_HAIR_X) {
			if (now_ms < p->wait_until)
				return p->wait_until;
			if (p->hair_sent >= p->cfg.attempts) {
				p->res.hairpin = 0;
				close_sock(p, p->h0);
				close_sock(p, p->h1);
				go(p, S_LIFE_BIND, now_ms);
				continue;
			}
			hairpin_send(p, now_ms);
			return p->wait_until;
		}
		struct txn *t = &p->t;
		if (!t->active)
			return now_ms + 1; /* cannot happen: every step runs a txn */
		if (now_ms < t->next_ms)
			return t->next_ms;
		if (t->sent >= p->cfg.attempts) {
			step_done(p, now_ms);
			continue;
		}
		txn_send(p, now_ms);
		return t->next_ms;
	}
	return now_ms + 1;
}
