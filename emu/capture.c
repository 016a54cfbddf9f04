/* capture.c - an AF_PACKET listener writing pcap; see capture.h. */
#include "emu/capture.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>

#include "emu/pcap.h"

struct emu_capture {
	int sock;
	int wake;
	pthread_t thread;
	bool started;
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

/* Read and write out everything queued; false when nothing was. */
static bool drain(struct emu_capture *c)
{
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

static void *listen_thread(void *arg)
{
	struct emu_capture *c = arg;
	struct pollfd pfd[2] = {{c->sock, POLLIN, 0}, {c->wake, POLLIN, 0}};

	for (;;) {
		/* Flush to the file when the link has been quiet for 100 ms,
		 * so a capture being watched is never far behind. */
		int r = poll(pfd, 2, 100);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0) {
			emu_pcap_flush(c->pcap);
			continue;
		}
		if (pfd[0].revents)
			drain(c);
		if (pfd[1].revents) {
			drain(c); /* what was queued before stop was asked */
			break;
		}
	}
	return NULL;
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
	c->sock = c->wake = -1;
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
	c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake < 0) {
		ret = natlab_err_set(e, errno, "eventfd");
		goto fail;
	}
	ret = pthread_create(&c->thread, NULL, listen_thread, c);
	if (ret) {
		ret = natlab_err_set(e, ret, "cannot start the capture thread");
		goto fail;
	}
	c->started = true;
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
	if (c->started) {
		/* Cannot fail: the counter starts at 0 and is written once. */
		eventfd_write(c->wake, 1);
		pthread_join(c->thread, NULL);
	}
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
	if (c->wake >= 0)
		close(c->wake);
	free(c);
	return ret;
}
