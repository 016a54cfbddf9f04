/* bench_turn_load - natlab-turn-server holding many allocations with
 * traffic on every one of them: no failures, bounded memory.
 *
 *   bench_turn_load [--allocs N] [--seconds S] [--pps P] [--bin DIR]
 *
 * Starts natlab-turn-server on loopback, makes N allocations (default
 * 1000) over UDP with the natlab TURN client library, each with a channel
 * bound to its own peer socket, then for S seconds (default 10) every
 * allocation sends P ChannelData messages per second (default 10) and its
 * peer echoes each one back through the relay (peer -> relayed address ->
 * ChannelData to the client): traffic on all allocations, both ways.
 * Prints allocation time, delivery per direction, the worst allocation's
 * delivery, and the server's RSS (before, with the allocations, at the end,
 * peak VmHWM), fds and CPU. Exits 1 when an allocation fails, when any
 * allocation delivers less than 95% of its traffic either way, or when the
 * server's RSS grows by more than 1 MB while the traffic runs (the
 * allocations exist already: traffic must not cost memory).
 * Baseline: none (this is a load test; bench_turn_relay compares with
 * coturn).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "turn_bench.h"

static void cb_data(void *ctx, const struct sockaddr *peer, const uint8_t *buf, size_t len)
{
	struct alloc *a = ctx;
	(void)peer;
	(void)buf;
	if (len == 100)
		a->back++;
}

static int proc_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* clients on 127.0.2.1, peers on 127.0.0.1: loopback only */
static int udp_socket(bool peer, struct sockaddr_in *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(peer ? INADDR_LOOPBACK : 0x7f000201)};
	socklen_t len = sizeof(a);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	if (bound)
		getsockname(fd, (struct sockaddr *)bound, &len);
	return fd;
}

/* read every readable socket: clients into their TURN client, peers echo
 * back to the relayed address they heard from */
static void pump(struct alloc *as, int n, struct pollfd *pfd, int wait_ms)
{
	uint8_t buf[2048];

	poll(pfd, (nfds_t)(2 * n), wait_ms);
	for (int i = 0; i < n; i++) {
		ssize_t r;
		struct sockaddr_storage from;
		socklen_t fl;

		if (pfd[2 * i].revents & POLLIN)
			while ((r = recv(as[i].fd, buf, sizeof(buf), 0)) > 0)
				turn_client_input(as[i].tc, buf, (size_t)r, now_ms());
		if (pfd[2 * i + 1].revents & POLLIN) {
			for (;;) {
				fl = sizeof(from);
				r = recvfrom(as[i].peer, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &fl);
				if (r <= 0)
					break;
				as[i].at_peer++;
				sendto(as[i].peer, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
			}
		}
		turn_client_tick(as[i].tc, now_ms());
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"allocs", 1, 0, 'n'},
					     {"seconds", 1, 0, 's'},
					     {"pps", 1, 0, 'p'},
					     {"bin", 1, 0, 'b'},
					     {0, 0, 0, 0}};
	int n = 1000, pps = 10, o, rc = 1;
	double seconds = 10;
	char bin[512], exe[512], srvpath[600], listen_on[32], logpath[64];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct turn_client_config cfg = {.user = "bench", .pass = "pw"};
	struct sockaddr_in srv = {.sin_family = AF_INET};
	struct rlimit rl;
	struct alloc *as = NULL;
	struct pollfd *pfd = NULL;
	pid_t pid;
	char *slash;

	exe[el > 0 ? el : 0] = 0;
	if ((slash = strrchr(exe, '/')))
		*slash = 0;
	if ((slash = strrchr(exe, '/')))
		*slash = 0;
	snprintf(bin, sizeof(bin), "%s/bin", exe);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n')
			n = atoi(optarg);
		else if (o == 's')
			seconds = atof(optarg);
		else if (o == 'p')
			pps = atoi(optarg);
		else if (o == 'b')
			snprintf(bin, sizeof(bin), "%s", optarg);
		else
			return 2;
	}
	if (n < 1 || n > 20000 || pps < 1 || pps > 1000 || seconds <= 0) {
		fprintf(stderr,
			"bench_turn_load: --allocs 1..20000, --pps 1..1000, --seconds > 0\n");
		return 2;
	}
	/* two sockets per allocation, and the server holds a relay socket each */
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)(2 * n + 64)) {
		rl.rlim_cur =
		    rl.rlim_max < (rlim_t)(2 * n + 64) ? rl.rlim_max : (rlim_t)(2 * n + 64);
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid());
	int port = 30000 + rand() % 20000;
	snprintf(srvpath, sizeof(srvpath), "%s/natlab-turn-server", bin);
	snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%d", port);
	snprintf(logpath, sizeof(logpath), "/tmp/natlab-turn-load.%d.log", (int)getpid());
	char max[16];
	snprintf(max, sizeof(max), "%d", n + 100);
	/* the security defaults (per-user quota, bandwidth cap, request
	 * rate) would throttle one user making N allocations from one IP */
	char *sargv[] = {srvpath,
			 "--listen",
			 listen_on,
			 "--user",
			 "bench:pw",
			 "--allow-loopback",
			 "--max-allocs",
			 max,
			 "--user-quota",
			 "0",
			 "--bandwidth",
			 "0",
			 "--rate",
			 "0",
			 NULL};
	pid = fork();
	if (pid == 0) {
		if (!freopen(logpath, "w", stdout))
			_exit(126);
		dup2(1, 2);
		execv(sargv[0], sargv);
		_exit(127);
	}
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.sin_port = htons((uint16_t)port);
	usleep(200000);
	long rss_idle = proc_status(pid, "VmRSS:");

	as = calloc((size_t)n, sizeof(*as));
	pfd = calloc((size_t)(2 * n), sizeof(*pfd));
	if (!as || !pfd)
		goto out;
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		struct sockaddr_in pa;
		char msg[128];
		struct turn_client_cb cb = {
		    .ctx = &as[i], .send = cb_send, .result = cb_result, .data = cb_data};

		as[i].fd = udp_socket(false, NULL);
		as[i].peer = udp_socket(true, &pa);
		if (as[i].fd < 0 || as[i].peer < 0) {
			fprintf(stderr, "bench_turn_load: socket %d: %s\n", i, strerror(errno));
			goto out;
		}
		memcpy(&as[i].peer_addr, &pa, sizeof(pa));
		pfd[2 * i] = (struct pollfd){as[i].fd, POLLIN, 0};
		pfd[2 * i + 1] = (struct pollfd){as[i].peer, POLLIN, 0};
		as[i].tc = turn_client_new(&cfg, &cb, (struct sockaddr *)&srv, msg, sizeof(msg));
		if (!as[i].tc) {
			fprintf(stderr, "bench_turn_load: client %d: %s\n", i, msg);
			goto out;
		}
		turn_client_start(as[i].tc, now_ms());
		if (i % 50 == 49)
			pump(as, i + 1, pfd, 1);
	}
	/* every allocation allocated and its channel bound, within 30 s */
	int ok = 0, bound = 0;
	for (double end = now_s() + 30; now_s() < end;) {
		ok = bound = 0;
		for (int i = 0; i < n; i++) {
			enum turn_client_state st = turn_client_state(as[i].tc);
			if (st == TURN_CLIENT_FAILED) {
				fprintf(stderr, "bench_turn_load: allocation %d failed: %d\n", i,
					turn_client_error(as[i].tc));
				goto out;
			}
			if (st != TURN_CLIENT_ALLOCATED)
				continue;
			ok++;
			if (!as[i].relayed.ss_family) {
				turn_client_relayed(as[i].tc, 0, &as[i].relayed);
				turn_client_bind(as[i].tc, (struct sockaddr *)&as[i].peer_addr,
						 now_ms());
			}
			bound += as[i].chan_ok;
		}
		if (bound == n)
			break;
		pump(as, n, pfd, 5);
	}
	double t_setup = now_s() - t0;
	if (bound < n) {
		fprintf(stderr, "bench_turn_load: only %d allocated, %d channels bound of %d\n", ok,
			bound, n);
		goto out;
	}
	long rss_allocs = proc_status(pid, "VmRSS:");
	int fds_allocs = proc_fds(pid);
	double cpu0 = proc_cpu(pid);

	/* traffic: allocation i sends at t0 + (k + i/n) / pps, k = 0, 1, ... */
	uint8_t payload[100];
	memset(payload, 0xab, sizeof(payload));
	double start = now_s(), stop_at = start + seconds;
	uint64_t due_total = 0;
	long rss_max = rss_allocs;
	for (double next_sample = start + 1; now_s() < stop_at;) {
		double t = now_s() - start;
		uint64_t due = (uint64_t)(t * pps * n);
		for (; due_total < due; due_total++) {
			struct alloc *a = &as[due_total % (uint64_t)n];
			if (turn_client_send(a->tc, (struct sockaddr *)&a->peer_addr, payload,
					     sizeof(payload)) == 0)
				a->sent++;
		}
		pump(as, n, pfd, 1);
		if (now_s() >= next_sample) {
			long r = proc_status(pid, "VmRSS:");
			if (r > rss_max)
				rss_max = r;
			next_sample += 1;
		}
	}
	for (double drain = now_s() + 0.5; now_s() < drain;)
		pump(as, n, pfd, 5);
	double cpu = proc_cpu(pid) - cpu0;
	long rss_end = proc_status(pid, "VmRSS:"), hwm = proc_status(pid, "VmHWM:");
	int fds_end = proc_fds(pid);

	uint64_t sent = 0, at_peer = 0, back = 0;
	double worst = 1;
	int worst_i = 0, silent = 0;
	for (int i = 0; i < n; i++) {
		double d;
		sent += as[i].sent;
		at_peer += as[i].at_peer;
		back += as[i].back;
		d = as[i].sent ? (double)as[i].back / (double)as[i].sent : 0;
		if (d < worst) {
			worst = d;
			worst_i = i;
		}
		silent += as[i].back == 0;
	}
	printf(
	    "bench_turn_load: natlab-turn-server, %d allocations over UDP on loopback, a channel "
	    "each, %d msg/s each way per allocation for %.0f s\n",
	    n, pps, seconds);
	printf("allocations + channel binds   %d of %d in %.2f s, 0 failed\n", bound, n, t_setup);
	printf("client -> peer                %llu of %llu delivered (%.3f%%)\n",
	       (unsigned long long)at_peer, (unsigned long long)sent,
	       sent ? 100.0 * (double)at_peer / (double)sent : 0);
	printf("peer -> client (echo)         %llu of %llu delivered (%.3f%%)\n",
	       (unsigned long long)back, (unsigned long long)at_peer,
	       at_peer ? 100.0 * (double)back / (double)at_peer : 0);
	printf("worst allocation              #%d: %.1f%% round trip; allocations with no traffic "
	       "back: %d\n",
	       worst_i, 100 * worst, silent);
	printf("server RSS kB                 idle %ld, with %d allocations %ld (%.0f B each), max "
	       "during traffic %ld, end %ld, peak (VmHWM) %ld\n",
	       rss_idle, n, rss_allocs,
	       rss_allocs > rss_idle ? (double)(rss_allocs - rss_idle) * 1024.0 / n : 0.0, rss_max,
	       rss_end, hwm);
	printf("server fds                    %d with the allocations, %d at the end\n", fds_allocs,
	       fds_end);
	printf("server CPU                    %.2f s for %llu relayed messages (%.2f us each)\n",
	       cpu, (unsigned long long)(at_peer + back),
	       at_peer + back ? 1e6 * cpu / (double)(at_peer + back) : 0);
	if (kill(pid, 0) != 0) {
		fprintf(stderr, "FAIL: the server died (log %s)\n", logpath);
	} else if (worst < 0.95) {
		fprintf(stderr, "FAIL: allocation #%d delivered only %.1f%% of its traffic\n",
			worst_i, 100 * worst);
	} else if (rss_max - rss_allocs > 1024 || rss_end - rss_allocs > 1024) {
		fprintf(stderr, "FAIL: server RSS grew by %ld kB while the traffic ran\n",
			(rss_max > rss_end ? rss_max : rss_end) - rss_allocs);
	} else {
		printf("ok: no failures, memory bounded\n");
		rc = 0;
	}
out:
	if (as) {
		for (int i = 0; i < n; i++) {
			if (as[i].tc)
				turn_client_free(as[i].tc);
			if (as[i].fd > 0)
				close(as[i].fd);
			if (as[i].peer > 0)
				close(as[i].peer);
		}
	}
	free(as);
	free(pfd);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (rc == 0)
		unlink(logpath); /* kept when something failed */
	return rc;
}
