/* turn_tcprelay.c - RFC 6062 TCP relay allocations: Connect,
 * ConnectionAttempt and ConnectionBind. The server only decides; the
 * caller's I/O opens the sockets and, once a client data connection is
 * bound, moves the bytes itself (turn_server_io.tcp_splice). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agents/turn/turn_server_priv.h"

/* RFC 6062 §5.2: The timeout value MUST be at least 30 seconds; §5.3:
 * If no ConnectionBind request associated with this peer data connection
 * is received after 30 seconds, the peer data connection MUST be closed. */
#define TCP_TIMEOUT_MS 30000u

enum tcpc_state { TCPC_FREE, TCPC_CONNECTING, TCPC_WAIT_BIND };

struct turn_tcpconn {
	enum tcpc_state state;
	uint32_t id; /* CONNECTION-ID */
	uint32_t slot, generation;
	int handle;
	struct sockaddr_storage peer;
	uint64_t deadline_ms;
	/* to answer the Connect once the connection is made */
	uint8_t tid[STUN_TID_LEN];
	bool sha256, fingerprint;
};

int turn_tcp_init(struct turn_server *s)
{
	s->tcp = calloc(TURN_TCPCONN_MAX, sizeof(*s->tcp));
	s->tcp_next_id = 1;
	return s->tcp ? 0 : -ENOMEM;
}

void turn_tcp_free(struct turn_server *s)
{
	if (!s->tcp)
		return;
	for (int i = 0; i < TURN_TCPCONN_MAX; i++) {
		if (s->tcp[i].state != TCPC_FREE)
			s->io.tcp_close(s->io.ctx, s->tcp[i].handle);
	}
	free(s->tcp);
	s->tcp = NULL;
}

static struct turn_tcpconn *conn_new(struct turn_server *s, const struct turn_alloc *a, int handle,
				     const struct sockaddr *peer, uint64_t now_ms)
{
	for (int i = 0; i < TURN_TCPCONN_MAX; i++) {
		struct turn_tcpconn *c = &s->tcp[i];
		if (c->state != TCPC_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		c->id = s->tcp_next_id++;
		if (s->tcp_next_id == 0)
			s->tcp_next_id = 1;
		c->slot = a->slot;
		c->generation = a->generation;
		c->handle = handle;
		memcpy(&c->peer, peer, turn_addr_len(peer));
		c->deadline_ms = now_ms + TCP_TIMEOUT_MS;
		return c;
	}
	return NULL;
}

static struct turn_tcpconn *conn_by_id(struct turn_server *s, uint32_t id, enum tcpc_state st)
{
	for (int i = 0; i < TURN_TCPCONN_MAX; i++) {
		if (s->tcp[i].state == st && s->tcp[i].id == id)
			return &s->tcp[i];
	}
	return NULL;
}

static struct turn_alloc *conn_alloc(struct turn_server *s, const struct turn_tcpconn *c)
{
	struct turn_alloc *a = turn_alloc_slot(s->tab, c->slot);
	return a && a->generation == c->generation ? a : NULL;
}

static void conn_drop(struct turn_server *s, struct turn_tcpconn *c)
{
	s->io.tcp_close(s->io.ctx, c->handle);
	c->state = TCPC_FREE;
}

/* answer_connect - the delayed answer to a Connect request, sealed with
 * the allocation's key. */
static void answer_connect(struct turn_server *s, struct turn_alloc *a, struct turn_tcpconn *c,
			   int code)
{
	struct stun_builder b;
	struct authn au;

	memset(&au, 0, sizeof(au));
	memcpy(au.key, a->hmac_key, sizeof(au.key));
	au.keylen = a->hmac_key_len;
	au.sha256 = c->sha256;
	au.fingerprint = c->fingerprint;
	stun_builder_init(
	    &b, s->out, sizeof(s->out),
	    stun_type_make(code ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, STUN_METHOD_CONNECT),
	    c->tid);
	if (code)
		stun_builder_add_error(&b, code, NULL);
	else
		stun_builder_add_u32(&b, STUN_ATTR_CONNECTION_ID, c->id);
	turn_srv_answer_send(s, &a->key, &b, &au);
}

void turn_tcp_on_connect(struct turn_server *s, struct turn_alloc *a, const struct turn_key *k,
			 const struct stun_msg *m, const struct authn *au, uint64_t now_ms)
{
	struct stun_addr p;
	struct sockaddr_storage peer;

	/* RFC 6062 §5.2: If the request does not contain an XOR-PEER-ADDRESS
	 * attribute, or if such attribute is invalid, the server MUST return
	 * a 400 (Bad Request) error. A Connect on a UDP allocation is as bad. */
	if (!a->tcp || stun_msg_get_xor_addr(m, STUN_ATTR_XOR_PEER_ADDRESS, &p) != 0) {
		turn_srv_answer_error(s, k, m, 400, au);
		return;
	}
	stun_addr_to_sockaddr(&p, &peer);
	if (!turn_srv_relay_for(a, (const struct sockaddr *)&peer)) {
		turn_srv_answer_error(s, k, m, 443, au);
		return;
	}
	/* If the new connection is forbidden by local policy, the server
	 * MUST reject the request with a 403 (Forbidden) error. */
	if (!turn_policy_peer_allowed(s->policy, (const struct sockaddr *)&peer)) {
		turn_srv_answer_error(s, k, m, 403, au);
		return;
	}
	/* If the server is currently processing a Connect request for this
	 * allocation with the same XOR-PEER-ADDRESS, it MUST return a 446
	 * (Connection Already Exists) error. (and the same while its data
	 * connection is pending) */
	for (int i = 0; i < TURN_TCPCONN_MAX; i++) {
		struct turn_tcpconn *c = &s->tcp[i];
		if (c->state != TCPC_FREE && c->slot == a->slot && c->generation == a->generation &&
		    turn_addr_same((const struct sockaddr *)&c->peer,
				   (const struct sockaddr *)&peer)) {
			turn_srv_answer_error(s, k, m, 446, au);
			return;
		}
	}
	struct turn_tcpconn *c = conn_new(s, a, -1, (const struct sockaddr *)&peer, now_ms);
	if (!c) {
		turn_srv_answer_error(s, k, m, 508, au);
		return;
	}
	memcpy(c->tid, m->tid, sizeof(c->tid));
	c->sha256 = au->sha256;
	c->fingerprint = au->fingerprint;
	/* Otherwise, the server MUST initiate an outgoing TCP connection. The
	 * local endpoint is the relayed transport address associated with the
	 * allocation. */
	int h =
	    s->io.tcp_connect(s->io.ctx, a->relay[0].handle, (const struct sockaddr *)&peer, c->id);
	if (h < 0) {
		/* If the connection attempt fails or times out, the server
		 * MUST return a 447 (Connection Timeout or Failure) error. */
		turn_srv_answer_error(s, k, m, 447, au);
		return;
	}
	c->handle = h;
	c->state = TCPC_CONNECTING;
	/* the permission follows the peer, as for UDP */
	turn_alloc_perm_install(a, (const struct sockaddr *)&peer, now_ms,
				s->cfg.perm_lifetime_s * 1000ull);
}

void turn_server_tcp_connected(struct turn_server *s, uint32_t id, int err, uint64_t now_ms)
{
	struct turn_tcpconn *c = conn_by_id(s, id, TCPC_CONNECTING);
	struct turn_alloc *a;

	if (!c)
		return;
	a = conn_alloc(s, c);
	if (!a) {
		conn_drop(s, c);
		return;
	}
	if (err) {
		answer_connect(s, a, c, 447);
		conn_drop(s, c);
		return;
	}
	/* The server MUST include the CONNECTION-ID attribute in the Connect
	 * success response. Then it waits for the ConnectionBind. */
	answer_connect(s, a, c, 0);
	c->state = TCPC_WAIT_BIND;
	c->deadline_ms = now_ms + TCP_TIMEOUT_MS;
}

int turn_server_tcp_accepted(struct turn_server *s, uint32_t cookie, int handle,
			     const struct sockaddr *peer, uint64_t now_ms)
{
	struct turn_alloc *a = turn_alloc_slot(s->tab, cookie / 2);
	struct stun_builder b;
	struct stun_addr p;
	uint8_t tid[STUN_TID_LEN];

	if (!a || !a->tcp || a->relay[0].handle < 0)
		return -ENOENT;
	/* RFC 6062 §5.3: If a permission does not exist for the peer's IP
	 * address, the server MUST reject the connection. */
	if (!turn_alloc_perm_ok(a, peer, now_ms))
		return -EACCES;
	struct turn_tcpconn *c = conn_new(s, a, handle, peer, now_ms);
	if (!c)
		return -ENOSPC;
	c->state = TCPC_WAIT_BIND;
	/* the server MUST send a ConnectionAttempt indication to the client
	 * over the control connection. The indication MUST include an
	 * XOR-PEER-ADDRESS attribute containing the peer's transport address,
	 * as well as a CONNECTION-ID attribute uniquely identifying the peer
	 * data connection. */
	if (stun_tid_random(tid) != 0)
		memset(tid, 0, sizeof(tid));
	stun_addr_from_sockaddr(&p, peer, turn_addr_len(peer));
	stun_builder_init(&b, s->out, sizeof(s->out),
			  stun_type_make(STUN_CLASS_INDICATION, STUN_METHOD_CONNECTION_ATTEMPT),
			  tid);
	stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &p);
	stun_builder_add_u32(&b, STUN_ATTR_CONNECTION_ID, c->id);
	long n = stun_builder_finish(&b);
	if (n > 0)
		s->io.client_send(s->io.ctx, &a->key, s->out, (size_t)n);
	return 0;
}

void turn_tcp_on_bind(struct turn_server *s, const struct turn_key *k, const struct stun_msg *m,
		      const struct authn *au, uint64_t now_ms)
{
	uint32_t id;
	struct turn_tcpconn *c;
	struct turn_alloc *a;
	struct stun_builder b;

	(void)now_ms;
	/* RFC 6062 §5.4: If the client connection transport is not TCP or
	 * TLS, the server MUST return a 400 (Bad Request) error. If the request
	 * does not contain the CONNECTION-ID attribute, or if this attribute
	 * does not refer to an existing pending connection, the server MUST
	 * return a 400 (Bad Request) error. */
	if (k->transport == TURN_TRANSPORT_UDP ||
	    stun_msg_get_u32(m, STUN_ATTR_CONNECTION_ID, &id) != 0 ||
	    !(c = conn_by_id(s, id, TCPC_WAIT_BIND)) || !(a = conn_alloc(s, c))) {
		turn_srv_answer_error(s, k, m, 400, au);
		return;
	}
	/* RFC 6062 §4.3 / §4.4: the client initiates a new TCP connection to
	 * the server for each peer data connection and sends ConnectionBind
	 * on it. A connection that holds an allocation is a control
	 * connection: made raw, it would carry the allocation's answers and
	 * ConnectionAttempt indications into the peer's byte stream, and the
	 * allocation would lose its control channel (found by
	 * agents/fuzz/turn_server_seq). */
	if (turn_alloc_find(s->tab, k)) {
		turn_srv_answer_error(s, k, m, 400, au);
		return;
	}
	/* the data connection must be the allocation owner's */
	if (strcmp(a->user, au->user) != 0) {
		turn_srv_answer_error(s, k, m, 441, au);
		return;
	}
	turn_srv_answer_begin(s, &b, m, STUN_CLASS_SUCCESS);
	turn_srv_answer_send(s, k, &b, au);
	/* Otherwise, the client connection is now called a client data
	 * connection. Data received on it MUST be sent as-is to the associated
	 * peer data connection. */
	s->io.tcp_splice(s->io.ctx, k, c->handle);
	c->state = TCPC_FREE;
}

void turn_tcp_alloc_gone(struct turn_server *s, const struct turn_alloc *a)
{
	for (int i = 0; i < TURN_TCPCONN_MAX && s->tcp; i++) {
		struct turn_tcpconn *c = &s->tcp[i];
		if (c->state != TCPC_FREE && c->slot == a->slot && c->generation == a->generation)
			conn_drop(s, c);
	}
}

uint64_t turn_tcp_tick(struct turn_server *s, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < TURN_TCPCONN_MAX; i++) {
		struct turn_tcpconn *c = &s->tcp[i];
		if (c->state == TCPC_FREE)
			continue;
		if (c->deadline_ms <= now_ms) {
			struct turn_alloc *a = conn_alloc(s, c);
			if (c->state == TCPC_CONNECTING && a)
				answer_connect(s, a, c, 447);
			conn_drop(s, c);
		} else if (c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	return next;
}
