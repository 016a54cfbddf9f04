/* tcpsock.c - TCP sockets of ICE-TCP candidates (see tcpsock.h). */
#include "agents/ice/tcpsock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "agents/ice/tcpframe.h"

struct base {
	bool used, passive;
	unsigned component;
	union ice_addr addr; /* passive: where it listens; active: the IP */
	int fd;		     /* passive: the listener; active: -1 */
};

struct conn {
	bool used, connecting;
	unsigned gen; /* tells a reused slot from the one polled */
	int fd;
	union ice_addr peer;
	struct ice_tcpframe_reader *rd;
	uint8_t *outq;
	size_t outq_len;
};

/* what each pollfd entry stands for, to act on it after poll() */
struct slot_ref {
	bool is_conn;
	unsigned idx, gen;
};

struct ice_tcpsock {
	struct ice_tcpsock_cb cb;
	int id_base;
	struct base bases[2 * ICE_TCPSOCK_BASES_MAX]; /* passive, then active */
	struct conn conns[ICE_TCPSOCK_CONNS_MAX];
	struct slot_ref polled[ICE_TCPSOCK_FDS_MAX];
	unsigned gen;
};

int ice_tcpsock_new(const struct ice_tcpsock_cb *cb, int id_base, struct ice_tcpsock **out)
{
	struct ice_tcpsock *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cb = *cb;
	s->id_base = id_base;
	for (unsigned i = 0; i < 2 * ICE_TCPSOCK_BASES_MAX; i++)
		s->bases[i].fd = -1;
	for (unsigned i = 0; i < ICE_TCPSOCK_CONNS_MAX; i++)
		s->conns[i].fd = -1;
	*out = s;
	return 0;
}

static void conn_drop(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->rd);
	free(c->outq);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void ice_tcpsock_free(struct ice_tcpsock *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < 2 * ICE_TCPSOCK_BASES_MAX; i++)
		if (s->bases[i].fd >= 0)
			close(s->bases[i].fd);
	for (unsigned i = 0; i < ICE_TCPSOCK_CONNS_MAX; i++)
		conn_drop(&s->conns[i]);
	free(s);
}

static int base_find(const struct ice_tcpsock *s, bool passive, unsigned component,
		     const union ice_addr *ip)
{
	unsigned off = passive ? 0 : ICE_TCPSOCK_BASES_MAX;
	for (unsigned i = 0; i < ICE_TCPSOCK_BASES_MAX; i++) {
		const struct base *b = &s->bases[off + i];
		if (b->used && b->component == component && ice_addr_same_ip(&b->addr, ip))
			return (int)(off + i);
	}
	return -1;
}

static int base_free_slot(const struct ice_tcpsock *s, bool passive)
{
	unsigned off = passive ? 0 : ICE_TCPSOCK_BASES_MAX;
	for (unsigned i = 0; i < ICE_TCPSOCK_BASES_MAX; i++)
		if (!s->bases[off + i].used)
			return (int)(off + i);
	return -1;
}

static int stream_socket(const union ice_addr *ip, union ice_addr *bound, bool reuse)
{
	union ice_addr a = *ip;
	socklen_t len = ice_addr_len(&a);
	int on = 1;
	int fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (a.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* checks and data-plane datagrams are small and timed: no Nagle */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	ice_addr_set_port(&a, 0);
	if (bind(fd, &a.sa, len) < 0 || (bound && getsockname(fd, &bound->sa, &len) < 0)) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int ice_tcpsock_listen(struct ice_tcpsock *s, unsigned component, const union ice_addr *ip,
		       union ice_addr *bound)
{
	int k = base_find(s, true, component, ip);
	struct base *b;
	int fd;

	if (k >= 0) {
		*bound = s->bases[k].addr;
		return s->id_base + k;
	}
	k = base_free_slot(s, true);
	if (k < 0)
		return -ENOSPC;
	memset(bound, 0, sizeof(*bound));
	fd = stream_socket(ip, bound, true);
	if (fd < 0)
		return fd;
	if (listen(fd, 16) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	b = &s->bases[k];
	b->used = true;
	b->passive = true;
	b->component = component;
	b->addr = *bound;
	b->fd = fd;
	return s->id_base + k;
}

int ice_tcpsock_active(struct ice_tcpsock *s, unsigned component, const union ice_addr *ip)
{
	int k = base_find(s, false, component, ip);
	struct base *b;
	if (k >= 0)
		return s->id_base + k;
	k = base_free_slot(s, false);
	if (k < 0)
		return -ENOSPC;
	b = &s->bases[k];
	b->used = true;
	b->passive = false;
	b->component = component;
	b->addr = *ip;
	ice_addr_set_port(&b->addr, 0);
	b->fd = -1;
	return s->id_base + k;
}

void ice_tcpsock_retain(struct ice_tcpsock *s, const union ice_addr *ips, unsigned n)
{
	for (unsigned i = 0; i < 2 * ICE_TCPSOCK_BASES_MAX; i++) {
		struct base *b = &s->bases[i];
		bool keep = false;
		if (!b->used)
			continue;
		for (unsigned k = 0; k < n && !keep; k++)
			keep = ice_addr_same_ip(&ips[k], &b->addr);
		if (keep)
			continue;
		if (b->fd >= 0)
			close(b->fd);
		memset(b, 0, sizeof(*b));
		b->fd = -1;
	}
}

static struct conn *conn_of(const struct ice_tcpsock *s, int id)
{
	int k = id - s->id_base - ICE_TCPSOCK_CONN_OFFSET;
	if (k < 0 || k >= ICE_TCPSOCK_CONNS_MAX || !s->conns[k].used)
		return NULL;
	return (struct conn *)&s->conns[k];
}

bool ice_tcpsock_owns(const struct ice_tcpsock *s, int id)
{
	return conn_of(s, id) != NULL;
}

static int conn_new(struct ice_tcpsock *s, int fd, const union ice_addr *peer, bool connecting)
{
	for (unsigned k = 0; k < ICE_TCPSOCK_CONNS_MAX; k++) {
		struct conn *c = &s->conns[k];
		if (c->used)
			continue;
		c->rd = malloc(sizeof(*c->rd));
		if (!c->rd)
			return -ENOMEM;
		ice_tcpframe_reader_init(c->rd);
		c->used = true;
		c->connecting = connecting;
		c->gen = ++s->gen;
		c->fd = fd;
		c->peer = *peer;
		c->outq = NULL;
		c->outq_len = 0;
		return s->id_base + ICE_TCPSOCK_CONN_OFFSET + (int)k;
	}
	return -ENOSPC;
}

int ice_tcpsock_connect(struct ice_tcpsock *s, int base_id, const union ice_addr *to)
{
	int k = base_id - s->id_base;
	int fd, id;

	if (k < ICE_TCPSOCK_BASES_MAX || k >= 2 * ICE_TCPSOCK_BASES_MAX || !s->bases[k].used)
		return -ENOENT;
	if (to->sa.sa_family != s->bases[k].addr.sa.sa_family)
		return -EAFNOSUPPORT;
	fd = stream_socket(&s->bases[k].addr, NULL, false);
	if (fd < 0)
		return fd;
	/* non-blocking: the outcome shows as POLLOUT (then SO_ERROR) */
	if (connect(fd, &to->sa, ice_addr_len(to)) < 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	id = conn_new(s, fd, to, true);
	if (id < 0)
		close(fd);
	return id;
}

/* Write what is queued; false when the connection broke. */
static bool conn_flush(struct conn *c)
{
	while (c->outq_len > 0) {
		ssize_t n = send(c->fd, c->outq, c->outq_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		memmove(c->outq, c->outq + n, c->outq_len - (size_t)n);
		c->outq_len -= (size_t)n;
	}
	return true;
}

int ice_tcpsock_send(struct ice_tcpsock *s, int id, const uint8_t *buf, size_t len)
{
	struct conn *c = conn_of(s, id);
	uint8_t *q;

	if (!c)
		return -ENOTCONN;
	if (len > ICE_TCPFRAME_MAX)
		return -EMSGSIZE;
	if (c->outq_len + ICE_TCPFRAME_HDR + len > ICE_TCPSOCK_OUTQ_MAX)
		return -ENOBUFS;
	/* RFC 4571 §2: the message preceded by its 16-bit length; queued
	 * whole, written as the socket takes it */
	q = realloc(c->outq, c->outq_len + ICE_TCPFRAME_HDR + len);
	if (!q)
		return -ENOMEM;
	c->outq = q;
	ice_tcpframe_header(q + c->outq_len, len);
	memcpy(q + c->outq_len + ICE_TCPFRAME_HDR, buf, len);
	c->outq_len += ICE_TCPFRAME_HDR + len;
	/* a failed write shows again as POLLERR/POLLHUP and closes it there */
	if (!c->connecting)
		conn_flush(c);
	return 0;
}

void ice_tcpsock_close(struct ice_tcpsock *s, int id)
{
	struct conn *c = conn_of(s, id);
	if (c)
		conn_drop(c);
}

unsigned ice_tcpsock_pollfds(struct ice_tcpsock *s, struct pollfd *pfd)
{
	unsigned n = 0;
	for (unsigned i = 0; i < ICE_TCPSOCK_BASES_MAX; i++) {
		if (!s->bases[i].used || s->bases[i].fd < 0)
			continue;
		pfd[n].fd = s->bases[i].fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		s->polled[n] = (struct slot_ref){false, i, 0};
		n++;
	}
	for (unsigned k = 0; k < ICE_TCPSOCK_CONNS_MAX; k++) {
		struct conn *c = &s->conns[k];
		if (!c->used)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = POLLIN;
		if (c->connecting || c->outq_len > 0)
			pfd[n].events |= POLLOUT;
		pfd[n].revents = 0;
		s->polled[n] = (struct slot_ref){true, k, c->gen};
		n++;
	}
	return n;
}

static void on_accept(struct ice_tcpsock *s, unsigned bi)
{
	for (int tries = 0; tries < 8; tries++) {
		union ice_addr peer;
		socklen_t pl = sizeof(peer);
		int on = 1, id;
		int fd = accept4(s->bases[bi].fd, &peer.sa, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		id = conn_new(s, fd, &peer, false);
		if (id < 0) {
			close(fd);
			continue;
		}
		s->cb.accepted(s->cb.ctx, s->id_base + (int)bi, id, &peer);
		if (!s->bases[bi].used)
			return; /* retained away from inside the callback */
	}
}

static bool alive(const struct ice_tcpsock *s, unsigned k, unsigned gen)
{
	return s->conns[k].used && s->conns[k].gen == gen;
}

static void conn_broken(struct ice_tcpsock *s, unsigned k)
{
	int id = s->id_base + ICE_TCPSOCK_CONN_OFFSET + (int)k;
	conn_drop(&s->conns[k]);
	s->cb.closed(s->cb.ctx, id);
}

static void on_readable(struct ice_tcpsock *s, unsigned k, unsigned gen)
{
	int id = s->id_base + ICE_TCPSOCK_CONN_OFFSET + (int)k;
	uint8_t buf[8192];
	ssize_t n = recv(s->conns[k].fd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t off = 0;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		conn_broken(s, k);
		return;
	}
	while (n > 0 && off < (size_t)n && alive(s, k, gen)) {
		const uint8_t *msg;
		size_t ml;
		union ice_addr peer = s->conns[k].peer;
		off += ice_tcpframe_feed(s->conns[k].rd, buf + off, (size_t)n - off, &msg, &ml);
		if (msg && ml > 0)
			s->cb.message(s->cb.ctx, id, &peer, msg, ml);
	}
}

void ice_tcpsock_io(struct ice_tcpsock *s, const struct pollfd *pfd, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct slot_ref r = s->polled[i];
		short re = pfd[i].revents;
		struct conn *c;
		if (!re)
			continue;
		if (!r.is_conn) {
			if (s->bases[r.idx].used && s->bases[r.idx].fd == pfd[i].fd)
				on_accept(s, r.idx);
			continue;
		}
		if (!alive(s, r.idx, r.gen))
			continue;
		c = &s->conns[r.idx];
		if (c->connecting) {
			int err = 0;
			socklen_t el = sizeof(err);
			if (!(re & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
				conn_broken(s, r.idx);
				continue;
			}
			c->connecting = false;
			s->cb.connected(s->cb.ctx,
					s->id_base + ICE_TCPSOCK_CONN_OFFSET + (int)r.idx);
			if (alive(s, r.idx, r.gen) && !conn_flush(&s->conns[r.idx]))
				conn_broken(s, r.idx);
			continue;
		}
		if ((re & POLLOUT) && !conn_flush(c)) {
			conn_broken(s, r.idx);
			continue;
		}
		if (re & (POLLIN | POLLHUP | POLLERR))
			on_readable(s, r.idx, r.gen);
	}
}
