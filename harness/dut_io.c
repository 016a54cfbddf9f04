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

#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <netinet/ip.h>
#include <netinet/udp.h>

#include "emu/nat_expr.h"
#include "emu/nft.h"

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

static uint32_t side_ip(const struct dut_io_ctx *c, enum compl_side side, int idx)
{
	switch (side) {
	case COMPL_LAN:
		return c->lan_ip;
	case COMPL_SUB1:
		return c->sub_ip[0];
	case COMPL_SUB2:
		return c->sub_ip[1];
	case COMPL_WAN:
		break;
	}
	return c->srv_ip[idx & 1];
}

static int open_bound(struct dut_io_ctx *c, enum compl_side side, int idx, int type, uint16_t port,
		      bool share, struct compl_addr *bound)
{
	struct emu_node *n = side == COMPL_WAN ? c->wan : c->lan;
	struct compl_addr want = {side_ip(c, side, idx), port};
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd;

	if (!want.ip)
		return -EADDRNOTAVAIL;
	fd = emu_node_socket(n, AF_INET, type | SOCK_CLOEXEC, 0, NULL);
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

static int io_tcp_start(void *ctx, enum compl_side side, int idx, uint16_t local_port,
			const struct compl_addr *to, struct compl_addr *local)
{
	struct sockaddr_in sa;
	int fd = open_bound(ctx, side, idx, SOCK_STREAM, local_port, true, local);

	if (fd < 0)
		return fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	to_sa(to, &sa);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int io_tcp_wait(void *ctx, int sock, int timeout_ms)
{
	struct pollfd p = {.fd = sock, .events = POLLOUT};
	int err = 0;
	socklen_t el = sizeof(err);

	if (poll(&p, 1, timeout_ms) <= 0)
		return stopped(ctx) ? -EINTR : -ETIMEDOUT;
	getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &el);
	return -err;
}

static int io_tcp_send(void *ctx, int sock, const void *buf, size_t len)
{
	(void)ctx;
	return send(sock, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ? 0 : -errno;
}

static int io_tcp_recv(void *ctx, int sock, int timeout_ms, void *buf, size_t len)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return stopped(ctx) ? -EINTR : -ETIMEDOUT;
	n = recv(sock, buf, len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	return (int)n;
}

static void io_tcp_abort(void *ctx, int sock)
{
	struct linger lg = {1, 0}; /* close sends a RST */

	(void)ctx;
	setsockopt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(sock);
}

/* Table ip natlab_dut in the internet node, chain "hold" at local input:
 * "tcp flags & (syn|ack) == syn" toward one server endpoint is dropped. */
static int io_wan_drop_syn(void *ctx, int idx, uint16_t port)
{
	struct dut_io_ctx *c = ctx;
	struct natlab_err e = {""};
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nx_build bd = {.table = "natlab_dut", .family = NFPROTO_IPV4, .b = b, .e = &e};
	uint32_t addr = htonl(c->srv_ip[idx & 1]);
	uint16_t p = htons(port);
	struct nftnl_rule *r;
	int ret;

	if (!b)
		return -ENOMEM;
	nx_oom = false;
	if (!c->hold_table) {
		struct nftnl_table *t = nftnl_table_alloc();
		if (!t) {
			emu_nft_batch_free(b);
			return -ENOMEM;
		}
		nftnl_table_set_str(t, NFTNL_TABLE_NAME, bd.table);
		nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, bd.family);
		bd.ret = emu_nft_batch_add_table(b, t);
		nftnl_table_free(t);
		nx_chain_add(&bd, "hold", "filter", NF_INET_LOCAL_IN, -10);
	}
	r = nx_rule_new(&bd, "hold");
	if (r) {
		nx_match_l4(r, IPPROTO_TCP, true);
		nx_load_field(r, F_IP_DADDR, NFT_REG32_00);
		nx_cmp(r, NFT_REG32_00, NFT_CMP_EQ, &addr, 4);
		nx_load_field(r, F_DPORT, NFT_REG32_00);
		nx_cmp(r, NFT_REG32_00, NFT_CMP_EQ, &p, 2);
		nx_match_tcp_flags(r, 0x12 /* SYN | ACK */, 0x02 /* SYN alone */);
		nx_verdict(r, NF_DROP);
	}
	nx_rule_add(&bd, r);
	ret = bd.ret;
	if (ret == 0)
		ret = emu_nft_batch_commit(b, c->wan, &e);
	if (ret == 0)
		c->hold_table = true;
	emu_nft_batch_free(b);
	return ret < 0 ? ret : 0;
}

/* The next error queued on @sock (IP_RECVERR): 1 with its origin, ICMP
 * type and code and info (the MTU for "fragmentation needed"), 0 when
 * none is queued. */
static int errqueue_read(int sock, uint8_t *origin, uint8_t *type, uint8_t *code, uint32_t *info)
{
	char ctl[512], b[64];
	struct iovec iov = {b, sizeof(b)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};

	if (recvmsg(sock, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) {
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			*origin = ee.ee_origin;
			*type = ee.ee_type;
			*code = ee.ee_code;
			*info = ee.ee_info;
			return 1;
		}
	}
	*origin = 0;
	return 1;
}

static int io_udp_send_df(void *ctx, int sock, const struct compl_addr *to, const void *buf,
			  size_t len, int timeout_ms, int *mtu)
{
	struct sockaddr_in sa;
	int pmtu = IP_PMTUDISC_DO, old = IP_PMTUDISC_WANT, ret = 0;
	socklen_t ol = sizeof(old);
	uint8_t origin, type, code;
	uint32_t info;
	uint64_t end = io_now_ms(ctx) + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	while (errqueue_read(sock, &origin, &type, &code, &info)) /* stale errors */
		;
	getsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &old, &ol);
	setsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	to_sa(to, &sa);
	if (sendto(sock, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		/* too big for the local link: the kernel queued its MTU */
		if (ret == -EMSGSIZE && errqueue_read(sock, &origin, &type, &code, &info) &&
		    origin == SO_EE_ORIGIN_LOCAL)
			*mtu = (int)info;
		goto out;
	}
	for (;;) {
		uint64_t now = io_now_ms(ctx);
		struct pollfd p = {.fd = sock, .events = 0};
		if (now >= end || stopped(ctx))
			break;
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		while (errqueue_read(sock, &origin, &type, &code, &info)) {
			if (origin == SO_EE_ORIGIN_ICMP && type == 3 && code == 4) {
				*mtu = (int)info;
				ret = 1;
				goto out;
			}
		}
		if (!(p.revents & POLLERR))
			poll(NULL, 0, 10); /* only a hangup or data: do not spin */
	}
out:
	setsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &old, sizeof(old));
	return ret;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

/* A UDP datagram built by hand (RFC 768 header and checksum over the
 * pseudo-header) and sent on a raw socket as IPv4 fragments (RFC 791:
 * offsets in 8-byte units, MF on all but the last), last one first. */
static int io_udp_send_frags_reversed(void *ctx, int sock, const struct compl_addr *to,
				      const void *buf, size_t len, size_t frag_len)
{
	struct dut_io_ctx *c = ctx;
	static uint16_t ip_id = 0x4e4c;
	uint8_t dgram[8 + 4096], pkt[20 + 1500];
	struct sockaddr_in src, dst;
	socklen_t sl = sizeof(src);
	size_t total = 8 + len, n_frags;
	uint32_t sum = 0, a;
	uint16_t v;
	int raw, ret = 0;
	struct emu_node *node;

	frag_len &= ~(size_t)7;
	if (len > 4096 || frag_len == 0 || frag_len > 1480)
		return -EINVAL;
	if (getsockname(sock, (struct sockaddr *)&src, &sl) < 0)
		return -errno;
	a = ntohl(src.sin_addr.s_addr);
	node = a == c->srv_ip[0] || a == c->srv_ip[1] ? c->wan : c->lan;
	to_sa(to, &dst);
	/* UDP header, then the checksum over pseudo-header + header + data */
	memcpy(dgram, &src.sin_port, 2);
	memcpy(dgram + 2, &dst.sin_port, 2);
	v = htons((uint16_t)total);
	memcpy(dgram + 4, &v, 2);
	memset(dgram + 6, 0, 2);
	memcpy(dgram + 8, buf, len);
	sum = csum_add(sum, (const uint8_t *)&src.sin_addr.s_addr, 4);
	sum = csum_add(sum, (const uint8_t *)&dst.sin_addr.s_addr, 4);
	sum += IPPROTO_UDP + (uint32_t)total;
	sum = csum_add(sum, dgram, total);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	v = htons((uint16_t)~sum ? (uint16_t)~sum : 0xffff);
	memcpy(dgram + 6, &v, 2);
	raw = emu_node_socket(node, AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW, NULL);
	if (raw < 0)
		return raw;
	ip_id++;
	n_frags = (total + frag_len - 1) / frag_len;
	for (size_t k = n_frags; k-- > 0;) {
		size_t off = k * frag_len, fl = total - off < frag_len ? total - off : frag_len;
		struct iphdr ih = {.ihl = 5,
				   .version = 4,
				   .tot_len = htons((uint16_t)(20 + fl)),
				   .id = htons(ip_id),
				   .frag_off =
				       htons((uint16_t)(off / 8 | (k + 1 < n_frags ? IP_MF : 0))),
				   .ttl = 64,
				   .protocol = IPPROTO_UDP,
				   .saddr = src.sin_addr.s_addr,
				   .daddr = dst.sin_addr.s_addr};
		memcpy(pkt, &ih, sizeof(ih));
		memcpy(pkt + 20, dgram + off, fl);
		if (sendto(raw, pkt, 20 + fl, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			ret = -errno;
			break;
		}
	}
	close(raw);
	return ret;
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
	io->tcp_start = io_tcp_start;
	io->tcp_wait = io_tcp_wait;
	io->tcp_send = io_tcp_send;
	io->tcp_recv = io_tcp_recv;
	io->tcp_abort = io_tcp_abort;
	io->wan_drop_syn = io_wan_drop_syn;
	io->udp_send_df = io_udp_send_df;
	io->udp_send_frags_reversed = io_udp_send_frags_reversed;
}
