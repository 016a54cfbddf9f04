/* The TURN server and client state machines wired to each other through
 * fake sockets and a fake clock: allocation with the 401 challenge, every
 * error path a user would meet (bad password 401, stale nonce 438, quota
 * 486, denied peer 403, 300 redirection), permissions that expire and then
 * drop data, channels, refreshes, SHA-256 and the shared-secret scheme,
 * USERHASH, 300 over a stream, and answers carrying unknown
 * comprehension-required attributes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agents/ice/candidate.h"
#include "agents/stun/stun.h"
#include "agents/turn/turn_client.h"
#include "agents/turn/turn_server.h"

#define NCLIENTS 3

struct world;

struct client {
	struct world *w;
	struct sockaddr_storage addr; /* the client's own address */
	struct turn_client *tc;
	enum turn_client_state last_state;
	int last_code;
	int results[4], result_code[4];
	int rx;
	uint8_t rx_buf[2048];
	size_t rx_len;
	struct sockaddr_storage rx_from;
};

struct world {
	uint64_t now;
	struct turn_server *srv[2]; /* [1]: an alternate server */
	struct sockaddr_storage srv_addr[2];
	struct client cl[NCLIENTS];
	int next_port;
	int relays_open;
	int errors_seen[700]; /* error codes the servers sent */
	int events_alloc, events_end;
	/* what the relays sent to peers */
	int to_peer;
	uint8_t peer_buf[2048];
	size_t peer_len;
	/* the last message a client sent towards a server */
	uint8_t c2s[2048];
	size_t c2s_len;
};

static struct world W;

/* @ip (numeric, IPv4 or IPv6) and @port as a socket address */
static struct sockaddr_storage sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	union ice_addr a;

	memset(&ss, 0, sizeof(ss));
	if (ice_addr_from_text(&a, ip, port) == 0)
		memcpy(&ss, &a, sizeof(a));
	return ss;
}

/* ---- the server side ---- */

static int io_relay_open(void *ctx, int family, uint16_t port, uint32_t cookie,
			 struct sockaddr_storage *bound)
{
	(void)ctx;
	(void)cookie;
	if (family != AF_INET)
		return -EAFNOSUPPORT;
	*bound = sa("192.0.2.1", port ? port : (uint16_t)(W.next_port++));
	W.relays_open++;
	return W.next_port;
}
static void io_relay_set_cookie(void *ctx, int h, uint32_t cookie)
{
	(void)ctx;
	(void)h;
	(void)cookie;
}
static void io_relay_close(void *ctx, int h)
{
	(void)ctx;
	(void)h;
	W.relays_open--;
}
static int io_relay_send(void *ctx, int h, const struct sockaddr *peer, const uint8_t *buf,
			 size_t len, bool df)
{
	(void)ctx;
	(void)h;
	(void)peer;
	(void)df;
	W.to_peer++;
	memcpy(W.peer_buf, buf, len);
	W.peer_len = len;
	return 0;
}
static int io_client_send(void *ctx, const struct turn_key *k, const uint8_t *buf, size_t len)
{
	(void)ctx;
	struct stun_msg m;
	if (stun_msg_decode(&m, buf, len, 0, NULL) == 0 && m.cls == STUN_CLASS_ERROR) {
		int code;
		const char *r;
		size_t rl;
		if (stun_msg_get_error(&m, &code, &r, &rl) == 0)
			W.errors_seen[code]++;
	}
	for (int i = 0; i < NCLIENTS; i++) {
		if (W.cl[i].tc && turn_addr_same((const struct sockaddr *)&k->client,
						 (const struct sockaddr *)&W.cl[i].addr))
			turn_client_input(W.cl[i].tc, buf, len, W.now);
	}
	return 0;
}
static void io_event(void *ctx, const char *json)
{
	(void)ctx;
	if (strstr(json, "\"ev\":\"alloc\""))
		W.events_alloc++;
	if (strstr(json, "\"ev\":\"alloc-end\""))
		W.events_end++;
}

static const struct turn_server_io server_io = {
    .relay_open = io_relay_open,
    .relay_set_cookie = io_relay_set_cookie,
    .relay_close = io_relay_close,
    .relay_send = io_relay_send,
    .client_send = io_client_send,
    .event = io_event,
};

/* ---- the client side ---- */

static int cl_send(void *ctx, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
	struct client *c = ctx;
	struct turn_key k;
	if (len <= sizeof(W.c2s)) {
		memcpy(W.c2s, buf, len);
		W.c2s_len = len;
	}
	memset(&k, 0, sizeof(k));
	k.client = c->addr;
	for (int i = 0; i < 2; i++) {
		if (W.srv[i] && turn_addr_same(to, (const struct sockaddr *)&W.srv_addr[i]))
			turn_server_input(W.srv[i], &k, buf, len, W.now);
	}
	return 0;
}
static void cl_state(void *ctx, enum turn_client_state st, int code)
{
	struct client *c = ctx;
	c->last_state = st;
	c->last_code = code;
}
static void cl_result(void *ctx, enum turn_client_op op, const struct sockaddr *peer, int code)
{
	(void)peer;
	struct client *c = ctx;
	c->results[op]++;
	c->result_code[op] = code;
}
static void cl_data(void *ctx, const struct sockaddr *peer, const uint8_t *buf, size_t len)
{
	struct client *c = ctx;
	c->rx++;
	memcpy(c->rx_buf, buf, len);
	c->rx_len = len;
	memcpy(&c->rx_from, peer, turn_addr_len(peer));
}

static struct turn_server *mk_server(int i, const struct turn_server_config *cfg)
{
	char msg[128];
	W.srv_addr[i] = sa(i ? "198.51.100.2" : "198.51.100.1", 3478);
	W.srv[i] = turn_server_new(cfg, &server_io, W.now, msg, sizeof(msg));
	assert_non_null(W.srv[i]);
	assert_int_equal(turn_server_user_add(W.srv[i], "alice", "pw"), 0);
	assert_int_equal(turn_server_user_add(W.srv[i], "bob", "pw"), 0);
	return W.srv[i];
}

static struct client *mk_client(int i, const char *user, const char *pass,
				const struct turn_client_config *base)
{
	char msg[128];
	struct turn_client_config cfg = base ? *base : (struct turn_client_config){0};
	struct client *c = &W.cl[i];
	struct turn_client_cb cb = {
	    .ctx = c, .send = cl_send, .state = cl_state, .result = cl_result, .data = cl_data};
	cfg.user = user;
	cfg.pass = pass;
	c->w = &W;
	c->addr = sa("203.0.113.9", (uint16_t)(40000 + i));
	c->tc =
	    turn_client_new(&cfg, &cb, (const struct sockaddr *)&W.srv_addr[0], msg, sizeof(msg));
	assert_non_null(c->tc);
	return c;
}

/* advance the fake clock, ticking everyone each simulated second */
static void run_until(uint64_t t)
{
	while (W.now < t) {
		W.now = W.now + 1000 > t ? t : W.now + 1000;
		for (int i = 0; i < 2; i++)
			if (W.srv[i])
				turn_server_tick(W.srv[i], W.now);
		for (int i = 0; i < NCLIENTS; i++)
			if (W.cl[i].tc)
				turn_client_tick(W.cl[i].tc, W.now);
	}
}

static int setup(void **st)
{
	(void)st;
	memset(&W, 0, sizeof(W));
	W.now = 1000000;
	W.next_port = 50000;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	for (int i = 0; i < NCLIENTS; i++)
		turn_client_free(W.cl[i].tc);
	for (int i = 0; i < 2; i++)
		turn_server_free(W.srv[i], W.now);
	assert_int_equal(W.relays_open, 0); /* every relay closed */
	return 0;
}

static void peer_says(struct turn_server *s, const char *ip, uint16_t port, const char *text)
{
	struct sockaddr_storage p = sa(ip, port);
	turn_server_relay_input(s, 0, 50001, (const struct sockaddr *)&p, (const uint8_t *)text,
				strlen(text), W.now);
}

static void test_allocate_and_relay(void **st)
{
	(void)st;
	struct turn_server_config cfg = {.allow_loopback = false};
	struct turn_server *s = mk_server(0, &cfg);
	struct client *c = mk_client(0, "alice", "pw", NULL);
	struct sockaddr_storage relayed, peer = sa("192.0.2.77", 9000);

	assert_int_equal(turn_client_start(c->tc, W.now), 0);
	assert_int_equal(W.errors_seen[401], 1); /* the challenge */
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	assert_int_equal(turn_client_relayed(c->tc, 0, &relayed), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&relayed)->sin_port), 50000);
	assert_int_equal(turn_client_lifetime_s(c->tc), 600);
	assert_int_equal(W.events_alloc, 1);

	/* without a permission, data from the peer is dropped */
	peer_says(s, "192.0.2.77", 9000, "early");
	assert_int_equal(c->rx, 0);
	/* Send indication after CreatePermission */
	assert_int_equal(turn_client_permit(c->tc, (struct sockaddr *)&peer, W.now), 0);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_PERMISSION], 0);
	assert_int_equal(
	    turn_client_send(c->tc, (struct sockaddr *)&peer, (const uint8_t *)"hello", 5), 0);
	assert_int_equal(W.to_peer, 1);
	assert_memory_equal(W.peer_buf, "hello", 5);
	peer_says(s, "192.0.2.77", 9001, "back"); /* any port of a permitted IP */
	assert_int_equal(c->rx, 1);
	assert_memory_equal(c->rx_buf, "back", 4);
	/* a channel: data both ways as ChannelData */
	assert_int_equal(turn_client_bind(c->tc, (struct sockaddr *)&peer, W.now), 0);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_CHANNEL], 0);
	assert_int_equal(
	    turn_client_send(c->tc, (struct sockaddr *)&peer, (const uint8_t *)"chan", 4), 0);
	assert_int_equal(W.to_peer, 2);
	peer_says(s, "192.0.2.77", 9000, "chan-back");
	assert_int_equal(c->rx, 2);
	assert_int_equal(c->rx_len, 9);

	/* refreshes keep everything alive across an hour */
	run_until(W.now + 3600 * 1000);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	assert_int_equal(turn_server_alloc_count(s), 1);
	peer_says(s, "192.0.2.77", 9000, "still");
	assert_int_equal(c->rx, 3);
	assert_int_equal(turn_client_send(c->tc, (struct sockaddr *)&peer, (const uint8_t *)"x", 1),
			 0);
	assert_int_equal(W.to_peer, 3);

	/* closing deletes it on the server */
	assert_int_equal(turn_client_close(c->tc, W.now), 0);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_CLOSED);
	assert_int_equal(turn_server_alloc_count(s), 0);
	assert_int_equal(W.events_end, 1);
}

static void test_bad_password_401(void **st)
{
	(void)st;
	struct turn_server_config cfg = {0};
	mk_server(0, &cfg);
	struct client *c = mk_client(0, "alice", "wrong", NULL);

	turn_client_start(c->tc, W.now);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_FAILED);
	assert_int_equal(turn_client_error(c->tc), 401);
	assert_int_equal(W.errors_seen[401], 2);
	assert_int_equal(turn_server_alloc_count(W.srv[0]), 0);
	struct client *d = mk_client(1, "mallory", "pw", NULL);
	turn_client_start(d->tc, W.now);
	assert_int_equal(turn_client_error(d->tc), 401);
}

static void test_stale_nonce_438(void **st)
{
	(void)st;
	struct turn_server_config cfg = {.nonce_lifetime_s = 30};
	mk_server(0, &cfg);
	struct client *c = mk_client(0, "alice", "pw", NULL);
	struct sockaddr_storage peer = sa("192.0.2.77", 9000);

	turn_client_start(c->tc, W.now);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	W.now += 31000;
	assert_int_equal(turn_client_permit(c->tc, (struct sockaddr *)&peer, W.now), 0);
	/* the server said 438, the client retried with the new nonce */
	assert_int_equal(W.errors_seen[438], 1);
	assert_int_equal(c->results[TURN_CLIENT_OP_PERMISSION], 1);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_PERMISSION], 0);
}

static void test_quota_486(void **st)
{
	(void)st;
	struct turn_server_config cfg = {.user_quota = 1, .max_allocs = 2};
	mk_server(0, &cfg);
	struct client *a = mk_client(0, "alice", "pw", NULL);
	struct client *b = mk_client(1, "alice", "pw", NULL);
	struct client *c = mk_client(2, "bob", "pw", NULL);

	turn_client_start(a->tc, W.now);
	assert_int_equal(turn_client_state(a->tc), TURN_CLIENT_ALLOCATED);
	turn_client_start(b->tc, W.now); /* alice's second: per-user quota */
	assert_int_equal(turn_client_state(b->tc), TURN_CLIENT_FAILED);
	assert_int_equal(turn_client_error(b->tc), 486);
	turn_client_start(c->tc, W.now); /* bob's first */
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	turn_client_close(c->tc, W.now);
	/* total quota: 2 slots, alice holds one; fill the other, then a third */
	turn_client_free(c->tc);
	c = mk_client(2, "bob", "pw", NULL);
	turn_client_start(c->tc, W.now);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	turn_client_free(b->tc);
	b = mk_client(1, "bob", "pw", NULL);
	b->addr = sa("203.0.113.10", 1);
	turn_client_start(b->tc, W.now);
	assert_int_equal(turn_client_error(b->tc), 486);
}

static void test_denied_peer_403(void **st)
{
	(void)st;
	struct turn_server_config cfg = {0};
	struct turn_server *s = mk_server(0, &cfg);
	assert_int_equal(turn_server_deny_add(s, "10.0.0.0/8"), 0);
	struct client *c = mk_client(0, "alice", "pw", NULL);
	struct sockaddr_storage lo = sa("127.0.0.1", 9000), priv = sa("10.1.2.3", 9000),
				ok = sa("192.0.2.5", 1);

	turn_client_start(c->tc, W.now);
	turn_client_permit(c->tc, (struct sockaddr *)&lo, W.now);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_PERMISSION], 403);
	turn_client_bind(c->tc, (struct sockaddr *)&priv, W.now);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_CHANNEL], 403);
	turn_client_permit(c->tc, (struct sockaddr *)&ok, W.now);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_PERMISSION], 0);
	/* and a Send indication towards a denied peer goes nowhere */
	turn_client_send(c->tc, (struct sockaddr *)&lo, (const uint8_t *)"x", 1);
	assert_int_equal(W.to_peer, 0);
}

static void test_expired_permission_drops(void **st)
{
	(void)st;
	struct turn_server_config cfg = {.perm_lifetime_s = 10};
	struct turn_client_config ccfg = {.perm_refresh_ms = 1000000000}; /* never refresh */
	struct turn_server *s = mk_server(0, &cfg);
	struct client *c = mk_client(0, "alice", "pw", &ccfg);
	struct sockaddr_storage peer = sa("192.0.2.77", 9000);

	turn_client_start(c->tc, W.now);
	turn_client_permit(c->tc, (struct sockaddr *)&peer, W.now);
	run_until(W.now + 9000);
	peer_says(s, "192.0.2.77", 9000, "in time");
	assert_int_equal(c->rx, 1);
	turn_client_send(c->tc, (struct sockaddr *)&peer, (const uint8_t *)"x", 1);
	assert_int_equal(W.to_peer, 1);
	run_until(W.now + 1000);
	peer_says(s, "192.0.2.77", 9000, "too late");
	assert_int_equal(c->rx, 1);
	turn_client_send(c->tc, (struct sockaddr *)&peer, (const uint8_t *)"x", 1);
	assert_int_equal(W.to_peer, 1);
}

static void test_allocation_expires(void **st)
{
	(void)st;
	struct turn_server_config cfg = {.default_lifetime_s = 60, .max_lifetime_s = 60};
	struct turn_server *s = mk_server(0, &cfg);
	struct client *c = mk_client(0, "alice", "pw", NULL);

	turn_client_start(c->tc, W.now);
	assert_int_equal(turn_client_lifetime_s(c->tc), 60);
	/* the client refreshes at half time: alive after 5 minutes */
	run_until(W.now + 300000);
	assert_int_equal(turn_server_alloc_count(s), 1);
	/* the client vanishes: the server deletes it when the lifetime ends */
	turn_client_free(c->tc);
	c->tc = NULL;
	run_until(W.now + 61000);
	assert_int_equal(turn_server_alloc_count(s), 0);
	assert_int_equal(W.events_end, 1);
	assert_int_equal(W.relays_open, 0);
}

static void test_alternate_300(void **st)
{
	(void)st;
	struct turn_server_config cfg0 = {.alternate = NULL}, cfg1 = {0};
	struct sockaddr_storage alt = sa("198.51.100.2", 3478);
	cfg0.alternate = (struct sockaddr *)&alt;
	mk_server(0, &cfg0);
	mk_server(1, &cfg1);
	struct client *c = mk_client(0, "alice", "pw", NULL);

	turn_client_start(c->tc, W.now);
	assert_int_equal(W.errors_seen[300], 1);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	assert_true(turn_addr_same(turn_client_server(c->tc), (struct sockaddr *)&alt));
	assert_int_equal(turn_server_alloc_count(W.srv[0]), 0);
	assert_int_equal(turn_server_alloc_count(W.srv[1]), 1);
}

static void test_sha256_and_rest(void **st)
{
	(void)st;
	struct turn_server_config cfg = {.secret = "s3cret", .unix_offset_s = 1700000000 - 1000};
	mk_server(0, &cfg);
	struct turn_client_config ccfg = {.prefer_sha256 = true};
	char pass[64];
	/* the shared-secret password of "1700003600:carol" */
	assert_true(turn_auth_rest_password("s3cret", "1700003600:carol", 16, pass, sizeof(pass)) >
		    0);
	struct client *a = mk_client(0, "alice", "pw", &ccfg);
	struct client *b = mk_client(1, "1700003600:carol", pass, NULL);
	struct client *x = mk_client(2, "1699999999:carol", "whatever", NULL);

	turn_client_start(a->tc, W.now);
	assert_int_equal(turn_client_state(a->tc), TURN_CLIENT_ALLOCATED);
	turn_client_start(b->tc, W.now);
	assert_int_equal(turn_client_state(b->tc), TURN_CLIENT_ALLOCATED);
	turn_client_start(x->tc, W.now); /* expired name */
	assert_int_equal(turn_client_error(x->tc), 401);
}

static void test_udp_retransmit_timeout(void **st)
{
	(void)st;
	/* no server at that address: 7 transmissions, then failure after
	 * RTO * (1+2+4+8+16+32) + 16 * RTO = 39.5 s with RTO 500 ms */
	struct client *c;
	W.srv_addr[0] = sa("198.51.100.99", 3478);
	c = mk_client(0, "alice", "pw", NULL);
	uint64_t t0 = W.now;
	turn_client_start(c->tc, W.now);
	run_until(t0 + 39000);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATING);
	run_until(t0 + 40000);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_FAILED);
	assert_int_equal(turn_client_error(c->tc), -ETIMEDOUT);
}

/* A refresh (and a permission or channel refresh) whose answer does not
 * come: while it is retransmitted, the client's deadline stays in the
 * future, so its owner sleeps instead of spinning (found by
 * agents/fuzz/turn_client_seq: every tick returned "now" until the answer
 * or the 39.5 s timeout). Permissions and channels are refreshed every
 * 10 s here, so each one comes due again while the last is still being
 * retransmitted. */
static void test_pending_refresh_deadline(void **st)
{
	(void)st;
	struct turn_server_config cfg = {.default_lifetime_s = 60, .max_lifetime_s = 60};
	struct turn_client_config ccfg = {.perm_refresh_ms = 10000, .chan_refresh_ms = 10000};
	struct sockaddr_storage peer = sa("192.0.2.77", 9000);
	struct client *c;

	mk_server(0, &cfg);
	c = mk_client(0, "alice", "pw", &ccfg);
	assert_int_equal(turn_client_start(c->tc, W.now), 0);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	assert_int_equal(turn_client_permit(c->tc, (struct sockaddr *)&peer, W.now), 0);
	assert_int_equal(turn_client_bind(c->tc, (struct sockaddr *)&peer, W.now), 0);
	/* the server goes silent; the refresh is due at half the 60 s */
	W.srv_addr[0] = sa("198.51.100.99", 3478);
	uint64_t t0 = W.now;
	for (W.now = t0; W.now < t0 + 75000; W.now += 250) {
		uint64_t next = turn_client_tick(c->tc, W.now);
		assert_true(next > W.now);
	}
	/* no answer to the refresh sent at 30 s within 39.5 s: the allocation
	 * is lost */
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_FAILED);
	assert_int_equal(turn_client_error(c->tc), -ETIMEDOUT);
}

/* 300 over TCP/TLS: the client cannot move the stream itself; it says
 * REDIRECTED with the alternate as its server, and once its owner has
 * connected there, start allocates on the alternate */
static void test_alternate_300_stream(void **st)
{
	(void)st;
	struct turn_server_config cfg0 = {0}, cfg1 = {0};
	struct sockaddr_storage alt = sa("198.51.100.2", 3478);
	struct turn_client_config ccfg = {.transport = TURN_TRANSPORT_TCP};
	cfg0.alternate = (struct sockaddr *)&alt;
	mk_server(0, &cfg0);
	mk_server(1, &cfg1);
	struct client *c = mk_client(0, "alice", "pw", &ccfg);

	turn_client_start(c->tc, W.now);
	assert_int_equal(W.errors_seen[300], 1);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_REDIRECTED);
	assert_int_equal(c->last_code, 300);
	assert_true(turn_addr_same(turn_client_server(c->tc), (struct sockaddr *)&alt));
	turn_client_start(c->tc, W.now);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	assert_int_equal(turn_server_alloc_count(W.srv[0]), 0);
	assert_int_equal(turn_server_alloc_count(W.srv[1]), 1);
}

/* --sha256 --userhash: the Allocate that succeeds carries USERHASH (no
 * USERNAME), PASSWORD-ALGORITHM SHA-256 and MESSAGE-INTEGRITY-SHA256 */
static void test_client_sha256_userhash(void **st)
{
	(void)st;
	struct turn_server_config cfg = {0};
	struct turn_client_config ccfg = {.prefer_sha256 = true, .userhash = true};
	struct stun_msg m;
	uint16_t alg = 0;
	const uint8_t *uh;
	size_t uhlen;
	uint8_t want[32];
	char user[64];

	mk_server(0, &cfg);
	struct client *c = mk_client(0, "alice", "pw", &ccfg);
	turn_client_start(c->tc, W.now);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	assert_int_equal(stun_msg_decode(&m, W.c2s, W.c2s_len, 0, NULL), 0);
	assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
	assert_int_equal(stun_msg_get_bytes(&m, STUN_ATTR_USERHASH, &uh, &uhlen), 0);
	assert_int_equal(uhlen, 32);
	assert_int_equal(stun_userhash(want, "alice", "natlab"), 0);
	assert_memory_equal(uh, want, 32);
	assert_int_not_equal(stun_msg_get_string(&m, STUN_ATTR_USERNAME, user, sizeof(user)), 0);
	assert_int_equal(stun_msg_get_password_algorithm(&m, &alg), 0);
	assert_int_equal(alg, STUN_PWALG_SHA256);
	assert_true(m.mi256_idx >= 0);
	/* the allocation works: a permission on it is accepted */
	struct sockaddr_storage peer = sa("192.0.2.50", 9);
	turn_client_permit(c->tc, (struct sockaddr *)&peer, W.now);
	assert_int_equal(c->results[TURN_CLIENT_OP_PERMISSION], 1);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_PERMISSION], 0);
}

/* answer_allocate - a success response to the client's last Allocate with
 * a relayed address; @unknown (a comprehension-required type the codec
 * does not know) when non-zero; MESSAGE-INTEGRITY from @pass (user alice,
 * realm "lab" of challenge_allocate) when not NULL */
static void answer_allocate(struct client *c, uint16_t unknown, const char *pass)
{
	struct stun_msg req;
	struct stun_builder b;
	struct stun_addr relayed;
	struct sockaddr_storage r = sa("192.0.2.1", 50000);
	uint8_t buf[512], v[4] = {1, 2, 3, 4}, key[TURN_AUTH_KEY_MAX];

	assert_int_equal(stun_msg_decode(&req, W.c2s, W.c2s_len, 0, NULL), 0);
	assert_int_equal(req.method, STUN_METHOD_ALLOCATE);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_SUCCESS, STUN_METHOD_ALLOCATE), req.tid);
	stun_addr_from_sockaddr(&relayed, (struct sockaddr *)&r, sizeof(struct sockaddr_in));
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed);
	stun_builder_add_u32(&b, STUN_ATTR_LIFETIME, 600);
	if (unknown)
		stun_builder_add(&b, unknown, v, sizeof(v));
	if (pass) {
		int kl = turn_auth_key(TURN_AUTH_ALG_MD5, "alice", 5, "lab", pass, key);
		assert_true(kl > 0);
		stun_builder_add_integrity(&b, key, (size_t)kl);
	}
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	turn_client_input(c->tc, buf, (size_t)n, W.now);
}

/* RFC 8489 §6.3.3: a success response with an unknown
 * comprehension-required attribute is discarded and the transaction
 * fails; an unknown comprehension-optional one (0x8000 and up) is fine */
static void test_client_unknown_required_attr(void **st)
{
	(void)st;
	/* no server at the client's address: the test answers by hand */
	W.srv_addr[0] = sa("198.51.100.1", 3478);
	struct client *c = mk_client(0, "alice", "pw", NULL);
	struct client *d = mk_client(1, "alice", "pw", NULL);

	turn_client_start(c->tc, W.now);
	answer_allocate(c, 0x7ff0, NULL);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_FAILED);
	assert_int_equal(turn_client_error(c->tc), -EPROTO);
	assert_int_equal(c->result_code[TURN_CLIENT_OP_ALLOCATE], -EPROTO);
	struct sockaddr_storage out;
	assert_int_equal(turn_client_relayed(c->tc, 0, &out), -ENOENT);

	turn_client_start(d->tc, W.now);
	answer_allocate(d, 0xfff0, NULL);
	assert_int_equal(turn_client_state(d->tc), TURN_CLIENT_ALLOCATED);
	assert_int_equal(turn_client_relayed(d->tc, 0, &out), 0);
}

/* challenge_allocate - a 401 with REALM "lab" and a NONCE to the client's
 * last Allocate: the client answers with a signed Allocate */
static void challenge_allocate(struct client *c)
{
	struct stun_msg req;
	struct stun_builder b;
	uint8_t buf[256];

	assert_int_equal(stun_msg_decode(&req, W.c2s, W.c2s_len, 0, NULL), 0);
	assert_true(req.mi_idx < 0);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_ERROR, STUN_METHOD_ALLOCATE), req.tid);
	stun_builder_add_error(&b, 401, "Unauthenticated");
	stun_builder_add_string(&b, STUN_ATTR_REALM, "lab");
	stun_builder_add_string(&b, STUN_ATTR_NONCE, "n0nce");
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	turn_client_input(c->tc, buf, (size_t)n, W.now);
	assert_int_equal(stun_msg_decode(&req, W.c2s, W.c2s_len, 0, NULL), 0);
	assert_true(req.mi_idx >= 0);
}

/* RFC 8489 §9.2.5: an answer to a request that carried the credentials
 * counts only with MESSAGE-INTEGRITY that verifies with the request's key.
 * Over UDP an answer without one, or with a wrong one, is as if never
 * received (the request is retransmitted; when nothing better comes the
 * transaction fails as an integrity violation, not a timeout); over TCP
 * it ends the transaction at once. */
static void test_client_unsigned_answer(void **st)
{
	(void)st;
	W.srv_addr[0] = sa("198.51.100.1", 3478); /* the test answers by hand */
	struct turn_client_config tcp = {.transport = TURN_TRANSPORT_TCP};
	struct client *c = mk_client(0, "alice", "pw", NULL);
	struct client *d = mk_client(1, "alice", "pw", NULL);
	struct client *e = mk_client(2, "alice", "pw", &tcp);
	struct sockaddr_storage out;

	turn_client_start(c->tc, W.now);
	challenge_allocate(c);
	answer_allocate(c, 0, NULL);
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATING);
	answer_allocate(c, 0, "not-pw");
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATING);
	assert_int_equal(turn_client_relayed(c->tc, 0, &out), -ENOENT);
	answer_allocate(c, 0, "pw");
	assert_int_equal(turn_client_state(c->tc), TURN_CLIENT_ALLOCATED);
	assert_int_equal(turn_client_relayed(c->tc, 0, &out), 0);

	uint64_t t0 = W.now;
	turn_client_start(d->tc, W.now);
	challenge_allocate(d);
	answer_allocate(d, 0, NULL);
	run_until(t0 + 40000);
	assert_int_equal(turn_client_state(d->tc), TURN_CLIENT_FAILED);
	assert_int_equal(turn_client_error(d->tc), -EBADMSG);

	turn_client_start(e->tc, W.now);
	challenge_allocate(e);
	answer_allocate(e, 0, NULL);
	assert_int_equal(turn_client_state(e->tc), TURN_CLIENT_FAILED);
	assert_int_equal(turn_client_error(e->tc), -EBADMSG);
	assert_int_equal(e->result_code[TURN_CLIENT_OP_ALLOCATE], -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_allocate_and_relay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_password_401, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_nonce_438, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quota_486, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_denied_peer_403, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_permission_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_allocation_expires, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alternate_300, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sha256_and_rest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_udp_retransmit_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_refresh_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alternate_300_stream, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_sha256_userhash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_unknown_required_attr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_unsigned_answer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
