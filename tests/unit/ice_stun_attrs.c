/* ice_stun_attrs.c - the ICE agent and unknown comprehension-required STUN
 * attributes (RFC 8489 §6.3, §14): a Binding request carrying one is
 * answered 420 with UNKNOWN-ATTRIBUTES; a success response carrying one is
 * discarded and its transaction fails (the check's pair becomes Failed, a
 * STUN server's answer gives no server-reflexive candidate). Each case has
 * a control without the attribute, so the test cannot pass by the agent
 * ignoring everything. One agent, fake sockets, fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agents/ice/ice.h"
#include "agents/stun/stun.h"

#define UNKNOWN_REQ 0x7ff0 /* comprehension-required, not defined */
#define RPWD	    "remotepassword0123456789ab"

static struct {
	struct ice_agent *ag;
	union ice_addr host, peer, stun;
	/* the last datagram the agent sent, and the last one to the peer
	 * and to the STUN server */
	uint8_t last[1500], to_peer[1500], to_stun[1500];
	size_t last_len, to_peer_len, to_stun_len;
	union ice_addr last_to;
	int sent, sent_peer, sent_stun;
	int srflx; /* server-reflexive candidates reported */
	int gathered;
	uint64_t now;
} W;

static void io_send(void *ctx, int base_id, const union ice_addr *to, const uint8_t *buf,
		    size_t len)
{
	(void)ctx;
	(void)base_id;
	assert_true(len <= sizeof(W.last));
	memcpy(W.last, buf, len);
	W.last_len = len;
	W.last_to = *to;
	W.sent++;
	if (ice_addr_equal(to, &W.peer)) {
		memcpy(W.to_peer, buf, len);
		W.to_peer_len = len;
		W.sent_peer++;
	} else if (ice_addr_equal(to, &W.stun)) {
		memcpy(W.to_stun, buf, len);
		W.to_stun_len = len;
		W.sent_stun++;
	}
}

static void io_event(void *ctx, const struct ice_event *ev)
{
	(void)ctx;
	if (ev->type == ICE_EV_CANDIDATE && ev->cand->type == ICE_CAND_SRFLX)
		W.srflx++;
	if (ev->type == ICE_EV_GATHERING_DONE)
		W.gathered++;
}

static int setup(void **st)
{
	(void)st;
	struct ice_config cfg;
	struct ice_io io = {.send = io_send, .event = io_event};

	memset(&W, 0, sizeof(W));
	memset(&cfg, 0, sizeof(cfg));
	W.now = 1000;
	assert_int_equal(ice_addr_from_text(&W.host, "10.0.0.1", 40001), 0);
	assert_int_equal(ice_addr_from_text(&W.peer, "10.0.0.2", 5000), 0);
	assert_int_equal(ice_addr_from_text(&W.stun, "198.51.100.1", 3478), 0);
	cfg.controlling = false;
	cfg.seed = 7;
	cfg.ta_ms = 20;
	cfg.rto_ms = 100;
	cfg.stun[0] = W.stun;
	cfg.n_stun = 1;
	assert_int_equal(ice_agent_new(&cfg, &io, &W.ag), 0);
	assert_true(ice_agent_add_host(W.ag, 1, ICE_TRANSPORT_UDP, &W.host, 0, W.now) >= 0);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	ice_agent_free(W.ag);
	return 0;
}

/* run the agent's timers until *@counter moves (or 3 s) */
static bool wait_sent(const int *counter)
{
	int before = *counter;
	for (int i = 0; i < 300 && *counter == before; i++) {
		W.now += 10;
		ice_agent_tick(W.ag, W.now);
	}
	return *counter != before;
}

static void addr_to_stun(struct stun_addr *s, const union ice_addr *a)
{
	stun_addr_from_sockaddr(s, &a->sa, ice_addr_len(a));
}

/* a connectivity check from the peer to the agent, with @unknown */
static void peer_check(bool unknown)
{
	uint8_t buf[512], tid[STUN_TID_LEN], v[4] = {0};
	struct stun_builder b;
	char user[128];
	const char *pwd = ice_agent_pwd(W.ag);

	snprintf(user, sizeof(user), "%s:rfrg", ice_agent_ufrag(W.ag));
	stun_tid_random(tid);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), tid);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, user);
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 0x6e0001ff);
	stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLING, 42);
	if (unknown)
		stun_builder_add(&b, UNKNOWN_REQ, v, sizeof(v));
	stun_builder_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	W.sent = 0;
	ice_agent_recv(W.ag, 0, &W.peer, buf, (size_t)n, W.now);
	assert_int_equal(W.sent, 1);
	assert_true(ice_addr_equal(&W.last_to, &W.peer));
}

static void test_request_420(void **st)
{
	(void)st;
	struct stun_msg m;
	int code = 0;
	uint16_t types[4];
	size_t nt = 0;
	const char *pwd = ice_agent_pwd(W.ag);

	peer_check(true);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(m.cls, STUN_CLASS_ERROR);
	assert_int_equal(stun_msg_get_error(&m, &code, NULL, NULL), 0);
	assert_int_equal(code, 420);
	assert_int_equal(stun_msg_get_unknown_attrs(&m, types, 4, &nt), 0);
	assert_int_equal(nt, 1);
	assert_int_equal(types[0], UNKNOWN_REQ);
	/* authenticated with the agent's password, as its other answers */
	assert_int_equal(stun_msg_check_integrity(&m, (const uint8_t *)pwd, strlen(pwd)), 0);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);

	/* control: the same check without it succeeds */
	peer_check(false);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
}

/* the agent checks the peer; the peer answers success, with @unknown;
 * returns the pair's state afterwards */
static enum ice_pair_state answer_check(bool unknown)
{
	struct ice_candidate c;
	struct stun_msg req;
	struct stun_builder b;
	struct stun_addr mapped;
	uint8_t buf[512], v[4] = {0};

	ice_agent_gather(W.ag, false, W.now);
	assert_int_equal(ice_agent_set_remote(W.ag, "rfrg", RPWD, W.now), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.foundation, sizeof(c.foundation), "1");
	c.component = 1;
	c.transport = ICE_TRANSPORT_UDP;
	c.priority = 0x7e0001ff;
	c.addr = W.peer;
	c.type = ICE_CAND_HOST;
	assert_int_equal(ice_agent_add_remote(W.ag, &c, W.now), 0);
	assert_true(wait_sent(&W.sent_peer));
	assert_int_equal(stun_msg_decode(&req, W.to_peer, W.to_peer_len, 0, NULL), 0);
	assert_int_equal(req.cls, STUN_CLASS_REQUEST);

	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_SUCCESS, STUN_METHOD_BINDING), req.tid);
	addr_to_stun(&mapped, &W.host);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	if (unknown)
		stun_builder_add(&b, UNKNOWN_REQ, v, sizeof(v));
	stun_builder_add_integrity(&b, (const uint8_t *)RPWD, strlen(RPWD));
	stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	ice_agent_recv(W.ag, 0, &W.peer, buf, (size_t)n, W.now);

	/* one host candidate, one remote (the STUN server never answered:
	 * no server-reflexive one): one pair */
	const struct ice_checklist *cl = ice_agent_checklist(W.ag);
	assert_int_equal(cl->n, 1);
	return cl->pairs[0].state;
}

static void test_check_response_unknown(void **st)
{
	(void)st;
	assert_int_equal(answer_check(true), ICE_PAIR_FAILED);
}

static void test_check_response_control(void **st)
{
	(void)st;
	assert_int_equal(answer_check(false), ICE_PAIR_SUCCEEDED);
}

/* the STUN server answers the agent's gathering request, with @unknown */
static void answer_gather(bool unknown)
{
	struct stun_msg req;
	struct stun_builder b;
	struct stun_addr mapped;
	union ice_addr pub;
	uint8_t buf[512], v[4] = {0};

	ice_agent_gather(W.ag, false, W.now);
	if (!W.sent_stun)
		assert_true(wait_sent(&W.sent_stun));
	assert_int_equal(stun_msg_decode(&req, W.to_stun, W.to_stun_len, 0, NULL), 0);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_SUCCESS, STUN_METHOD_BINDING), req.tid);
	assert_int_equal(ice_addr_from_text(&pub, "203.0.113.5", 6000), 0);
	addr_to_stun(&mapped, &pub);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
	if (unknown)
		stun_builder_add(&b, UNKNOWN_REQ, v, sizeof(v));
	stun_builder_add_fingerprint(&b);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	ice_agent_recv(W.ag, 0, &W.stun, buf, (size_t)n, W.now);
	ice_agent_tick(W.ag, W.now);
}

static void test_gather_response_unknown(void **st)
{
	(void)st;
	answer_gather(true);
	assert_int_equal(W.srflx, 0);
	assert_int_equal(W.gathered, 1); /* the transaction ended: not waited on */
}

static void test_gather_response_control(void **st)
{
	(void)st;
	answer_gather(false);
	assert_int_equal(W.srflx, 1);
	assert_int_equal(W.gathered, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_request_420, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_response_unknown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_response_control, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gather_response_unknown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gather_response_control, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
