/* stun_rps - Binding requests per second and latency of natlab-stun-server
 * against coturn's turnserver, measured in the same run with the same load.
 *
 *   bench_stun_rps [--seconds N] [--rounds R] [--window W] [--sockets K]
 *                  [--server PATH] [--port P (load only a running server)]
 *
 * Each server is started on loopback, pinned to CPU 0 (one core), with
 * equivalent settings: one UDP listener, no TCP/TLS/DTLS, no auth, no CLI;
 * the load generator runs pinned to CPU 1 (when there is one). The
 * generator is closed-loop: K sockets keep W requests in flight in total;
 * every answer is timed (its send time rides in the transaction ID) and
 * replaced by a new request. A socket that hears nothing for 1 s is
 * assumed to have lost its window and is primed again (counted: a server
 * stalled that long by other load on the host also shows up there).
 * Prints requests/s, p50 and p99 latency for both, and the ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define BATCH	    64
#define MAX_ROUNDS  9
#define HIST_US	    200000 /* latency histogram: 1 us buckets up to 200 ms */

struct result {
	double rps;
	double cpu_s;	  /* server CPU time (user + system) during the run */
	double per_cpu_s; /* answers per second of server CPU */
	double p50_us, p99_us;
	unsigned long long answers, lost;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu % n, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* cpu_seconds - user + system time of process @pid (all its threads) */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the ")" that closes the command name: state is field
	 * 3, utime 14, stime 15 */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	unsigned long ut = 0, st = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int free_udp_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		pin(0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void make_request(uint8_t *p, uint32_t seq)
{
	/* Binding request, no attributes; the transaction ID carries the send
	 * time (8 bytes) and a sequence number (4 bytes) */
	uint64_t t = now_ns();
	p[0] = 0x00;
	p[1] = 0x01;
	p[2] = 0;
	p[3] = 0;
	p[4] = 0x21;
	p[5] = 0x12;
	p[6] = 0xa4;
	p[7] = 0x42;
	memcpy(p + 8, &t, 8);
	memcpy(p + 16, &seq, 4);
}

/* wait_ready - send Binding requests until one is answered (deadline 5 s) */
static int wait_ready(const struct sockaddr_in *srv)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = {.tv_usec = 50000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint64_t deadline = now_ns() + 5000000000ull;
	int ret = -ETIMEDOUT;
	while (now_ns() < deadline) {
		uint8_t req[20], buf[1500];
		make_request(req, 0);
		sendto(fd, req, sizeof(req), 0, (const struct sockaddr *)srv, sizeof(*srv));
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n >= 20 && buf[0] == 0x01 && buf[1] == 0x01) {
			ret = 0;
			break;
		}
	}
	close(fd);
	return ret;
}

struct gen {
	int fd[MAX_SOCKETS];
	uint64_t last_rx[MAX_SOCKETS];
	int n_sockets;
	int per_socket;
	uint32_t seq;
	uint32_t *hist;
	unsigned long long answers, lost;
	bool counting;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint8_t bufs[BATCH][1500];
};

static void send_n(struct gen *g, int i, int n)
{
	while (n > 0) {
		int k = n < BATCH ? n : BATCH;
		for (int j = 0; j < k; j++) {
			make_request(g->bufs[j], g->seq++);
			g->iov[j] = (struct iovec){.iov_base = g->bufs[j], .iov_len = 20};
			g->msgs[j].msg_hdr =
			    (struct msghdr){.msg_iov = &g->iov[j], .msg_iovlen = 1};
		}
		int s = sendmmsg(g->fd[i], g->msgs, (unsigned)k, MSG_DONTWAIT);
		if (s <= 0)
			return;
		n -= s;
	}
}

static int run_load(const struct sockaddr_in *srv, pid_t server_pid, double seconds, int window,
		    int n_sockets, struct result *res)
{
	double cpu0 = 0;
	static struct gen gen;
	struct gen *g = &gen;
	memset(g->fd, -1, sizeof(g->fd));
	g->n_sockets = n_sockets;
	g->per_socket = window / n_sockets > 0 ? window / n_sockets : 1;
	g->answers = g->lost = 0;
	g->counting = false;
	if (!g->hist)
		g->hist = calloc(HIST_US + 1, sizeof(uint32_t));
	if (!g->hist)
		return -ENOMEM;
	memset(g->hist, 0, (HIST_US + 1) * sizeof(uint32_t));
	int ep = epoll_create1(0);
	for (int i = 0; i < n_sockets; i++) {
		g->fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		int sz = 1 << 20;
		setsockopt(g->fd[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		connect(g->fd[i], (const struct sockaddr *)srv, sizeof(*srv));
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, g->fd[i], &ev);
	}
	uint64_t start = now_ns();
	uint64_t warm = start + 500000000ull; /* 0.5 s warm-up, not counted */
	uint64_t end = warm + (uint64_t)(seconds * 1e9);
	for (int i = 0; i < n_sockets; i++) {
		send_n(g, i, g->per_socket);
		g->last_rx[i] = start;
	}
	uint64_t t_count = 0;
	uint64_t last_check = start;
	for (;;) {
		uint64_t now = now_ns();
		if (now >= end)
			break;
		if (!g->counting && now >= warm) {
			g->counting = true;
			g->answers = g->lost = 0;
			t_count = now;
			cpu0 = cpu_seconds(server_pid);
		}
		struct epoll_event evs[MAX_SOCKETS];
		int n = epoll_wait(ep, evs, MAX_SOCKETS, 10);
		for (int e = 0; e < n; e++) {
			int i = (int)evs[e].data.u32;
			for (int j = 0; j < BATCH; j++) {
				g->iov[j] = (struct iovec){.iov_base = g->bufs[j], .iov_len = 1500};
				g->msgs[j].msg_hdr =
				    (struct msghdr){.msg_iov = &g->iov[j], .msg_iovlen = 1};
			}
			int r = recvmmsg(g->fd[i], g->msgs, BATCH, MSG_DONTWAIT, NULL);
			if (r <= 0)
				continue;
			uint64_t t = now_ns();
			int ok = 0;
			for (int j = 0; j < r; j++) {
				const uint8_t *p = g->bufs[j];
				if (g->msgs[j].msg_len < 20 || p[0] != 0x01 || p[1] != 0x01)
					continue;
				uint64_t sent;
				memcpy(&sent, p + 8, 8);
				ok++;
				if (g->counting && sent >= t_count) {
					uint64_t us = (t - sent) / 1000u;
					g->hist[us > HIST_US ? HIST_US : us]++;
					g->answers++;
				}
			}
			g->last_rx[i] = t;
			send_n(g, i, ok);
		}
		now = now_ns();
		if (now - last_check > 20000000ull) {
			last_check = now;
			for (int i = 0; i < n_sockets; i++) {
				if (now - g->last_rx[i] > 1000000000ull) {
					if (g->counting)
						g->lost += (unsigned)g->per_socket;
					g->last_rx[i] = now;
					send_n(g, i, g->per_socket);
				}
			}
		}
	}
	double dt = (double)(now_ns() - t_count) / 1e9;
	res->cpu_s = cpu_seconds(server_pid) - cpu0;
	res->per_cpu_s = res->cpu_s > 0 ? (double)g->answers / res->cpu_s : 0;
	res->answers = g->answers;
	res->lost = g->lost;
	res->rps = (double)g->answers / dt;
	unsigned long long acc = 0;
	res->p50_us = res->p99_us = 0;
	bool have50 = false;
	for (int us = 0; us <= HIST_US; us++) {
		acc += g->hist[us];
		if (!have50 && acc * 100 >= g->answers * 50) {
			res->p50_us = us;
			have50 = true;
		}
		if (acc * 100 >= g->answers * 99) {
			res->p99_us = us;
			break;
		}
	}
	for (int i = 0; i < n_sockets; i++)
		close(g->fd[i]);
	close(ep);
	return g->answers ? 0 : -EIO;
}

static int by_rps(const void *a, const void *b)
{
	double x = ((const struct result *)a)->rps;
	double y = ((const struct result *)b)->rps;
	return (x > y) - (x < y);
}

/* median - the round with the median requests/s (its latency with it) */
static struct result median(const struct result *r, int n)
{
	struct result sorted[MAX_ROUNDS];
	memcpy(sorted, r, (size_t)n * sizeof(*r));
	qsort(sorted, (size_t)n, sizeof(*r), by_rps);
	return sorted[n / 2];
}

static int by_eff(const void *a, const void *b)
{
	double x = ((const struct result *)a)->per_cpu_s;
	double y = ((const struct result *)b)->per_cpu_s;
	return (x > y) - (x < y);
}

static struct result median_eff(const struct result *r, int n)
{
	struct result sorted[MAX_ROUNDS];
	memcpy(sorted, r, (size_t)n * sizeof(*r));
	qsort(sorted, (size_t)n, sizeof(*r), by_eff);
	return sorted[n / 2];
}

static void print_result(const char *name, const struct result *r)
{
	printf("%-22s %8.0f req/s  p50 %7.1f us  p99 %7.1f us  server CPU %4.0f%%  %8.0f "
	       "req/CPU-s  (%llu re-sent after 1 s of silence)\n",
	       name, r->rps, r->p50_us, r->p99_us, 100.0 * r->cpu_s / (r->answers / r->rps),
	       r->per_cpu_s, r->lost);
}

int main(int argc, char **argv)
{
	double seconds = 5;
	int window = 256;
	int n_sockets = 16;
	char server[PATH_MAX] = "";
	static const struct option opts[] = {
	    {"seconds", required_argument, NULL, 's'},
	    {"window", required_argument, NULL, 'w'},
	    {"sockets", required_argument, NULL, 'k'},
	    {"server", required_argument, NULL, 'S'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"port", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	int rounds = 3;
	int only_port = 0;
	int c;
	while ((c = getopt_long(argc, argv, "s:w:k:S:r:p:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'k':
			n_sockets = atoi(optarg);
			break;
		case 'p':
			only_port = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'S':
			snprintf(server, sizeof(server), "%s", optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_stun_rps [--seconds N] [--window W] "
					"[--sockets K] [--rounds R] [--server PATH]\n");
			return 2;
		}
	}
	if (n_sockets < 1 || n_sockets > MAX_SOCKETS || window < 1 || seconds <= 0 || rounds < 1 ||
	    rounds > MAX_ROUNDS) {
		fprintf(stderr, "bench_stun_rps: bad arguments\n");
		return 2;
	}
	if (!server[0]) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return 2;
		self[n] = '\0';
		snprintf(server, sizeof(server), "%s/../bin/natlab-stun-server", dirname(self));
	}
	pin(1);
	if (only_port > 0) {
		/* load a server that is already running (for profiling it) */
		struct sockaddr_in t = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)only_port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		struct result r;
		if (wait_ready(&t) != 0 || run_load(&t, 0, seconds, window, n_sockets, &r) != 0)
			return 1;
		print_result("127.0.0.1", &r);
		return 0;
	}
	printf("STUN Binding over UDP on loopback, servers pinned to CPU 0, load on CPU 1; "
	       "%d sockets, %d in flight, %d rounds of %.1f s per server (alternating)\n",
	       n_sockets, window, rounds, seconds);

	/* both servers run for the whole benchmark and are loaded in turn, so
	 * that other load on the host hits both alike */
	int port = free_udp_port();
	char port_s[16];
	snprintf(port_s, sizeof(port_s), "%d", port);
	char *nl_argv[] = {server, "--addr", "127.0.0.1", "--port", port_s, NULL};
	pid_t nl_pid = spawn(nl_argv);
	struct sockaddr_in nl_srv = {.sin_family = AF_INET,
				     .sin_port = htons((uint16_t)port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	/* coturn, same settings: one UDP listener, STUN only, no auth */
	int tport = free_udp_port();
	char tport_s[16];
	snprintf(tport_s, sizeof(tport_s), "%d", tport);
	char pidfile[] = "/tmp/natlab-bench-turnserver.pid.XXXXXX";
	int pfd = mkstemp(pidfile);
	if (pfd >= 0)
		close(pfd);
	char *tc_argv[] = {
	    "turnserver", "-n",	       "--no-cli",     "--no-tls",  "--no-dtls",
	    "--no-tcp",	  "-S",	       "-z",	       "-m",	    "1",
	    "-L",	  "127.0.0.1", "-p",	       tport_s,	    "--no-stdout-log",
	    "--log-file", "/dev/null", "--simple-log", "--pidfile", pidfile,
	    NULL};
	pid_t tc_pid = spawn(tc_argv);
	struct sockaddr_in tc_srv = nl_srv;
	tc_srv.sin_port = htons((uint16_t)tport);

	int ret = 1;
	struct result ours[MAX_ROUNDS], theirs[MAX_ROUNDS];
	if (wait_ready(&nl_srv) != 0) {
		fprintf(stderr, "bench_stun_rps: natlab-stun-server (%s) did not answer\n", server);
		goto out;
	}
	if (wait_ready(&tc_srv) != 0) {
		fprintf(stderr, "bench_stun_rps: coturn turnserver did not answer (installed?)\n");
		goto out;
	}
	for (int r = 0; r < rounds; r++) {
		if (run_load(&nl_srv, nl_pid, seconds, window, n_sockets, &ours[r]) != 0 ||
		    run_load(&tc_srv, tc_pid, seconds, window, n_sockets, &theirs[r]) != 0) {
			fprintf(stderr, "bench_stun_rps: a server stopped answering\n");
			goto out;
		}
		printf("round %d:\n", r + 1);
		print_result("  natlab-stun-server", &ours[r]);
		print_result("  coturn turnserver", &theirs[r]);
	}
	struct result mo = median(ours, rounds);
	struct result mt = median(theirs, rounds);
	printf("median of %d rounds:\n", rounds);
	print_result("  natlab-stun-server", &mo);
	print_result("  coturn turnserver", &mt);
	struct result eo = median_eff(ours, rounds);
	struct result et = median_eff(theirs, rounds);
	printf("ratio natlab/coturn: %.2fx requests/s (target >= 2x), %.2fx requests per "
	       "server CPU-second, p99 latency %.2fx (lower is better)\n",
	       mo.rps / mt.rps, et.per_cpu_s > 0 ? eo.per_cpu_s / et.per_cpu_s : 0.0,
	       mt.p99_us > 0 ? mo.p99_us / mt.p99_us : 0.0);
	ret = 0;
out:
	stop(nl_pid);
	stop(tc_pid);
	unlink(pidfile);
	return ret;
}
