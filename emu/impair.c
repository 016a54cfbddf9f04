/* impair.c - the userspace link emulator; see impair.h and
 * docs/impairments.md for why it is built this way. */
#include "emu/impair.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>

#include "emu/link.h"
#include "emu/pcap.h"

/* The wire-side interface names, private to the wire namespace. */
static const char *const wire_ifname[2] = {"a", "b"};

/* Receive buffer: virtio-net header + the largest GSO frame veth passes. */
#define VNET_HDR  sizeof(struct virtio_net_hdr)
#define FRAME_MAX (65536u + 256u)
#define RX_BATCH  64 /* frames read per socket per wake-up, for fairness */

struct frame {
	uint32_t len; /* bytes in data, virtio-net header included */
	uint8_t dir;
	unsigned char data[];
};

struct slot {
	uint64_t t;   /* departure, CLOCK_MONOTONIC ns */
	uint64_t seq; /* arrival order: equal times leave in FIFO order */
	struct frame *f;
};

struct emu_impair {
	struct emu_node *wire;
	int sock[2];	      /* AF_PACKET on wire "a" (dir A->B reads it) and "b" */
	int wake;	      /* eventfd: stop request */
	unsigned char *rxbuf; /* the thread's receive buffer */
	pthread_t thread;
	bool thread_started;
	clockid_t cpu_clock;

	pthread_mutex_t mu; /* everything below */
	bool stop;
	bool down;
	bool blackhole[2];
	struct emu_impair_model model[2];
	struct emu_impair_stats stats[2];
	struct emu_pcap *pcap;
	struct slot *heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t seq;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- a binary min-heap of departures ----------------------------------- */

static bool slot_before(const struct slot *x, const struct slot *y)
{
	return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static int heap_push(struct emu_impair *l, struct slot s)
{
	size_t i;

	if (l->heap_len == l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : 1024;
		struct slot *h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->heap_cap = cap;
	}
	i = l->heap_len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!slot_before(&s, &l->heap[parent]))
			break;
		l->heap[i] = l->heap[parent];
		i = parent;
	}
	l->heap[i] = s;
	return 0;
}

static struct slot heap_pop(struct emu_impair *l)
{
	struct slot top = l->heap[0];
	struct slot last = l->heap[--l->heap_len];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->heap_len)
			break;
		if (c + 1 < l->heap_len && slot_before(&l->heap[c + 1], &l->heap[c]))
			c++;
		if (!slot_before(&l->heap[c], &last))
			break;
		l->heap[i] = l->heap[c];
		i = c;
	}
	if (l->heap_len)
		l->heap[i] = last;
	return top;
}

static void heap_clear(struct emu_impair *l, bool count_as_fault)
{
	for (size_t i = 0; i < l->heap_len; i++) {
		if (count_as_fault)
			l->stats[l->heap[i].f->dir].drop_fault++;
		free(l->heap[i].f);
	}
	l->heap_len = 0;
}

/* Drop what is in flight in direction @dir only (a blackhole). */
static void heap_drop_dir(struct emu_impair *l, int dir)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->heap_len; i++) {
		if (l->heap[i].f->dir == dir) {
			l->stats[dir].drop_fault++;
			free(l->heap[i].f);
		} else {
			l->heap[kept++] = l->heap[i];
		}
	}
	l->heap_len = kept;
	/* Rebuild the heap property over what is left. */
	for (size_t i = kept / 2; i-- > 0;) {
		size_t j = i;
		struct slot s = l->heap[j];
		for (;;) {
			size_t c = 2 * j + 1;
			if (c >= kept)
				break;
			if (c + 1 < kept && slot_before(&l->heap[c + 1], &l->heap[c]))
				c++;
			if (!slot_before(&l->heap[c], &s))
				break;
			l->heap[j] = l->heap[c];
			j = c;
		}
		l->heap[j] = s;
	}
}

/* --- the packet path --------------------------------------------------- */

/* The frame's size above Ethernet as the MTU sees it. For a GSO
 * super-frame (TCP from a local socket), each segment is gso_size bytes of
 * payload plus the headers, which hdr_len covers. */
static uint32_t l3_size(const unsigned char *buf, uint32_t len)
{
	struct virtio_net_hdr h;
	uint32_t frame = len - (uint32_t)VNET_HDR;

	memcpy(&h, buf, sizeof(h));
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE && h.gso_size) {
		uint32_t hdr = h.hdr_len > ETH_HLEN ? h.hdr_len - ETH_HLEN : 40;
		return hdr + h.gso_size;
	}
	return frame > ETH_HLEN ? frame - ETH_HLEN : 0;
}

static void admit(struct emu_impair *l, int dir, const unsigned char *buf, uint32_t len,
		  uint64_t now)
{
	struct emu_impair_stats *st = &l->stats[dir];
	enum emu_impair_verdict why;
	uint64_t depart[2];
	int n;

	st->rx++;
	if (l->down || l->blackhole[dir]) {
		st->drop_fault++;
		return;
	}
	n = emu_impair_model_admit(&l->model[dir], now, len - (uint32_t)VNET_HDR, l3_size(buf, len),
				   depart, &why);
	switch (why) {
	case EMU_IMPAIR_DROP_MTU:
		st->drop_mtu++;
		break;
	case EMU_IMPAIR_DROP_LOSS:
		st->drop_loss++;
		break;
	case EMU_IMPAIR_DROP_BURST:
		st->drop_burst++;
		break;
	case EMU_IMPAIR_DROP_QUEUE:
		st->drop_queue++;
		break;
	case EMU_IMPAIR_PASS:
		break;
	}
	for (int i = 0; i < n; i++) {
		struct frame *f;
		if (l->heap_len >= EMU_IMPAIR_INFLIGHT_MAX) {
			st->drop_queue++;
			continue;
		}
		f = malloc(sizeof(*f) + len);
		if (!f) {
			st->drop_queue++;
			continue;
		}
		f->len = len;
		f->dir = (uint8_t)dir;
		memcpy(f->data, buf, len);
		if (heap_push(l, (struct slot){depart[i], l->seq++, f}) < 0) {
			free(f);
			st->drop_queue++;
		}
	}
}

static void depart(struct emu_impair *l, struct slot s, uint64_t now)
{
	struct frame *f = s.f;
	struct emu_impair_stats *st = &l->stats[f->dir];
	/* A->B frames leave through the wire's "b" end, B->A through "a". */
	int out = l->sock[f->dir == EMU_IMPAIR_A_TO_B ? 1 : 0];

	if (now > s.t && now - s.t > st->late_ns_max)
		st->late_ns_max = now - s.t;
	if (send(out, f->data, f->len, MSG_DONTWAIT) < 0) {
		st->tx_error++;
	} else {
		st->tx++;
		if (l->pcap)
			emu_pcap_write(l->pcap, real_ns(), f->data + VNET_HDR, f->len - VNET_HDR);
	}
	free(f);
}

/* When the frame reached the wire, on CLOCK_MONOTONIC: the kernel's
 * receive stamp (CLOCK_REALTIME) moved to the monotonic clock. Using it
 * rather than the time we read the frame means a late wake-up of this
 * thread is absorbed by the configured delay instead of added to it. */
static uint64_t arrival_ns(struct msghdr *m, uint64_t now_mono)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			uint64_t real = real_ns();
			uint64_t rx;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			rx = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			/* A stamp from the future (clock stepped) or older than
			 * a second (clock stepped back) is not trusted. */
			if (rx <= real && real - rx < 1000000000ull && real - rx <= now_mono)
				return now_mono - (real - rx);
		}
	}
	return now_mono;
}

/* Read up to RX_BATCH frames from the socket of direction @dir. */
static void drain(struct emu_impair *l, int dir, unsigned char *buf)
{
	for (int i = 0; i < RX_BATCH; i++) {
		union {
			char b[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {buf, VNET_HDR + FRAME_MAX};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof(ctl.b)};
		ssize_t n = recvmsg(l->sock[dir], &m, MSG_DONTWAIT | MSG_TRUNC);
		uint64_t now;

		if (n < 0)
			return; /* EAGAIN; or ENETDOWN, reported once after a down */
		if ((size_t)n <= VNET_HDR + ETH_HLEN || (size_t)n > VNET_HDR + FRAME_MAX)
			continue; /* runt, or cut short: never forward a partial frame */
		now = arrival_ns(&m, mono_ns());
		pthread_mutex_lock(&l->mu);
		admit(l, dir, buf, (uint32_t)n, now);
		pthread_mutex_unlock(&l->mu);
	}
}

/* Ask the fair scheduler (EEVDF, Linux >= 6.12) for a short time slice:
 * a task with a short slice gets an early virtual deadline, so it is
 * picked promptly when its timer wakes it, without any real-time policy
 * or privilege. Older kernels ignore or refuse it; nothing else changes. */
static void short_slice(void)
{
	/* struct sched_attr, first version (SCHED_ATTR_SIZE_VER0): glibc's
	 * sched.h and linux/sched/types.h cannot be included together. */
	struct {
		uint32_t size;
		uint32_t policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime;
		uint64_t deadline;
		uint64_t period;
	} a = {.size = 48, .policy = SCHED_OTHER, .runtime = 100000 /* ns: the shortest allowed */};

	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0 && getenv("NATLAB_DEBUG"))
		fprintf(stderr, "natlab: impaired link: short slice refused: %s\n",
			strerror(errno));
}

static void *emulator(void *arg)
{
	struct emu_impair *l = arg;
	unsigned char *buf = l->rxbuf;
	struct pollfd pfd[3];
	uint64_t last_flush = 0;

	/* Timer slack is per thread and needs no privilege: ask for the
	 * tightest wake-ups the kernel gives. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	short_slice();
	pfd[0] = (struct pollfd){.fd = l->sock[0], .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = l->sock[1], .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = l->wake, .events = POLLIN};
	for (;;) {
		struct timespec ts;
		struct timespec *tmo = NULL;
		uint64_t next = UINT64_MAX;
		uint64_t now = mono_ns();

		pthread_mutex_lock(&l->mu);
		if (l->stop) {
			pthread_mutex_unlock(&l->mu);
			break;
		}
		/* No spinning before a departure: on this VM the late
		 * wake-ups that matter are the vCPU's own stalls, which a
		 * spin cannot avoid either (docs/impairments.md). */
		while (l->heap_len && l->heap[0].t <= now) {
			depart(l, heap_pop(l), now);
			now = mono_ns();
		}
		if (l->heap_len)
			next = l->heap[0].t;
		if (l->pcap && next - now > 2000000ull && now - last_flush > 200000000ull) {
			/* Idle for a while: a good moment to write the capture
			 * out, never on a tight schedule. */
			emu_pcap_flush(l->pcap);
			last_flush = now;
		}
		pthread_mutex_unlock(&l->mu);
		if (next != UINT64_MAX) {
			uint64_t wait = next > now ? next - now : 0;
			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tmo = &ts;
		}
		if (ppoll(pfd, 3, tmo, NULL) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents)
			continue; /* stop is checked at the top */
		for (int d = 0; d < 2; d++) {
			if (pfd[d].revents)
				drain(l, d, buf);
		}
	}
	return NULL;
}

/* --- set-up and tear-down --------------------------------------------- */

static int open_end(struct emu_impair *l, int end, struct natlab_err *e)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct ifreq ifr;
	int fd;
	int size = 8 << 20;

	/* Protocol 0 at creation, so that nothing is queued from other
	 * interfaces before bind() narrows the socket to its end. */
	fd = emu_node_socket(l->wire, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0, e);
	if (fd < 0)
		return fd;
	l->sock[end] = fd;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", wire_ifname[end]);
	/* The ioctl acts in the socket's own namespace: the wire's. */
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		return natlab_err_set(e, errno, "impaired link: wire end %s", wire_ifname[end]);
	/* Carry the virtio-net header through: veth hands local traffic over
	 * with checksums still to be filled in (CHECKSUM_PARTIAL) and TCP as
	 * GSO super-frames; the header keeps both facts so the far side gets
	 * exactly the frame it would have got from a plain veth. */
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &(int){1}, sizeof(int)) < 0)
		return natlab_err_set(e, errno, "impaired link: PACKET_VNET_HDR");
	/* Our own transmissions on this end must not come back to us. */
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){1}, sizeof(int)) < 0)
		return natlab_err_set(e, errno, "impaired link: SO_TIMESTAMPNS");
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &(int){1}, sizeof(int)) < 0)
		return natlab_err_set(e, errno,
				      "impaired link: PACKET_IGNORE_OUTGOING (Linux >= 4.20)");
	/* Big buffers absorb bursts while the thread is busy sending; the
	 * FORCE variants need CAP_NET_ADMIN, which the sandbox has. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return natlab_err_set(e, errno, "impaired link: cannot bind to wire end %s",
				      wire_ifname[end]);
	return 0;
}

int emu_impair_new(struct emu_node *a, const char *ifname_a, struct emu_node *b,
		   const char *ifname_b, struct emu_impair **out, struct natlab_err *e)
{
	struct emu_impair_config perfect = {0};
	struct emu_impair *l;
	char name[EMU_NODE_NAME_MAX];
	int ret;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return natlab_err_set(e, ENOMEM, "impaired link %s-%s", ifname_a, ifname_b);
	l->sock[0] = l->sock[1] = l->wake = -1;
	pthread_mutex_init(&l->mu, NULL);
	for (int d = 0; d < 2; d++)
		emu_impair_model_init(&l->model[d], &perfect);
	l->model[1].rng[0] ^= 0x5a5a5a5a; /* the two directions draw differently */

	snprintf(name, sizeof(name), "wire-%s", ifname_a);
	ret = emu_node_new(name, &l->wire, e);
	if (ret < 0)
		goto fail;
	/* The wire itself must never speak: no IPv6 link-local address, no
	 * router or neighbour solicitations from its ends. */
	if (emu_node_sysctl_set(l->wire, "net/ipv6/conf/default/disable_ipv6", "1", NULL) == 0)
		emu_node_sysctl_set(l->wire, "net/ipv6/conf/all/disable_ipv6", "1", NULL);
	ret = emu_link_veth(a, ifname_a, l->wire, wire_ifname[0], e);
	if (ret < 0)
		goto fail;
	ret = emu_link_veth(l->wire, wire_ifname[1], b, ifname_b, e);
	if (ret < 0)
		goto fail;
	for (int end = 0; end < 2; end++) {
		ret = open_end(l, end, e);
		if (ret < 0)
			goto fail;
	}
	l->rxbuf = malloc(VNET_HDR + FRAME_MAX);
	if (!l->rxbuf) {
		ret = natlab_err_set(e, ENOMEM, "impaired link: receive buffer");
		goto fail;
	}
	l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake < 0) {
		ret = natlab_err_set(e, errno, "impaired link: eventfd");
		goto fail;
	}
	ret = pthread_create(&l->thread, NULL, emulator, l);
	if (ret) {
		ret = natlab_err_set(e, ret, "impaired link %s-%s: cannot start its thread",
				     ifname_a, ifname_b);
		goto fail;
	}
	l->thread_started = true;
	pthread_setname_np(l->thread, "natlab-wire"); /* for top -H and gdb */
	if (pthread_getcpuclockid(l->thread, &l->cpu_clock) != 0)
		l->cpu_clock = (clockid_t)-1;
	*out = l;
	return 0;
fail:
	natlab_err_prefix(e, "impaired link %s (node %s) <-> %s (node %s)", ifname_a,
			  emu_node_name(a), ifname_b, emu_node_name(b));
	emu_impair_free(l);
	return ret;
}

void emu_impair_free(struct emu_impair *l)
{
	if (!l)
		return;
	if (l->thread_started) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_mutex_unlock(&l->mu);
		if (eventfd_write(l->wake, 1) < 0)
			pthread_kill(l->thread, SIGCONT); /* cannot happen; belt and braces */
		pthread_join(l->thread, NULL);
	}
	heap_clear(l, false);
	free(l->heap);
	free(l->rxbuf);
	emu_pcap_close(l->pcap);
	for (int end = 0; end < 2; end++) {
		if (l->sock[end] >= 0)
			close(l->sock[end]);
	}
	if (l->wake >= 0)
		close(l->wake);
	/* The sockets held the wire namespace too; with them and the node's
	 * descriptor gone the kernel destroys it and both veth pairs. */
	emu_node_free(l->wire);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int emu_impair_set(struct emu_impair *l, enum emu_impair_dir dir, const struct emu_impair_config *c,
		   struct natlab_err *e)
{
	char msg[160];

	if (dir != EMU_IMPAIR_A_TO_B && dir != EMU_IMPAIR_B_TO_A)
		return natlab_err_msg(e, EINVAL, "impaired link: no direction %d", (int)dir);
	if (emu_impair_config_check(c, msg, sizeof(msg)) < 0)
		return natlab_err_msg(e, EINVAL, "impaired link: %s", msg);
	pthread_mutex_lock(&l->mu);
	if (c->seed && c->seed != l->model[dir].cfg.seed) {
		/* A new seed restarts the random sequence, reproducibly. */
		struct emu_impair_model fresh;
		emu_impair_model_init(&fresh, c);
		memcpy(l->model[dir].rng, fresh.rng, sizeof(fresh.rng));
	}
	emu_impair_model_reconfig(&l->model[dir], c);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

int emu_impair_set_up(struct emu_impair *l, bool up, struct natlab_err *e)
{
	int ret = 0;

	pthread_mutex_lock(&l->mu);
	l->down = !up;
	if (!up)
		heap_clear(l, true);
	pthread_mutex_unlock(&l->mu);
	for (int end = 0; end < 2 && ret == 0; end++)
		ret = emu_link_set_up(l->wire, wire_ifname[end], up, e);
	return ret;
}

void emu_impair_blackhole(struct emu_impair *l, enum emu_impair_dir dir, bool on)
{
	if (dir != EMU_IMPAIR_A_TO_B && dir != EMU_IMPAIR_B_TO_A)
		return;
	pthread_mutex_lock(&l->mu);
	l->blackhole[dir] = on;
	if (on)
		heap_drop_dir(l, dir);
	pthread_mutex_unlock(&l->mu);
}

int emu_impair_capture_start(struct emu_impair *l, const char *path, struct natlab_err *e)
{
	struct emu_pcap *p;
	int ret = emu_pcap_open(path, &p, e);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&l->mu);
	struct emu_pcap *old = l->pcap;
	l->pcap = p;
	pthread_mutex_unlock(&l->mu);
	emu_pcap_close(old);
	return 0;
}

int emu_impair_capture_stop(struct emu_impair *l)
{
	struct emu_pcap *p;

	pthread_mutex_lock(&l->mu);
	p = l->pcap;
	l->pcap = NULL;
	pthread_mutex_unlock(&l->mu);
	return emu_pcap_close(p);
}

void emu_impair_stats(struct emu_impair *l, enum emu_impair_dir dir, struct emu_impair_stats *s,
		      uint64_t *cpu_ns)
{
	pthread_mutex_lock(&l->mu);
	*s = l->stats[dir == EMU_IMPAIR_B_TO_A ? 1 : 0];
	pthread_mutex_unlock(&l->mu);
	if (cpu_ns) {
		struct timespec ts = {0};
		if (l->cpu_clock != (clockid_t)-1)
			clock_gettime(l->cpu_clock, &ts);
		*cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
}
