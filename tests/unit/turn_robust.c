/* Robustness of both TURN state machines against damaged input: a real
 * session is recorded through fake sockets, then its messages are
 * mutated (bit flips, truncation, length fields, attribute types) and fed
 * back to the server, to the client and to the relay path, with a fixed
 * seed. Run under ASan/UBSan by scripts/run-tests. Checked on every
 * output: the server only ever emits well-formed STUN or ChannelData, and
 * an answer to a request without credentials stays small (no
 * amplification: at most 160 bytes, whatever came in). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/ice/candidate.h"
#include "agents/stun/stun.h"
#include "agents/turn/turn_chandata.h"
#include "agents/turn/turn_client.h"
#include "agents/turn/turn_server.h"

#define REC_MAX 64

static struct {
	uint64_t now;
	struct turn_server *s;
	struct turn_client *c;
	struct sockaddr_storage client, server;
	/* recorded messages: [0] from the client, [1] from the server */
	uint8_t rec[2][REC_MAX][1500];
	size_t rec_len[2][REC_MAX];
	int nrec[2];
	bool recording;
	bool input_unauth; /* the input being fed carries no integrity */
	size_t max_unauth_answer;
	int outputs, relays;
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

static void record(int dir, const uint8_t *buf, size_t len)
{
	if (W.recording && W.nrec[dir] < REC_MAX && len <= sizeof(W.rec[0][0])) {
		memcpy(W.rec[dir][W.nrec[dir]], buf, len);
		W.rec_len[dir][W.nrec[dir]++] = len;
	}
}

static int io_relay_open(void *ctx, int family, uint16_t port, uint32_t cookie,
			 struct sockaddr_storage *bound)
{
	(void)ctx;
	(void)family;
	(void)cookie;
	*bound = sa("192.0.2.1", port ? port : 50000);
	W.relays++;
	return 7;
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
	W.relays--;
}
static int io_relay_send(void *ctx, int h, const struct sockaddr *p, const uint8_t *b, size_t l,
			 bool df)
{
	(void)ctx;
	(void)h;
	(void)p;
	(void)b;
	(void)l;
	(void)df;
	return 0;
}
static int io_client_send(void *ctx, const struct turn_key *k, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)k;
	struct stun_msg m;
	uint16_t ch;
	const uint8_t *d;
	size_t dl;
	W.outputs++;
	/* everything the server emits is well-formed */
	bool stun = stun_msg_decode(&m, buf, len, 0, NULL) == 0;
	bool chan = !stun && turn_chandata_decode(buf, len, &ch, &d, &dl) > 0;
	assert_true(stun || chan);
	if (W.input_unauth && stun && m.mi_idx < 0 && m.mi256_idx < 0 && len > W.max_unauth_answer)
		W.max_unauth_answer = len;
	record(1, buf, len);
	if (W.recording && W.c)
		turn_client_input(W.c, buf, len, W.now);
	return 0;
}

static const struct turn_server_io io = {
    .relay_open = io_relay_open,
    .relay_set_cookie = io_relay_set_cookie,
    .relay_close = io_relay_close,
    .relay_send = io_relay_send,
    .client_send = io_client_send,
};

static struct turn_key ckey(void)
{
	struct turn_key k;
	memset(&k, 0, sizeof(k));
	k.client = W.client;
	return k;
}

static int cl_send(void *ctx, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)to;
	struct turn_key k = ckey();
	record(0, buf, len);
	turn_server_input(W.s, &k, buf, len, W.now);
	return 0;
}

static void cl_data(void *ctx, const struct sockaddr *peer, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)buf;
	(void)len;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static size_t mutate(uint8_t *b, size_t len)
{
	switch (rnd() % 6) {
	case 0: /* flip a few bits */
		for (int i = 0; i < 1 + (int)(rnd() % 4); i++)
			b[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
		return len;
	case 1: /* truncate */
		return rnd() % len;
	case 2: /* the STUN length field */
		if (len >= 4) {
			b[2] = (uint8_t)rnd();
			b[3] = (uint8_t)rnd();
		}
		return len;
	case 3: /* an attribute's type or length (attributes start at 20) */
		if (len > 24) {
			size_t at = 20 + 4 * (rnd() % ((len - 20) / 4));
			b[at + (rnd() % 4)] = (uint8_t)rnd();
		}
		return len;
	case 4: /* a random byte anywhere */
		b[rnd() % len] = (uint8_t)rnd();
		return len;
	default: /* the class bits: requests become indications, etc. */
		b[0] ^= 0x01;
		b[1] ^= 0x10;
		return len;
	}
}

static void test_mutated_messages(void **st)
{
	(void)st;
	char msg[128];
	struct turn_server_config cfg = {.allow_loopback = true};
	struct turn_client_config ccfg = {.user = "alice", .pass = "pw"};
	struct turn_client_cb cb = {.send = cl_send, .data = cl_data};
	struct sockaddr_storage peer = sa("192.0.2.77", 9000);

	W.now = 1000000;
	W.client = sa("203.0.113.9", 4000);
	W.server = sa("198.51.100.1", 3478);
	W.s = turn_server_new(&cfg, &io, W.now, msg, sizeof(msg));
	assert_non_null(W.s);
	turn_server_user_add(W.s, "alice", "pw");
	W.c = turn_client_new(&ccfg, &cb, (struct sockaddr *)&W.server, msg, sizeof(msg));
	assert_non_null(W.c);

	/* record a whole session: allocate, permission, channel, data */
	W.recording = true;
	turn_client_start(W.c, W.now);
	assert_int_equal(turn_client_state(W.c), TURN_CLIENT_ALLOCATED);
	turn_client_permit(W.c, (struct sockaddr *)&peer, W.now);
	turn_client_bind(W.c, (struct sockaddr *)&peer, W.now);
	turn_client_send(W.c, (struct sockaddr *)&peer, (const uint8_t *)"hello", 5);
	turn_server_relay_input(W.s, 0, 7, (struct sockaddr *)&peer, (const uint8_t *)"back", 4,
				W.now);
	W.recording = false;
	assert_true(W.nrec[0] >= 5);
	assert_true(W.nrec[1] >= 5);

	uint8_t buf[1500];
	for (int i = 0; i < 200000; i++) {
		int dir = (int)(rnd() % 2), idx = (int)(rnd() % (unsigned)W.nrec[dir]);
		size_t len = W.rec_len[dir][idx];
		memcpy(buf, W.rec[dir][idx], len);
		len = mutate(buf, len);
		W.now += rnd() % 3;
		switch (rnd() % 3) {
		case 0: {
			struct turn_key k = ckey();
			struct stun_msg m;
			/* also from other sources, which have no allocation */
			if (rnd() % 2)
				((struct sockaddr_in *)&k.client)->sin_port =
				    htons((uint16_t)(rnd() % 8 + 1));
			W.input_unauth = !(stun_msg_decode(&m, buf, len, 0, NULL) == 0 &&
					   (m.mi_idx >= 0 || m.mi256_idx >= 0));
			turn_server_input(W.s, &k, buf, len, W.now);
			W.input_unauth = false;
			break;
		}
		case 1:
			turn_client_input(W.c, buf, len, W.now);
			break;
		default:
			turn_server_relay_input(W.s, rnd() % 4, (int)(rnd() % 10),
						(struct sockaddr *)&peer, buf, len, W.now);
			break;
		}
		if (i % 1000 == 0) {
			turn_server_tick(W.s, W.now);
			turn_client_tick(W.c, W.now);
		}
	}
	assert_true(W.outputs > 1000);
	/* unauthenticated answers (401/438/400/420, Binding) stay small */
	assert_true(W.max_unauth_answer > 0);
	assert_true(W.max_unauth_answer <= 160);
	turn_client_free(W.c);
	turn_server_free(W.s, W.now);
	assert_int_equal(W.relays, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mutated_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
