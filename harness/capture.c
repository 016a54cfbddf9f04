/* capture.c - per-node pcap capture (LINKTYPE_LINUX_SLL2). */
#include "harness/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The pcap file format is written big-endian here (magic a1b2c3d4 read as
 * bytes), which every reader accepts; the SLL2 header is big-endian by
 * definition. */
void capture_header(uint8_t buf[24])
{
	put32(buf, 0xa1b2c3d4);
	put16(buf + 4, 2);
	put16(buf + 6, 4);
	put32(buf + 8, 0);  /* thiszone */
	put32(buf + 12, 0); /* sigfigs */
	put32(buf + 16, CAPTURE_SNAPLEN);
	put32(buf + 20, CAPTURE_LINKTYPE_SLL2);
}

void capture_record(uint8_t buf[36], uint32_t sec, uint32_t usec, uint32_t caplen, uint32_t len,
		    uint16_t protocol_be, int ifindex, uint16_t hatype, uint8_t pkttype,
		    uint8_t halen, const uint8_t *addr)
{
	put32(buf, sec);
	put32(buf + 4, usec);
	put32(buf + 8, caplen + 20);
	put32(buf + 12, len + 20);
	/* LINKTYPE_LINUX_SLL2: protocol, reserved, interface index, ARPHRD
	 * type, packet type, address length, 8 address bytes. */
	memcpy(buf + 16, &protocol_be, 2);
	put16(buf + 18, 0);
	put32(buf + 20, (uint32_t)ifindex);
	put16(buf + 24, hatype);
	buf[26] = pkttype;
	buf[27] = halen > 8 ? 8 : halen;
	memset(buf + 28, 0, 8);
	memcpy(buf + 28, addr, halen > 8 ? 8 : halen);
}

static volatile sig_atomic_t capture_stopping;

static void capture_on_term(int sig)
{
	(void)sig;
	capture_stopping = 1;
}

/* Reads until SIGTERM, then drains what the socket already holds, so that
 * packets sent just before the cell ended are in the file too. */
static void capture_loop(int sock, int fd)
{
	static uint8_t pkt[CAPTURE_SNAPLEN];
	uint8_t hdr[36];
	size_t written = 24;

	capture_header(hdr);
	if (write(fd, hdr, 24) != 24)
		return;
	while (written < CAPTURE_BYTES_MAX) {
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
			return;	  /* EAGAIN once stopping: drained */
		}
		cap = n > (ssize_t)sizeof(pkt) ? (uint32_t)sizeof(pkt) : (uint32_t)n;
		clock_gettime(CLOCK_REALTIME, &ts);
		capture_record(hdr, (uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), cap,
			       (uint32_t)n, sll.sll_protocol, sll.sll_ifindex, sll.sll_hatype,
			       sll.sll_pkttype, sll.sll_halen, sll.sll_addr);
		iov[0].iov_base = hdr;
		iov[0].iov_len = sizeof(hdr);
		iov[1].iov_base = pkt;
		iov[1].iov_len = cap;
		if (writev(fd, iov, 2) != (ssize_t)(sizeof(hdr) + cap))
			return;
		written += sizeof(hdr) + cap;
	}
}

int capture_start(const struct emu_node *n, const char *path, pid_t *pid, struct natlab_err *e)
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
