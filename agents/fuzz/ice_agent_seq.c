/* ice_agent_seq.c - libFuzzer target for the ICE agent's state machine
 * (agents/ice: RFC 8445, RFC 8838, RFC 7675, RFC 6544) fed arbitrary
 * input from its peer, its STUN server and its owner. The input is a
 * script: one configuration byte (role, components, nomination, trickle,
 * policy, a STUN server, consent), then operations, each an opcode byte
 * and its arguments (a missing byte reads as 0):
 *
 *   the peer's credentials (new ones are a peer restart); remote
 *   candidates (UDP and TCP, host / srflx / relay, any address and
 *   priority); end-of-candidates; Binding requests from the peer (signed
 *   with the right password or not, USERNAME right or wrong, either role,
 *   USE-CANDIDATE, FINGERPRINT right, wrong or missing, an unknown
 *   attribute) from a candidate's address or a new one; answers to the
 *   agent's checks (success with any XOR-MAPPED-ADDRESS, 487 role
 *   conflict, other errors, from the address asked or another, signed or
 *   not); STUN server answers; raw and application datagrams; TCP
 *   accepted / connected / closed; the owner sending data, restarting,
 *   finishing gathering; the clock moving (the agent ticked at every
 *   deadline it asked for on the way).
 *
 * The target knows both passwords, so it signs what it sends as a real
 * peer would and the fuzzer gets past MESSAGE-INTEGRITY.
 *
 * Checked after every call (abort() on failure):
 *  - every datagram the agent sends decodes as STUN, except the owner's
 *    data, which leaves only on the selected pair;
 *  - a check goes to a signalled candidate or to the source of a
 *    correctly signed request, and carries USERNAME "peer-ufrag:own-ufrag",
 *    PRIORITY, one of
 *    ICE-CONTROLLING / ICE-CONTROLLED, MESSAGE-INTEGRITY that verifies
 *    with the peer's password, and FINGERPRINT (RFC 8445 §7.2.2);
 *  - a success answer goes only to a request that was correctly signed,
 *    back to the address and base it came from, with that address in
 *    XOR-MAPPED-ADDRESS and integrity by the agent's own password
 *    (RFC 8445 §7.3);
 *  - a selected pair's remote is a signalled candidate or the source of
 *    a correctly signed request, its local one of the agent's bases;
 *  - the state moves as RFC 8445 allows (new -> gathering -> checking ->
 *    connected -> completed, failed from checking, disconnected once
 *    consent is lost, RFC 7675, failed and disconnected in either order
 *    with two components), back to new only through a restart, out of
 *    failed, disconnected or completed to checking or connected only
 *    after the peer sent something new;
 *  - ice_agent_tick returns a deadline in the future or ICE_NEVER, or
 *    one that has come at most a few times in a row (no busy loop); the
 *    agent sends a bounded number of datagrams per call;
 *    the check list stays within ICE_LOCALS_MAX x ICE_REMOTES_MAX.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/fuzz/seq.h"
#include "agents/ice/ice.h"
#include "agents/stun/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IA_CHECK(cond, ...) SEQ_CHECK("ice_agent_seq", cond, __VA_ARGS__)

#define IA_OPS_MAX   160
#define IA_REQS	     32 /* the agent's requests remembered */
#define IA_PEERREQS  16 /* the peer's requests remembered */
#define IA_TRUSTED   64
#define IA_SENDS_MAX 512
#define IA_CONNS     16
#define IA_BASES     6

struct ia_req {
	bool used;
	uint8_t tid[STUN_TID_LEN];
	int base;
	union ice_addr to;
	bool to_server;
};

struct ia_peerreq {
	bool used, signed_ok;
	uint8_t tid[STUN_TID_LEN];
	int base;
	union ice_addr from;
};

static struct {
	struct ice_agent *a;
	uint64_t now;
	enum ice_state state;
	struct ia_req req[IA_REQS];
	int nreq;
	struct ia_peerreq preq[IA_PEERREQS];
	int npreq;
	union ice_addr trusted[IA_TRUSTED]; /* remotes the agent may select */
	int ntrusted;
	char rufrag[40], rpwd[64]; /* the peer's credentials, as signalled */
	bool have_remote;
	int sends;
	bool in_send; /* inside ice_agent_send */
	unsigned send_comp;
	union ice_addr stun;
	bool has_stun;
	int conns[IA_CONNS]; /* TCP connections the agent opened or accepted */
	bool conn_open[IA_CONNS];
	union ice_addr conn_peer[IA_CONNS];
	int nconn;
	uint32_t tidctr;
	bool had_selected; /* a pair was selected (it survives restarts) */
	bool peer_news;	   /* a remote candidate, signed check or signed answer since the
			      agent entered failed, disconnected or completed */
	bool debug;
} IA;

static const struct {
	const char *ip;
	uint16_t port;
	unsigned comp;
	int tr; /* 0 UDP, 1 TCP passive, 2 TCP active */
} ia_bases[IA_BASES] = {
    {"10.0.0.1", 5000, 1, 0}, {"2001:db8:a::1", 5000, 1, 0},
    {"10.0.0.1", 5001, 2, 0}, {"192.0.2.10", 50000, 1, 0}, /* relayed (base 4 below) */
    {"10.0.0.1", 9000, 1, 1}, {"10.0.0.1", 0, 1, 2},
};

static union ice_addr ia_addr(const char *ip, uint16_t port)
{
	union ice_addr a;
	memset(&a, 0, sizeof(a));
	ice_addr_from_text(&a, ip, port);
	return a;
}

static bool ia_trusted(const union ice_addr *x)
{
	for (int i = 0; i < IA.ntrusted; i++)
		if (ice_addr_equal(&IA.trusted[i], x))
			return true;
	return false;
}

static void ia_trust(const union ice_addr *x)
{
	if (!ia_trusted(x) && IA.ntrusted < IA_TRUSTED)
		IA.trusted[IA.ntrusted++] = *x;
}

static bool ia_is_base(int id)
{
	if (id >= 1 && id <= IA_BASES)
		return true;
	for (int i = 0; i < IA.nconn; i++)
		if (IA.conns[i] == id)
			return true;
	return false;
}

/* ---- what the agent sends ----------------------------------------------------- */

static void ia_check_request(int base, const union ice_addr *to, const struct stun_msg *m)
{
	char user[STUN_MAX_USERNAME_LEN + 1], want[128];
	uint32_t prio;
	uint64_t tb;
	struct ia_req *r = &IA.req[IA.nreq++ % IA_REQS];

	memset(r, 0, sizeof(*r));
	r->used = true;
	memcpy(r->tid, m->tid, STUN_TID_LEN);
	r->base = base;
	r->to = *to;
	r->to_server = IA.has_stun && ice_addr_equal(to, &IA.stun);
	if (r->to_server && !stun_msg_has(m, STUN_ATTR_USERNAME))
		return; /* a server-reflexive gathering request */
	IA_CHECK(IA.have_remote, "a check before the peer's credentials were known");
	/* checks go to the peer's candidates or to where its signed checks
	 * came from, never to an address an unauthenticated datagram named
	 * (the agent is no reflector) */
	IA_CHECK(ia_trusted(to), "a check to an address never signalled nor authenticated");
	snprintf(want, sizeof(want), "%s:%s", IA.rufrag, ice_agent_ufrag(IA.a));
	IA_CHECK(stun_msg_get_string(m, STUN_ATTR_USERNAME, user, sizeof(user)) == 0 &&
		     strcmp(user, want) == 0,
		 "a check with USERNAME other than %s", want);
	IA_CHECK(stun_msg_get_u32(m, STUN_ATTR_PRIORITY, &prio) == 0, "a check without PRIORITY");
	bool ctl = stun_msg_get_u64(m, STUN_ATTR_ICE_CONTROLLING, &tb) == 0;
	bool ctd = stun_msg_get_u64(m, STUN_ATTR_ICE_CONTROLLED, &tb) == 0;
	IA_CHECK(ctl != ctd, "a check with %s role attribute", ctl ? "both" : "no");
	IA_CHECK(stun_msg_check_integrity(m, (const uint8_t *)IA.rpwd, strlen(IA.rpwd)) == 0,
		 "a check whose integrity does not verify with the peer's password");
	IA_CHECK(m->fp_idx >= 0 && stun_msg_check_fingerprint(m) == 0,
		 "a check without FINGERPRINT");
}

static void ia_check_response(int base, const union ice_addr *to, const struct stun_msg *m,
			      size_t len)
{
	struct ia_peerreq *p = NULL;

	for (int i = 0; i < IA_PEERREQS; i++)
		if (IA.preq[i].used && memcmp(IA.preq[i].tid, m->tid, STUN_TID_LEN) == 0)
			p = &IA.preq[i];
	IA_CHECK(p, "a response to a request nobody sent");
	IA_CHECK(p->base == base && ice_addr_equal(&p->from, to),
		 "a response not sent back to where its request came from");
	if (m->cls == STUN_CLASS_ERROR) {
		IA_CHECK(len <= 200, "an error response of %zu bytes", len);
		return;
	}
	IA_CHECK(p->signed_ok, "a success response to a request that was not correctly signed");
	IA_CHECK(stun_msg_check_integrity(m, (const uint8_t *)ice_agent_pwd(IA.a),
					  strlen(ice_agent_pwd(IA.a))) == 0,
		 "a success response not signed with the agent's password");
	struct stun_addr xa;
	struct sockaddr_storage ss;
	IA_CHECK(stun_msg_get_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &xa) == 0,
		 "a success response without XOR-MAPPED-ADDRESS");
	stun_addr_to_sockaddr(&xa, &ss);
	union ice_addr mapped;
	memcpy(&mapped, &ss, sizeof(mapped));
	IA_CHECK(ice_addr_equal(&mapped, to), "XOR-MAPPED-ADDRESS is not the request's source");
}

static void ia_send(void *ctx, int base, const union ice_addr *to, const uint8_t *buf, size_t len)
{
	struct stun_msg m;
	(void)ctx;

	IA.sends++;
	IA_CHECK(IA.sends <= IA_SENDS_MAX, "more than %d datagrams in one call", IA_SENDS_MAX);
	IA_CHECK(ia_is_base(base), "a datagram from base %d, which the owner never gave", base);
	if (IA.in_send && !stun_is_message(buf, len)) {
		const struct ice_local *l;
		const struct ice_candidate *r;
		IA_CHECK(ice_agent_selected(IA.a, IA.send_comp, &l, &r),
			 "data sent without a selected pair");
		IA_CHECK(ice_addr_equal(&r->addr, to),
			 "data sent elsewhere than the selected pair");
		return;
	}
	IA_CHECK(stun_msg_decode(&m, buf, len, 0, NULL) == 0, "a datagram that does not decode");
	IA_CHECK(m.method == STUN_METHOD_BINDING, "a %s message", stun_method_name(m.method));
	if (IA.debug) {
		char ip[64];
		fprintf(stderr, "t=%llu agent sends %s from base %d to %s:%u\n",
			(unsigned long long)IA.now, stun_class_name(m.cls), base,
			ice_addr_ip(to, ip, sizeof(ip)), ice_addr_port(to));
	}
	if (m.cls == STUN_CLASS_REQUEST)
		ia_check_request(base, to, &m);
	else if (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR)
		ia_check_response(base, to, &m, len);
	/* indications: RFC 8445 §11 keepalives, nothing to check */
}

static bool ia_state_ok(enum ice_state from, enum ice_state to)
{
	switch (from) {
	/* RFC 8445 §9: during a restart the previously selected pair keeps
	 * carrying data; when it loses consent (or its TCP connection), that
	 * is disconnected, whatever the restart's own progress */
	case ICE_STATE_NEW:
		return to == ICE_STATE_GATHERING || to == ICE_STATE_CHECKING ||
		       (IA.had_selected && to == ICE_STATE_DISCONNECTED);
	case ICE_STATE_GATHERING:
		return to == ICE_STATE_CHECKING ||
		       (IA.had_selected && to == ICE_STATE_DISCONNECTED);
	case ICE_STATE_CHECKING:
		return to == ICE_STATE_CONNECTED || to == ICE_STATE_FAILED ||
		       to == ICE_STATE_DISCONNECTED;
	case ICE_STATE_CONNECTED:
		return to == ICE_STATE_COMPLETED || to == ICE_STATE_DISCONNECTED;
	case ICE_STATE_COMPLETED:
		/* a check the peer starts after completion (new candidate,
		 * new nomination) may switch the selected pair: connected
		 * again until the checks finish */
		return to == ICE_STATE_DISCONNECTED || (IA.peer_news && to == ICE_STATE_CONNECTED);
	case ICE_STATE_FAILED:
		/* The agent reports failure when every pair has failed, and
		 * goes on checking what the peer sends later: a candidate
		 * signalled or a check received after the failure can still
		 * connect (as RFC 8838 §8 lets trickled candidates revive a
		 * check list): allowed only after such news. A component
		 * selected before another one failed keeps its pair and may
		 * then lose consent (disconnected). */
		return to == ICE_STATE_DISCONNECTED ||
		       (IA.peer_news && (to == ICE_STATE_CHECKING || to == ICE_STATE_CONNECTED));
	case ICE_STATE_DISCONNECTED:
		/* with two components: one lost consent, then every pair
		 * of the other failed; or, after news from the peer, a new
		 * pair selected (consent is per pair, RFC 7675 §5.1) */
		return to == ICE_STATE_FAILED || (IA.peer_news && to == ICE_STATE_CONNECTED);
	default:
		return false; /* closed: only a restart */
	}
}

static void ia_event(void *ctx, const struct ice_event *ev)
{
	(void)ctx;
	switch (ev->type) {
	case ICE_EV_STATE:
		if (IA.debug)
			fprintf(stderr, "t=%llu state %s -> %s\n", (unsigned long long)IA.now,
				ice_state_name(IA.state), ice_state_name(ev->state));
		IA_CHECK(ia_state_ok(IA.state, ev->state), "state %s -> %s",
			 ice_state_name(IA.state), ice_state_name(ev->state));
		if (ev->state == ICE_STATE_FAILED || ev->state == ICE_STATE_DISCONNECTED ||
		    ev->state == ICE_STATE_COMPLETED)
			IA.peer_news = false;
		IA.state = ev->state;
		break;
	case ICE_EV_RESTARTED:
		IA.state = ICE_STATE_NEW;
		break;
	case ICE_EV_SELECTED:
	case ICE_EV_SWITCHED:
		IA_CHECK(ev->remote && ia_trusted(&ev->remote->addr),
			 "a pair selected whose remote was never signalled nor authenticated");
		IA_CHECK(ev->local && ia_is_base(ev->local->base_id), "a pair selected on base %d",
			 ev->local ? ev->local->base_id : -1);
		IA_CHECK(ev->component >= 1 && ev->component <= ICE_COMPONENT_MAX, "component %u",
			 ev->component);
		IA.had_selected = true;
		break;
	default:
		break;
	}
}

static int ia_tcp_connect(void *ctx, int base, const union ice_addr *to)
{
	(void)ctx;
	IA_CHECK(base == 6, "tcp_connect from base %d, not the active TCP base", base);
	if (IA.nconn >= IA_CONNS)
		return -EMFILE;
	IA.conns[IA.nconn] = 100 + IA.nconn;
	IA.conn_open[IA.nconn] = true;
	IA.conn_peer[IA.nconn] = *to;
	return IA.conns[IA.nconn++];
}

static void ia_tcp_close(void *ctx, int conn)
{
	(void)ctx;
	for (int i = 0; i < IA.nconn; i++) {
		if (IA.conns[i] == conn) {
			IA_CHECK(IA.conn_open[i], "tcp_close of connection %d twice", conn);
			IA.conn_open[i] = false;
			return;
		}
	}
	IA_CHECK(false, "tcp_close of connection %d, never opened", conn);
}

/* ---- the script ------------------------------------------------------------- */

static const struct {
	const char *ip;
	uint16_t port;
	unsigned comp;
	enum ice_cand_type type;
	enum ice_transport tr;
	enum ice_tcptype tt;
} ia_remotes[] = {
    {"203.0.113.20", 6000, 1, ICE_CAND_HOST, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
    {"2001:db8:b::20", 6000, 1, ICE_CAND_HOST, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
    {"203.0.113.20", 6001, 2, ICE_CAND_HOST, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
    {"198.51.100.30", 7000, 1, ICE_CAND_SRFLX, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
    {"192.0.2.77", 50000, 1, ICE_CAND_RELAY, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
    {"203.0.113.20", 9, 1, ICE_CAND_HOST, ICE_TRANSPORT_TCP, ICE_TCP_ACTIVE},
    {"203.0.113.20", 9100, 1, ICE_CAND_HOST, ICE_TRANSPORT_TCP, ICE_TCP_PASSIVE},
    {"127.0.0.1", 6000, 1, ICE_CAND_HOST, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
    {"203.0.113.21", 6000, 1, ICE_CAND_HOST, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
    {"198.51.100.30", 7001, 2, ICE_CAND_SRFLX, ICE_TRANSPORT_UDP, ICE_TCP_NONE},
};
#define IA_NREMOTES (sizeof(ia_remotes) / sizeof(ia_remotes[0]))

/* a source address for the peer's datagrams: a candidate's, or a new one */
static union ice_addr ia_from(struct seq_rd *r)
{
	uint8_t w = seq_u8(r);
	if (w < 0xc0)
		return ia_addr(ia_remotes[w % IA_NREMOTES].ip, ia_remotes[w % IA_NREMOTES].port);
	return ia_addr(w & 1 ? "2001:db8:c::5" : "203.0.113.99", (uint16_t)(6000 + (w & 0x0e)));
}

static int ia_base_pick(uint8_t w)
{
	return 1 + w % IA_BASES;
}

static void ia_recv(int base, const union ice_addr *from, const uint8_t *buf, size_t len)
{
	uint8_t *copy = seq_copy(buf, len);
	if (!copy)
		return;
	IA.sends = 0;
	ice_agent_recv(IA.a, base, from, copy, len, IA.now);
	free(copy);
}

static void ia_tid(uint8_t tid[STUN_TID_LEN])
{
	memset(tid, 0, STUN_TID_LEN);
	IA.tidctr++;
	memcpy(tid, &IA.tidctr, sizeof(IA.tidctr));
	tid[11] = 0xa5;
}

static void ia_peer_request(struct seq_rd *r)
{
	uint8_t f = seq_u8(r), g = seq_u8(r);
	union ice_addr from = ia_from(r);
	int base = ia_base_pick(seq_u8(r));
	uint8_t buf[600], tid[STUN_TID_LEN];
	struct stun_builder b;
	char user[128];

	ia_tid(tid);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), tid);
	snprintf(user, sizeof(user), "%s:%s", f & 1 ? "wrong" : ice_agent_ufrag(IA.a), IA.rufrag);
	if (!(f & 2))
		stun_builder_add_string(&b, STUN_ATTR_USERNAME, user);
	if (!(f & 4))
		stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 0x6e0001ffu - (uint32_t)g * 0x10000u);
	uint64_t tb = f & 8 ? 0xffffffffffffffffull : (uint64_t)g;
	if (f & 0x10)
		stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLING, tb);
	else
		stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLED, tb);
	if (f & 0x20)
		stun_builder_add_flag(&b, STUN_ATTR_USE_CANDIDATE);
	if (g & 0x80)
		stun_builder_add(&b, 0x0666, "z", 1); /* unknown, comprehension-required */
	bool good = !(f & 1) && !(f & 2);
	if (f & 0x40) {
		stun_builder_add_integrity(&b, (const uint8_t *)"not-the-password", 16);
		good = false;
	} else {
		stun_builder_add_integrity(&b, (const uint8_t *)ice_agent_pwd(IA.a),
					   strlen(ice_agent_pwd(IA.a)));
	}
	if (!(f & 0x80))
		stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	if (n <= 0)
		return;
	struct ia_peerreq *p = &IA.preq[IA.npreq++ % IA_PEERREQS];
	memset(p, 0, sizeof(*p));
	p->used = true;
	memcpy(p->tid, tid, sizeof(tid));
	p->base = base;
	p->from = from;
	p->signed_ok = good;
	/* a correctly signed request is the peer's: its source may become a
	 * peer-reflexive candidate (RFC 8445 §7.3.1.3) */
	if (good) {
		ia_trust(&from);
		IA.peer_news = true;
	}
	ia_recv(base, &from, buf, (size_t)n);
}

static void ia_answer(struct seq_rd *r)
{
	uint8_t w = seq_u8(r), f = seq_u8(r), g = seq_u8(r);
	struct ia_req *q = NULL;
	uint8_t buf[600];
	struct stun_builder b;

	for (int i = IA.nreq - 1, k = w % 8; i >= 0 && i >= IA.nreq - IA_REQS; i--) {
		q = &IA.req[i % IA_REQS];
		if (k-- == 0)
			break;
	}
	if (!q)
		return;
	bool err = (f & 3) == 3;
	stun_builder_init(
	    &b, buf, sizeof(buf),
	    stun_type_make(err ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, STUN_METHOD_BINDING),
	    q->tid);
	if (err) {
		static const int codes[] = {487, 400, 401, 420, 500, 487, 300, 438};
		stun_builder_add_error(&b, codes[g & 7], NULL);
	} else {
		/* the mapped address: the base's own, or another (srflx/prflx) */
		union ice_addr mapped =
		    f & 4
			? ia_from(r)
			: ia_addr(
			      ia_bases[q->base - 1 < IA_BASES && q->base >= 1 ? q->base - 1 : 0].ip,
			      (uint16_t)(5000 + (g & 3)));
		struct stun_addr sa;
		stun_addr_from_sockaddr(&sa, &mapped.sa, ice_addr_len(&mapped));
		if (!(f & 8))
			stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &sa);
	}
	if (!(f & 0x10)) {
		if (f & 0x20)
			stun_builder_add_integrity(&b, (const uint8_t *)"wrong-password-xx", 17);
		else if (!q->to_server)
			stun_builder_add_integrity(&b, (const uint8_t *)IA.rpwd, strlen(IA.rpwd));
	}
	if (!(f & 0x40))
		stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	if (n <= 0)
		return;
	/* from the address asked (a symmetric answer), or from elsewhere */
	union ice_addr from = f & 0x80 ? ia_from(r) : q->to;
	/* a correctly signed answer from the peer is news too: a check that
	 * succeeds may select a new pair */
	if (!q->to_server && !(f & 0x30))
		IA.peer_news = true;
	int base = g & 0x80 ? ia_base_pick(g) : q->base;
	ia_recv(base, &from, buf, (size_t)n);
}

static void ia_add_remote(struct seq_rd *r)
{
	uint8_t w = seq_u8(r), p = seq_u8(r);
	struct ice_candidate c;

	memset(&c, 0, sizeof(c));
	snprintf(c.foundation, sizeof(c.foundation), "f%u", w % 5);
	if (w < 0xe0) {
		unsigned i = w % IA_NREMOTES;
		c.component = ia_remotes[i].comp;
		c.transport = ia_remotes[i].tr;
		c.type = ia_remotes[i].type;
		c.tcptype = ia_remotes[i].tt;
		c.addr = ia_addr(ia_remotes[i].ip, ia_remotes[i].port);
	} else {
		c.component = 1 + (w & 1);
		c.transport = ICE_TRANSPORT_UDP;
		c.type = (enum ice_cand_type)(w >> 1 & 3);
		c.addr = ia_from(r);
	}
	c.priority = p ? ice_priority(p & 0x7f, 65535 - p, c.component)
		       : ice_priority(ice_type_pref(c.type, c.transport), 65535, c.component);
	if (c.type != ICE_CAND_HOST) {
		c.has_related = true;
		c.related = ia_addr("10.1.1.1", 4000);
	}
	IA.sends = 0;
	if (ice_agent_add_remote(IA.a, &c, IA.now) == 0) {
		ia_trust(&c.addr);
		IA.peer_news = true;
	}
}

static void ia_set_remote(uint8_t v)
{
	/* RFC 8839 §5.4 ice-chars; the third set is refused (too short) */
	static const char *const ufrags[] = {"RUFR", "peer2", "x", "a/very+long+ufrag0123456789"};
	static const char *const pwds[] = {"remotepassword0123456789", "anotherpasswordabcdefgh12",
					   "short", "remotepassword0123456789"};
	IA.sends = 0;
	if (ice_agent_set_remote(IA.a, ufrags[v & 3], pwds[v & 3], IA.now) == 0) {
		snprintf(IA.rufrag, sizeof(IA.rufrag), "%s", ufrags[v & 3]);
		snprintf(IA.rpwd, sizeof(IA.rpwd), "%s", pwds[v & 3]);
		IA.have_remote = true;
	}
}

/* ia_tick - one tick at IA.now; returns its deadline. A deadline that has
 * already come asks for another tick at once (a timer that fired may make
 * another due, such as a failed nomination check making nomination due
 * again): allowed a few times in a row, more is a busy loop. */
static uint64_t ia_tick(void)
{
	uint64_t next = IA.now;
	for (int spins = 0; next <= IA.now; spins++) {
		IA_CHECK(spins < 8, "ice_agent_tick keeps returning %llu at %llu: a busy loop",
			 (unsigned long long)next, (unsigned long long)IA.now);
		IA.sends = 0;
		next = ice_agent_tick(IA.a, IA.now);
	}
	return next;
}

static void ia_tick_until(uint64_t until)
{
	for (int i = 0; i < 200; i++) {
		uint64_t next = ia_tick();
		if (next > until)
			break;
		IA.now = next;
	}
	if (IA.now < until) {
		IA.now = until;
		ia_tick();
	}
}

static void ia_tcp_event(struct seq_rd *r)
{
	uint8_t f = seq_u8(r), w = seq_u8(r);

	IA.sends = 0;
	if ((f & 3) == 0) { /* a peer connects to the passive base */
		if (IA.nconn >= IA_CONNS)
			return;
		union ice_addr from = ia_from(r);
		IA.conns[IA.nconn] = 100 + IA.nconn;
		IA.conn_open[IA.nconn] = true;
		IA.conn_peer[IA.nconn] = from;
		ice_agent_tcp_accepted(IA.a, 5, IA.conns[IA.nconn++], &from, IA.now);
		return;
	}
	if (!IA.nconn)
		return;
	int i = w % IA.nconn;
	if (!IA.conn_open[i])
		return;
	if ((f & 3) == 1) {
		ice_agent_tcp_connected(IA.a, IA.conns[i], IA.now);
	} else {
		IA.conn_open[i] = false; /* the owner closed it and says so */
		ice_agent_tcp_closed(IA.a, IA.conns[i], IA.now);
	}
}

static void ia_run(struct seq_rd *r)
{
	static const uint64_t unit[4] = {1, 20, 1000, 10000};

	for (int op = 0; op < IA_OPS_MAX && r->n; op++) {
		uint8_t code = seq_u8(r);
		uint8_t buf[256];
		size_t len;
		union ice_addr from;
		int base;
		if (IA.debug)
			fprintf(stderr, "op %d\n", code & 15);
		IA.sends = 0;
		switch (code & 15) {
		case 0:
			ia_set_remote(code >> 4);
			break;
		case 1:
		case 2:
			ia_add_remote(r);
			break;
		case 3:
			ice_agent_remote_done(IA.a, IA.now);
			break;
		case 4:
		case 5:
			ia_peer_request(r);
			break;
		case 6:
		case 7:
			ia_answer(r);
			break;
		case 8: /* raw bytes or application data to a base */
			base = ia_base_pick(code >> 4);
			from = ia_from(r);
			len = seq_u8(r) % sizeof(buf);
			for (size_t i = 0; i < len; i++)
				buf[i] = seq_u8(r);
			ia_recv(base, &from, buf, len);
			break;
		case 9: {
			const uint8_t data[32] = {0x80, 1, 2, 3}; /* RTP-looking, not STUN */
			IA.in_send = true;
			IA.send_comp = 1 + (code >> 4 & 1);
			ice_agent_send(IA.a, IA.send_comp, data, sizeof(data), IA.now);
			IA.in_send = false;
			break;
		}
		case 10:
			ice_agent_restart(IA.a, (code >> 4) & 1, IA.now);
			break;
		case 11:
			ice_agent_gather_done(IA.a, IA.now);
			break;
		case 12:
			ia_tcp_event(r);
			break;
		default:
			ia_tick_until(IA.now + (uint64_t)seq_u8(r) * unit[code >> 4 & 3]);
			break;
		}
		unsigned pairs = ice_agent_pair_count(IA.a);
		IA_CHECK(pairs <= ICE_LOCALS_MAX * ICE_REMOTES_MAX, "%u pairs", pairs);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seq_rd r = {data, size};
	uint8_t conf = seq_u8(&r);
	struct ice_config cfg;
	struct ice_io io = {.send = ia_send,
			    .event = ia_event,
			    .tcp_connect = ia_tcp_connect,
			    .tcp_close = ia_tcp_close};

	memset(&IA, 0, sizeof(IA));
	IA.debug = getenv("NATLAB_FUZZ_DEBUG") != NULL;
	IA.now = 10000;
	IA.state = ICE_STATE_NEW;
	memset(&cfg, 0, sizeof(cfg));
	cfg.controlling = conf & 1;
	cfg.components = conf & 2 ? 2 : 1;
	cfg.aggressive = (conf & 4) != 0;
	cfg.trickle = (conf & 8) != 0;
	cfg.policy = (enum ice_policy)((conf >> 4) % 3);
	cfg.seed = 1;
	if (conf & 0x40) {
		IA.stun = ia_addr("192.0.2.50", 3478);
		IA.has_stun = true;
		cfg.stun[0] = IA.stun;
		cfg.n_stun = 1;
	}
	if (conf & 0x80)
		cfg.keepalive_ms = UINT32_MAX;
	IA_CHECK(ice_agent_new(&cfg, &io, &IA.a) == 0, "ice_agent_new");
	for (int i = 0; i < IA_BASES; i++) {
		union ice_addr a = ia_addr(ia_bases[i].ip, ia_bases[i].port);
		if (ia_bases[i].comp > cfg.components)
			continue;
		if (i == 3) {
			union ice_addr server = ia_addr("192.0.2.1", 3478);
			union ice_addr mapped = ia_addr("198.51.100.1", 4000);
			ice_agent_add_relay(IA.a, 1, &a, &server, &mapped, ICE_RELAY_VIA_UDP, i + 1,
					    IA.now);
		} else if (ia_bases[i].tr == 0) {
			ice_agent_add_host(IA.a, ia_bases[i].comp, ICE_TRANSPORT_UDP, &a, i + 1,
					   IA.now);
		} else {
			ice_agent_add_tcp_host(
			    IA.a, 1, ia_bases[i].tr == 1 ? ICE_TCP_PASSIVE : ICE_TCP_ACTIVE, &a,
			    i + 1, IA.now);
		}
	}
	ice_agent_gather(IA.a, (conf & 0x20) != 0, IA.now);
	ia_run(&r);
	ice_agent_free(IA.a);
	IA.a = NULL;
	return 0;
}
