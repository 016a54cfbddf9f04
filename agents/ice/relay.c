/* relay.c - a TURN allocation's socket for the ICE agent (see relay.h). */
#include "agents/ice/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "agents/turn/turn_client.h"
#include "agents/turn/turn_stream.h"

#define PEERS_MAX    TURN_CLIENT_PEERS_MAX
#define STREAM_TXCAP (256u * 1024u)

struct ice_relay {
	struct ice_relay_config cfg;
	struct ice_relay_cb cb;
	int fd;			/* UDP socket (streams own theirs) */
	struct turn_stream *st; /* TCP/TLS */
	SSL_CTX *tls;
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
	} else if ((st == TURN_CLIENT_FAILED || st == TURN_CLIENT_REDIRECTED) && !r->reported) {
		/* a 300 over a stream would need a new connection: given up
		 * on here (the lab's servers do not redirect ICE agents) */
		r->reported = true;
		r->cb.failed(r->cb.ctx, r, st == TURN_CLIENT_REDIRECTED ? 300 : code);
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

static int connect_stream(struct ice_relay *r, char *err, size_t errlen)
{
	struct timeval tv = {ICE_RELAY_CONNECT_TIMEOUT_MS / 1000,
			     (ICE_RELAY_CONNECT_TIMEOUT_MS % 1000) * 1000};
	SSL *ssl = NULL;
	int one = 1;
	int fd = socket(r->cfg.server.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int fl;

	if (fd < 0) {
		fail_msg(err, errlen, "socket", errno);
		return -errno;
	}
	/* Blocking connect and handshake, bounded: gathering waits for them
	 * anyway, and this keeps the TLS code simple. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, &r->cfg.server.sa, ice_addr_len(&r->cfg.server)) < 0) {
		int e = errno == EINPROGRESS ? ETIMEDOUT : errno;
		fail_msg(err, errlen, "connect to the TURN server", e);
		close(fd);
		return -e;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (r->cfg.transport == TURN_TRANSPORT_TLS) {
		r->tls = SSL_CTX_new(TLS_client_method());
		if (r->tls)
			SSL_CTX_set_mode(r->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
						     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		ssl = r->tls ? SSL_new(r->tls) : NULL;
		if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
			if (err && errlen)
				snprintf(err, errlen, "TLS handshake with the TURN server failed");
			SSL_free(ssl);
			close(fd);
			return -EPROTO;
		}
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		fail_msg(err, errlen, "fcntl", errno);
		SSL_free(ssl);
		close(fd);
		return -errno;
	}
	r->st = turn_stream_new(fd, ssl, STREAM_TXCAP);
	if (!r->st) {
		SSL_free(ssl);
		close(fd);
		return -ENOMEM;
	}
	return 0;
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
		e = connect_stream(r, err, errlen);
		if (e < 0)
			goto fail;
	}
	memset(&tcfg, 0, sizeof(tcfg));
	tcfg.user = cfg->user ? cfg->user : "";
	tcfg.pass = cfg->pass ? cfg->pass : "";
	tcfg.transport = cfg->transport;
	/* the relay's family follows the server's (RFC 6156 §4.2 default) */
	tcfg.family = cfg->server.sa.sa_family;
	tcfg.rto_ms = cfg->rto_ms;
	tcfg.software = "natlab-ice";
	r->tc = turn_client_new(&tcfg, &tcb, &cfg->server.sa, msg, sizeof(msg));
	if (!r->tc) {
		if (err && errlen)
			snprintf(err, errlen, "%s", msg);
		e = -EINVAL;
		goto fail;
	}
	e = turn_client_start(r->tc, now_ms);
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
	return r->st && turn_stream_want_write(r->st);
}

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct ice_relay *r = arg;
	turn_client_input(r->tc, frame, len, r->now_ms);
}

void ice_relay_io(struct ice_relay *r, bool readable, bool writable, uint64_t now_ms)
{
	r->now_ms = now_ms;
	if (r->st) {
		if (writable)
			turn_stream_flush(r->st);
		if (readable) {
			int e = turn_stream_read(r->st, on_frame, r);
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
	return turn_client_tick(r->tc, now_ms);
}

void ice_relay_prepare(struct ice_relay *r, const union ice_addr *peer, uint64_t now_ms)
{
	if (peer->sa.sa_family != r->cfg.server.sa.sa_family)
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
