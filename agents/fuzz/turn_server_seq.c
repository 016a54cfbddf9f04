/* turn_server_seq.c - libFuzzer target for the TURN server's state machine
 * (agents/turn: RFC 8656, RFC 6156, RFC 6062). The input is a script: one
 * configuration byte, then operations, each an opcode byte and its
 * arguments (a missing byte reads as 0):
 *
 *   Allocate / Refresh / CreatePermission / ChannelBind / Connect /
 *   ConnectionBind / Binding requests, Send indications, ChannelData and
 *   "attribute soup" messages from six clients (UDP over IPv4 and IPv6, two
 *   TCP connections, TLS, UDP on a second listener), each request signed
 *   as the script says: no credentials, a static user (MD5 or SHA-256
 *   password algorithm, USERNAME or USERHASH), a REST user (expired or
 *   not), a wrong password; a retransmission of the last request;
 *   datagrams from peers to relays; RFC 6062 connection events (connected,
 *   failed, accepted); a client's stream closing; the clock moving by
 *   milliseconds to hours; I/O failures.
 *
 * The target computes MESSAGE-INTEGRITY itself with the codec
 * (agents/stun) and learns nonces from the server's 401/438 answers, as a
 * client does, so the fuzzer gets past authentication. Sockets are fake
 * (struct turn_server_io): nothing leaves the process.
 *
 * Checked after every call into the server (abort() on failure):
 *  - no relay to a denied peer: every relay_send, tcp_connect and every
 *    successful CreatePermission / ChannelBind / Connect names a peer that
 *    an independent copy of the policy allows (not loopback, not the
 *    server's own addresses, not 0/8, link-local, multicast, not the
 *    operator's denied ranges unless allowed, also as IPv4-mapped IPv6);
 *  - data goes to a peer only through the relay of the client that holds
 *    a permission for it (granted by an answer the client saw, < 300 s
 *    ago), and only as fast as the bandwidth cap allows;
 *  - quotas: allocations <= the total quota, per user <= the user quota;
 *    the "alloc"/"alloc-end" events agree with turn_server_alloc_count();
 *  - resources: relays, TCP listeners and peer connections are closed
 *    exactly once, by the allocation or reservation that opened them;
 *    their numbers stay bounded; after the clock passes every lifetime
 *    everything is closed and the counts are zero;
 *  - answers: everything sent to a client decodes (STUN or ChannelData,
 *    padded over streams), goes to a client that exists, never to a
 *    closed or spliced connection; a response answers a request that
 *    client sent, with the same method; an answer with integrity verifies
 *    with the key of the request; an answer without integrity stays small
 *    (160 bytes: no amplification).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
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
#include "agents/turn/turn_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TS_CHECK(cond, ...) SEQ_CHECK("turn_server_seq", cond, __VA_ARGS__)

#define TS_OPS_MAX	192
#define TS_CLIENTS	6
#define TS_HANDLES	256
#define TS_PERMS	16
#define TS_REQS		32
#define TS_IDS		8
#define TS_MAX_ALLOCS	4u
#define TS_USER_QUOTA	2u
#define TS_RESV_MAX	64 /* turn_server_priv.h RESV_MAX */
#define TS_PERM_LIFE_MS 300000u
#define TS_UNAUTH_MAX	160 /* as tests/unit/turn_robust.c */
#define TS_REALM	"natlab"
#define TS_SECRET	"fuzz-secret"
#define TS_UNIX_BASE	1700000000

enum ts_hkind { H_FREE, H_RELAY, H_LISTEN, H_CONN };

struct ts_hnd {
	enum ts_hkind kind;
	bool open;
	struct sockaddr_storage addr; /* bound address (relays, listeners) */
	uint32_t cookie;
	int owner; /* client index that was told this relay, or -1 */
	uint64_t opened_ms, bytes;
};

struct ts_perm {
	struct sockaddr_storage ip;
	uint64_t granted_ms;
};

struct ts_client {
	struct turn_key key;
	bool open, spliced;
	uint32_t gen;
	char nonce[STUN_MAX_NONCE_LEN + 1];
	size_t nonce_len;
	struct ts_perm perm[TS_PERMS];
	int nperm;
};

struct ts_req {
	bool used;
	int client;
	uint8_t tid[STUN_TID_LEN];
	uint16_t method;
	bool signed_;
	int waiting;   /* deliveries not answered yet (a retransmission is one more) */
	bool building; /* between ts_msg_begin and its delivery: not to be taken */
	/* a Connect for which the server started the TCP connection: its
	 * answer comes with the outcome, much later (RFC 6062 §5.2) */
	bool connecting;
	uint8_t key[STUN_MAX_KEY_LEN];
	size_t keylen;
	int npeers;
	struct sockaddr_storage peers[4];
	uint64_t sent_ms;
};

static struct {
	struct turn_server *s;
	uint64_t now;
	uint32_t tidctr;
	struct ts_client cl[TS_CLIENTS];
	struct ts_hnd h[TS_HANDLES];
	int nexth;
	uint16_t nextport;
	struct ts_req req[TS_REQS];
	int nreq;
	struct ts_req *delivering; /* the request the server is reading, if any */
	uint64_t tokens[TS_IDS];
	int ntok;
	uint32_t connids[TS_IDS]; /* CONNECTION-IDs the server announced */
	int nconnid;
	struct {
		uint32_t id;
		int handle;
	} pending[TS_IDS]; /* tcp_connect calls not yet reported */
	int npending;
	char users[TS_MAX_ALLOCS * 4][128];
	char ids[TS_MAX_ALLOCS * 4][32];
	int live; /* allocations according to the events */
	uint32_t user_quota;
	uint64_t bw;
	bool v6;
	unsigned fail;	       /* I/O failures asked for: bit per io call */
	int relay_input_owner; /* during relay_input: whose relay it is, else -2 */
	struct sockaddr_storage relay_input_peer;
	uint8_t last[2048]; /* the last request sent, for a retransmission */
	size_t last_len;
	int last_client;
	struct ts_req last_req; /* the request it was, if one */
	bool last_req_valid;
} TS;

enum {
	F_RELAY_OPEN = 1,
	F_TCP_LISTEN = 2,
	F_TCP_CONNECT = 4,
	F_CLIENT_SEND = 8,
	F_RELAY_SEND = 16
};

/* ---- addresses --------------------------------------------------------- */

/* The server's own listening addresses (never peers). */
static const struct {
	const char *ip;
	uint16_t port;
} ts_own[] = {{"192.0.2.1", 3478}, {"2001:db8::1", 3478}, {"192.0.2.1", 5349}};

/* ip bytes (4 for IPv4, also for IPv4-mapped IPv6), port (host order) */
static int ts_addr_parts(const struct sockaddr *sa, uint8_t ip[16], uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		memcpy(ip, &s->sin_addr, 4);
		*port = ntohs(s->sin_port);
		return AF_INET;
	}
	const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
	*port = ntohs(s->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
		memcpy(ip, s->sin6_addr.s6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(ip, &s->sin6_addr, 16);
	return AF_INET6;
}

/* The oracle: an independent statement of what the server is configured
 * to refuse (turn_policy defaults, the server's own addresses, the
 * operator's --deny 10.0.0.0/8 and 2001:db8:dead::/48 with --allow
 * 10.9.0.0/16). */
static bool ts_oracle_allowed(const struct sockaddr *sa)
{
	uint8_t ip[16];
	uint16_t port;
	int fam = ts_addr_parts(sa, ip, &port);

	if (port == 0)
		return false;
	for (size_t i = 0; i < sizeof(ts_own) / sizeof(ts_own[0]); i++) {
		struct sockaddr_storage o = seq_addr(ts_own[i].ip, ts_own[i].port);
		uint8_t oip[16];
		uint16_t oport;
		int ofam = ts_addr_parts((const struct sockaddr *)&o, oip, &oport);
		if (ofam == fam && oport == port && memcmp(oip, ip, fam == AF_INET ? 4 : 16) == 0)
			return false;
	}
	if (fam == AF_INET) {
		if (ip[0] == 10 && ip[1] == 9)
			return true; /* allowed range wins over denied ones */
		if (ip[0] == 0 || ip[0] == 127 || ip[0] == 10 || ip[0] >= 224 ||
		    (ip[0] == 169 && ip[1] == 254))
			return false;
		return true;
	}
	static const uint8_t zero[16];
	if (memcmp(ip, zero, 16) == 0)
		return false; /* :: */
	if (memcmp(ip, zero, 15) == 0 && ip[15] == 1)
		return false; /* ::1 */
	if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80)
		return false; /* fe80::/10 */
	if (ip[0] == 0xff)
		return false; /* ff00::/8 */
	static const uint8_t dead[6] = {0x20, 0x01, 0x0d, 0xb8, 0xde, 0xad};
	if (memcmp(ip, dead, 6) == 0)
		return false;
	return true;
}

/* ---- bookkeeping -------------------------------------------------------- */

static int ts_client_of_key(const struct turn_key *k)
{
	for (int i = 0; i < TS_CLIENTS; i++) {
		const struct turn_key *c = &TS.cl[i].key;
		if (c->transport == k->transport && c->listener == k->listener &&
		    c->conn == k->conn &&
		    turn_addr_same((const struct sockaddr *)&c->client,
				   (const struct sockaddr *)&k->client))
			return i;
	}
	return -1;
}

static bool ts_perm_ok(int ci, const struct sockaddr *peer)
{
	const struct ts_client *c = &TS.cl[ci];
	for (int i = 0; i < c->nperm; i++)
		if (turn_addr_same_ip((const struct sockaddr *)&c->perm[i].ip, peer) &&
		    TS.now <= c->perm[i].granted_ms + TS_PERM_LIFE_MS)
			return true;
	return false;
}

static void ts_perm_grant(int ci, const struct sockaddr *peer)
{
	struct ts_client *c = &TS.cl[ci];
	for (int i = 0; i < c->nperm; i++) {
		if (turn_addr_same_ip((const struct sockaddr *)&c->perm[i].ip, peer)) {
			c->perm[i].granted_ms = TS.now;
			return;
		}
	}
	if (c->nperm == TS_PERMS) { /* forget the oldest: the model only gets stricter */
		memmove(&c->perm[0], &c->perm[1], sizeof(c->perm[0]) * (TS_PERMS - 1));
		c->nperm--;
	}
	memset(&c->perm[c->nperm].ip, 0, sizeof(c->perm[0].ip));
	memcpy(&c->perm[c->nperm].ip, peer, turn_addr_len(peer));
	c->perm[c->nperm++].granted_ms = TS.now;
}

static struct ts_req *ts_req_find(int ci, const uint8_t *tid)
{
	for (int i = 0; i < TS_REQS; i++)
		if (TS.req[i].used && TS.req[i].client == ci &&
		    memcmp(TS.req[i].tid, tid, STUN_TID_LEN) == 0)
			return &TS.req[i];
	return NULL;
}

static int ts_count_open(enum ts_hkind kind)
{
	int n = 0;
	for (int i = 1; i < TS.nexth; i++)
		n += TS.h[i].kind == kind && TS.h[i].open;
	return n;
}

static int ts_new_handle(enum ts_hkind kind)
{
	if (TS.nexth >= TS_HANDLES)
		return -EMFILE;
	int h = TS.nexth++;
	memset(&TS.h[h], 0, sizeof(TS.h[h]));
	TS.h[h].kind = kind;
	TS.h[h].open = true;
	TS.h[h].owner = -1;
	TS.h[h].opened_ms = TS.now;
	return h;
}

/* ---- what the server sends ---------------------------------------------- */

static void ts_on_response(int ci, const struct stun_msg *m, size_t len)
{
	struct ts_req *r = ts_req_find(ci, m->tid);
	bool has_mi = m->mi_idx >= 0 || m->mi256_idx >= 0;

	TS_CHECK(r, "a %s response to client %d answers no request it sent",
		 stun_method_name(m->method), ci);
	TS_CHECK(r->method == m->method, "a %s request answered as %s", stun_method_name(r->method),
		 stun_method_name(m->method));
	if (r->waiting > 0)
		r->waiting--;
	if (!has_mi)
		TS_CHECK(len <= TS_UNAUTH_MAX, "an answer without integrity of %zu bytes", len);
	if (has_mi) {
		TS_CHECK(r->signed_, "integrity on the answer to an unsigned request");
		TS_CHECK(stun_msg_check_integrity(m, r->key, r->keylen) == 0,
			 "the %s answer's integrity does not verify with the request's key",
			 stun_method_name(m->method));
	}
	if (m->cls == STUN_CLASS_ERROR) {
		int code = 0;
		const char *reason;
		size_t rlen;
		const uint8_t *nonce;
		size_t nlen;
		TS_CHECK(stun_msg_get_error(m, &code, &reason, &rlen) == 0,
			 "an error response without a valid ERROR-CODE");
		if ((code == 401 || code == 438) &&
		    stun_msg_get_bytes(m, STUN_ATTR_NONCE, &nonce, &nlen) == 0 &&
		    nlen <= STUN_MAX_NONCE_LEN) {
			memcpy(TS.cl[ci].nonce, nonce, nlen);
			TS.cl[ci].nonce_len = nlen;
		}
		return;
	}
	switch (m->method) {
	case STUN_METHOD_ALLOCATE: {
		struct stun_addr a;
		uint32_t life = 0;
		TS_CHECK(stun_msg_get_u32(m, STUN_ATTR_LIFETIME, &life) == 0 && life <= 3600,
			 "Allocate success with lifetime %u", life);
		TS_CHECK(stun_msg_get_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &a) == 0,
			 "Allocate success without XOR-MAPPED-ADDRESS");
		for (unsigned n = 0;
		     stun_msg_get_xor_addr_nth(m, STUN_ATTR_XOR_RELAYED_ADDRESS, n, &a) == 0; n++) {
			struct sockaddr_storage ss;
			int found = 0;
			stun_addr_to_sockaddr(&a, &ss);
			for (int h = 1; h < TS.nexth; h++) {
				if (TS.h[h].open && TS.h[h].kind != H_CONN &&
				    turn_addr_same((const struct sockaddr *)&TS.h[h].addr,
						   (const struct sockaddr *)&ss)) {
					/* a new allocation of this client: the
					 * old one's permissions are gone */
					if (TS.h[h].owner != ci)
						TS.cl[ci].nperm = 0;
					TS.h[h].owner = ci;
					found = h;
				}
			}
			TS_CHECK(found, "XOR-RELAYED-ADDRESS names no open relay");
		}
		uint64_t tok;
		if (stun_msg_get_u64(m, STUN_ATTR_RESERVATION_TOKEN, &tok) == 0 && TS.ntok < TS_IDS)
			TS.tokens[TS.ntok++] = tok;
		break;
	}
	case STUN_METHOD_CREATE_PERMISSION:
	case STUN_METHOD_CHANNEL_BIND:
		for (int i = 0; i < r->npeers; i++) {
			TS_CHECK(ts_oracle_allowed((const struct sockaddr *)&r->peers[i]),
				 "%s succeeded for a denied peer", stun_method_name(m->method));
			ts_perm_grant(ci, (const struct sockaddr *)&r->peers[i]);
		}
		break;
	case STUN_METHOD_CONNECT: {
		uint32_t id;
		TS_CHECK(r->npeers == 1 && ts_oracle_allowed((const struct sockaddr *)&r->peers[0]),
			 "Connect succeeded for a denied peer");
		TS_CHECK(stun_msg_get_u32(m, STUN_ATTR_CONNECTION_ID, &id) == 0,
			 "Connect success without CONNECTION-ID");
		if (TS.nconnid < TS_IDS)
			TS.connids[TS.nconnid++] = id;
		ts_perm_grant(ci, (const struct sockaddr *)&r->peers[0]);
		break;
	}
	default:
		break;
	}
}

static void ts_on_indication(int ci, const struct stun_msg *m)
{
	struct stun_addr p;
	struct sockaddr_storage peer;

	TS_CHECK(m->method == STUN_METHOD_DATA || m->method == STUN_METHOD_CONNECTION_ATTEMPT,
		 "the server sent a %s indication", stun_method_name(m->method));
	TS_CHECK(stun_msg_get_xor_addr(m, STUN_ATTR_XOR_PEER_ADDRESS, &p) == 0,
		 "an indication without XOR-PEER-ADDRESS");
	stun_addr_to_sockaddr(&p, &peer);
	if (m->method == STUN_METHOD_DATA) {
		TS_CHECK(TS.relay_input_owner == ci,
			 "a Data indication to client %d, not the "
			 "owner %d of the relay",
			 ci, TS.relay_input_owner);
		TS_CHECK(ts_perm_ok(ci, (const struct sockaddr *)&peer),
			 "data from a peer without permission reached the client");
		return;
	}
	/* RFC 6062 §5.3: a connection from a peer without permission is
	 * refused, so a ConnectionAttempt names a permitted peer. */
	uint32_t id;
	TS_CHECK(stun_msg_get_u32(m, STUN_ATTR_CONNECTION_ID, &id) == 0,
		 "ConnectionAttempt without CONNECTION-ID");
	TS_CHECK(ts_perm_ok(ci, (const struct sockaddr *)&peer),
		 "ConnectionAttempt from a peer without permission");
	if (TS.nconnid < TS_IDS)
		TS.connids[TS.nconnid++] = id;
}

/* NATLAB_FUZZ_DEBUG=1 in the environment: print every answer (to see
 * what a seed reaches) */
static bool ts_debug;

/* the counter ts_msg_begin put in a transaction ID, for the debug output */
static uint32_t ts_tid_num(const uint8_t *tid)
{
	uint32_t n;
	memcpy(&n, tid, sizeof(n));
	return n;
}

static int ts_io_client_send(void *ctx, const struct turn_key *k, const uint8_t *buf, size_t len)
{
	int ci = ts_client_of_key(k);
	bool stream = k->transport != TURN_TRANSPORT_UDP;
	struct stun_msg m;

	(void)ctx;
	TS_CHECK(ci >= 0, "a message to a client that does not exist");
	TS_CHECK(!stream || (TS.cl[ci].open && !TS.cl[ci].spliced),
		 "a message to client %d's %s stream connection", ci,
		 TS.cl[ci].spliced ? "spliced" : "closed");
	if (len >= 4 && (buf[0] & 0xc0) == 0x40) {
		uint16_t ch;
		const uint8_t *d;
		size_t dl;
		long n = turn_chandata_decode(buf, len, &ch, &d, &dl);
		TS_CHECK(n > 0 && (size_t)n <= len, "ChannelData that does not decode");
		TS_CHECK(!stream || ((size_t)n == len && len % 4 == 0),
			 "ChannelData over a stream not padded to 4");
		TS_CHECK(TS.relay_input_owner == ci, "ChannelData to client %d, not the owner %d",
			 ci, TS.relay_input_owner);
		TS_CHECK(ts_perm_ok(ci, (const struct sockaddr *)&TS.relay_input_peer),
			 "ChannelData from a peer without permission");
	} else {
		TS_CHECK(stun_msg_decode(&m, buf, len, 0, NULL) == 0,
			 "an answer that does not decode");
		if (ts_debug) {
			int code = 0;
			const char *why;
			size_t wl;
			stun_msg_get_error(&m, &code, &why, &wl);
			fprintf(stderr, "t=%llu -> client %d: %s %s %d (%zu bytes) tid %u\n",
				(unsigned long long)TS.now, ci, stun_method_name(m.method),
				stun_class_name(m.cls), code, len, ts_tid_num(m.tid));
		}
		TS_CHECK(!stream || stun_frame_length(buf, len) == (long)len,
			 "a STUN frame whose length is not the message");
		if (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR)
			ts_on_response(ci, &m, len);
		else
			ts_on_indication(ci, &m);
	}
	return TS.fail & F_CLIENT_SEND ? -EAGAIN : 0;
}

/* Like the kernel, the fake never gives one address to two open sockets
 * (relays and TCP relays share the numbering, so that an address names
 * one of them): an answer's XOR-RELAYED-ADDRESS then names one socket. */
static bool ts_port_busy(int family, uint16_t port)
{
	for (int i = 1; i < TS.nexth; i++) {
		if (TS.h[i].open && (TS.h[i].kind == H_RELAY || TS.h[i].kind == H_LISTEN) &&
		    TS.h[i].addr.ss_family == family &&
		    ntohs(((struct sockaddr_in *)&TS.h[i].addr)->sin_port) == port)
			return true;
	}
	return false;
}

/* the next free port from 49152, odd and even ones mixed */
static uint16_t ts_port_free(int family)
{
	uint16_t port;
	do {
		port = TS.nextport;
		TS.nextport = (uint16_t)(TS.nextport + 1 + (TS.nextport % 3 == 0));
		if (TS.nextport < 49152)
			TS.nextport = 49152;
	} while (ts_port_busy(family, port));
	return port;
}

static int ts_io_relay_open(void *ctx, int family, uint16_t port, uint32_t cookie,
			    struct sockaddr_storage *bound)
{
	(void)ctx;
	if (TS.fail & F_RELAY_OPEN)
		return -EMFILE;
	TS_CHECK(family == AF_INET || (family == AF_INET6 && TS.v6),
		 "a relay of a family the server does not have");
	if (port && ts_port_busy(family, port))
		return -EADDRINUSE;
	int h = ts_new_handle(H_RELAY);
	if (h < 0)
		return h;
	if (!port)
		port = ts_port_free(family);
	TS.h[h].addr = seq_addr(family == AF_INET ? "192.0.2.10" : "2001:db8::10", port);
	TS.h[h].cookie = cookie;
	*bound = TS.h[h].addr;
	return h;
}

static void ts_io_relay_set_cookie(void *ctx, int h, uint32_t cookie)
{
	(void)ctx;
	TS_CHECK(h > 0 && h < TS.nexth && TS.h[h].open && TS.h[h].kind == H_RELAY,
		 "relay_set_cookie on handle %d, not an open relay", h);
	TS.h[h].cookie = cookie;
}

static void ts_io_relay_close(void *ctx, int h)
{
	(void)ctx;
	/* relay_close also closes the listening socket of a TCP relay
	 * (turn_server.h) */
	TS_CHECK(h > 0 && h < TS.nexth && TS.h[h].open &&
		     (TS.h[h].kind == H_RELAY || TS.h[h].kind == H_LISTEN),
		 "relay_close on handle %d, not an open relay (closed twice?)", h);
	TS.h[h].open = false;
}

static int ts_io_relay_send(void *ctx, int h, const struct sockaddr *peer, const uint8_t *buf,
			    size_t len, bool df)
{
	(void)ctx;
	(void)buf;
	(void)df;
	TS_CHECK(h > 0 && h < TS.nexth && TS.h[h].open && TS.h[h].kind == H_RELAY,
		 "relay_send on handle %d, not an open relay", h);
	TS_CHECK(peer->sa_family == TS.h[h].addr.ss_family, "relay_send to another family");
	TS_CHECK(ts_oracle_allowed(peer), "relay_send to a denied peer");
	char ps[64];
	TS_CHECK(TS.h[h].owner >= 0 && ts_perm_ok(TS.h[h].owner, peer),
		 "relay_send to %s, for which the relay's client %d has no permission",
		 turn_addr_str(peer, ps, sizeof(ps)), TS.h[h].owner);
	TS.h[h].bytes += len;
	/* both directions share one bucket: burst = one second's worth */
	TS_CHECK(!TS.bw || TS.h[h].bytes <= TS.bw + TS.bw * (TS.now - TS.h[h].opened_ms) / 1000,
		 "%llu bytes through a relay capped at %llu/s in %llu ms",
		 (unsigned long long)TS.h[h].bytes, (unsigned long long)TS.bw,
		 (unsigned long long)(TS.now - TS.h[h].opened_ms));
	return TS.fail & F_RELAY_SEND ? -EAGAIN : 0;
}

static void ts_io_event(void *ctx, const char *txt)
{
	json_t *o = json_loads(txt, 0, NULL);
	const char *ev, *user, *id;

	(void)ctx;
	TS_CHECK(o, "an event that is not JSON: %s", txt);
	ev = json_string_value(json_object_get(o, "ev"));
	user = json_string_value(json_object_get(o, "user"));
	id = json_string_value(json_object_get(o, "id"));
	TS_CHECK(ev, "an event without \"ev\"");
	if (strcmp(ev, "alloc") == 0) {
		TS_CHECK(user && id, "an alloc event without user or id");
		TS_CHECK(TS.live < (int)(sizeof(TS.ids) / sizeof(TS.ids[0])),
			 "too many allocations");
		snprintf(TS.users[TS.live], sizeof(TS.users[0]), "%s", user);
		snprintf(TS.ids[TS.live], sizeof(TS.ids[0]), "%s", id);
		TS.live++;
	} else if (strcmp(ev, "alloc-end") == 0) {
		int i;
		TS_CHECK(id, "an alloc-end event without id");
		for (i = 0; i < TS.live && strcmp(TS.ids[i], id) != 0; i++)
			;
		TS_CHECK(i < TS.live, "alloc-end for an allocation never announced");
		TS.live--;
		memcpy(TS.ids[i], TS.ids[TS.live], sizeof(TS.ids[0]));
		memcpy(TS.users[i], TS.users[TS.live], sizeof(TS.users[0]));
	}
	json_decref(o);
}

static int ts_io_tcp_listen(void *ctx, int family, uint32_t cookie, struct sockaddr_storage *bound)
{
	(void)ctx;
	if (TS.fail & F_TCP_LISTEN)
		return -EMFILE;
	int h = ts_new_handle(H_LISTEN);
	if (h < 0)
		return h;
	uint16_t port = ts_port_free(family);
	TS.h[h].addr = seq_addr(family == AF_INET ? "192.0.2.10" : "2001:db8::10", port);
	TS.h[h].cookie = cookie;
	*bound = TS.h[h].addr;
	return h;
}

static int ts_io_tcp_connect(void *ctx, int lh, const struct sockaddr *peer, uint32_t id)
{
	(void)ctx;
	TS_CHECK(lh > 0 && lh < TS.nexth && TS.h[lh].open && TS.h[lh].kind == H_LISTEN,
		 "tcp_connect from handle %d, not an open TCP relay", lh);
	TS_CHECK(ts_oracle_allowed(peer), "tcp_connect to a denied peer");
	if (TS.fail & F_TCP_CONNECT)
		return -ENETUNREACH;
	/* The server installs the permission for the peer when it starts
	 * the connection (as a ChannelBind does), not when it answers. */
	if (TS.h[lh].owner >= 0)
		ts_perm_grant(TS.h[lh].owner, peer);
	int h = ts_new_handle(H_CONN);
	if (h < 0)
		return h;
	memcpy(&TS.h[h].addr, peer, turn_addr_len(peer));
	if (TS.npending < TS_IDS) {
		TS.pending[TS.npending].id = id;
		TS.pending[TS.npending++].handle = h;
	}
	if (TS.delivering)
		TS.delivering->connecting = true;
	return h;
}

static void ts_io_tcp_close(void *ctx, int h)
{
	(void)ctx;
	TS_CHECK(h > 0 && h < TS.nexth && TS.h[h].open && TS.h[h].kind == H_CONN,
		 "tcp_close on handle %d, not an open peer connection (closed twice?)", h);
	TS.h[h].open = false;
}

static void ts_io_tcp_splice(void *ctx, const struct turn_key *k, int h)
{
	int ci = ts_client_of_key(k);
	(void)ctx;
	TS_CHECK(ci >= 0 && k->transport != TURN_TRANSPORT_UDP && TS.cl[ci].open &&
		     !TS.cl[ci].spliced,
		 "tcp_splice of a connection that is not an open client stream");
	TS_CHECK(h > 0 && h < TS.nexth && TS.h[h].open && TS.h[h].kind == H_CONN,
		 "tcp_splice with handle %d, not an open peer connection", h);
	/* RFC 6062 §4.4 / §5.4: the data connection is a new connection,
	 * not the control connection that holds the allocation. */
	TS_CHECK(!turn_server_has_alloc(TS.s, k),
		 "a control connection holding an allocation became a data connection");
	TS.cl[ci].spliced = true;
	TS.h[h].open = false; /* the caller owns it now */
}

static const struct turn_server_io ts_fake_io = {
    .relay_open = ts_io_relay_open,
    .relay_set_cookie = ts_io_relay_set_cookie,
    .relay_close = ts_io_relay_close,
    .relay_send = ts_io_relay_send,
    .client_send = ts_io_client_send,
    .event = ts_io_event,
    .tcp_listen = ts_io_tcp_listen,
    .tcp_connect = ts_io_tcp_connect,
    .tcp_close = ts_io_tcp_close,
    .tcp_splice = ts_io_tcp_splice,
};

/* ---- invariants after every step ---------------------------------------- */

static void ts_check_state(void)
{
	uint32_t n = turn_server_alloc_count(TS.s);

	TS_CHECK(n <= TS_MAX_ALLOCS, "%u allocations, quota %u", n, TS_MAX_ALLOCS);
	TS_CHECK((int)n == TS.live, "%u allocations, %d announced by events", n, TS.live);
	if (TS.user_quota) {
		for (int i = 0; i < TS.live; i++) {
			uint32_t per = 0;
			for (int j = 0; j < TS.live; j++)
				per += strcmp(TS.users[i], TS.users[j]) == 0;
			TS_CHECK(per <= TS.user_quota, "user %s holds %u allocations, quota %u",
				 TS.users[i], per, TS.user_quota);
		}
	}
	/* two relays per allocation, one reservation each at most */
	TS_CHECK(ts_count_open(H_RELAY) <= (int)(2 * TS_MAX_ALLOCS) + TS_RESV_MAX, "%d relays open",
		 ts_count_open(H_RELAY));
	TS_CHECK(ts_count_open(H_LISTEN) <= (int)n, "%d TCP relays open for %u allocations",
		 ts_count_open(H_LISTEN), n);
}

/* ---- the script ------------------------------------------------------------ */

static struct ts_client *ts_client_use(int ci)
{
	struct ts_client *c = &TS.cl[ci];
	/* a closed or spliced stream: the client connects again */
	if (c->key.transport != TURN_TRANSPORT_UDP && (!c->open || c->spliced)) {
		c->gen++;
		c->key.conn = (uint32_t)(ci * 1000 + c->gen);
		c->open = true;
		c->spliced = false;
		c->nperm = 0;
	}
	return c;
}

static void ts_client_init(int ci)
{
	static const struct {
		const char *ip;
		uint16_t port;
		uint32_t listener;
		uint8_t transport;
	} tab[TS_CLIENTS] = {
	    {"198.51.100.1", 40000, 0, TURN_TRANSPORT_UDP},
	    {"2001:db8:1::1", 40001, 1, TURN_TRANSPORT_UDP},
	    {"198.51.100.2", 40002, 2, TURN_TRANSPORT_TCP},
	    {"198.51.100.2", 40003, 2, TURN_TRANSPORT_TCP},
	    {"198.51.100.3", 40004, 3, TURN_TRANSPORT_TLS},
	    {"198.51.100.1", 40000, 4, TURN_TRANSPORT_UDP},
	};
	struct ts_client *c = &TS.cl[ci];
	memset(c, 0, sizeof(*c));
	c->key.client = seq_addr(tab[ci].ip, tab[ci].port);
	c->key.listener = tab[ci].listener;
	c->key.transport = tab[ci].transport;
	c->key.conn = tab[ci].transport == TURN_TRANSPORT_UDP ? 0 : (uint32_t)(ci * 1000);
	c->open = true;
}

/* a peer address from the script: a table of interesting ones, a relay
 * of this server, or raw bytes */
static struct sockaddr_storage ts_peer_pick(struct seq_rd *r)
{
	static const struct {
		const char *ip;
		uint16_t port;
	} tab[] = {
	    {"203.0.113.5", 7000},
	    {"203.0.113.6", 7001},
	    {"2001:db8:2::5", 7000},
	    {"127.0.0.1", 7000},
	    {"::1", 7000},
	    {"::ffff:127.0.0.1", 7000},
	    {"192.0.2.1", 3478},
	    {"2001:db8::1", 3478},
	    {"10.1.2.3", 7000},
	    {"10.9.1.1", 7000},
	    {"0.0.0.0", 7000},
	    {"224.0.0.1", 7000},
	    {"169.254.1.1", 7000},
	    {"fe80::1", 7000},
	    {"203.0.113.5", 0},
	    {"::ffff:192.0.2.1", 3478},
	    {"2001:db8:dead::1", 7000},
	    {"::ffff:10.1.2.3", 7000},
	    {"::", 7000},
	    {"192.0.2.1", 5349},
	    {"255.255.255.255", 7000},
	};
	uint8_t which = seq_u8(r);
	size_t n = sizeof(tab) / sizeof(tab[0]);

	if (which < 200)
		return seq_addr(tab[which % n].ip, tab[which % n].port);
	if (which < 220) { /* a relayed address of this server */
		for (int h = TS.nexth - 1; h > 0; h--)
			if (TS.h[h].kind == H_RELAY && (which-- & 3) == 0)
				return TS.h[h].addr;
		return seq_addr(tab[0].ip, tab[0].port);
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (which & 1) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		for (int i = 0; i < 16; i++)
			s6->sin6_addr.s6_addr[i] = seq_u8(r);
		s6->sin6_port = htons(seq_u16(r));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		uint8_t ip[4] = {seq_u8(r), seq_u8(r), seq_u8(r), seq_u8(r)};
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, ip, 4);
		s4->sin_port = htons(seq_u16(r));
	}
	return ss;
}

/* how a request is signed (low 3 bits of the auth byte) */
enum ts_auth {
	A_NONE,
	A_ALICE,
	A_BOB_SHA256,
	A_USERHASH,
	A_REST,
	A_REST_EXPIRED,
	A_WRONG,
	A_ALICE2
};

struct ts_msg {
	struct stun_builder b;
	uint8_t buf[2048];
	struct ts_req *r;
	int ci;
};

/* the next slot of the ring of remembered requests, skipping requests
 * still waiting for their answer (a Connect) */
static struct ts_req *ts_req_slot(void)
{
	/* a free or answered slot; else one whose request got no answer
	 * (dropped by the rate limit) but is not a Connect whose connection
	 * the server started, whose answer may come much later (a Connect
	 * the rate limit dropped started none, and 32 of them once pushed
	 * out one that was connecting: a false alarm,
	 * regress/turn_server_seq/dropped_connects_pushed_out_a_pending_one);
	 * else the next one. Never the slot of a request
	 * still being built: ts_msg_send may first ask for a nonce with an
	 * Allocate of its own, which used to take the slot of the request
	 * being sent; the server then answered that request, rightly, with
	 * its own transaction ID (RFC 8489 §3: it "allows the client to
	 * associate the response with the request that generated it"), which
	 * the model had forgotten (a false alarm,
	 * regress/turn_server_seq/nonce_request_took_the_slot_of_its_request) */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < TS_REQS; i++) {
			struct ts_req *q = &TS.req[(TS.nreq + i) % TS_REQS];
			if (q->building)
				continue;
			if (!q->used || q->waiting <= 0 ||
			    (pass == 1 && (q->method != STUN_METHOD_CONNECT || !q->connecting))) {
				TS.nreq += i + 1;
				return q;
			}
		}
	}
	struct ts_req *r = &TS.req[TS.nreq++ % TS_REQS];
	if (r->building) /* at most one is being built at a time */
		r = &TS.req[TS.nreq++ % TS_REQS];
	return r;
}

static void ts_msg_begin(struct ts_msg *mm, int ci, enum stun_class cls, uint16_t method)
{
	uint8_t tid[STUN_TID_LEN] = {0};
	TS.tidctr++;
	memcpy(tid, &TS.tidctr, sizeof(TS.tidctr));
	tid[11] = (uint8_t)ci;
	mm->ci = ci;
	mm->r = NULL;
	stun_builder_init(&mm->b, mm->buf, sizeof(mm->buf), stun_type_make(cls, method), tid);
	if (cls == STUN_CLASS_REQUEST) {
		struct ts_req *r = ts_req_slot();
		memset(r, 0, sizeof(*r));
		r->used = true;
		r->client = ci;
		r->method = method;
		memcpy(r->tid, tid, sizeof(tid));
		r->sent_ms = TS.now;
		r->building = true;
		mm->r = r;
	}
}

static void ts_msg_peer(struct ts_msg *mm, const struct sockaddr_storage *ss)
{
	struct stun_addr a;
	stun_addr_from_sockaddr(&a, (const struct sockaddr *)ss,
				turn_addr_len((const struct sockaddr *)ss));
	stun_builder_add_xor_addr(&mm->b, STUN_ATTR_XOR_PEER_ADDRESS, &a);
	if (mm->r && mm->r->npeers < 4)
		memcpy(&mm->r->peers[mm->r->npeers++], ss, sizeof(*ss));
}

static void ts_deliver(int ci, const uint8_t *buf, size_t len)
{
	uint8_t *copy = seq_copy(buf, len);
	if (!copy)
		return;
	if (len <= sizeof(TS.last)) {
		memcpy(TS.last, buf, len);
		TS.last_len = len;
		TS.last_client = ci;
		TS.last_req_valid = false;
	}
	if (ts_debug && len >= STUN_HEADER_LEN && (buf[0] & 0xc0) == 0)
		fprintf(stderr, "t=%llu client %d <- message type %#x tid %u\n",
			(unsigned long long)TS.now, ci, (unsigned)(buf[0] << 8 | buf[1]),
			ts_tid_num(buf + 8));
	turn_server_input(TS.s, &TS.cl[ci].key, copy, len, TS.now);
	free(copy);
}

/* the request of the last message delivered, for its retransmission */
static void ts_last_req(const struct ts_req *r)
{
	TS.last_req_valid = r != NULL;
	if (r) {
		TS.last_req = *r;
		TS.last_req.building = false; /* a retransmission is already built */
	}
}

static void ts_ask_nonce(int ci)
{
	struct ts_msg mm;
	ts_msg_begin(&mm, ci, STUN_CLASS_REQUEST, STUN_METHOD_ALLOCATE);
	stun_builder_add_requested_transport(&mm.b, 17);
	long n = stun_builder_finish(&mm.b);
	mm.r->building = false;
	if (n > 0) {
		mm.r->waiting++;
		ts_deliver(ci, mm.buf, (size_t)n);
		ts_last_req(mm.r);
	}
}

/* sign as @auth says, then send to the server */
static void ts_msg_sign_send(struct ts_msg *mm, uint8_t auth)
{
	int ci = mm->ci;
	struct ts_client *c = &TS.cl[ci];
	char user[64], pass[64];
	enum turn_auth_alg alg = TURN_AUTH_ALG_MD5;
	uint8_t key[TURN_AUTH_KEY_MAX];

	switch (auth & 7) {
	case A_NONE:
		break;
	case A_ALICE:
	case A_ALICE2:
	case A_USERHASH:
		snprintf(user, sizeof(user), "alice");
		snprintf(pass, sizeof(pass), "alice-pw");
		break;
	case A_BOB_SHA256:
		snprintf(user, sizeof(user), "bob");
		snprintf(pass, sizeof(pass), "bob-pw");
		alg = TURN_AUTH_ALG_SHA256;
		break;
	case A_REST:
	case A_REST_EXPIRED: {
		int64_t unix_now = TS_UNIX_BASE + (int64_t)(TS.now / 1000);
		int64_t exp = unix_now + ((auth & 7) == A_REST ? 86400 : -60);
		snprintf(user, sizeof(user), "%lld:carol%d", (long long)exp, (auth >> 6) & 1);
		if (turn_auth_rest_password(TS_SECRET, user, strlen(user), pass, sizeof(pass)) < 0)
			return;
		break;
	}
	case A_WRONG:
		snprintf(user, sizeof(user), "alice");
		snprintf(pass, sizeof(pass), "not-alice-pw");
		break;
	}
	if ((auth & 7) != A_NONE) {
		if (!c->nonce_len)
			ts_ask_nonce(ci);
		if (!c->nonce_len)
			return; /* rate limited, or the server said nothing */
		if ((auth & 7) == A_USERHASH) {
			uint8_t uh[32];
			turn_auth_userhash(user, strlen(user), TS_REALM, uh);
			stun_builder_add(&mm->b, STUN_ATTR_USERHASH, uh, sizeof(uh));
		} else {
			stun_builder_add_string(&mm->b, STUN_ATTR_USERNAME, user);
		}
		stun_builder_add_string(&mm->b, STUN_ATTR_REALM, auth & 0x20 ? "other" : TS_REALM);
		stun_builder_add(&mm->b, STUN_ATTR_NONCE, c->nonce, c->nonce_len);
		if (alg == TURN_AUTH_ALG_SHA256 || (auth & 0x10)) {
			static const uint16_t algs[] = {STUN_PWALG_MD5, STUN_PWALG_SHA256};
			stun_builder_add_password_algorithms(&mm->b, algs, 2);
			stun_builder_add_password_algorithm(&mm->b, alg == TURN_AUTH_ALG_SHA256
									? STUN_PWALG_SHA256
									: STUN_PWALG_MD5);
		}
		int kl = turn_auth_key(alg, user, strlen(user), TS_REALM, pass, key);
		if (kl <= 0)
			return;
		/* MESSAGE-INTEGRITY-SHA256 or the SHA-1 one, as bit 3 says */
		if (auth & 8)
			stun_builder_add_integrity_sha256(&mm->b, key, (size_t)kl);
		else
			stun_builder_add_integrity(&mm->b, key, (size_t)kl);
		if (mm->r) {
			mm->r->signed_ = true;
			memcpy(mm->r->key, key, (size_t)kl);
			mm->r->keylen = (size_t)kl;
		}
	}
	if (auth & 0x80)
		stun_builder_add_fingerprint(&mm->b);
	long n = stun_builder_finish(&mm->b);
	if (n <= 0)
		return;
	if (mm->r)
		mm->r->waiting++; /* before: the answer comes during delivery */
	TS.delivering = mm->r;
	ts_deliver(ci, mm->buf, (size_t)n);
	TS.delivering = NULL;
	ts_last_req(mm->r);
}

/* ts_msg_send - sign as @auth says, then send to the server; the
 * request's slot may be taken again from now on */
static void ts_msg_send(struct ts_msg *mm, uint8_t auth)
{
	ts_msg_sign_send(mm, auth);
	if (mm->r)
		mm->r->building = false;
}

static void ts_advance(uint64_t ms)
{
	TS.now += ms;
	turn_server_tick(TS.s, TS.now);
}

static void ts_op_allocate(struct seq_rd *r, int ci)
{
	struct ts_msg mm;
	uint8_t auth = seq_u8(r), f = seq_u8(r);

	ts_msg_begin(&mm, ci, STUN_CLASS_REQUEST, STUN_METHOD_ALLOCATE);
	if (!(f & 0x80))
		stun_builder_add_requested_transport(&mm.b, f & 1 ? 6 : 17);
	if (f & 2)
		stun_builder_add_u32(&mm.b, STUN_ATTR_LIFETIME,
				     (uint32_t)seq_u16(r) * (f & 0x40 ? 97 : 1));
	if (f & 4)
		stun_builder_add_even_port(&mm.b, (f & 8) != 0);
	if (f & 0x10) {
		uint8_t t = seq_u8(r);
		uint64_t tok =
		    TS.ntok && t < 200 ? TS.tokens[t % TS.ntok] : (uint64_t)t * 0x0101010101ull;
		stun_builder_add_u64(&mm.b, STUN_ATTR_RESERVATION_TOKEN, tok);
	}
	if (f & 0x20) {
		uint8_t g = seq_u8(r);
		stun_builder_add_family(&mm.b,
					g & 1 ? STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY
					      : STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
					g & 2 ? AF_INET6 : AF_INET);
		if (g & 4)
			stun_builder_add_flag(&mm.b, STUN_ATTR_DONT_FRAGMENT);
	}
	ts_msg_send(&mm, auth);
}

static void ts_op_refresh(struct seq_rd *r, int ci)
{
	struct ts_msg mm;
	uint8_t auth = seq_u8(r), f = seq_u8(r);

	ts_msg_begin(&mm, ci, STUN_CLASS_REQUEST, STUN_METHOD_REFRESH);
	if (f & 1)
		stun_builder_add_u32(&mm.b, STUN_ATTR_LIFETIME,
				     f & 2 ? 0 : (uint32_t)seq_u16(r) * 7);
	if (f & 4)
		stun_builder_add_family(&mm.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
					f & 8 ? AF_INET6 : AF_INET);
	ts_msg_send(&mm, auth);
}

static void ts_op_permission(struct seq_rd *r, int ci, bool channel)
{
	struct ts_msg mm;
	uint8_t auth = seq_u8(r), f = seq_u8(r);

	ts_msg_begin(&mm, ci, STUN_CLASS_REQUEST,
		     channel ? STUN_METHOD_CHANNEL_BIND : STUN_METHOD_CREATE_PERMISSION);
	if (channel) {
		uint16_t ch = f & 0x80 ? seq_u16(r) : (uint16_t)(0x4000 + (f & 0x0f));
		if (!(f & 0x40))
			stun_builder_add_channel(&mm.b, ch);
		else
			stun_builder_add_u32(&mm.b, STUN_ATTR_CHANNEL_NUMBER, (uint32_t)ch << 16);
	}
	int npeers = channel ? 1 : 1 + (f >> 4 & 3);
	for (int i = 0; i < npeers; i++) {
		struct sockaddr_storage p = ts_peer_pick(r);
		ts_msg_peer(&mm, &p);
	}
	ts_msg_send(&mm, auth);
}

static void ts_op_connect(struct seq_rd *r, int ci)
{
	struct ts_msg mm;
	uint8_t auth = seq_u8(r);
	struct sockaddr_storage p = ts_peer_pick(r);

	ts_msg_begin(&mm, ci, STUN_CLASS_REQUEST, STUN_METHOD_CONNECT);
	ts_msg_peer(&mm, &p);
	ts_msg_send(&mm, auth);
}

static void ts_op_connection_bind(struct seq_rd *r, int ci)
{
	struct ts_msg mm;
	uint8_t auth = seq_u8(r), w = seq_u8(r);
	uint32_t id = TS.nconnid && w < 200 ? TS.connids[w % TS.nconnid] : w;

	ts_msg_begin(&mm, ci, STUN_CLASS_REQUEST, STUN_METHOD_CONNECTION_BIND);
	if (!(w & 0x80) || TS.nconnid)
		stun_builder_add_u32(&mm.b, STUN_ATTR_CONNECTION_ID, id);
	ts_msg_send(&mm, auth);
}

static void ts_op_send(struct seq_rd *r, int ci)
{
	struct ts_msg mm;
	uint8_t f = seq_u8(r), len = seq_u8(r);
	uint8_t payload[256];
	struct sockaddr_storage p = ts_peer_pick(r);

	memset(payload, 0xab, sizeof(payload));
	ts_msg_begin(&mm, ci, STUN_CLASS_INDICATION, STUN_METHOD_SEND);
	ts_msg_peer(&mm, &p);
	if (!(f & 1))
		stun_builder_add(&mm.b, STUN_ATTR_DATA, payload,
				 (size_t)len * (f & 2 ? 4 : 1) % 256);
	if (f & 4)
		stun_builder_add_flag(&mm.b, STUN_ATTR_DONT_FRAGMENT);
	ts_msg_send(&mm, 0);
}

static void ts_op_channel_data(struct seq_rd *r, int ci)
{
	uint8_t f = seq_u8(r), len = seq_u8(r);
	uint16_t ch = f & 0x80 ? seq_u16(r) : (uint16_t)(0x4000 + (f & 0x0f));
	uint8_t buf[4 + 1200 + 4];
	size_t dl = (size_t)len * (f & 0x40 ? 4 : 1);

	buf[0] = (uint8_t)(ch >> 8);
	buf[1] = (uint8_t)ch;
	/* the length field may lie (bit 5): short, long */
	size_t claimed = f & 0x20 ? dl + (f & 0x10 ? 7 : (size_t)-3) : dl;
	buf[2] = (uint8_t)(claimed >> 8);
	buf[3] = (uint8_t)claimed;
	memset(buf + 4, 0xcd, dl);
	size_t total = 4 + dl;
	if ((f & 8) && total % 4) {
		memset(buf + 4 + dl, 0, 4);
		total += 4 - total % 4;
	}
	ts_deliver(ci, buf, total);
}

static void ts_op_soup(struct seq_rd *r, int ci)
{
	struct ts_msg mm;
	uint8_t cm = seq_u8(r), auth = seq_u8(r), nattr = seq_u8(r) % 8;
	uint16_t method = (uint16_t)(cm & 0x0f);

	ts_msg_begin(&mm, ci, (enum stun_class)(cm >> 4 & 3), method);
	for (int i = 0; i < nattr; i++) {
		uint16_t type = seq_u16(r);
		uint8_t len = seq_u8(r) % 40, val[40];
		for (int j = 0; j < len; j++)
			val[j] = seq_u8(r);
		stun_builder_add(&mm.b, type, val, len);
	}
	ts_msg_send(&mm, auth);
}

static void ts_op_peer_datagram(struct seq_rd *r)
{
	uint8_t which = seq_u8(r), f = seq_u8(r), len = seq_u8(r);
	struct sockaddr_storage p = ts_peer_pick(r);
	int h = -1;

	for (int i = TS.nexth - 1, k = which % 8; i > 0; i--) {
		if (TS.h[i].open && TS.h[i].kind == H_RELAY) {
			h = i;
			if (k-- == 0)
				break;
		}
	}
	if (h < 0)
		return;
	size_t cap;
	uint8_t *buf = turn_server_relay_buf(TS.s, &cap);
	size_t dl = (size_t)len * (f & 1 ? 16 : 1);
	if (dl > cap)
		dl = cap;
	memset(buf, 0x5a, dl);
	TS.relay_input_owner = TS.h[h].owner;
	TS.relay_input_peer = p;
	uint32_t cookie = f & 2 ? TS.h[h].cookie ^ (uint32_t)(f >> 2) : TS.h[h].cookie;
	turn_server_relay_input(TS.s, cookie, h, (const struct sockaddr *)&p, buf, dl, TS.now);
	TS.relay_input_owner = -2;
}

static void ts_op_tcp_event(struct seq_rd *r)
{
	uint8_t f = seq_u8(r), w = seq_u8(r);

	if (f & 1) { /* a peer connects to a TCP relay */
		struct sockaddr_storage p = ts_peer_pick(r);
		int lh = -1;
		for (int i = TS.nexth - 1, k = w % 4; i > 0; i--) {
			if (TS.h[i].open && TS.h[i].kind == H_LISTEN) {
				lh = i;
				if (k-- == 0)
					break;
			}
		}
		if (lh < 0)
			return;
		int h = ts_new_handle(H_CONN);
		if (h < 0)
			return;
		TS.h[h].addr = p;
		if (turn_server_tcp_accepted(TS.s, TS.h[lh].cookie, h, (const struct sockaddr *)&p,
					     TS.now) != 0)
			TS.h[h].open = false; /* refused: the caller closes it */
		return;
	}
	/* the outcome of a tcp_connect */
	uint32_t id = TS.npending && w < 200 ? TS.pending[w % TS.npending].id : w;
	int err = f & 2 ? -ECONNREFUSED : 0;
	/* a failed connection is closed by the server through tcp_close */
	turn_server_tcp_connected(TS.s, id, err, TS.now);
}

static void ts_op_close(int ci)
{
	struct ts_client *c = &TS.cl[ci];
	if (c->key.transport == TURN_TRANSPORT_UDP || !c->open || c->spliced)
		return;
	turn_server_conn_closed(TS.s, &c->key, TS.now);
	c->open = false;
}

/* the last message delivered, again, if its client is still there */
static void ts_op_retransmit(void)
{
	if (!TS.last_len || !TS.cl[TS.last_client].open || TS.cl[TS.last_client].spliced)
		return;
	uint8_t copy[sizeof(TS.last)];
	memcpy(copy, TS.last, TS.last_len);
	/* a request sent again waits for one more answer (a Connect
	 * retransmitted while or after it was processed starts a new
	 * connection, answered later); its transaction ID is at offset 8 */
	struct ts_req *q =
	    TS.last_len >= STUN_HEADER_LEN ? ts_req_find(TS.last_client, copy + 8) : NULL;
	struct ts_req again = TS.last_req;
	bool is_req = TS.last_req_valid;
	if (!q && is_req) {
		q = ts_req_slot(); /* forgotten meanwhile */
		*q = again;
	}
	if (q)
		q->waiting++;
	TS.delivering = q;
	ts_deliver(TS.last_client, copy, TS.last_len);
	TS.delivering = NULL;
	if (is_req)
		ts_last_req(&again);
}

static void ts_op_clock(struct seq_rd *r)
{
	uint8_t f = seq_u8(r), v = seq_u8(r);
	static const uint64_t unit[4] = {1, 100, 1000, 60000};
	ts_advance((uint64_t)v * unit[f & 3]);
}

static void ts_run(struct seq_rd *r)
{
	for (int op = 0; op < TS_OPS_MAX && r->n; op++) {
		uint8_t code = seq_u8(r);
		int ci = (code >> 4) % TS_CLIENTS;
		if (ts_debug)
			fprintf(stderr, "op %d client %d\n", code & 0x0f, ci);
		switch (code & 0x0f) {
		case 0:
			ts_client_use(ci);
			ts_op_allocate(r, ci);
			break;
		case 1:
			ts_client_use(ci);
			ts_op_refresh(r, ci);
			break;
		case 2:
			ts_client_use(ci);
			ts_op_permission(r, ci, false);
			break;
		case 3:
			ts_client_use(ci);
			ts_op_permission(r, ci, true);
			break;
		case 4:
			ts_client_use(ci);
			ts_op_send(r, ci);
			break;
		case 5:
			ts_client_use(ci);
			ts_op_channel_data(r, ci);
			break;
		case 6:
			ts_client_use(ci);
			ts_op_connect(r, ci);
			break;
		case 7:
			ts_client_use(ci);
			ts_op_connection_bind(r, ci);
			break;
		case 8:
			ts_op_peer_datagram(r);
			break;
		case 9:
			ts_op_tcp_event(r);
			break;
		case 10:
			ts_op_close(ci);
			break;
		case 11:
		case 12:
			ts_op_clock(r);
			break;
		case 13:
			ts_client_use(ci);
			ts_op_soup(r, ci);
			break;
		case 14:
			ts_op_retransmit();
			break;
		case 15: /* I/O starts or stops failing */
			TS.fail = seq_u8(r) & 0x1f;
			break;
		}
		ts_check_state();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seq_rd r = {data, size};
	struct turn_server_config cfg;
	char msg[256];
	uint8_t conf = seq_u8(&r);

	memset(&TS, 0, sizeof(TS));
	ts_debug = getenv("NATLAB_FUZZ_DEBUG") != NULL;
	TS.now = 1000000;
	TS.nexth = 1;
	TS.nextport = 49152;
	TS.relay_input_owner = -2;
	for (int i = 0; i < TS_CLIENTS; i++)
		ts_client_init(i);
	memset(&cfg, 0, sizeof(cfg));
	cfg.realm = TS_REALM;
	cfg.secret = TS_SECRET;
	cfg.software = conf & 0x40 ? "natlab-fuzz" : NULL;
	cfg.max_allocs = TS_MAX_ALLOCS;
	cfg.user_quota = conf & 2 ? TS_USER_QUOTA : 0;
	cfg.requests_per_s = conf & 1 ? 8 : 0;
	cfg.bandwidth_bytes_s = conf & 4 ? 3000 : 0;
	cfg.relay_ipv4 = true;
	cfg.relay_ipv6 = (conf & 8) != 0;
	cfg.stats_interval_ms = conf & 0x10 ? 1000 : 0;
	cfg.unix_offset_s = TS_UNIX_BASE;
	struct sockaddr_storage alt = seq_addr("192.0.2.99", 3478);
	if ((conf & 0xa0) == 0xa0)
		cfg.alternate = (const struct sockaddr *)&alt;
	TS.user_quota = cfg.user_quota;
	TS.bw = cfg.bandwidth_bytes_s;
	TS.v6 = cfg.relay_ipv6;
	TS.s = turn_server_new(&cfg, &ts_fake_io, TS.now, msg, sizeof(msg));
	TS_CHECK(TS.s, "turn_server_new: %s", msg);
	TS_CHECK(turn_server_user_add(TS.s, "alice", "alice-pw") == 0, "user alice");
	TS_CHECK(turn_server_user_add(TS.s, "bob", "bob-pw") == 0, "user bob");
	TS_CHECK(turn_server_deny_add(TS.s, "10.0.0.0/8") == 0, "deny");
	TS_CHECK(turn_server_deny_add(TS.s, "2001:db8:dead::/48") == 0, "deny");
	TS_CHECK(turn_server_allow_add(TS.s, "10.9.0.0/16") == 0, "allow");
	for (size_t i = 0; i < sizeof(ts_own) / sizeof(ts_own[0]); i++) {
		struct sockaddr_storage o = seq_addr(ts_own[i].ip, ts_own[i].port);
		TS_CHECK(turn_server_own_add(TS.s, (const struct sockaddr *)&o) == 0, "own");
	}

	ts_run(&r);

	/* Every lifetime passes (allocations 3600 s at most, reservations
	 * and pending peer connections 30 s): everything must be freed. */
	TS.fail = 0;
	ts_advance(3600 * 1000 + 31000);
	ts_advance(1000);
	ts_check_state();
	TS_CHECK(turn_server_alloc_count(TS.s) == 0 && TS.live == 0,
		 "%u allocations left after every lifetime passed", turn_server_alloc_count(TS.s));
	TS_CHECK(ts_count_open(H_RELAY) == 0, "%d relays left open after every lifetime passed",
		 ts_count_open(H_RELAY));
	TS_CHECK(ts_count_open(H_LISTEN) == 0,
		 "%d TCP relays left open after every lifetime passed", ts_count_open(H_LISTEN));
	TS_CHECK(ts_count_open(H_CONN) == 0,
		 "%d peer connections left open after every lifetime passed",
		 ts_count_open(H_CONN));
	turn_server_free(TS.s, TS.now);
	TS.s = NULL;
	return 0;
}
