/* capture.c - AF_PACKET listeners writing pcap: one interface on a
 * thread, or a whole node in a process (LINKTYPE_LINUX_SLL2); see
 * capture.h. */
#include "emu/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>

#include "emu/pcap.h"
#include "emu/reader.h"

struct emu_capture {
	int sock;
	struct emu_reader *reader;
	struct emu_pcap *pcap;
	uint64_t kernel_drops;
	unsigned char buf[EMU_PCAP_SNAPLEN];
};

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read and write out everything queued; false when nothing was. On the
 * reader thread. */
static bool drain(void *arg)
{
	struct emu_capture *c = arg;
	bool any = false;

	for (;;) {
		union {
			char b[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {c->buf, sizeof(c->buf)};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof(ctl.b)};
		/* MSG_TRUNC: the frame's real length, even when cut. */
		ssize_t n = recvmsg(c->sock, &m, MSG_DONTWAIT | MSG_TRUNC);
		uint64_t ts = 0;

		if (n < 0)
			return any;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec t;
				memcpy(&t, CMSG_DATA(h), sizeof(t));
				ts = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
			}
		}
		if (!ts)
			ts = real_ns();
		if ((size_t)n > sizeof(c->buf)) {
			/* pcap keeps the original length beside the cut copy */
			emu_pcap_write(c->pcap, ts, c->buf, sizeof(c->buf));
		} else {
			emu_pcap_write(c->pcap, ts, c->buf, (size_t)n);
		}
		any = true;
	}
}

/* The link has been quiet for EMU_READER_IDLE_MS: write out what is
 * buffered, so a capture being watched is never far behind. */
static void flush_idle(void *arg)
{
	struct emu_capture *c = arg;

	emu_pcap_flush(c->pcap);
}

int emu_capture_start(struct emu_node *n, const char *ifname, const char *path,
		      struct emu_capture **out, struct natlab_err *e)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct emu_capture *c;
	struct ifreq ifr;
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return natlab_err_set(e, ENOMEM, "capture %s:%s", emu_node_name(n), ifname);
	c->sock = -1;
	/* Protocol 0 until bound: nothing from other interfaces queues up. */
	ret = emu_node_socket(n, AF_PACKET, SOCK_RAW, 0, e);
	if (ret < 0)
		goto fail;
	c->sock = ret;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(c->sock, SIOCGIFINDEX, &ifr) < 0) {
		ret = natlab_err_set(e, errno, "no interface %s", ifname);
		goto fail;
	}
	setsockopt(c->sock, SOL_SOCKET, SO_TIMESTAMPNS, &(int){1}, sizeof(int));
	if (setsockopt(c->sock, SOL_SOCKET, SO_RCVBUFFORCE, &(int){8 << 20}, sizeof(int)) < 0)
		setsockopt(c->sock, SOL_SOCKET, SO_RCVBUF, &(int){8 << 20}, sizeof(int));
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (bind(c->sock, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		ret = natlab_err_set(e, errno, "cannot bind a packet socket to %s", ifname);
		goto fail;
	}
	ret = emu_pcap_open(path, &c->pcap, e);
	if (ret < 0)
		goto fail;
	ret = emu_reader_start(c->sock, drain, flush_idle, c, &c->reader, e);
	if (ret < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	natlab_err_prefix(e, "capture on %s:%s", emu_node_name(n), ifname);
	emu_capture_stop(c, NULL);
	return ret;
}

int emu_capture_stop(struct emu_capture *c, struct emu_capture_stats *st)
{
	struct tpacket_stats ks;
	socklen_t kl = sizeof(ks);
	int ret;

	if (!c)
		return 0;
	emu_reader_stop(c->reader);
	if (c->sock >= 0 && getsockopt(c->sock, SOL_PACKET, PACKET_STATISTICS, &ks, &kl) == 0)
		c->kernel_drops += ks.tp_drops;
	if (st) {
		st->frames = c->pcap ? emu_pcap_frames(c->pcap) : 0;
		st->kernel_drops = c->kernel_drops;
	}
	ret = emu_pcap_close(c->pcap);
	if (st)
		st->write_error = ret;
	if (c->sock >= 0)
		close(c->sock);
	free(c);
	return ret;
}

/* ---- a whole node, a process (LINKTYPE_LINUX_SLL2) ---- */

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The pcap file format is written big-endian here (magic a1b2c3d4 read as
 * bytes), which every reader accepts; the SLL2 header is big-endian by
 * definition. */
void emu_capture_sll2_header(uint8_t buf[24])
{
	be32(buf, 0xa1b2c3d4);
	be16(buf + 4, 2);
	be16(buf + 6, 4);
	be32(buf + 8, 0);  /* thiszone */
	be32(buf + 12, 0); /* sigfigs */
	be32(buf + 16, EMU_CAPTURE_NODE_SNAPLEN);
	be32(buf + 20, EMU_CAPTURE_LINKTYPE_SLL2);
}

void emu_capture_sll2_record(uint8_t buf[36], uint32_t sec, uint32_t usec, uint32_t caplen,
			     uint32_t len, uint16_t protocol_be, int ifindex, uint16_t hatype,
			     uint8_t pkttype, uint8_t halen, const uint8_t *addr)
{
	be32(buf, sec);
	be32(buf + 4, usec);
	be32(buf + 8, caplen + 20);
	be32(buf + 12, len + 20);
	/* LINKTYPE_LINUX_SLL2: protocol, reserved, interface index, ARPHRD
	 * type, packet type, address length, 8 address bytes. */
	memcpy(buf + 16, &protocol_be, 2);
	be16(buf + 18, 0);
	be32(buf + 20, (uint32_t)ifindex);
	be16(buf + 24, hatype);
	buf[26] = pkttype;
	buf[27] = halen > 8 ? 8 : halen;
	memset(buf + 28, 0, 8);
	memcpy(buf + 28, addr, halen > 8 ? 8 : halen);
}

static volatile sig_atomic_t capture_stopping; /* in the capture process */

static void capture_on_term(int sig)
{
	(void)sig;
	capture_stopping = 1;
}

/* Reads until SIGTERM, then drains what the socket already holds, so that
 * packets sent just before the cell ended are in the file too. */
static void capture_loop(int sock, int fd)
{
	static uint8_t pkt[EMU_CAPTURE_NODE_SNAPLEN];
	uint8_t hdr[36];
	size_t written = 24;

	emu_capture_sll2_header(hdr);
	if (write(fd, hdr, 24) != 24)
		return;
	while (written < EMU_CAPTURE_NODE_BYTES_MAX) {
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		struct timespec ts;
		struct iovec iov[2];
		/* MSG_TRUNC: the return value is the packet's real length */
		int flags = MSG_TRUNC | (capture_stopping ? MSG_DONTWAIT : 0);
		ssize_t n = recvfrom(sock, pkt, sizeof(pkt), flags, (struct sockaddr *)&sll, &sl);
		uint32_t cap;

		if (n < 0) {
			if (errno == EINTR)
				continue; /* SIGTERM: go on, now without blocking */
			return;		  /* EAGAIN once stopping: drained */
		}
		cap = n > (ssize_t)sizeof(pkt) ? (uint32_t)sizeof(pkt) : (uint32_t)n;
		clock_gettime(CLOCK_REALTIME, &ts);
		emu_capture_sll2_record(hdr, (uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000),
					cap, (uint32_t)n, sll.sll_protocol, sll.sll_ifindex,
					sll.sll_hatype, sll.sll_pkttype, sll.sll_halen,
					sll.sll_addr);
		iov[0].iov_base = hdr;
		iov[0].iov_len = sizeof(hdr);
		iov[1].iov_base = pkt;
		iov[1].iov_len = cap;
		if (writev(fd, iov, 2) != (ssize_t)(sizeof(hdr) + cap))
			return;
		written += sizeof(hdr) + cap;
	}
}

int emu_capture_node_start(const struct emu_node *n, const char *path, pid_t *pid,
			   struct natlab_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int sock;

	if (fd < 0)
		return natlab_err_set(e, errno, "capture: cannot create %s", path);
	/* the socket is opened inside the node, so it sees the node's interfaces */
	sock = emu_node_socket(n, AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL), e);
	if (sock < 0) {
		close(fd);
		unlink(path);
		return sock;
	}
	*pid = fork();
	if (*pid < 0) {
		int err = errno; /* before close() can overwrite it */

		close(fd);
		close(sock);
		return natlab_err_set(e, err, "capture: fork");
	}
	if (*pid == 0) {
		/* Keep only the socket and the file (and stdio): an inherited pipe
		 * end would keep an agent's stdin, or the runner's result pipe,
		 * open for as long as the capture runs. */
		int s2 = fcntl(sock, F_DUPFD, 64);
		int f2 = fcntl(fd, F_DUPFD, 65);

		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = capture_on_term; /* no SA_RESTART: recvfrom returns */
		sigaction(SIGTERM, &sa, NULL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (s2 < 0 || f2 < 0 || dup2(s2, 3) < 0 || dup2(f2, 4) < 0)
			_exit(1);
		close_range(5, ~0u, 0);
		capture_loop(3, 4);
		_exit(0);
	}
	setpgid(*pid, *pid);
	close(fd);
	close(sock);
	return 0;
}
