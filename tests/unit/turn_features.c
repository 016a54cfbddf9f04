/* The TURN server driven with hand-built STUN requests through fake sockets
 * and a fake clock, for what natlab's client does not exercise: EVEN-PORT
 * with RESERVATION-TOKEN, the RFC 6062 TCP relay (Connect, 446, 447 after
 * 30 s, ConnectionAttempt, ConnectionBind), the bandwidth cap, the request
 * rate limit, 437 and 441; the security defaults natlab-turn-server starts
 * from; DONT-FRAGMENT reaching the relay socket; USERHASH with SHA-256;
 * ADDRESS-ERROR-CODE. */
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
#include "agents/turn/turn_auth.h"
#include "agents/turn/turn_server.h"

static struct {
	uint64_t now;
	struct turn_server *s;
	/* the last message the server sent a client, and to which */
	uint8_t last[4096];
	size_t last_len;
	struct turn_key last_to;
	int sent_to_client;
	int relays_open, next_port;
	int to_peer;
	bool last_df; /* the df flag of the last relayed datagram */
	/* RFC 6062 */
	int connects, closes, splices, spliced_handle;
	uint32_t connect_id;
	struct turn_key spliced_key;
	char nonce[256];
} W;

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

static int io_relay_open(void *ctx, int family, uint16_t port, uint32_t cookie,
			 struct sockaddr_storage *bound)
{
	(void)ctx;
	(void)family;
	(void)cookie;
	/* ports come out odd first, so EVEN-PORT has to work for it */
	uint16_t p = port ? port : (uint16_t)W.next_port++;
	if (p == 50002)
		return -EADDRINUSE; /* a taken port, to force another try */
	*bound = sa("192.0.2.1", p);
	W.relays_open++;
	return 1000 + p;
}
static void io_relay_set_cookie(void *ctx, int h, uint32_t c)
{
	(void)ctx;
	(void)h;
	(void)c;
}
static void io_relay_close(void *ctx, int h)
{
	(void)ctx;
	(void)h;
	W.relays_open--;
}
static int io_relay_send(void *ctx, int h, const struct sockaddr *p, const uint8_t *b, size_t l,
			 bool df)
{
	(void)ctx;
	(void)h;
	(void)p;
	(void)b;
	(void)l;
	W.last_df = df;
	W.to_peer++;
	return 0;
}
static int io_client_send(void *ctx, const struct turn_key *k, const uint8_t *buf, size_t len)
{
	(void)ctx;
	memcpy(W.last, buf, len);
	W.last_len = len;
	W.last_to = *k;
	W.sent_to_client++;
	return 0;
}
static int io_tcp_listen(void *ctx, int family, uint32_t cookie, struct sockaddr_storage *bound)
{
	(void)ctx;
	(void)family;
	(void)cookie;
	*bound = sa("192.0.2.1", 40000);
	W.relays_open++;
	return 77;
}
static int io_tcp_connect(void *ctx, int lh, const struct sockaddr *peer, uint32_t id)
{
	(void)ctx;
	(void)peer;
	assert_int_equal(lh, 77);
	W.connects++;
	W.connect_id = id;
	return 500 + (int)id;
}
static void io_tcp_close(void *ctx, int h)
{
	(void)ctx;
	(void)h;
	W.closes++;
}
static void io_tcp_splice(void *ctx, const struct turn_key *k, int h)
{
	(void)ctx;
	W.splices++;
	W.spliced_handle = h;
	W.spliced_key = *k;
}

static const struct turn_server_io io = {
    .relay_open = io_relay_open,
    .relay_set_cookie = io_relay_set_cookie,
    .relay_close = io_relay_close,
    .relay_send = io_relay_send,
    .client_send = io_client_send,
    .tcp_listen = io_tcp_listen,
    .tcp_connect = io_tcp_connect,
    .tcp_close = io_tcp_close,
    .tcp_splice = io_tcp_splice,
};

static struct turn_key key(uint16_t port, uint8_t transport)
{
	struct turn_key k;
	memset(&k, 0, sizeof(k));
	k.client = sa("203.0.113.9", port);
	k.transport = transport;
	k.conn = transport ? port : 0;
	return k;
}

typedef void (*attrs_fn)(struct stun_builder *b, const void *arg);

/* request - send @method with attributes from @fn, authenticated as
 * alice:pw with the nonce from a first 401. Returns the answer's error
 * code (0 for success, -1 for no answer) and leaves it in W.last. */
static int request(const struct turn_key *k, uint16_t method, attrs_fn fn, const void *arg,
		   const char *user)
{
	uint8_t buf[1024], tid[STUN_TID_LEN];
	struct stun_builder b;
	struct stun_msg m;
	uint8_t hkey[32];

	if (!W.nonce[0]) {
		stun_tid_random(tid);
		stun_builder_init(&b, buf, sizeof(buf), stun_type_make(STUN_CLASS_REQUEST, method),
				  tid);
		long n = stun_builder_finish(&b);
		turn_server_input(W.s, k, buf, (size_t)n, W.now);
		assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
		assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_NONCE, W.nonce, sizeof(W.nonce)),
				 0);
	}
	int kl = turn_auth_key(TURN_AUTH_ALG_MD5, user, strlen(user), "natlab", "pw", hkey);
	stun_tid_random(tid);
	stun_builder_init(&b, buf, sizeof(buf), stun_type_make(STUN_CLASS_REQUEST, method), tid);
	if (fn)
		fn(&b, arg);
	stun_builder_add_string(&b, STUN_ATTR_USERNAME, user);
	stun_builder_add_string(&b, STUN_ATTR_REALM, "natlab");
	stun_builder_add_string(&b, STUN_ATTR_NONCE, W.nonce);
	stun_builder_add_integrity(&b, hkey, (size_t)kl);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	int before = W.sent_to_client;
	turn_server_input(W.s, k, buf, (size_t)n, W.now);
	if (W.sent_to_client == before)
		return -1;
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_memory_equal(m.tid, tid, STUN_TID_LEN);
	if (m.cls == STUN_CLASS_SUCCESS)
		return 0;
	int code;
	const char *r;
	size_t rl;
	assert_int_equal(stun_msg_get_error(&m, &code, &r, &rl), 0);
	return code;
}

static void add_udp(struct stun_builder *b, const void *arg)
{
	(void)arg;
	stun_builder_add_requested_transport(b, 17);
}
static void add_tcp(struct stun_builder *b, const void *arg)
{
	(void)arg;
	stun_builder_add_requested_transport(b, 6);
}
static void add_even_r(struct stun_builder *b, const void *arg)
{
	(void)arg;
	stun_builder_add_requested_transport(b, 17);
	stun_builder_add_even_port(b, true);
}
static void add_token(struct stun_builder *b, const void *arg)
{
	stun_builder_add_requested_transport(b, 17);
	stun_builder_add_u64(b, STUN_ATTR_RESERVATION_TOKEN, *(const uint64_t *)arg);
}
static void add_even_token(struct stun_builder *b, const void *arg)
{
	add_token(b, arg);
	stun_builder_add_even_port(b, false);
}
static void add_peer(struct stun_builder *b, const void *arg)
{
	struct stun_addr a;
	stun_addr_from_sockaddr(&a, arg, sizeof(struct sockaddr_in));
	stun_builder_add_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS, &a);
}
static void add_connid(struct stun_builder *b, const void *arg)
{
	stun_builder_add_u32(b, STUN_ATTR_CONNECTION_ID, *(const uint32_t *)arg);
}

static uint16_t relayed_port(void)
{
	struct stun_msg m;
	struct stun_addr a;
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(stun_msg_get_xor_addr(&m, STUN_ATTR_XOR_RELAYED_ADDRESS, &a), 0);
	return a.port;
}

static int setup(void **st)
{
	(void)st;
	char msg[128];
	struct turn_server_config cfg = {.bandwidth_bytes_s = 1000, .requests_per_s = 50};
	memset(&W, 0, sizeof(W));
	W.now = 5000000;
	W.next_port = 49999;
	W.s = turn_server_new(&cfg, &io, W.now, msg, sizeof(msg));
	assert_non_null(W.s);
	turn_server_user_add(W.s, "alice", "pw");
	turn_server_user_add(W.s, "bob", "pw");
	return 0;
}

/* the server natlab-turn-server runs when given no limit options */
static int setup_defaults(void **st)
{
	(void)st;
	char msg[128];
	struct turn_server_config cfg;
	turn_server_config_defaults(&cfg);
	memset(&W, 0, sizeof(W));
	W.now = 5000000;
	W.next_port = 49999;
	W.s = turn_server_new(&cfg, &io, W.now, msg, sizeof(msg));
	assert_non_null(W.s);
	turn_server_user_add(W.s, "alice", "pw");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	turn_server_free(W.s, W.now);
	assert_int_equal(W.relays_open, 0);
	return 0;
}

static void test_even_port_reservation(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0), b = key(2, 0);
	struct stun_msg m;
	uint64_t token;

	/* 49999 is odd: the server must move to 50000 and reserve 50001 */
	assert_int_equal(request(&a, STUN_METHOD_ALLOCATE, add_even_r, NULL, "alice"), 0);
	assert_int_equal(relayed_port(), 50000);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(stun_msg_get_u64(&m, STUN_ATTR_RESERVATION_TOKEN, &token), 0);
	/* the token gives the reserved port to another allocation */
	assert_int_equal(request(&b, STUN_METHOD_ALLOCATE, add_token, &token, "alice"), 0);
	assert_int_equal(relayed_port(), 50001);
	/* a token used once is gone: 508 */
	struct turn_key c = key(3, 0);
	assert_int_equal(request(&c, STUN_METHOD_ALLOCATE, add_token, &token, "alice"), 508);
	/* RESERVATION-TOKEN with EVEN-PORT is a 400 */
	struct turn_key d = key(4, 0);
	assert_int_equal(request(&d, STUN_METHOD_ALLOCATE, add_even_token, &token, "alice"), 400);
	/* two relays: the reserved one became b's */
	assert_int_equal(W.relays_open, 2);
	/* an unclaimed reservation is released after 30 s */
	struct turn_key e = key(5, 0);
	assert_int_equal(request(&e, STUN_METHOD_ALLOCATE, add_even_r, NULL, "alice"), 0);
	assert_int_equal(W.relays_open, 4);
	W.now += 30000;
	turn_server_tick(W.s, W.now);
	assert_int_equal(W.relays_open, 3);
}

static void test_mismatch_and_wrong_user(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0);
	struct sockaddr_storage peer = sa("192.0.2.9", 7);

	/* Refresh without an allocation: 437 */
	assert_int_equal(request(&a, STUN_METHOD_REFRESH, NULL, NULL, "alice"), 437);
	assert_int_equal(request(&a, STUN_METHOD_ALLOCATE, add_udp, NULL, "alice"), 0);
	/* a second Allocate (new transaction) on the same 5-tuple: 437 */
	assert_int_equal(request(&a, STUN_METHOD_ALLOCATE, add_udp, NULL, "alice"), 437);
	/* another user on alice's allocation: 441 */
	assert_int_equal(request(&a, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "bob"), 441);
	/* REQUESTED-TRANSPORT TCP over UDP: 400 */
	struct turn_key b = key(2, 0);
	assert_int_equal(request(&b, STUN_METHOD_ALLOCATE, add_tcp, NULL, "alice"), 400);
}

static void test_bandwidth_cap(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0);
	struct sockaddr_storage peer = sa("192.0.2.9", 7);
	uint8_t ind[1024], data[400] = {0}, tid[STUN_TID_LEN] = {1};
	struct stun_builder b;
	struct stun_addr p;

	assert_int_equal(request(&a, STUN_METHOD_ALLOCATE, add_udp, NULL, "alice"), 0);
	assert_int_equal(request(&a, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "alice"), 0);
	stun_addr_from_sockaddr(&p, (struct sockaddr *)&peer, sizeof(struct sockaddr_in));
	stun_builder_init(&b, ind, sizeof(ind),
			  stun_type_make(STUN_CLASS_INDICATION, STUN_METHOD_SEND), tid);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &p);
	stun_builder_add(&b, STUN_ATTR_DATA, data, sizeof(data));
	long n = stun_builder_finish(&b);
	/* 1000 bytes/s: two 400-byte datagrams pass, the third waits */
	for (int i = 0; i < 5; i++)
		turn_server_input(W.s, &a, ind, (size_t)n, W.now);
	assert_int_equal(W.to_peer, 2);
	W.now += 400; /* 400 more bytes of budget */
	turn_server_input(W.s, &a, ind, (size_t)n, W.now);
	assert_int_equal(W.to_peer, 3);
}

static void test_rate_limit(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0);
	uint8_t buf[64], tid[STUN_TID_LEN] = {0};
	struct stun_builder b;

	/* 50 requests per second from one IP: the rest get no answer */
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), tid);
	long n = stun_builder_finish(&b);
	for (int i = 0; i < 80; i++)
		turn_server_input(W.s, &a, buf, (size_t)n, W.now);
	assert_int_equal(W.sent_to_client, 50);
	W.now += 1000;
	turn_server_input(W.s, &a, buf, (size_t)n, W.now);
	assert_int_equal(W.sent_to_client, 51);
}

static void test_tcp_relay(void **st)
{
	(void)st;
	struct turn_key ctl = key(1, 1), data = key(2, 1), ctl2 = key(3, 1);
	struct sockaddr_storage peer = sa("192.0.2.9", 80), peer2 = sa("192.0.2.10", 80);
	struct stun_msg m;
	uint32_t id;

	assert_int_equal(request(&ctl, STUN_METHOD_ALLOCATE, add_tcp, NULL, "alice"), 0);
	assert_int_equal(relayed_port(), 40000);
	/* Connect: the server connects out; the answer waits for the result */
	assert_int_equal(request(&ctl, STUN_METHOD_CONNECT, add_peer, &peer, "alice"), -1);
	assert_int_equal(W.connects, 1);
	/* the same peer again while pending: 446 */
	assert_int_equal(request(&ctl, STUN_METHOD_CONNECT, add_peer, &peer, "alice"), 446);
	turn_server_tcp_connected(W.s, W.connect_id, 0, W.now);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_int_equal(m.method, STUN_METHOD_CONNECT);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_CONNECTION_ID, &id), 0);
	assert_int_equal(id, W.connect_id);
	/* a wrong CONNECTION-ID: 400; the right one on a new connection binds */
	uint32_t bad = id + 100;
	assert_int_equal(request(&data, STUN_METHOD_CONNECTION_BIND, add_connid, &bad, "alice"),
			 400);
	assert_int_equal(request(&data, STUN_METHOD_CONNECTION_BIND, add_connid, &id, "bob"), 441);
	assert_int_equal(request(&data, STUN_METHOD_CONNECTION_BIND, add_connid, &id, "alice"), 0);
	assert_int_equal(W.splices, 1);
	assert_int_equal(W.spliced_handle, 500 + (int)id);
	assert_int_equal(W.spliced_key.conn, data.conn);

	/* a Connect that never completes: 447 after 30 s, socket closed */
	assert_int_equal(request(&ctl, STUN_METHOD_CONNECT, add_peer, &peer2, "alice"), -1);
	W.now += 29000;
	turn_server_tick(W.s, W.now);
	assert_int_equal(W.closes, 0);
	W.now += 1000;
	turn_server_tick(W.s, W.now);
	assert_int_equal(W.closes, 1);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	int code;
	const char *r;
	size_t rl;
	assert_int_equal(stun_msg_get_error(&m, &code, &r, &rl), 0);
	assert_int_equal(code, 447);

	/* a peer connecting in: refused without permission, else a
	 * ConnectionAttempt on the control connection */
	struct sockaddr_storage in = sa("198.51.100.7", 5555);
	assert_int_not_equal(turn_server_tcp_accepted(W.s, 0, 900, (struct sockaddr *)&in, W.now),
			     0);
	assert_int_equal(request(&ctl, STUN_METHOD_CREATE_PERMISSION, add_peer, &in, "alice"), 0);
	assert_int_equal(turn_server_tcp_accepted(W.s, 0, 900, (struct sockaddr *)&in, W.now), 0);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(m.cls, STUN_CLASS_INDICATION);
	assert_int_equal(m.method, STUN_METHOD_CONNECTION_ATTEMPT);
	assert_true(
	    turn_addr_same((struct sockaddr *)&W.last_to.client, (struct sockaddr *)&ctl.client));
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_CONNECTION_ID, &id), 0);
	/* nobody binds it: closed after 30 s */
	W.now += 30000;
	turn_server_tick(W.s, W.now);
	assert_int_equal(W.closes, 2);
	/* the control connection goes: the allocation with it */
	turn_server_conn_closed(W.s, &ctl, W.now);
	assert_int_equal(turn_server_alloc_count(W.s), 0);
	(void)ctl2;
}

static void send_binding(const struct turn_key *k)
{
	uint8_t buf[64], tid[STUN_TID_LEN] = {0};
	struct stun_builder b;
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_BINDING), tid);
	long n = stun_builder_finish(&b);
	turn_server_input(W.s, k, buf, (size_t)n, W.now);
}

/* a Send indication to @peer with @len bytes of data */
static void send_data(const struct turn_key *k, const struct sockaddr_storage *peer, size_t len)
{
	static uint8_t ind[2048], data[1500];
	uint8_t tid[STUN_TID_LEN] = {2};
	struct stun_builder b;
	struct stun_addr p;
	stun_addr_from_sockaddr(&p, (const struct sockaddr *)peer, sizeof(struct sockaddr_in));
	stun_builder_init(&b, ind, sizeof(ind),
			  stun_type_make(STUN_CLASS_INDICATION, STUN_METHOD_SEND), tid);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &p);
	stun_builder_add(&b, STUN_ATTR_DATA, data, len);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	turn_server_input(W.s, k, ind, (size_t)n, W.now);
}

static void add_chan_peer(struct stun_builder *b, const void *arg)
{
	stun_builder_add_channel(b, 0x4000);
	add_peer(b, arg);
}

/* RFC 6062: a TCP allocation carries data only on data connections, and
 * its control connection never becomes one (both found by
 * agents/fuzz/turn_server_seq). */
static void test_tcp_relay_control_connection(void **st)
{
	(void)st;
	struct turn_key ctl = key(1, 1), data = key(2, 1);
	struct sockaddr_storage peer = sa("192.0.2.9", 80);
	struct stun_msg m;
	uint32_t id;

	assert_int_equal(request(&ctl, STUN_METHOD_ALLOCATE, add_tcp, NULL, "alice"), 0);
	assert_int_equal(request(&ctl, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "alice"), 0);
	/* no UDP socket to send from: a Send indication is dropped, a
	 * channel refused */
	send_data(&ctl, &peer, 10);
	assert_int_equal(W.to_peer, 0);
	assert_int_equal(request(&ctl, STUN_METHOD_CHANNEL_BIND, add_chan_peer, &peer, "alice"),
			 400);
	/* a connection to the peer, bound on the control connection: 400,
	 * nothing spliced; on a new connection it binds */
	assert_int_equal(request(&ctl, STUN_METHOD_CONNECT, add_peer, &peer, "alice"), -1);
	turn_server_tcp_connected(W.s, W.connect_id, 0, W.now);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(stun_msg_get_u32(&m, STUN_ATTR_CONNECTION_ID, &id), 0);
	assert_int_equal(request(&ctl, STUN_METHOD_CONNECTION_BIND, add_connid, &id, "alice"), 400);
	assert_int_equal(W.splices, 0);
	assert_true(turn_server_has_alloc(W.s, &ctl));
	assert_int_equal(request(&data, STUN_METHOD_CONNECTION_BIND, add_connid, &id, "alice"), 0);
	assert_int_equal(W.splices, 1);
}

static void test_default_limits(void **st)
{
	(void)st;
	struct turn_server_config cfg;
	turn_server_config_defaults(&cfg);
	assert_int_equal(cfg.max_allocs, TURN_DEFAULT_MAX_ALLOCS);
	assert_int_equal(cfg.user_quota, 64);
	assert_int_equal(cfg.bandwidth_bytes_s, 2000000);
	assert_int_equal(cfg.requests_per_s, 100);
}

/* 100 requests per second per source IP: a burst of 150 Binding requests
 * from one address gets 100 answers; another address is not affected;
 * the budget refills with time. */
static void test_default_rate(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0), a2 = key(2, 0), other = key(3, 0);
	other.client = sa("198.51.100.20", 3);

	for (int i = 0; i < 150; i++)
		send_binding(i % 2 ? &a : &a2); /* two ports of one IP share it */
	assert_int_equal(W.sent_to_client, 100);
	send_binding(&other);
	assert_int_equal(W.sent_to_client, 101);
	W.now += 100; /* 10 more requests' worth */
	for (int i = 0; i < 20; i++)
		send_binding(&a);
	assert_int_equal(W.sent_to_client, 111);
}

/* 64 allocations per user: the 65th gets 486; the total quota is 1024 */
static void test_default_user_quota(void **st)
{
	(void)st;
	W.next_port = 10000; /* clear of the fake's taken port 50002 */
	for (uint16_t i = 0; i < 64; i++) {
		struct turn_key k = key((uint16_t)(100 + i), 0);
		assert_int_equal(request(&k, STUN_METHOD_ALLOCATE, add_udp, NULL, "alice"), 0);
	}
	struct turn_key k = key(999, 0);
	assert_int_equal(request(&k, STUN_METHOD_ALLOCATE, add_udp, NULL, "alice"), 486);
	assert_int_equal(turn_server_alloc_count(W.s), 64);
}

/* 2 000 000 bytes/s per allocation: of 2000 datagrams of 1000 bytes sent
 * at one instant, 2000 (the one-second burst) pass; the rest are dropped
 * until the budget refills. */
static void test_default_bandwidth(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0);
	struct sockaddr_storage peer = sa("192.0.2.9", 7);

	assert_int_equal(request(&a, STUN_METHOD_ALLOCATE, add_udp, NULL, "alice"), 0);
	assert_int_equal(request(&a, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "alice"), 0);
	for (int i = 0; i < 2100; i++)
		send_data(&a, &peer, 1000);
	assert_int_equal(W.to_peer, 2000);
	W.now += 10; /* 20 000 bytes of budget */
	for (int i = 0; i < 30; i++)
		send_data(&a, &peer, 1000);
	assert_int_equal(W.to_peer, 2020);
}

static void add_udp_df(struct stun_builder *b, const void *arg)
{
	(void)arg;
	stun_builder_add_requested_transport(b, 17);
	stun_builder_add_flag(b, STUN_ATTR_DONT_FRAGMENT);
}

/* RFC 8656 §14.8 DONT-FRAGMENT: the relay socket is told to set DF (the
 * binary sets IP_PMTUDISC_DO for it) for that allocation only */
static void test_dont_fragment(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0), b = key(2, 0);
	struct sockaddr_storage peer = sa("192.0.2.9", 7);

	assert_int_equal(request(&a, STUN_METHOD_ALLOCATE, add_udp_df, NULL, "alice"), 0);
	assert_int_equal(request(&a, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "alice"), 0);
	send_data(&a, &peer, 100);
	assert_int_equal(W.to_peer, 1);
	assert_true(W.last_df);
	assert_int_equal(request(&b, STUN_METHOD_ALLOCATE, add_udp, NULL, "alice"), 0);
	assert_int_equal(request(&b, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "alice"), 0);
	send_data(&b, &peer, 100);
	assert_int_equal(W.to_peer, 2);
	assert_false(W.last_df);
}

/* An Allocate identified by USERHASH (RFC 8489 §14.4) with the SHA-256
 * password algorithm and MESSAGE-INTEGRITY-SHA256; returns the error code
 * (0 success). @hash_user names whose hash goes in USERHASH. */
static int allocate_userhash(const struct turn_key *k, const char *hash_user)
{
	uint8_t buf[1024], tid[STUN_TID_LEN], uh[32], hkey[32];
	const uint16_t algs[2] = {STUN_PWALG_MD5, STUN_PWALG_SHA256};
	struct stun_builder b;
	struct stun_msg m;

	if (!W.nonce[0]) {
		stun_tid_random(tid);
		stun_builder_init(&b, buf, sizeof(buf),
				  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_ALLOCATE), tid);
		long n = stun_builder_finish(&b);
		turn_server_input(W.s, k, buf, (size_t)n, W.now);
		assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
		assert_int_equal(stun_msg_get_string(&m, STUN_ATTR_NONCE, W.nonce, sizeof(W.nonce)),
				 0);
	}
	/* the server's nonce announces username anonymity (RFC 8489 §9.2,
	 * bit 1 counted from the most significant of the 24) */
	uint32_t features = 0;
	assert_int_equal(stun_nonce_features((const uint8_t *)W.nonce, strlen(W.nonce), &features),
			 0);
	assert_true(features & 0x400000u);
	assert_int_equal(stun_userhash(uh, hash_user, "natlab"), 0);
	int kl = turn_auth_key(TURN_AUTH_ALG_SHA256, "alice", 5, "natlab", "pw", hkey);
	assert_int_equal(kl, 32);
	stun_tid_random(tid);
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_REQUEST, STUN_METHOD_ALLOCATE), tid);
	stun_builder_add_requested_transport(&b, 17);
	stun_builder_add(&b, STUN_ATTR_USERHASH, uh, sizeof(uh));
	stun_builder_add_string(&b, STUN_ATTR_REALM, "natlab");
	stun_builder_add_string(&b, STUN_ATTR_NONCE, W.nonce);
	stun_builder_add_password_algorithms(&b, algs, 2);
	stun_builder_add_password_algorithm(&b, STUN_PWALG_SHA256);
	stun_builder_add_integrity_sha256(&b, hkey, (size_t)kl);
	long n = stun_builder_finish(&b);
	assert_true(n > 0);
	turn_server_input(W.s, k, buf, (size_t)n, W.now);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_memory_equal(m.tid, tid, STUN_TID_LEN);
	if (m.cls == STUN_CLASS_SUCCESS) {
		/* answered with the same integrity type and key */
		assert_true(m.mi256_idx >= 0);
		assert_int_equal(stun_msg_check_integrity(&m, hkey, (size_t)kl), 0);
		return 0;
	}
	int code;
	const char *r;
	size_t rl;
	assert_int_equal(stun_msg_get_error(&m, &code, &r, &rl), 0);
	return code;
}

static void test_userhash_sha256(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0), b = key(2, 0);
	struct sockaddr_storage peer = sa("192.0.2.9", 7);

	assert_int_equal(allocate_userhash(&a, "alice"), 0);
	assert_int_equal(turn_server_alloc_count(W.s), 1);
	/* the allocation is alice's: her USERNAME requests are accepted */
	assert_int_equal(request(&a, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "alice"), 0);
	assert_int_equal(request(&a, STUN_METHOD_CREATE_PERMISSION, add_peer, &peer, "bob"), 441);
	/* a hash that matches no user: 401 */
	assert_int_equal(allocate_userhash(&b, "mallory"), 401);
	assert_int_equal(turn_server_alloc_count(W.s), 1);
}

static void add_udp_fam2(struct stun_builder *b, const void *arg)
{
	(void)arg;
	stun_builder_add_requested_transport(b, 17);
	stun_builder_add_family(b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, AF_INET6);
}
static void add_udp_fam6(struct stun_builder *b, const void *arg)
{
	(void)arg;
	stun_builder_add_requested_transport(b, 17);
	stun_builder_add_family(b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, AF_INET6);
}

/* RFC 8656 §7.2 / RFC 6156 with no IPv6 relay configured: a dual request
 * gets its IPv4 relay and ADDRESS-ERROR-CODE 440 for IPv6; asking for
 * IPv6 alone is a 440 error */
static void test_address_error_code(void **st)
{
	(void)st;
	struct turn_key a = key(1, 0), b = key(2, 0);
	struct stun_msg m;
	struct stun_addr r;
	int fam = 0, code = 0;
	const char *reason;
	size_t rl;

	assert_int_equal(request(&a, STUN_METHOD_ALLOCATE, add_udp_fam2, NULL, "alice"), 0);
	assert_int_equal(stun_msg_decode(&m, W.last, W.last_len, 0, NULL), 0);
	assert_int_equal(stun_msg_get_xor_addr_nth(&m, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &r), 0);
	assert_int_not_equal(stun_msg_get_xor_addr_nth(&m, STUN_ATTR_XOR_RELAYED_ADDRESS, 1, &r),
			     0);
	assert_int_equal(stun_msg_get_address_error(&m, &fam, &code, &reason, &rl), 0);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(code, 440);
	assert_int_equal(request(&b, STUN_METHOD_ALLOCATE, add_udp_fam6, NULL, "alice"), 440);
	assert_int_equal(turn_server_alloc_count(W.s), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_even_port_reservation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mismatch_and_wrong_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bandwidth_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_relay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_relay_control_connection, setup, teardown),
	    cmocka_unit_test(test_default_limits),
	    cmocka_unit_test_setup_teardown(test_default_rate, setup_defaults, teardown),
	    cmocka_unit_test_setup_teardown(test_default_user_quota, setup_defaults, teardown),
	    cmocka_unit_test_setup_teardown(test_default_bandwidth, setup_defaults, teardown),
	    cmocka_unit_test_setup_teardown(test_dont_fragment, setup_defaults, teardown),
	    cmocka_unit_test_setup_teardown(test_userhash_sha256, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_address_error_code, setup_defaults, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
