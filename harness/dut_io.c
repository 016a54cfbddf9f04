/* dut_io.c - struct compl_io over real sockets in lab nodes; see dut_io.h.
 * Socket ids are the descriptors themselves. */
#include "harness/dut_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static bool stopped(const struct dut_io_ctx *c)
{
	return c->stop && *c->stop;
}

static void to_sa(const struct compl_addr *a, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(a->ip);
	sa->sin_port = htons(a->port);
}

static void from_sa(const struct sockaddr_in *sa, struct compl_addr *a)
{
	a->ip = ntohl(sa->sin_addr.s_addr);
	a->port = ntohs(sa->sin_port);
}

static int open_bound(struct dut_io_ctx *c, enum compl_side side, int idx, int type, uint16_t port,
		      bool share, struct compl_addr *bound)
{
	struct emu_node *n = side == COMPL_LAN ? c->lan : c->wan;
	struct compl_addr want = {side == COMPL_LAN ? c->lan_ip : c->srv_ip[idx & 1], port};
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = emu_node_socket(n, AF_INET, type | SOCK_CLOEXEC, 0, NULL);

	if (fd < 0)
		return fd;
	if (share) {
		/* two TCP connections from one local endpoint (RFC 5382
		 * REQ-1's test) need both sockets to allow it */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &(int){1}, sizeof(int));
	}
	if (type == SOCK_DGRAM) /* ICMP errors reach an unconnected UDP socket */
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &(int){1}, sizeof(int));
	to_sa(&want, &sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	getsockname(fd, (struct sockaddr *)&sa, &len);
	if (bound)
		from_sa(&sa, bound);
	return fd;
}

static int io_udp_open(void *ctx, enum compl_side side, int idx, uint16_t port,
		       struct compl_addr *bound)
{
	return open_bound(ctx, side, idx, SOCK_DGRAM, port, false, bound);
}

static int io_udp_send(void *ctx, int sock, const struct compl_addr *to, const void *buf,
		       size_t len)
{
	struct sockaddr_in sa;

	if (stopped(ctx))
		return -EINTR;
	to_sa(to, &sa);
	return sendto(sock, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

static int io_udp_recv(void *ctx, int sock, int timeout_ms, struct compl_addr *from, void *buf,
		       size_t len)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	ssize_t n;

	if (stopped(ctx))
		return -EINTR;
	if (poll(&p, 1, timeout_ms) <= 0)
		return stopped(ctx) ? -EINTR : -ETIMEDOUT;
	if (p.revents & POLLERR) {
		/* an ICMP error queued by IP_RECVERR: take it off the queue */
		char ctl[512], b[64];
		struct iovec iov = {b, sizeof(b)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};
		if (recvmsg(sock, &mh, MSG_ERRQUEUE) >= 0)
			return -ECONNREFUSED;
	}
	n = recvfrom(sock, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	from_sa(&sa, from);
	return (int)n;
}

static int io_tcp_listen(void *ctx, int idx, uint16_t port, struct compl_addr *bound)
{
	int fd = open_bound(ctx, COMPL_WAN, idx, SOCK_STREAM, port, true, bound);

	if (fd >= 0 && listen(fd, 8) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int io_tcp_connect(void *ctx, enum compl_side side, uint16_t local_port,
			  const struct compl_addr *to, int timeout_ms, struct compl_addr *local)
{
	struct sockaddr_in sa;
	struct pollfd p;
	int fd = open_bound(ctx, side, 0, SOCK_STREAM, local_port, true, local), err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	to_sa(to, &sa);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, timeout_ms) <= 0) {
		err = stopped(ctx) ? EINTR : ETIMEDOUT;
		goto fail;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err)
		goto fail;
	return fd;
fail:
	close(fd);
	return -err;
}

static int io_tcp_accept(void *ctx, int listener, int timeout_ms, struct compl_addr *from)
{
	struct pollfd p = {.fd = listener, .events = POLLIN};
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd;

	if (poll(&p, 1, timeout_ms) <= 0)
		return stopped(ctx) ? -EINTR : -ETIMEDOUT;
	fd = accept4(listener, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	from_sa(&sa, from);
	return fd;
}

static void io_close(void *ctx, int sock)
{
	(void)ctx;
	close(sock);
}

static uint64_t io_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void io_sleep_ms(void *ctx, int ms)
{
	uint64_t end = io_now_ms(ctx) + (uint64_t)(ms > 0 ? ms : 0);

	/* in slices, so a stop request is seen within 100 ms */
	while (!stopped(ctx)) {
		uint64_t now = io_now_ms(ctx);
		if (now >= end)
			break;
		poll(NULL, 0, end - now > 100 ? 100 : (int)(end - now));
	}
}

void dut_io_init(struct compl_io *io, struct dut_io_ctx *c)
{
	memset(io, 0, sizeof(*io));
	io->ctx = c;
	io->udp_open = io_udp_open;
	io->udp_send = io_udp_send;
	io->udp_recv = io_udp_recv;
	io->tcp_listen = io_tcp_listen;
	io->tcp_connect = io_tcp_connect;
	io->tcp_accept = io_tcp_accept;
	io->close = io_close;
	io->now_ms = io_now_ms;
	io->sleep_ms = io_sleep_ms;
}
