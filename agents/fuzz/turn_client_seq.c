/* turn_client_seq.c - libFuzzer target for the TURN client's state machine
 * (agents/turn/turn_client.c) fed arbitrary server answers. The input is a
 * script: one configuration byte (transport, families, SHA-256 and
 * USERHASH preferences, lifetime), then operations, each an opcode byte and
 * its arguments (a missing byte reads as 0):
 *
 *   start; answer one of the requests the client sent (a 401/438 challenge
 *   with or without the nonce cookie and PASSWORD-ALGORITHMS, a success
 *   with relayed/mapped addresses and a lifetime, an error with any code,
 *   300 with ALTERNATE-SERVER, an unknown comprehension-required
 *   attribute, signed with the right key, a wrong one or not at all, with
 *   the right or a wrong method); a Data indication; ChannelData; raw
 *   bytes; permit / bind / send / close from the owner; the clock moving
 *   (the client ticked at every deadline it asked for on the way).
 *
 * Checked after every call (abort() on failure):
 *  - everything the client sends decodes (STUN, or ChannelData padded to 4
 *    over TCP) and goes to the current server;
 *  - a signed request verifies with the key of the user, the realm the
 *    server gave and the password algorithm it names; it echoes the
 *    server's PASSWORD-ALGORITHMS unchanged (RFC 8489 §9.2.3.2, no
 *    bid-down); USERHASH is SHA-256(user ":" realm);
 *  - ChannelData only on a channel the server confirmed for the current
 *    allocation (RFC 8656 §12), in the RFC 8656 range; Send indications
 *    only while allocated;
 *  - a transaction is sent at most Rc = 7 times over UDP, once over TCP,
 *    retransmissions no sooner than the initial RTO;
 *  - the state moves as RFC 8656 allows: IDLE -> ALLOCATING -> ALLOCATED
 *    -> CLOSED, or FAILED / REDIRECTED from ALLOCATING and FAILED from
 *    ALLOCATED; a closed or failed client only moves when started again;
 *  - turn_client_tick returns a deadline in the future (no busy loop), and
 *    the client sends a bounded number of messages per call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/fuzz/seq.h"
#include "agents/stun/stun.h"
#include "agents/turn/turn_auth.h"
#include "agents/turn/turn_chandata.h"
#include "agents/turn/turn_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TC_CHECK(cond, ...) SEQ_CHECK("turn_client_seq", cond, __VA_ARGS__)

#define TC_OPS_MAX   160
#define TC_SENT	     24		/* requests remembered */
#define TC_NONCES    TC_OPS_MAX /* one per answer at most: never forgotten */
#define TC_CHANNELS  64
#define TC_SENDS_MAX 256 /* messages the client may send in one call */
#define TC_USER	     "alice"
#define TC_PASS	     "alice-pw"
#define TC_RTO_MS    500u /* RFC 8489 §6.2.1 default, the client's too */

struct tc_sent {
	bool used;
	uint8_t tid[STUN_TID_LEN];
	uint16_t method;
	int count;
	uint64_t first_ms, last_ms;
	bool signed_;
	uint8_t key[STUN_MAX_KEY_LEN];
	size_t keylen;
	bool sha256; /* MESSAGE-INTEGRITY-SHA256 used */
	uint16_t channel;
};

struct tc_nonce {
	char nonce[32];
	size_t len;
	uint16_t algs[4];
	size_t nalgs; /* PASSWORD-ALGORITHMS the challenge carried (0: none) */
	char realm[32];
};

static struct {
	struct turn_client *c;
	uint64_t now;
	bool tcp;
	struct sockaddr_storage server;
	struct tc_sent sent[TC_SENT];
	int nsent;
	struct tc_nonce nonces[TC_NONCES];
	int nnonce;
	/* channels of the current allocation confirmed by a success answer:
	 * a bit per number of the RFC 8656 range (what tc_send checks), and a
	 * list of distinct ones to pick ChannelData from */
	uint8_t chan_bits[(STUN_CHANNEL_MAX - STUN_CHANNEL_MIN + 1) / 8];
	uint16_t channels[TC_CHANNELS];
	int nchan;
	enum turn_client_state state;
	bool in_start; /* inside turn_client_start: ALLOCATING is expected */
	int sends;     /* messages in this call */
	uint32_t noncectr;
	bool debug;
} TC;

static struct tc_sent *tc_sent_find(const uint8_t *tid)
{
	for (int i = 0; i < TC_SENT; i++)
		if (TC.sent[i].used && memcmp(TC.sent[i].tid, tid, STUN_TID_LEN) == 0)
			return &TC.sent[i];
	return NULL;
}

static bool tc_channel_ok(uint16_t ch)
{
	if (ch < STUN_CHANNEL_MIN || ch > STUN_CHANNEL_MAX)
		return false;
	unsigned i = ch - STUN_CHANNEL_MIN;
	return TC.chan_bits[i / 8] & (1u << (i % 8));
}

/* The server confirmed @ch. Each number is noted once: the list used to
 * take every success answer, also the same one again and again, and once
 * full (64) it missed a channel the server did confirm, then took the
 * client's ChannelData on it for a breach of RFC 8656 §12 (a false alarm,
 * regress/turn_client_seq/channel_list_full_of_repeats*). */
static void tc_channel_confirm(uint16_t ch)
{
	if (ch < STUN_CHANNEL_MIN || ch > STUN_CHANNEL_MAX || tc_channel_ok(ch))
		return;
	unsigned i = ch - STUN_CHANNEL_MIN;
	TC.chan_bits[i / 8] |= (uint8_t)(1u << (i % 8));
	if (TC.nchan < TC_CHANNELS)
		TC.channels[TC.nchan++] = ch;
}

/* RFC 8656 §12: a channel binding belongs to an allocation; a new one
 * (ALLOCATING again) has none until the server confirms them again */
static void tc_channels_forget(void)
{
	memset(TC.chan_bits, 0, sizeof(TC.chan_bits));
	TC.nchan = 0;
}

/* ---- what the client sends -------------------------------------------------- */

static void tc_check_request(const struct stun_msg *m, struct tc_sent *s)
{
	const uint8_t *nonce;
	size_t nlen;
	char realm[STUN_MAX_REALM_LEN + 1], user[STUN_MAX_USERNAME_LEN + 1];
	uint16_t algs[8], alg = STUN_PWALG_MD5;
	size_t nalgs = 0;
	const struct tc_nonce *n = NULL;

	if (m->mi_idx < 0 && m->mi256_idx < 0)
		return;
	TC_CHECK(stun_msg_get_bytes(m, STUN_ATTR_NONCE, &nonce, &nlen) == 0 &&
		     stun_msg_get_string(m, STUN_ATTR_REALM, realm, sizeof(realm)) == 0,
		 "a signed request without NONCE or REALM");
	for (int i = 0; i < TC.nnonce; i++)
		if (TC.nonces[i].len == nlen && memcmp(TC.nonces[i].nonce, nonce, nlen) == 0)
			n = &TC.nonces[i];
	TC_CHECK(n, "a signed request with a nonce the server never gave");
	TC_CHECK(strcmp(realm, n->realm) == 0, "the request's REALM is not the challenge's");
	bool has_algs = stun_msg_get_password_algorithms(m, algs, 8, &nalgs) == 0;
	bool has_alg = stun_msg_get_password_algorithm(m, &alg) == 0;
	TC_CHECK(has_algs == has_alg, "PASSWORD-ALGORITHM without PASSWORD-ALGORITHMS or back");
	if (has_algs) {
		/* RFC 8489 §9.2.3.2: the PASSWORD-ALGORITHMS of the request is
		 * the one of the challenge, so a man in the middle cannot
		 * remove the stronger algorithm unnoticed */
		TC_CHECK(n->nalgs == nalgs && memcmp(n->algs, algs, nalgs * 2) == 0,
			 "PASSWORD-ALGORITHMS not echoed as the server sent it");
		bool listed = false;
		for (size_t i = 0; i < nalgs; i++)
			listed |= algs[i] == alg;
		TC_CHECK(listed, "PASSWORD-ALGORITHM %u not among the server's", alg);
	}
	TC_CHECK(alg == STUN_PWALG_MD5 || alg == STUN_PWALG_SHA256, "password algorithm %u", alg);
	if (stun_msg_get_string(m, STUN_ATTR_USERNAME, user, sizeof(user)) == 0) {
		TC_CHECK(strcmp(user, TC_USER) == 0, "USERNAME %s", user);
	} else {
		const uint8_t *uh;
		size_t uhl;
		uint8_t want[32];
		TC_CHECK(stun_msg_get_bytes(m, STUN_ATTR_USERHASH, &uh, &uhl) == 0 && uhl == 32,
			 "a signed request with neither USERNAME nor USERHASH");
		turn_auth_userhash(TC_USER, strlen(TC_USER), realm, want);
		TC_CHECK(memcmp(uh, want, 32) == 0, "USERHASH is not SHA-256(user:realm)");
	}
	uint8_t key[TURN_AUTH_KEY_MAX];
	int kl = turn_auth_key(alg == STUN_PWALG_SHA256 ? TURN_AUTH_ALG_SHA256 : TURN_AUTH_ALG_MD5,
			       TC_USER, strlen(TC_USER), realm, TC_PASS, key);
	TC_CHECK(kl > 0 && stun_msg_check_integrity(m, key, (size_t)kl) == 0,
		 "a signed request that does not verify with the user's key");
	s->signed_ = true;
	memcpy(s->key, key, (size_t)kl);
	s->keylen = (size_t)kl;
	s->sha256 = m->mi256_idx >= 0;
}

static int tc_send(void *ctx, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
	struct stun_msg m;
	(void)ctx;

	TC.sends++;
	TC_CHECK(TC.sends <= TC_SENDS_MAX, "more than %d messages in one call", TC_SENDS_MAX);
	TC_CHECK(turn_addr_same(to, turn_client_server(TC.c)), "a message not to the server");
	if (len >= 4 && (buf[0] & 0xc0) == 0x40) {
		uint16_t ch;
		const uint8_t *d;
		size_t dl;
		long n = turn_chandata_decode(buf, len, &ch, &d, &dl);
		TC_CHECK(n > 0 && (size_t)n == len, "ChannelData that does not decode");
		TC_CHECK(!TC.tcp || len % 4 == 0, "ChannelData over TCP not padded to 4");
		TC_CHECK(ch >= STUN_CHANNEL_MIN && ch <= STUN_CHANNEL_MAX, "channel %#x", ch);
		TC_CHECK(tc_channel_ok(ch), "ChannelData on channel %#x the server never bound",
			 ch);
		return 0;
	}
	TC_CHECK(stun_msg_decode(&m, buf, len, 0, NULL) == 0, "a message that does not decode");
	TC_CHECK(!TC.tcp || stun_frame_length(buf, len) == (long)len, "a bad stream frame");
	if (m.cls == STUN_CLASS_INDICATION) {
		TC_CHECK(m.method == STUN_METHOD_SEND, "a %s indication",
			 stun_method_name(m.method));
		TC_CHECK(TC.state == TURN_CLIENT_ALLOCATED, "a Send indication while %d", TC.state);
		return 0;
	}
	TC_CHECK(m.cls == STUN_CLASS_REQUEST, "the client sent a response");
	struct tc_sent *s = tc_sent_find(m.tid);
	if (TC.debug) {
		uint16_t ch = 0;
		stun_msg_get_channel(&m, &ch);
		fprintf(stderr, "t=%llu client sends %s tid %02x%02x%s channel %#x\n",
			(unsigned long long)TC.now, stun_method_name(m.method), m.tid[0], m.tid[1],
			s ? " (again)" : "", ch);
	}
	if (s) {
		/* a retransmission: the same bytes, the RTO respected */
		TC_CHECK(s->method == m.method, "a transaction ID reused for another method");
		s->count++;
		TC_CHECK(s->count <= (TC.tcp ? 1 : 7), "a request sent %d times over %s", s->count,
			 TC.tcp ? "TCP" : "UDP");
		TC_CHECK(TC.now >= s->last_ms + TC_RTO_MS,
			 "a retransmission %llu ms after the last",
			 (unsigned long long)(TC.now - s->last_ms));
		s->last_ms = TC.now;
		return 0;
	}
	TC_CHECK(m.method != STUN_METHOD_ALLOCATE || TC.state == TURN_CLIENT_ALLOCATING ||
		     TC.in_start,
		 "an Allocate while in state %d", TC.state);
	s = &TC.sent[TC.nsent++ % TC_SENT];
	memset(s, 0, sizeof(*s));
	s->used = true;
	memcpy(s->tid, m.tid, STUN_TID_LEN);
	s->method = m.method;
	s->count = 1;
	s->first_ms = s->last_ms = TC.now;
	if (m.method == STUN_METHOD_CHANNEL_BIND) {
		TC_CHECK(stun_msg_get_channel(&m, &s->channel) == 0 &&
			     stun_msg_has(&m, STUN_ATTR_XOR_PEER_ADDRESS),
			 "ChannelBind without CHANNEL-NUMBER or XOR-PEER-ADDRESS");
	}
	if (m.method == STUN_METHOD_CREATE_PERMISSION)
		TC_CHECK(stun_msg_has(&m, STUN_ATTR_XOR_PEER_ADDRESS),
			 "CreatePermission without XOR-PEER-ADDRESS");
	tc_check_request(&m, s);
	return 0;
}

/* RFC 8656 §7 with RFC 8489 §6: how the state may move by itself */
static bool tc_transition_ok(enum turn_client_state from, enum turn_client_state to)
{
	switch (from) {
	case TURN_CLIENT_ALLOCATING:
		/* a 300 over UDP starts again at the alternate server */
		return to == TURN_CLIENT_ALLOCATED || to == TURN_CLIENT_FAILED ||
		       to == TURN_CLIENT_REDIRECTED || to == TURN_CLIENT_ALLOCATING;
	case TURN_CLIENT_ALLOCATED:
		return to == TURN_CLIENT_FAILED || to == TURN_CLIENT_CLOSED;
	default:
		return false; /* idle, failed, redirected, closed: only start moves them */
	}
}

static void tc_state(void *ctx, enum turn_client_state st, int code)
{
	(void)ctx;
	(void)code;
	if (TC.debug)
		fprintf(stderr, "t=%llu state %d -> %d (%d)\n", (unsigned long long)TC.now,
			TC.state, st, code);
	TC_CHECK((TC.in_start && st == TURN_CLIENT_ALLOCATING) || tc_transition_ok(TC.state, st),
		 "state %d -> %d", TC.state, st);
	if (st == TURN_CLIENT_ALLOCATING)
		tc_channels_forget();
	TC.state = st;
}

static void tc_result(void *ctx, enum turn_client_op op, const struct sockaddr *peer, int code)
{
	(void)ctx;
	(void)op;
	(void)peer;
	(void)code;
}

static void tc_data(void *ctx, const struct sockaddr *peer, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	TC_CHECK(peer->sa_family == AF_INET || peer->sa_family == AF_INET6,
		 "data from a peer of family %d", peer->sa_family);
	TC_CHECK(len <= STUN_MAX_MSG_LEN, "data of %zu bytes", len);
}

/* ---- the script ------------------------------------------------------------ */

static const char *const tc_peers[] = {"203.0.113.5",  "203.0.113.6",	     "2001:db8:2::5",
				       "198.51.100.7", "::ffff:203.0.113.9", "2001:db8:2::6"};
#define TC_NPEERS (sizeof(tc_peers) / sizeof(tc_peers[0]))

static struct sockaddr_storage tc_peer(struct seq_rd *r)
{
	uint8_t w = seq_u8(r);
	return seq_addr(tc_peers[w % TC_NPEERS], (uint16_t)(7000 + (w >> 4)));
}

static void tc_tick_until(uint64_t until)
{
	/* the owner ticks at every deadline the client asked for */
	for (int i = 0; i < 64; i++) {
		TC.sends = 0;
		uint64_t next = turn_client_tick(TC.c, TC.now);
		TC_CHECK(next > TC.now, "turn_client_tick returned %llu at %llu: a busy loop",
			 (unsigned long long)next, (unsigned long long)TC.now);
		if (next > until)
			break;
		TC.now = next;
	}
	if (TC.now < until) {
		TC.now = until;
		TC.sends = 0;
		uint64_t next = turn_client_tick(TC.c, TC.now);
		TC_CHECK(next > TC.now, "turn_client_tick returned %llu at %llu: a busy loop",
			 (unsigned long long)next, (unsigned long long)TC.now);
	}
}

static void tc_input(const uint8_t *buf, size_t len)
{
	uint8_t *copy = seq_copy(buf, len);
	if (!copy)
		return;
	TC.sends = 0;
	turn_client_input(TC.c, copy, len, TC.now);
	free(copy);
}

/* an answer to one of the requests the client sent */
static void tc_answer(struct seq_rd *r)
{
	uint8_t w = seq_u8(r), kind = seq_u8(r), f = seq_u8(r);
	struct tc_sent *s = NULL;
	uint8_t buf[1500];
	struct stun_builder b;

	for (int i = TC.nsent - 1, k = w % 4; i >= 0 && i >= TC.nsent - TC_SENT; i--) {
		s = &TC.sent[i % TC_SENT];
		if (k-- == 0)
			break;
	}
	uint8_t tid[STUN_TID_LEN] = {0};
	uint16_t method = STUN_METHOD_ALLOCATE;
	if (s) {
		memcpy(tid, s->tid, sizeof(tid));
		method = s->method;
	}
	if (w & 0x80) /* the wrong method */
		method = (uint16_t)(f & 0x0f);
	enum stun_class cls = kind < 0x60 ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS;
	stun_builder_init(&b, buf, sizeof(buf), stun_type_make(cls, method), tid);
	if (kind < 0x40) { /* a 401 or 438 challenge */
		struct tc_nonce *n =
		    &TC.nonces[TC.nnonce < TC_NONCES ? TC.nnonce++ : TC_NONCES - 1];
		static const uint16_t algsets[4][3] = {{1, 2}, {2}, {1}, {2, 1, 7}};
		static const size_t nalg[4] = {2, 1, 1, 3};
		char opaque[16];
		/* the feature bits as natlab's server counts them (bit 0 the
		 * most significant of 24), or as the RFC's vector does */
		uint32_t features = (kind & 1 ? 0x800000u : 0) | (kind & 2 ? 0x400000u : 0) |
				    (kind & 4 ? 0x000002u : 0);
		snprintf(opaque, sizeof(opaque), "n%u", ++TC.noncectr);
		if (kind & 8)
			n->len =
			    (size_t)stun_nonce_make(n->nonce, sizeof(n->nonce), features, opaque);
		else
			n->len = (size_t)snprintf(n->nonce, sizeof(n->nonce), "plain%s", opaque);
		snprintf(n->realm, sizeof(n->realm), "%s", kind & 0x10 ? "natlab" : "other.realm");
		n->nalgs = 0;
		stun_builder_add_error(&b, kind & 0x20 ? 438 : 401, NULL);
		if (!(f & 0x40))
			stun_builder_add_string(&b, STUN_ATTR_REALM, n->realm);
		if (!(f & 0x20))
			stun_builder_add(&b, STUN_ATTR_NONCE, n->nonce, n->len);
		if (f & 0x10) {
			n->nalgs = nalg[f & 3];
			memcpy(n->algs, algsets[f & 3], n->nalgs * 2);
			stun_builder_add_password_algorithms(&b, n->algs, n->nalgs);
		}
	} else if (kind < 0x60) { /* another error */
		static const int codes[] = {300, 400, 403, 420, 437, 440, 441, 442,
					    443, 446, 447, 486, 500, 508, 699, 401};
		int code = codes[kind & 15];
		if (!(f & 0x80))
			stun_builder_add_error(&b, code, NULL);
		if (code == 300 || (f & 1)) {
			struct sockaddr_storage alt = seq_addr(
			    f & 2 ? "2001:db8::99" : "192.0.2.99", (uint16_t)(3478 + (f >> 2 & 3)));
			struct stun_addr a;
			stun_addr_from_sockaddr(&a, (const struct sockaddr *)&alt,
						turn_addr_len((const struct sockaddr *)&alt));
			stun_builder_add_addr(&b, STUN_ATTR_ALTERNATE_SERVER, &a);
		}
		if (code == 420)
			stun_builder_add(&b, 0x0777, "x", 1);
	} else { /* success */
		struct stun_addr a;
		if (method == STUN_METHOD_ALLOCATE) {
			for (int i = 0; i < (kind & 3); i++) {
				struct sockaddr_storage rel = seq_addr(
				    i == 0 && !(kind & 4) ? "192.0.2.10" : "2001:db8::10", 50000);
				stun_addr_from_sockaddr(
				    &a, (const struct sockaddr *)&rel,
				    turn_addr_len((const struct sockaddr *)&rel));
				stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &a);
			}
			struct sockaddr_storage mapped = seq_addr("198.51.100.1", 40000);
			stun_addr_from_sockaddr(&a, (const struct sockaddr *)&mapped,
						turn_addr_len((const struct sockaddr *)&mapped));
			stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
		}
		if (kind & 8)
			stun_builder_add_u32(&b, STUN_ATTR_LIFETIME,
					     kind & 0x10 ? seq_u16(r)
							 : (uint32_t)seq_u8(r) * 100000u);
		if (kind & 0x80)
			stun_builder_add(&b, 0x0555, "y", 1); /* unknown, comprehension-required */
		/* the client may use the channel now, unless it must discard
		 * the answer: an unknown comprehension-required attribute
		 * (RFC 8489 §6.3.3), or, to a signed request, integrity that
		 * does not verify with the request's key or none at all
		 * (§9.2.5; f bit 3: not signed with the right key) */
		bool discard = (kind & 0x80) || (s && s->signed_ && (f & 8));
		if (s && s->method == STUN_METHOD_CHANNEL_BIND && method == s->method && !discard)
			tc_channel_confirm(s->channel);
	}
	/* signed with the request's key (f bit 3 clear), a wrong key, or not */
	if (s && s->signed_ && !(f & 8)) {
		if (s->sha256)
			stun_builder_add_integrity_sha256(&b, s->key, s->keylen);
		else
			stun_builder_add_integrity(&b, s->key, s->keylen);
	} else if (f & 4) {
		static const uint8_t wrong[16] = {1};
		stun_builder_add_integrity(&b, wrong, sizeof(wrong));
	}
	long n = stun_builder_finish(&b);
	if (TC.debug)
		fprintf(
		    stderr,
		    "t=%llu answer %s class %d kind %#x f %#x to tid %02x%02x%s (%d channels)\n",
		    (unsigned long long)TC.now, stun_method_name(method), cls, kind, f, tid[0],
		    tid[1], s && s->signed_ ? " (signed request)" : "", TC.nchan);
	if (n > 0)
		tc_input(buf, (size_t)n);
}

static void tc_data_in(struct seq_rd *r)
{
	uint8_t f = seq_u8(r), len = seq_u8(r);
	uint8_t buf[600], payload[256];

	memset(payload, 0x42, sizeof(payload));
	if (f & 1) {
		uint16_t ch = f & 2 ? seq_u16(r)
				    : (TC.nchan ? TC.channels[len % TC.nchan] : STUN_CHANNEL_MIN);
		long n = turn_chandata_encode(buf, sizeof(buf), ch, payload, len, (f & 4) != 0);
		if (n > 0)
			tc_input(buf, (size_t)n);
		return;
	}
	struct stun_builder b;
	uint8_t tid[STUN_TID_LEN] = {9};
	struct sockaddr_storage p = tc_peer(r);
	struct stun_addr a;
	stun_builder_init(&b, buf, sizeof(buf),
			  stun_type_make(STUN_CLASS_INDICATION,
					 f & 2 ? STUN_METHOD_CONNECTION_ATTEMPT : STUN_METHOD_DATA),
			  tid);
	stun_addr_from_sockaddr(&a, (const struct sockaddr *)&p,
				turn_addr_len((const struct sockaddr *)&p));
	if (!(f & 4))
		stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &a);
	if (!(f & 8))
		stun_builder_add(&b, STUN_ATTR_DATA, payload, len);
	long n = stun_builder_finish(&b);
	if (n > 0)
		tc_input(buf, (size_t)n);
}

static void tc_raw(struct seq_rd *r)
{
	uint8_t len = seq_u8(r);
	uint8_t buf[256];
	size_t n = 0;
	while (n < len && r->n)
		buf[n++] = seq_u8(r);
	tc_input(buf, n);
}

static void tc_start(void)
{
	TC.in_start = true;
	TC.sends = 0;
	turn_client_start(TC.c, TC.now);
	TC.in_start = false;
}

static void tc_run(struct seq_rd *r)
{
	static const uint64_t unit[4] = {1, 100, 1000, 60000};

	for (int op = 0; op < TC_OPS_MAX && r->n; op++) {
		uint8_t code = seq_u8(r);
		struct sockaddr_storage p;
		uint8_t payload[64] = {0};
		if (TC.debug)
			fprintf(stderr, "op %d\n", code & 15);
		TC.sends = 0;
		switch (code & 15) {
		case 0:
			tc_start();
			break;
		case 1:
		case 2:
		case 3:
			tc_answer(r);
			break;
		case 4:
			tc_data_in(r);
			break;
		case 5:
			tc_raw(r);
			break;
		case 6:
			p = tc_peer(r);
			turn_client_permit(TC.c, (const struct sockaddr *)&p, TC.now);
			break;
		case 7:
			p = tc_peer(r);
			turn_client_bind(TC.c, (const struct sockaddr *)&p, TC.now);
			break;
		case 8:
			p = tc_peer(r);
			turn_client_send(TC.c, (const struct sockaddr *)&p, payload, code >> 4);
			break;
		case 9:
			turn_client_close(TC.c, TC.now);
			break;
		default: { /* the clock */
			uint8_t v = seq_u8(r);
			tc_tick_until(TC.now + (uint64_t)v * unit[code >> 4 & 3]);
			break;
		}
		}
		TC_CHECK(turn_client_state(TC.c) == TC.state,
			 "turn_client_state %d, the callback said %d", turn_client_state(TC.c),
			 TC.state);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seq_rd r = {data, size};
	uint8_t conf = seq_u8(&r);
	struct turn_client_config cfg;
	struct turn_client_cb cb = {
	    .send = tc_send, .state = tc_state, .result = tc_result, .data = tc_data};
	char msg[128];

	memset(&TC, 0, sizeof(TC));
	TC.debug = getenv("NATLAB_FUZZ_DEBUG") != NULL;
	TC.now = 5000;
	memset(&cfg, 0, sizeof(cfg));
	cfg.user = TC_USER;
	cfg.pass = TC_PASS;
	cfg.transport =
	    conf & 1 ? (conf & 0x80 ? TURN_TRANSPORT_TLS : TURN_TRANSPORT_TCP) : TURN_TRANSPORT_UDP;
	cfg.family = conf & 2 ? AF_INET6 : AF_INET;
	cfg.dual = (conf & 4) != 0;
	cfg.prefer_sha256 = (conf & 8) != 0;
	cfg.userhash = (conf & 0x10) != 0;
	cfg.dont_fragment = (conf & 0x20) != 0;
	cfg.lifetime_s = conf & 0x40 ? 30 : 0;
	cfg.software = conf & 0x40 ? "fuzz" : NULL;
	TC.tcp = cfg.transport != TURN_TRANSPORT_UDP;
	TC.server = seq_addr("192.0.2.1", 3478);
	TC.c = turn_client_new(&cfg, &cb, (const struct sockaddr *)&TC.server, msg, sizeof(msg));
	TC_CHECK(TC.c, "turn_client_new: %s", msg);
	tc_run(&r);
	turn_client_free(TC.c);
	TC.c = NULL;
	return 0;
}
