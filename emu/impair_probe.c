/* impair_probe.c - a measured UDP probe stream; see impair_probe.h. */
#include "emu/impair_probe.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#define PROBE_MAGIC 0x4e4c5042u /* "NLPB" */
#define WARMUP_SEQ  0xffffffffu

struct probe_wire {
	uint32_t magic;
	uint32_t run;
	uint32_t seq;
	uint32_t pad;
	uint64_t tx_ns; /* CLOCK_REALTIME */
};

struct sender {
	const struct emu_impair_probe *p;
	int fd;
	uint32_t run;
	_Atomic uint32_t sent; /* read by the receiving thread */
	_Atomic uint64_t t_first;
	uint64_t t_last;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int send_probe(int fd, unsigned char *buf, uint32_t len, uint32_t run, uint32_t seq)
{
	struct probe_wire w = {PROBE_MAGIC, run, seq, 0, clock_ns(CLOCK_REALTIME)};

	memcpy(buf, &w, sizeof(w));
	return send(fd, buf, len, 0) < 0 ? -errno : 0;
}

static void *send_stream(void *arg)
{
	struct sender *s = arg;
	const struct emu_impair_probe *p = s->p;
	unsigned char *buf = calloc(1, p->payload);
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	uint64_t gap = p->pps ? 1000000000ull / p->pps : 0;

	if (!buf)
		return NULL;
	s->t_first = t0;
	for (uint32_t i = 0; i < p->count; i++) {
		if (gap) {
			uint64_t t = t0 + i * gap;
			struct timespec ts = {(time_t)(t / 1000000000ull),
					      (long)(t % 1000000000ull)};
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		/* ENOBUFS/EAGAIN are losses the sender caused: retry rather
		 * than blame the link. */
		while (send_probe(s->fd, buf, p->payload, s->run, i) == -ENOBUFS)
			sched_yield();
		s->sent++;
	}
	s->t_last = clock_ns(CLOCK_MONOTONIC);
	free(buf);
	return NULL;
}

static int open_sockets(const struct emu_impair_probe *p, int *rx, int *tx, struct natlab_err *e)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fam;
	int ret;
	int size = 4 << 20;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, p->dst_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		fam = AF_INET;
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(p->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, p->dst_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) ==
		   1) {
		fam = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(p->port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return natlab_err_msg(e, EINVAL, "probe: \"%s\" is not a numeric address",
				      p->dst_addr);
	}
	*rx = emu_node_socket(p->dst, fam, SOCK_DGRAM, 0, e);
	if (*rx < 0)
		return *rx;
	*tx = emu_node_socket(p->src, fam, SOCK_DGRAM, 0, e);
	if (*tx < 0)
		return *tx;
	setsockopt(*rx, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(*tx, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	setsockopt(*rx, SOL_SOCKET, SO_TIMESTAMPNS, &(int){1}, sizeof(int));
	if (bind(*rx, (struct sockaddr *)&ss, sl) < 0)
		return natlab_err_set(e, errno, "probe: cannot bind %s port %u in node %s",
				      p->dst_addr, p->port, emu_node_name(p->dst));
	if (connect(*tx, (struct sockaddr *)&ss, sl) < 0)
		return natlab_err_set(e, errno, "probe: node %s cannot reach %s",
				      emu_node_name(p->src), p->dst_addr);
	ret = 0;
	return ret;
}

/* One datagram: 1 with *@seq, *@rx_ns and *@tx_ns for a probe of run
 * @run, 0 for something else, -errno when nothing is waiting. */
static int read_probe(int fd, uint32_t run, uint32_t *seq, uint64_t *rx_ns, uint64_t *tx_ns)
{
	unsigned char buf[2048];
	union {
		char b[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = ctl.b,
			   .msg_controllen = sizeof(ctl.b)};
	struct probe_wire w;
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(w))
		return 0;
	memcpy(&w, buf, sizeof(w));
	if (w.magic != PROBE_MAGIC || w.run != run)
		return 0;
	*rx_ns = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*rx_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
	if (!*rx_ns)
		*rx_ns = clock_ns(CLOCK_REALTIME);
	*seq = w.seq;
	*tx_ns = w.tx_ns;
	return 1;
}

static int warm_up(int rx, int tx, uint32_t run, uint32_t payload, struct natlab_err *e)
{
	unsigned char *buf = calloc(1, payload);
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + 10000000000ull;
	int ret = -ETIMEDOUT;

	if (!buf)
		return natlab_err_set(e, ENOMEM, "probe");
	while (clock_ns(CLOCK_MONOTONIC) < deadline) {
		struct pollfd pfd = {rx, POLLIN, 0};
		uint32_t seq;
		uint64_t a, b;

		send_probe(tx, buf, payload, run, WARMUP_SEQ);
		if (poll(&pfd, 1, 50) > 0) {
			while (read_probe(rx, run, &seq, &a, &b) >= 0) {
				if (seq == WARMUP_SEQ)
					ret = 0;
			}
			if (ret == 0)
				break;
		}
	}
	free(buf);
	if (ret < 0)
		return natlab_err_msg(e, ETIMEDOUT, "probe: no warm-up probe arrived in 10 s");
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;
	return (x > y) - (x < y);
}

static double quantile(const double *sorted, uint32_t n, double q)
{
	double pos = q * (double)(n - 1);
	uint32_t i = (uint32_t)pos;
	double frac = pos - i;

	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] * (1.0 - frac) + sorted[i + 1] * frac;
}

int emu_impair_probe_run(const struct emu_impair_probe *p, struct emu_impair_probe_result *r,
			 struct natlab_err *e)
{
	struct sender s = {.p = p, .fd = -1};
	int rx = -1;
	double *delay = NULL; /* by sequence number, NAN until it arrives */
	double *order = NULL; /* delays in arrival order */
	double *sorted = NULL;
	pthread_t th;
	bool started = false;
	uint32_t frame_bytes;
	uint32_t highest = 0, norder = 0;
	bool any = false;
	uint64_t first_rx = 0, last_rx = 0, bytes_after_first = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	if (p->payload < EMU_PROBE_PAYLOAD_MIN || p->payload > 1400 || p->count == 0)
		return natlab_err_msg(e, EINVAL, "probe: payload must be %u..1400 bytes, count > 0",
				      EMU_PROBE_PAYLOAD_MIN);
	ret = open_sockets(p, &rx, &s.fd, e);
	if (ret < 0)
		goto out;
	frame_bytes = p->payload + 8 + 14 + (strchr(p->dst_addr, ':') ? 40 : 20);
	delay = malloc(p->count * sizeof(*delay));
	order = malloc(p->count * sizeof(*order));
	if (!delay || !order) {
		ret = natlab_err_set(e, ENOMEM, "probe");
		goto out;
	}
	for (uint32_t i = 0; i < p->count; i++)
		delay[i] = NAN;
	s.run = (uint32_t)clock_ns(CLOCK_REALTIME) ^ (uint32_t)getpid();
	ret = warm_up(rx, s.fd, s.run, p->payload, e);
	if (ret < 0)
		goto out;
	/* Warm-up copies still in flight carry WARMUP_SEQ and are ignored. */
	ret = pthread_create(&th, NULL, send_stream, &s);
	if (ret) {
		ret = natlab_err_set(e, ret, "probe: cannot start the sender");
		goto out;
	}
	started = true;
	for (;;) {
		struct pollfd pfd = {rx, POLLIN, 0};
		uint64_t budget_ms =
		    (uint64_t)p->count * 1000u / (p->pps ? p->pps : 100000) + 100u + p->settle_ms;
		uint32_t seq;
		uint64_t rx_ns, tx_ns;
		int got;

		/* The deadline: the stream's planned length plus the settle
		 * time, counted from the first send. */
		if (s.t_first && clock_ns(CLOCK_MONOTONIC) > s.t_first + budget_ms * 1000000ull &&
		    s.sent == p->count)
			break;
		if (r->received == p->count && s.sent == p->count)
			break;
		if (poll(&pfd, 1, 5) <= 0)
			continue;
		while ((got = read_probe(rx, s.run, &seq, &rx_ns, &tx_ns)) >= 0) {
			if (got == 0 || seq >= p->count)
				continue;
			if (!isnan(delay[seq])) {
				r->duplicates++;
				continue;
			}
			delay[seq] = ((double)rx_ns - (double)tx_ns) / 1000.0;
			order[norder++] = delay[seq];
			r->received++;
			if (any && seq < highest)
				r->reordered++;
			if (!any || seq > highest)
				highest = seq;
			if (!any)
				first_rx = rx_ns;
			else
				bytes_after_first += frame_bytes;
			last_rx = rx_ns;
			any = true;
		}
	}
	pthread_join(th, NULL);
	started = false;
	r->sent = s.sent;
	r->loss = 1.0 - (double)r->received / (double)r->sent;
	if (s.t_last > s.t_first && s.sent > 1)
		r->send_pps = (double)(s.sent - 1) * 1e9 / (double)(s.t_last - s.t_first);
	{
		uint32_t run = 0;
		for (uint32_t i = 0; i < p->count; i++) {
			run = isnan(delay[i]) ? run + 1 : 0;
			if (run > r->max_burst_loss)
				r->max_burst_loss = run;
		}
	}
	if (r->received) {
		double sum = 0, sq = 0, dv = 0;
		sorted = malloc(r->received * sizeof(*sorted));
		if (!sorted) {
			ret = natlab_err_set(e, ENOMEM, "probe");
			goto out;
		}
		memcpy(sorted, order, r->received * sizeof(*sorted));
		qsort(sorted, r->received, sizeof(*sorted), cmp_double);
		for (uint32_t i = 0; i < r->received; i++) {
			sum += order[i];
			if (i)
				dv += fabs(order[i] - order[i - 1]);
		}
		r->delay_mean_us = sum / r->received;
		for (uint32_t i = 0; i < r->received; i++)
			sq += (order[i] - r->delay_mean_us) * (order[i] - r->delay_mean_us);
		r->delay_sd_us = r->received > 1 ? sqrt(sq / (r->received - 1)) : 0;
		r->ipdv_us = r->received > 1 ? dv / (r->received - 1) : 0;
		r->delay_min_us = sorted[0];
		r->delay_max_us = sorted[r->received - 1];
		r->delay_p50_us = quantile(sorted, r->received, 0.50);
		r->delay_p99_us = quantile(sorted, r->received, 0.99);
		if (last_rx > first_rx)
			r->rate_bps =
			    (double)bytes_after_first * 8.0 * 1e9 / (double)(last_rx - first_rx);
	}
	ret = 0;
out:
	if (started)
		pthread_join(th, NULL);
	if (rx >= 0)
		close(rx);
	if (s.fd >= 0)
		close(s.fd);
	free(delay);
	free(order);
	free(sorted);
	return ret;
}
