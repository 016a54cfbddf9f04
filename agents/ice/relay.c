/* relay.c - a TURN allocation's socket for the ICE agent (see relay.h). */
#include "agents/ice/relay.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agents/turn/turn_client.h"
#include "agents/turn/turn_stream.h"

#define PEERS_MAX    TURN_CLIENT_PEERS_MAX
#define STREAM_TXCAP (256u * 1024u)

/* TCP/TLS only: where the connection to the server is. */
enum relay_conn { RELAY_CONN_TCP, RELAY_CONN_TLS, RELAY_CONN_READY };

struct ice_relay {
	struct ice_relay_config cfg;
	struct ice_relay_cb cb;
	int fd;			/* UDP socket; TCP/TLS socket until the stream owns it */
	struct turn_stream *st; /* TCP/TLS, once connected */
	SSL_CTX *tls;
	SSL *ssl;		   /* during the TLS handshake (then the stream's) */
	enum relay_conn conn;	   /* RELAY_CONN_READY for UDP */
	bool ssl_want_write;	   /* the handshake waits for writability */
	uint64_t conn_deadline_ms; /* ICE_RELAY_CONNECT_TIMEOUT_MS after the start */
	int conn_err;		   /* connect() failed at once: reported by the tick */
	struct turn_client *tc;
	union ice_addr peers[PEERS_MAX]; /* peers a channel was asked for */
	unsigned npeers;
	/* Until the server confirms a peer's permission, the latest datagram
	 * for it waits here: sent earlier, the server would drop it (RFC 8656
	 * §9) and the check would wait a whole RTO. */
	bool confirmed[PEERS_MAX];
	uint8_t *held[PEERS_MAX];
	size_t held_len[PEERS_MAX];
	bool reported;
	/* a 300 came over the stream: reconnect once the read that delivered
	 * it has returned (the stream cannot be freed inside its callback) */
	bool redirect;
	uint64_t now_ms; /* for the stream callbacks */
};

static void fail_msg(char *err, size_t errlen, const char *what, int e)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, strerror(e < 0 ? -e : e));
}

static int tc_send(void *ctx, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
	struct ice_relay *r = ctx;
	if (r->st)
		return turn_stream_write(r->st, buf, len);
	if (sendto(r->fd, buf, len, 0, to,
		   to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					     : sizeof(struct sockaddr_in)) < 0)
		return -errno;
	return 0;
}

static void to_ice(union ice_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof(*a));
	memcpy(a, ss, ss->ss_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in4));
}

static void tc_state(void *ctx, enum turn_client_state st, int code)
{
	struct ice_relay *r = ctx;
	if (st == TURN_CLIENT_ALLOCATED && !r->reported) {
		struct sockaddr_storage rel, map;
		union ice_addr relayed, mapped;
		bool have_map;
		r->reported = true;
		if (turn_client_relayed(r->tc, 0, &rel) < 0) {
			r->cb.failed(r->cb.ctx, r, -ENOENT);
			return;
		}
		to_ice(&relayed, &rel);
		have_map = turn_client_mapped(r->tc, &map) == 0;
		if (have_map)
			to_ice(&mapped, &map);
		r->cb.allocated(r->cb.ctx, r, &relayed, have_map ? &mapped : NULL);
	} else if (st == TURN_CLIENT_REDIRECTED && !r->reported) {
		/* RFC 8656 §7.1 / RFC 8489 §10: over TCP/TLS the alternate
		 * server needs a new connection: made in ice_relay_io() */
		r->redirect = true;
	} else if (st == TURN_CLIENT_FAILED && !r->reported) {
		r->reported = true;
		r->cb.failed(r->cb.ctx, r, code);
	}
}

static void tc_data(void *ctx, const struct sockaddr *peer, const uint8_t *buf, size_t len)
{
	struct ice_relay *r = ctx;
	union ice_addr p;
	memset(&p, 0, sizeof(p));
	memcpy(&p, peer, peer->sa_family == AF_INET6 ? sizeof(p.in6) : sizeof(p.in4));
	r->cb.data(r->cb.ctx, r, &p, buf, len);
}

static int peer_index(const struct ice_relay *r, const union ice_addr *peer)
{
	for (unsigned i = 0; i < r->npeers; i++)
		if (ice_addr_equal(&r->peers[i], peer))
			return (int)i;
	return -1;
}

static void tc_result(void *ctx, enum turn_client_op op, const struct sockaddr *peer, int code)
{
	struct ice_relay *r = ctx;
	union ice_addr p;
	int i;
	if ((op != TURN_CLIENT_OP_CHANNEL && op != TURN_CLIENT_OP_PERMISSION) || !peer)
		return;
	memset(&p, 0, sizeof(p));
	memcpy(&p, peer, peer->sa_family == AF_INET6 ? sizeof(p.in6) : sizeof(p.in4));
	i = peer_index(r, &p);
	if (i < 0)
		return;
	/* on failure too: stop holding, the checks will time out on their
	 * own and say so */
	r->confirmed[i] = true;
	if (r->held[i] && code == 0)
		turn_client_send(r->tc, &r->peers[i].sa, r->held[i], r->held_len[i]);
	free(r->held[i]);
	r->held[i] = NULL;
}

static void relay_fail(struct ice_relay *r, int code)
{
	if (r->reported)
		return;
	r->reported = true;
	if (r->conn != RELAY_CONN_READY) {
		/* a dead half-open socket would wake poll() for ever */
		SSL_free(r->ssl);
		r->ssl = NULL;
		if (r->fd >= 0)
			close(r->fd);
		r->fd = -1;
	}
	r->cb.failed(r->cb.ctx, r, code);
}

/* Start connecting to the server without blocking: the event loop goes on
 * (checks, other relays, the harness's commands) while the TCP handshake
 * and then the TLS handshake proceed in ice_relay_io(); both together are
 * bounded by ICE_RELAY_CONNECT_TIMEOUT_MS (ice_relay_tick). */
static int connect_start(struct ice_relay *r, uint64_t now_ms, char *err, size_t errlen)
{
	int fd = socket(r->cfg.server.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0) {
		fail_msg(err, errlen, "socket", errno);
		return -errno;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->conn = RELAY_CONN_TCP;
	r->conn_deadline_ms = now_ms + ICE_RELAY_CONNECT_TIMEOUT_MS;
	if (connect(fd, &r->cfg.server.sa, ice_addr_len(&r->cfg.server)) < 0 &&
	    errno != EINPROGRESS) {
		/* refused at once (loopback): said through failed() at the
		 * next tick like any later failure, so the caller has one
		 * path for both */
		r->conn_err = -errno;
		r->conn_deadline_ms = now_ms;
		close(fd);
		(void)err;
		(void)errlen;
		return 0;
	}
	r->fd = fd;
	return 0;
}

/* The connection (and handshake) is up: hand the socket to a stream and
 * send the first Allocate. */
static void connect_done(struct ice_relay *r, uint64_t now_ms)
{
	int e;
	r->st = turn_stream_new(r->fd, r->ssl, STREAM_TXCAP);
	if (!r->st) {
		relay_fail(r, -ENOMEM);
		return;
	}
	r->fd = -1;
	r->ssl = NULL;
	r->conn = RELAY_CONN_READY;
	e = turn_client_start(r->tc, now_ms);
	if (e < 0)
		relay_fail(r, e);
}

static void tls_step(struct ice_relay *r, uint64_t now_ms)
{
	int rc, why;
	ERR_clear_error(); /* SSL_get_error(3) reads the thread's queue */
	rc = SSL_do_handshake(r->ssl);
	if (rc == 1) {
		connect_done(r, now_ms);
		return;
	}
	why = SSL_get_error(r->ssl, rc);
	if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
		r->ssl_want_write = why == SSL_ERROR_WANT_WRITE;
		return;
	}
	ERR_clear_error(); /* not left for another connection to find */
	relay_fail(r, -EPROTO);
}

static void connect_step(struct ice_relay *r, uint64_t now_ms)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (r->conn == RELAY_CONN_TLS) {
		tls_step(r, now_ms);
		return;
	}
	/* the non-blocking connect finished, well or badly */
	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return;
	if (soerr) {
		relay_fail(r, -soerr);
		return;
	}
	if (r->cfg.transport != TURN_TRANSPORT_TLS) {
		connect_done(r, now_ms);
		return;
	}
	if (!r->tls) { /* kept across a redirect's new connection */
		r->tls = SSL_CTX_new(TLS_client_method());
		if (r->tls)
			SSL_CTX_set_mode(r->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
						     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	r->ssl = r->tls ? SSL_new(r->tls) : NULL;
	if (!r->ssl || SSL_set_fd(r->ssl, r->fd) != 1) {
		relay_fail(r, -EPROTO);
		return;
	}
	SSL_set_connect_state(r->ssl);
	r->conn = RELAY_CONN_TLS;
	tls_step(r, now_ms);
}

int ice_relay_new(const struct ice_relay_config *cfg, const struct ice_relay_cb *cb,
		  uint64_t now_ms, struct ice_relay **out, char *err, size_t errlen)
{
	struct ice_relay *r = calloc(1, sizeof(*r));
	struct turn_client_config tcfg;
	struct turn_client_cb tcb = {
	    .send = tc_send, .state = tc_state, .result = tc_result, .data = tc_data};
	char msg[256];
	int e;

	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	r->cb = *cb;
	r->fd = -1;
	r->conn = RELAY_CONN_READY;
	tcb.ctx = r;
	if (cfg->transport == TURN_TRANSPORT_UDP) {
		r->fd =
		    socket(cfg->server.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (r->fd < 0) {
			e = -errno;
			fail_msg(err, errlen, "socket", e);
			goto fail;
		}
	} else {
		e = connect_start(r, now_ms, err, errlen);
		if (e < 0)
			goto fail;
	}
	memset(&tcfg, 0, sizeof(tcfg));
	tcfg.user = cfg->user ? cfg->user : "";
	tcfg.pass = cfg->pass ? cfg->pass : "";
	tcfg.transport = cfg->transport;
	/* the relay's family follows the server's (over IPv6 natlab-ice asks
	 * for IPv6 with REQUESTED-ADDRESS-FAMILY; without the attribute RFC
	 * 6156 §4.2 would give IPv4) unless the caller asked for the other
	 * one: RFC 6156 §4.1 "The
	 * client MAY include a REQUESTED-ADDRESS-FAMILY attribute ... to
	 * explicitly request the address type the TURN server will allocate" */
	tcfg.family = cfg->family ? cfg->family : cfg->server.sa.sa_family;
	r->cfg.family = tcfg.family;
	tcfg.rto_ms = cfg->rto_ms;
	tcfg.software = "natlab-ice";
	r->tc = turn_client_new(&tcfg, &tcb, &cfg->server.sa, msg, sizeof(msg));
	if (!r->tc) {
		if (err && errlen)
			snprintf(err, errlen, "%s", msg);
		e = -EINVAL;
		goto fail;
	}
	/* over TCP/TLS the Allocate goes out once connected (connect_done) */
	e = r->conn == RELAY_CONN_READY ? turn_client_start(r->tc, now_ms) : 0;
	if (e < 0) {
		fail_msg(err, errlen, "Allocate", e);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	ice_relay_free(r);
	return e;
}

void ice_relay_free(struct ice_relay *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->npeers; i++)
		free(r->held[i]);
	turn_client_free(r->tc);
	turn_stream_free(r->st);
	SSL_free(r->ssl);
	if (r->fd >= 0)
		close(r->fd);
	SSL_CTX_free(r->tls);
	free(r);
}

int ice_relay_fd(const struct ice_relay *r)
{
	return r->st ? turn_stream_fd(r->st) : r->fd;
}

bool ice_relay_want_write(const struct ice_relay *r)
{
	if (r->reported && r->conn != RELAY_CONN_READY)
		return false;
	if (r->conn == RELAY_CONN_TCP)
		return r->fd >= 0; /* connect() completes with writability */
	if (r->conn == RELAY_CONN_TLS)
		return r->ssl_want_write;
	return r->st && turn_stream_want_write(r->st);
}

/* follow_redirect - the TURN client moved to turn_client_server() after a
 * 300 over TCP/TLS: drop the connection to the old server and connect to
 * the alternate one the same way as the first time (connect_done then
 * sends the Allocate again). The client bounds the number of redirects. */
static void follow_redirect(struct ice_relay *r, uint64_t now_ms)
{
	const struct sockaddr *to = turn_client_server(r->tc);
	char err[128];

	r->redirect = false;
	turn_stream_free(r->st);
	r->st = NULL;
	memset(&r->cfg.server, 0, sizeof(r->cfg.server));
	memcpy(&r->cfg.server, to,
	       to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					 : sizeof(struct sockaddr_in));
	int e = connect_start(r, now_ms, err, sizeof(err));
	if (e < 0)
		relay_fail(r, e);
}

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct ice_relay *r = arg;
	turn_client_input(r->tc, frame, len, r->now_ms);
}

void ice_relay_io(struct ice_relay *r, bool readable, bool writable, uint64_t now_ms)
{
	r->now_ms = now_ms;
	if (r->conn != RELAY_CONN_READY) {
		if (!r->reported && (readable || writable))
			connect_step(r, now_ms);
		return;
	}
	if (r->st) {
		if (writable)
			turn_stream_flush(r->st);
		if (readable) {
			int e = turn_stream_read(r->st, on_frame, r);
			if (r->redirect) {
				follow_redirect(r, now_ms);
				return;
			}
			if (e < 0 && !r->reported) {
				r->reported = true;
				r->cb.failed(r->cb.ctx, r, e);
			}
		}
		return;
	}
	for (int k = 0; readable && k < 64; k++) {
		uint8_t buf[2048];
		ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		turn_client_input(r->tc, buf, (size_t)n, now_ms);
	}
}

uint64_t ice_relay_tick(struct ice_relay *r, uint64_t now_ms)
{
	if (r->conn != RELAY_CONN_READY) {
		if (r->reported)
			return UINT64_MAX;
		if (now_ms >= r->conn_deadline_ms) {
			relay_fail(r, r->conn_err ? r->conn_err : -ETIMEDOUT);
			return UINT64_MAX;
		}
		return r->conn_deadline_ms;
	}
	return turn_client_tick(r->tc, now_ms);
}

void ice_relay_prepare(struct ice_relay *r, const union ice_addr *peer, uint64_t now_ms)
{
	/* a relay speaks to peers of its relayed address's family only */
	if (peer->sa.sa_family != r->cfg.family)
		return;
	for (unsigned i = 0; i < r->npeers; i++)
		if (ice_addr_equal(&r->peers[i], peer))
			return;
	if (r->npeers == PEERS_MAX)
		return;
	r->peers[r->npeers++] = *peer;
	/* RFC 8656 §12: "a ChannelBind ... also installs or refreshes a
	 * permission"; ChannelData then costs 4 bytes instead of 36. */
	turn_client_bind(r->tc, &peer->sa, now_ms);
}

int ice_relay_send(struct ice_relay *r, const union ice_addr *peer, const uint8_t *buf, size_t len,
		   uint64_t now_ms)
{
	int i;
	ice_relay_prepare(r, peer, now_ms);
	i = peer_index(r, peer);
	if (i >= 0 && !r->confirmed[i]) {
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, buf, len);
		free(r->held[i]);
		r->held[i] = copy;
		r->held_len[i] = len;
		return 0;
	}
	return turn_client_send(r->tc, &peer->sa, buf, len);
}

void ice_relay_release(struct ice_relay *r, uint64_t now_ms)
{
	if (r->conn != RELAY_CONN_READY)
		return;
	r->now_ms = now_ms;
	/* RFC 8656 §8: "If the client wishes to immediately delete an
	 * existing allocation, it includes a LIFETIME attribute with a value
	 * of 0." (-ENOTCONN when nothing was allocated: nothing to delete) */
	if (turn_client_close(r->tc, now_ms) == 0 && r->st)
		turn_stream_flush(r->st);
}

const char *ice_relay_transport_name(const struct ice_relay *r)
{
	switch (r->cfg.transport) {
	case TURN_TRANSPORT_TCP:
		return "tcp";
	case TURN_TRANSPORT_TLS:
		return "tls";
	case TURN_TRANSPORT_UDP:
		break;
	}
	return "udp";
}

const union ice_addr *ice_relay_server(const struct ice_relay *r)
{
	return &r->cfg.server;
}
