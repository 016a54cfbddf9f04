/* natlab-turn-server - the lab's TURN relay (RFC 8656, RFC 6156).
 *
 * One thread, one epoll loop: UDP, TCP and TLS listeners, UDP relays, a
 * signalfd, and the state machine of agents/turn/turn_server.c. Events
 * (a ready line, then per-allocation counters) are JSON lines on stdout;
 * diagnostics go to stderr. Run with --help for the options.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "agents/stun/stun.h"
#include "agents/turn/turn_server.h"
#include "agents/turn/turn_stream.h"

#define LISTEN_MAX 16
#define BATCH	   32
#define KIND_SHIFT 32

enum kind { K_SIGNAL = 1, K_UDP, K_TCP, K_TLS, K_CONN, K_RELAY, K_TCPRELAY, K_PEERCONNECT };

/* a pipe stops reading while its partner has this much queued */
#define PIPE_HIGH (1u << 20)

struct listener {
	int fd;
	enum kind kind;
	struct sockaddr_storage addr;
};

struct srv;
struct conn {
	struct srv *srv;
	struct turn_stream *st;
	struct turn_key key;
	bool out_armed, in_armed;
	/* RFC 6062 data connections: bytes go as they are to the partner */
	bool raw, dead;
	struct conn *partner;
	uint64_t last_frame_ms; /* accepted, or the last complete message */
};

struct srv {
	struct turn_server *ts;
	int ep;
	struct listener l[LISTEN_MAX];
	int nl;
	struct sockaddr_storage relay4, relay6;
	bool have4, have6;
	SSL_CTX *tls;
	/* per descriptor: the relay cookie, or the stream connection */
	uint32_t *cookie;
	struct conn **conn;
	int maxfd;
	uint64_t t0;
	uint64_t conn_idle_ms; /* 0: stream connections are never timed out */
	/* UDP receive batch */
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	uint8_t (*bufs)[65536];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "natlab-turn-server: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static int ep_add(struct srv *s, int fd, enum kind k, uint32_t events)
{
	struct epoll_event ev = {.events = events,
				 .data.u64 = ((uint64_t)k << KIND_SHIFT) | (uint32_t)fd};
	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int parse_addr(const char *txt, struct sockaddr_storage *ss)
{
	struct stun_addr a;
	if (stun_addr_parse(&a, txt) != 0)
		return -1;
	stun_addr_to_sockaddr(&a, ss);
	return 0;
}

/* ---- I/O for the state machine ---- */

static int io_relay_open(void *ctx, int family, uint16_t port, uint32_t cookie,
			 struct sockaddr_storage *bound)
{
	struct srv *s = ctx;
	struct sockaddr_storage a = family == AF_INET6 ? s->relay6 : s->relay4;
	socklen_t len =
	    family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd, r;

	if ((family == AF_INET6 && !s->have6) || (family == AF_INET && !s->have4))
		return -EAFNOSUPPORT;
	((struct sockaddr_in *)&a)->sin_port = htons(port); /* same offset for v6 */
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fd >= s->maxfd) {
		close(fd);
		return -EMFILE;
	}
	if (bind(fd, (struct sockaddr *)&a, len) != 0 ||
	    getsockname(fd, (struct sockaddr *)bound, &len) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	s->cookie[fd] = cookie;
	if (ep_add(s, fd, K_RELAY, EPOLLIN) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void io_relay_set_cookie(void *ctx, int handle, uint32_t cookie)
{
	struct srv *s = ctx;
	s->cookie[handle] = cookie;
}

static void io_relay_close(void *ctx, int handle)
{
	(void)ctx;
	close(handle); /* also leaves the epoll set */
}

static int io_relay_send(void *ctx, int handle, const struct sockaddr *peer, const uint8_t *buf,
			 size_t len, bool df)
{
	(void)ctx;
	if (df) {
		/* RFC 8656 §14.8 DONT-FRAGMENT: set DF on the relayed packets */
		int v = IP_PMTUDISC_DO;
		if (peer->sa_family == AF_INET)
			setsockopt(handle, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
		else
			setsockopt(handle, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	}
	ssize_t n = sendto(handle, buf, len, 0, peer, turn_addr_len(peer));
	return n < 0 ? -errno : 0;
}

static void conn_close(struct srv *s, struct conn *c);

static void conn_arm(struct srv *s, struct conn *c)
{
	bool out = turn_stream_want_write(c->st);
	bool in = !(c->partner && turn_stream_tx_pending(c->partner->st) > PIPE_HIGH);
	if (out == c->out_armed && in == c->in_armed)
		return;
	struct epoll_event ev = {.events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0),
				 .data.u64 = ((uint64_t)K_CONN << KIND_SHIFT) |
					     (uint32_t)turn_stream_fd(c->st)};
	epoll_ctl(s->ep, EPOLL_CTL_MOD, turn_stream_fd(c->st), &ev);
	c->out_armed = out;
	c->in_armed = in;
}

static int io_client_send(void *ctx, const struct turn_key *k, const uint8_t *buf, size_t len)
{
	struct srv *s = ctx;
	if (k->transport == TURN_TRANSPORT_UDP) {
		const struct sockaddr *to = (const struct sockaddr *)&k->client;
		ssize_t n = sendto(s->l[k->listener].fd, buf, len, 0, to, turn_addr_len(to));
		return n < 0 ? -errno : 0;
	}
	int fd = (int)k->conn - 1;
	struct conn *c = fd >= 0 && fd < s->maxfd ? s->conn[fd] : NULL;
	if (!c)
		return -ENOTCONN;
	int r = turn_stream_write(c->st, buf, len);
	conn_arm(s, c);
	return r;
}

/* ---- RFC 6062 TCP relays ---- */

static int tcp_socket_at(struct srv *s, const struct sockaddr_storage *a)
{
	int one = 1, r;
	int fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fd >= s->maxfd) {
		close(fd);
		return -EMFILE;
	}
	/* the relay's listening socket and its outgoing connections share the
	 * relayed transport address (RFC 6062 §5.2) */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)a, turn_addr_len((const struct sockaddr *)a)) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int io_tcp_listen(void *ctx, int family, uint32_t cookie, struct sockaddr_storage *bound)
{
	struct srv *s = ctx;
	struct sockaddr_storage a = family == AF_INET6 ? s->relay6 : s->relay4;
	socklen_t len = sizeof(*bound);

	if ((family == AF_INET6 && !s->have6) || (family == AF_INET && !s->have4))
		return -EAFNOSUPPORT;
	((struct sockaddr_in *)&a)->sin_port = 0;
	int fd = tcp_socket_at(s, &a);
	if (fd < 0)
		return fd;
	s->cookie[fd] = cookie;
	if (listen(fd, 64) != 0 || getsockname(fd, (struct sockaddr *)bound, &len) != 0 ||
	    ep_add(s, fd, K_TCPRELAY, EPOLLIN) != 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int io_tcp_connect(void *ctx, int listen_handle, const struct sockaddr *peer, uint32_t id)
{
	struct srv *s = ctx;
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (getsockname(listen_handle, (struct sockaddr *)&a, &len) != 0)
		return -errno;
	int fd = tcp_socket_at(s, &a);
	if (fd < 0)
		return fd;
	s->cookie[fd] = id;
	if ((connect(fd, peer, turn_addr_len(peer)) != 0 && errno != EINPROGRESS) ||
	    ep_add(s, fd, K_PEERCONNECT, EPOLLOUT) != 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void io_tcp_close(void *ctx, int handle)
{
	(void)ctx;
	close(handle);
}

static void io_tcp_splice(void *ctx, const struct turn_key *k, int peer_handle)
{
	struct srv *s = ctx;
	int fd = (int)k->conn - 1;
	struct conn *c = fd >= 0 && fd < s->maxfd ? s->conn[fd] : NULL;
	struct conn *p = c ? calloc(1, sizeof(*p)) : NULL;
	struct turn_stream *st = p ? turn_stream_new(peer_handle, NULL, 4u << 20) : NULL;
	int one = 1;

	if (!st) {
		free(p);
		close(peer_handle);
		return;
	}
	setsockopt(peer_handle, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	turn_stream_set_raw(st);
	p->srv = s;
	p->st = st;
	p->raw = true;
	p->in_armed = true;
	p->partner = c;
	c->partner = p;
	c->raw = true;
	turn_stream_set_raw(c->st);
	s->conn[peer_handle] = p;
	ep_add(s, peer_handle, K_CONN, EPOLLIN);
}

static void on_tcprelay(struct srv *s, int lfd)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		int fd = accept4(lfd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* kept out of epoll until bound: the kernel holds the peer's
		 * bytes meanwhile */
		if (fd >= s->maxfd ||
		    turn_server_tcp_accepted(s->ts, s->cookie[lfd], fd, (struct sockaddr *)&from,
					     now_ms()) != 0)
			close(fd);
	}
}

static void on_peerconnect(struct srv *s, int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
	turn_server_tcp_connected(s->ts, s->cookie[fd], err ? -err : 0, now_ms());
}

static void io_event(void *ctx, const char *json)
{
	(void)ctx;
	fputs(json, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* ---- listeners and connections ---- */

static void add_listener(struct srv *s, const char *txt, bool tls)
{
	struct sockaddr_storage a;
	int one = 1;

	if (s->nl + 2 > LISTEN_MAX)
		die("too many listeners at %s", txt);
	if (parse_addr(txt, &a) != 0)
		die("cannot parse listen address \"%s\"", txt);
	socklen_t len = turn_addr_len((struct sockaddr *)&a);
	for (int t = tls ? 1 : 0; t < 2; t++) {
		int type = t == 0 ? SOCK_DGRAM : SOCK_STREAM;
		int fd = socket(a.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, len) != 0)
			die("cannot bind %s", txt);
		if (type == SOCK_STREAM && listen(fd, 1024) != 0)
			die("listen %s", txt);
		if (t == 0) {
			/* one socket takes every client's datagrams: a deep queue
			 * absorbs bursts (FORCE passes rmem_max when privileged) */
			int sz = 8 << 20;
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
			if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
				setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		}
		struct listener *l = &s->l[s->nl];
		l->fd = fd;
		l->kind = t == 0 ? K_UDP : tls ? K_TLS : K_TCP;
		l->addr = a;
		ep_add(s, fd, K_UDP + (l->kind - K_UDP), EPOLLIN);
		/* the listener index is found by fd when events arrive */
		s->cookie[fd] = (uint32_t)s->nl;
		s->nl++;
		turn_server_own_add(s->ts, (struct sockaddr *)&a);
	}
	if (a.ss_family == AF_INET && !s->have4) {
		s->relay4 = a;
		s->have4 = true;
	} else if (a.ss_family == AF_INET6 && !s->have6) {
		s->relay6 = a;
		s->have6 = true;
	}
}

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct conn *c = arg;
	c->last_frame_ms = now_ms();
	if (!c->raw) {
		/* a TLS port that the client spoke plain TCP to (see on_accept):
		 * the allocation's transport is what was on the wire */
		if (c->key.transport == TURN_TRANSPORT_TLS && !turn_stream_is_tls(c->st))
			c->key.transport = TURN_TRANSPORT_TCP;
		turn_server_input(c->srv->ts, &c->key, frame, len, now_ms());
		return;
	}
	if (!c->partner || turn_stream_write(c->partner->st, frame, len) != 0)
		c->dead = true; /* closed after the read returns */
	else
		conn_arm(c->srv, c->partner);
}

static void on_accept(struct srv *s, struct listener *l, uint32_t index)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		int fd =
		    accept4(l->fd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (fd >= s->maxfd) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
		SSL *ssl = NULL;
		if (l->kind == K_TLS) {
			ssl = SSL_new(s->tls);
			if (!ssl || SSL_set_fd(ssl, fd) != 1) {
				SSL_free(ssl);
				close(fd);
				continue;
			}
			SSL_set_accept_state(ssl);
		}
		struct conn *c = calloc(1, sizeof(*c));
		struct turn_stream *st = c ? turn_stream_new(fd, ssl, 1u << 20) : NULL;
		if (!st) {
			free(c);
			SSL_free(ssl);
			close(fd);
			continue;
		}
		/* TLS listeners also serve plain TURN over TCP, told apart by
		 * the first byte (turn_stream_accept_plain), as coturn does:
		 * libnice's RFC 5245 mode asked for TURN over TLS opens a TCP
		 * connection and sends its Allocate in the clear, and a TLS
		 * stack would wait forever for the rest of a "record" whose
		 * length field is the STUN message type. */
		if (ssl)
			turn_stream_accept_plain(st);
		c->srv = s;
		c->st = st;
		c->key.client = from;
		c->key.listener = index;
		c->key.conn = (uint32_t)fd + 1;
		c->key.transport = l->kind == K_TLS ? TURN_TRANSPORT_TLS : TURN_TRANSPORT_TCP;
		c->in_armed = true;
		c->last_frame_ms = now_ms();
		s->conn[fd] = c;
		ep_add(s, fd, K_CONN, EPOLLIN);
	}
}

static void conn_close(struct srv *s, struct conn *c)
{
	int fd = turn_stream_fd(c->st);
	struct conn *p = c->partner;
	if (p) {
		/* one side of a relayed TCP connection went: so does the other */
		p->partner = NULL;
		c->partner = NULL;
		conn_close(s, p);
	}
	if (!c->raw)
		turn_server_conn_closed(s->ts, &c->key, now_ms());
	s->conn[fd] = NULL;
	turn_stream_free(c->st);
	free(c);
}

static void on_conn(struct srv *s, int fd, uint32_t events)
{
	struct conn *c = s->conn[fd];
	if (!c)
		return;
	int r = 0;
	if (events & EPOLLOUT) {
		r = turn_stream_flush(c->st);
		if (r == -EAGAIN)
			r = 0;
		if (c->partner)
			conn_arm(s, c->partner); /* room again: it may read */
	}
	if (r == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->in_armed)
		r = turn_stream_read(c->st, on_frame, c);
	if (r < 0 || c->dead || (events & EPOLLERR)) {
		conn_close(s, c);
		return;
	}
	conn_arm(s, c);
}

/* A TCP or TLS connection costs the server a descriptor and buffers, and
 * one that never finishes its TLS handshake or its first message would
 * hold them for ever. RFC 8656 sets no limit for a client's connection
 * (RFC 6062 section 5.2 closes a peer data connection left unbound for
 * 30 s); like coturn, close a connection that holds no allocation and has
 * not completed a message for --conn-idle seconds. One with an
 * allocation lives as long as the allocation does. */
static void sweep_idle_conns(struct srv *s, uint64_t now)
{
	for (int fd = 0; fd < s->maxfd; fd++) {
		struct conn *c = s->conn[fd];

		if (!c || c->raw || c->partner || now - c->last_frame_ms < s->conn_idle_ms ||
		    turn_server_has_alloc(s->ts, &c->key))
			continue;
		printf("{\"ev\":\"conn-timeout\",\"t_ms\":%llu,\"fd\":%d,\"idle_ms\":%llu}\n",
		       (unsigned long long)(now - s->t0), fd,
		       (unsigned long long)(now - c->last_frame_ms));
		fflush(stdout);
		conn_close(s, c);
	}
}

static void on_udp(struct srv *s, struct listener *l, uint32_t index)
{
	struct turn_key k;
	memset(&k, 0, sizeof(k));
	k.listener = index;
	k.transport = TURN_TRANSPORT_UDP;
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < BATCH; i++) {
			s->iov[i].iov_base = s->bufs[i];
			s->iov[i].iov_len = sizeof(s->bufs[i]);
			memset(&s->msgs[i].msg_hdr, 0, sizeof(s->msgs[i].msg_hdr));
			s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
			s->msgs[i].msg_hdr.msg_iovlen = 1;
			s->msgs[i].msg_hdr.msg_name = &s->from[i];
			s->msgs[i].msg_hdr.msg_namelen = sizeof(s->from[i]);
		}
		int n = recvmmsg(l->fd, s->msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		uint64_t t = now_ms();
		for (int i = 0; i < n; i++) {
			memcpy(&k.client, &s->from[i], s->msgs[i].msg_hdr.msg_namelen);
			turn_server_input(s->ts, &k, s->bufs[i], s->msgs[i].msg_len, t);
		}
		if (n < BATCH)
			return;
	}
}

static void on_relay(struct srv *s, int fd)
{
	size_t cap;
	uint8_t *buf = turn_server_relay_buf(s->ts, &cap);
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
		if (n < 0)
			return;
		turn_server_relay_input(s->ts, s->cookie[fd], fd, (struct sockaddr *)&from, buf,
					(size_t)n, now_ms());
	}
}

static void usage(void)
{
	puts("usage: natlab-turn-server [options]\n"
	     "  --listen IP:PORT        UDP and TCP listener (repeatable; default 127.0.0.1:3478)\n"
	     "  --tls-listen IP:PORT    TLS listener (needs --cert and --key)\n"
	     "  --cert FILE --key FILE  PEM certificate and private key for TLS\n"
	     "  --relay-ip IP           IPv4 relay address (default: the first IPv4 listener)\n"
	     "  --relay-ip6 IP          IPv6 relay address (enables IPv6 relays, RFC 6156)\n"
	     "  --realm R               realm (default natlab)\n"
	     "  --user NAME:PASS        a static user (repeatable)\n"
	     "  --secret S              shared secret: usernames \"expiry:user\", password\n"
	     "                          base64(HMAC-SHA1(S, username))\n"
	     "  --lifetime S --max-lifetime S --perm-lifetime S --channel-lifetime S\n"
	     "  --nonce-lifetime S      RFC defaults 600, 3600, 300, 600; nonce 600\n"
	     "  --max-allocs N          total allocations (486 past it; default 1024)\n"
	     "  --user-quota N          allocations per user (486 past it; default 64; 0 off)\n"
	     "  --bandwidth BYTES_S     per-allocation cap, both directions (default\n"
	     "                          2000000, i.e. 16 Mbit/s; 0 off)\n"
	     "  --rate N                requests per second per source IP, excess dropped\n"
	     "                          unanswered (default 100; 0 off)\n"
	     "  --stats-ms MS           emit alloc-stats events this often\n"
	     "  --allow-loopback        relay to 127.0.0.0/8 and ::1 (denied by default)\n"
	     "  --deny CIDR --allow CIDR  peer ranges (403 for denied)\n"
	     "  --alternate IP:PORT     answer Allocate with 300 Try Alternate\n"
	     "  --software TEXT         SOFTWARE attribute in authenticated answers\n"
	     "  --conn-idle S           close a TCP/TLS connection without an allocation\n"
	     "                          after S s without a complete message (default 30;\n"
	     "                          0 never)");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", 1, 0, 'l'},
	    {"tls-listen", 1, 0, 'L'},
	    {"cert", 1, 0, 'c'},
	    {"key", 1, 0, 'k'},
	    {"relay-ip", 1, 0, 'r'},
	    {"relay-ip6", 1, 0, 'R'},
	    {"realm", 1, 0, 'm'},
	    {"user", 1, 0, 'u'},
	    {"secret", 1, 0, 's'},
	    {"lifetime", 1, 0, 1},
	    {"max-lifetime", 1, 0, 2},
	    {"perm-lifetime", 1, 0, 3},
	    {"channel-lifetime", 1, 0, 4},
	    {"nonce-lifetime", 1, 0, 5},
	    {"max-allocs", 1, 0, 6},
	    {"user-quota", 1, 0, 7},
	    {"bandwidth", 1, 0, 8},
	    {"rate", 1, 0, 9},
	    {"stats-ms", 1, 0, 10},
	    {"allow-loopback", 0, 0, 11},
	    {"deny", 1, 0, 12},
	    {"allow", 1, 0, 13},
	    {"alternate", 1, 0, 14},
	    {"software", 1, 0, 15},
	    {"conn-idle", 1, 0, 16},
	    {"help", 0, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct turn_server_config cfg;
	const char *listens[LISTEN_MAX], *tls_listens[LISTEN_MAX], *users[256], *deny[64],
	    *allow[64];
	int nlisten = 0, ntls = 0, nusers = 0, ndeny = 0, nallow = 0;
	const char *cert = NULL, *key = NULL, *relay_ip = NULL, *relay_ip6 = NULL;
	unsigned long conn_idle_s = 30;
	struct sockaddr_storage alt;
	int o;

	/* the security defaults (docs/turn.md); the options below change them */
	turn_server_config_defaults(&cfg);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		unsigned long v = optarg ? strtoul(optarg, NULL, 10) : 0;
		switch (o) {
		case 'l':
			if (nlisten < LISTEN_MAX)
				listens[nlisten++] = optarg;
			break;
		case 'L':
			if (ntls < LISTEN_MAX)
				tls_listens[ntls++] = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'r':
			relay_ip = optarg;
			break;
		case 'R':
			relay_ip6 = optarg;
			break;
		case 'm':
			cfg.realm = optarg;
			break;
		case 'u':
			if (nusers < 256)
				users[nusers++] = optarg;
			break;
		case 's':
			cfg.secret = optarg;
			break;
		case 1:
			cfg.default_lifetime_s = (uint32_t)v;
			break;
		case 2:
			cfg.max_lifetime_s = (uint32_t)v;
			break;
		case 3:
			cfg.perm_lifetime_s = (uint32_t)v;
			break;
		case 4:
			cfg.channel_lifetime_s = (uint32_t)v;
			break;
		case 5:
			cfg.nonce_lifetime_s = (uint32_t)v;
			break;
		case 6:
			cfg.max_allocs = v ? (uint32_t)v : TURN_DEFAULT_MAX_ALLOCS;
			break;
		case 7:
			cfg.user_quota = (uint32_t)v;
			break;
		case 8:
			cfg.bandwidth_bytes_s = v;
			break;
		case 9:
			cfg.requests_per_s = (uint32_t)v;
			break;
		case 10:
			cfg.stats_interval_ms = (uint32_t)v;
			break;
		case 11:
			cfg.allow_loopback = true;
			break;
		case 12:
			if (ndeny < 64)
				deny[ndeny++] = optarg;
			break;
		case 13:
			if (nallow < 64)
				allow[nallow++] = optarg;
			break;
		case 14:
			if (parse_addr(optarg, &alt) != 0)
				die("cannot parse --alternate \"%s\"", optarg);
			cfg.alternate = (struct sockaddr *)&alt;
			break;
		case 15:
			cfg.software = optarg;
			break;
		case 16:
			conn_idle_s = v;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (nlisten == 0 && ntls == 0)
		listens[nlisten++] = "127.0.0.1:3478";
	if (ntls && (!cert || !key))
		die("%s", "--tls-listen needs --cert and --key");

	static struct srv s;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	s.maxfd = rl.rlim_cur > 1048576 ? 1048576 : (int)rl.rlim_cur;
	s.cookie = calloc((size_t)s.maxfd, sizeof(*s.cookie));
	s.conn = calloc((size_t)s.maxfd, sizeof(*s.conn));
	s.bufs = malloc(sizeof(*s.bufs) * BATCH);
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!s.cookie || !s.conn || !s.bufs || s.ep < 0)
		die("%s", "out of memory");
	s.t0 = now_ms();
	s.conn_idle_ms = (uint64_t)conn_idle_s * 1000;
	cfg.unix_offset_s = (int64_t)time(NULL) - (int64_t)(s.t0 / 1000);
	if (relay_ip6)
		cfg.relay_ipv6 = true;

	struct turn_server_io io = {
	    .ctx = &s,
	    .relay_open = io_relay_open,
	    .relay_set_cookie = io_relay_set_cookie,
	    .relay_close = io_relay_close,
	    .relay_send = io_relay_send,
	    .client_send = io_client_send,
	    .event = io_event,
	    .tcp_listen = io_tcp_listen,
	    .tcp_connect = io_tcp_connect,
	    .tcp_close = io_tcp_close,
	    .tcp_splice = io_tcp_splice,
	};
	char msg[256];
	/* the relay families are known once the listeners are parsed; decide
	 * them from the addresses before the server is made */
	for (int i = 0; i < nlisten + ntls; i++) {
		const char *t = i < nlisten ? listens[i] : tls_listens[i - nlisten];
		if (t[0] == '[')
			cfg.relay_ipv6 = true;
		else
			cfg.relay_ipv4 = true;
	}
	if (relay_ip)
		cfg.relay_ipv4 = true;
	s.ts = turn_server_new(&cfg, &io, s.t0, msg, sizeof(msg));
	if (!s.ts)
		die("%s", msg);
	for (int i = 0; i < nusers; i++) {
		/* split a copy: argv stays readable in ps */
		char name[TURN_AUTH_USERNAME_MAX];
		const char *colon = strchr(users[i], ':');
		if (!colon || (size_t)(colon - users[i]) >= sizeof(name))
			die("--user wants NAME:PASS, not \"%s\"", users[i]);
		memcpy(name, users[i], (size_t)(colon - users[i]));
		name[colon - users[i]] = 0;
		if (turn_server_user_add(s.ts, name, colon + 1) != 0)
			die("cannot add user \"%s\"", name);
	}
	for (int i = 0; i < ndeny; i++)
		if (turn_server_deny_add(s.ts, deny[i]) != 0)
			die("bad --deny \"%s\"", deny[i]);
	for (int i = 0; i < nallow; i++)
		if (turn_server_allow_add(s.ts, allow[i]) != 0)
			die("bad --allow \"%s\"", allow[i]);
	if (ntls) {
		s.tls = SSL_CTX_new(TLS_server_method());
		if (!s.tls || SSL_CTX_use_certificate_chain_file(s.tls, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(s.tls, key, SSL_FILETYPE_PEM) != 1)
			die("cannot load TLS certificate/key from %s", cert);
		SSL_CTX_set_mode(s.tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
					    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	for (int i = 0; i < nlisten; i++)
		add_listener(&s, listens[i], false);
	for (int i = 0; i < ntls; i++)
		add_listener(&s, tls_listens[i], true);
	if (relay_ip) {
		if (parse_addr(relay_ip, &s.relay4) != 0 || s.relay4.ss_family != AF_INET)
			die("bad --relay-ip \"%s\"", relay_ip);
		s.have4 = true;
	}
	if (relay_ip6) {
		if (parse_addr(relay_ip6, &s.relay6) != 0 || s.relay6.ss_family != AF_INET6)
			die("bad --relay-ip6 \"%s\"", relay_ip6);
		s.have6 = true;
	}
	/* a relay on the unspecified address would announce 0.0.0.0 or :: in
	 * XOR-RELAYED-ADDRESS: the operator must name the address */
	if ((s.have4 && ((struct sockaddr_in *)&s.relay4)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
	    (s.have6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&s.relay6)->sin6_addr)))
		die("%s", "listening on an unspecified address: give --relay-ip / --relay-ip6");

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	ep_add(&s, sfd, K_SIGNAL, EPOLLIN);

	/* the ready line: where the server listens */
	printf("{\"ev\":\"ready\",\"t_ms\":0,\"impl\":\"natlab-turn-server\",\"version\":\"0.1\","
	       "\"listen\":[");
	for (int i = 0; i < s.nl; i++) {
		char a[64];
		struct sockaddr_storage bound;
		socklen_t len = sizeof(bound);
		getsockname(s.l[i].fd, (struct sockaddr *)&bound, &len);
		printf("%s\"%s:%s\"", i ? "," : "",
		       s.l[i].kind == K_UDP   ? "udp"
		       : s.l[i].kind == K_TCP ? "tcp"
					      : "tls",
		       turn_addr_str((struct sockaddr *)&bound, a, sizeof(a)));
	}
	/* the limits in force, so an operator (or a test) sees the defaults */
	printf("],\"limits\":{\"max_allocs\":%u,\"user_quota\":%u,\"bandwidth_bytes_s\":%llu,"
	       "\"requests_per_s\":%u}}\n",
	       cfg.max_allocs, cfg.user_quota, (unsigned long long)cfg.bandwidth_bytes_s,
	       cfg.requests_per_s);
	fflush(stdout);

	bool stop = false;
	uint64_t next = turn_server_tick(s.ts, now_ms());
	uint64_t next_sweep = now_ms() + 1000;
	struct epoll_event evs[64];
	while (!stop) {
		uint64_t t = now_ms();
		uint64_t wake = s.conn_idle_ms && next_sweep < next ? next_sweep : next;
		int timeout = wake > t ? (int)(wake - t) : 0;
		int n = epoll_wait(s.ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			enum kind k = (enum kind)(evs[i].data.u64 >> KIND_SHIFT);
			int fd = (int)(uint32_t)evs[i].data.u64;
			switch (k) {
			case K_SIGNAL:
				stop = true;
				break;
			case K_UDP:
				on_udp(&s, &s.l[s.cookie[fd]], s.cookie[fd]);
				break;
			case K_TCP:
			case K_TLS:
				on_accept(&s, &s.l[s.cookie[fd]], s.cookie[fd]);
				break;
			case K_CONN:
				on_conn(&s, fd, evs[i].events);
				break;
			case K_RELAY:
				on_relay(&s, fd);
				break;
			case K_TCPRELAY:
				on_tcprelay(&s, fd);
				break;
			case K_PEERCONNECT:
				on_peerconnect(&s, fd);
				break;
			}
		}
		t = now_ms();
		if (t >= next)
			next = turn_server_tick(s.ts, t);
		if (s.conn_idle_ms && t >= next_sweep) {
			sweep_idle_conns(&s, t);
			next_sweep = t + 1000;
		}
	}
	for (int fd = 0; fd < s.maxfd; fd++) {
		if (s.conn[fd])
			conn_close(&s, s.conn[fd]);
	}
	turn_server_free(s.ts, now_ms());
	for (int i = 0; i < s.nl; i++)
		close(s.l[i].fd);
	SSL_CTX_free(s.tls);
	close(sfd);
	close(s.ep);
	free(s.cookie);
	free(s.conn);
	free(s.bufs);
	return 0;
}
