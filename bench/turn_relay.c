/* bench_turn_relay - ChannelData relay throughput, added latency, CPU and
 * memory per allocation of natlab-turn-server, measured side by side with
 * coturn's turnserver in the same run, with the same clients (the natlab
 * TURN client library) and the same settings, all on loopback.
 *
 *   bench_turn_relay [--allocs N] [--seconds S] [--mem-allocs N] [--bin DIR]
 *
 * For each server: N allocations over UDP, each with a channel bound to its
 * own peer socket; then for 100 and 1200 byte payloads the bench sends
 * ChannelData round-robin over the allocations as fast as it can for S
 * seconds and counts what reaches the peers (packets per second, loss, the
 * server's CPU seconds from /proc). Latency: one allocation, ping-pong
 * through the relay (client -> peer -> back through the relay), minus the
 * direct loopback round trip. Memory: the server's RSS growth over
 * --mem-allocs allocations, divided by their number.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "turn_bench.h"

struct server {
	const char *name;
	pid_t pid;
	struct sockaddr_in addr;
};

/* Each phase binds its clients to a fresh loopback address (127.0.1.N), so
 * no 5-tuple of an earlier phase is reused while a server may still hold
 * its allocation (coturn answers a reused 5-tuple with 437). */
static uint32_t client_ip = 0x7f000101;

static int udp_socket(struct sockaddr_in *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(bound ? INADDR_LOOPBACK : client_ip)};
	socklen_t len = sizeof(a);
	int sz = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (bound)
		getsockname(fd, (struct sockaddr *)bound, &len);
	return fd;
}

/* pump every client once: read its socket, tick it */
static void pump(struct alloc *as, int n, int wait_ms)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	uint8_t buf[2048];
	for (int i = 0; i < n; i++) {
		p[i].fd = as[i].fd;
		p[i].events = POLLIN;
	}
	poll(p, (nfds_t)n, wait_ms);
	for (int i = 0; i < n; i++) {
		if (p[i].revents & POLLIN) {
			ssize_t r;
			while ((r = recv(as[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				turn_client_input(as[i].tc, buf, (size_t)r, now_ms());
		}
		turn_client_tick(as[i].tc, now_ms());
	}
	free(p);
}

static int setup_allocs(struct server *s, struct alloc *as, int n, bool channels)
{
	client_ip++;
	struct turn_client_config cfg = {.user = "bench", .pass = "pw"};
	char msg[128];
	for (int i = 0; i < n; i++) {
		struct sockaddr_in pa;
		as[i].fd = udp_socket(NULL);
		as[i].peer = udp_socket(&pa);
		memcpy(&as[i].peer_addr, &pa, sizeof(pa));
		struct turn_client_cb cb = {.ctx = &as[i], .send = cb_send, .result = cb_result};
		as[i].tc =
		    turn_client_new(&cfg, &cb, (struct sockaddr *)&s->addr, msg, sizeof(msg));
		turn_client_start(as[i].tc, now_ms());
		if (i % 50 == 49)
			pump(as, i + 1, 1);
	}
	double end = now_s() + 20;
	int ok = 0;
	while (now_s() < end) {
		ok = 0;
		for (int i = 0; i < n; i++) {
			enum turn_client_state st = turn_client_state(as[i].tc);
			if (st == TURN_CLIENT_FAILED) {
				fprintf(stderr, "%s: allocation %d failed: %d\n", s->name, i,
					turn_client_error(as[i].tc));
				return -1;
			}
			if (st == TURN_CLIENT_ALLOCATED) {
				ok++;
				if (channels && !as[i].relayed.ss_family) {
					turn_client_relayed(as[i].tc, 0, &as[i].relayed);
					turn_client_bind(as[i].tc,
							 (struct sockaddr *)&as[i].peer_addr,
							 now_ms());
				}
			}
		}
		if (ok == n)
			break;
		pump(as, n, 5);
	}
	if (ok < n)
		return -1;
	/* let the channel binds finish */
	for (int k = 0; k < 400 && channels; k++) {
		int bound = 0;
		for (int i = 0; i < n; i++)
			bound += as[i].chan_ok;
		if (bound == n)
			return 0;
		pump(as, n, 5);
	}
	return channels ? -1 : 0;
}

static void free_allocs(struct alloc *as, int n)
{
	for (int i = 0; i < n; i++) {
		if (as[i].tc) {
			turn_client_close(as[i].tc, now_ms());
			turn_client_free(as[i].tc);
		}
		close(as[i].fd);
		close(as[i].peer);
	}
	memset(as, 0, sizeof(*as) * (size_t)n);
}

struct tput {
	double pps, loss, cpu_s;
};

static struct tput throughput(struct server *s, struct alloc *as, int n, int size, double seconds)
{
	uint8_t payload[1500] = {0}, buf[2048];
	uint64_t sent = 0, recvd = 0;
	struct tput t = {0};
	double cpu0 = proc_cpu(s->pid), t0 = now_s(), end = t0 + seconds;

	while (now_s() < end) {
		for (int i = 0; i < n; i++) {
			for (int k = 0; k < 8; k++) {
				if (turn_client_send(as[i].tc, (struct sockaddr *)&as[i].peer_addr,
						     payload, (size_t)size) == 0)
					sent++;
			}
		}
		for (int i = 0; i < n; i++) {
			while (recv(as[i].peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				recvd++;
		}
	}
	/* drain what is still in flight */
	double drain = now_s() + 0.3;
	while (now_s() < drain) {
		for (int i = 0; i < n; i++)
			while (recv(as[i].peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				recvd++;
		usleep(1000);
	}
	double el = now_s() - t0;
	t.pps = (double)recvd / (el - 0.3 > 0 ? el - 0.3 : el);
	t.loss = sent ? 100.0 * (double)(sent - recvd) / (double)sent : 0;
	t.cpu_s = proc_cpu(s->pid) - cpu0;
	return t;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ping-pong RTT (ms, median) through the relay of as[0] */
static double relay_rtt(struct alloc *a, int rounds)
{
	uint8_t ping[100] = {1}, buf[2048];
	double *r = calloc((size_t)rounds, sizeof(double));
	int got = 0;
	for (int i = 0; i < rounds; i++) {
		double t0 = now_s();
		turn_client_send(a->tc, (struct sockaddr *)&a->peer_addr, ping, sizeof(ping));
		struct pollfd p = {.fd = a->peer, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = recv(a->peer, buf, sizeof(buf), 0);
		sendto(a->peer, buf, (size_t)n, 0, (struct sockaddr *)&a->relayed,
		       sizeof(struct sockaddr_in));
		p.fd = a->fd;
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(a->fd, buf, sizeof(buf), 0);
		if (n > 0)
			r[got++] = (now_s() - t0) * 1000.0;
	}
	qsort(r, (size_t)got, sizeof(double), cmp_d);
	double med = got ? r[got / 2] : -1;
	free(r);
	return med;
}

static double direct_rtt(int rounds)
{
	struct sockaddr_in a, b;
	int x = udp_socket(&a), y = udp_socket(&b);
	uint8_t buf[2048] = {0};
	double *r = calloc((size_t)rounds, sizeof(double));
	for (int i = 0; i < rounds; i++) {
		double t0 = now_s();
		sendto(x, buf, 100, 0, (struct sockaddr *)&b, sizeof(b));
		recv(y, buf, sizeof(buf), 0);
		sendto(y, buf, 100, 0, (struct sockaddr *)&a, sizeof(a));
		recv(x, buf, sizeof(buf), 0);
		r[i] = (now_s() - t0) * 1000.0;
	}
	qsort(r, (size_t)rounds, sizeof(double), cmp_d);
	double med = r[rounds / 2];
	free(r);
	close(x);
	close(y);
	return med;
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stdout);
		(void)f;
		dup2(1, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* wait until the server answers an Allocate: one throw-away client */
static int wait_ready(struct server *s)
{
	struct alloc a[1];
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 100; i++) {
		if (setup_allocs(s, a, 1, false) == 0) {
			free_allocs(a, 1);
			return 0;
		}
		free_allocs(a, 1);
		usleep(100000);
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"allocs", 1, 0, 'n'},
					     {"seconds", 1, 0, 's'},
					     {"mem-allocs", 1, 0, 'm'},
					     {"bin", 1, 0, 'b'},
					     {0, 0, 0, 0}};
	int n = 100, mem_n = 1000, o;
	double seconds = 3;
	char bin[512], exe[512];
	/* build/bench/bench_turn_relay -> build/bin */
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[el > 0 ? el : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(bin, sizeof(bin), "%s/bin", exe);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n')
			n = atoi(optarg);
		else if (o == 's')
			seconds = atof(optarg);
		else if (o == 'm')
			mem_n = atoi(optarg);
		else if (o == 'b')
			snprintf(bin, sizeof(bin), "%s", optarg);
		else
			return 2;
	}
	if (access("/usr/bin/turnserver", X_OK) != 0) {
		fprintf(stderr,
			"bench_turn_relay: coturn's turnserver is needed for the baseline\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid());
	int base = 20000 + (rand() % 900) * 10;
	char natlab[600], nport[32], cport[32], minp[32], maxp[32], tdir[64], db[96], pidf[96];
	snprintf(natlab, sizeof(natlab), "%s/natlab-turn-server", bin);
	snprintf(nport, sizeof(nport), "127.0.0.1:%d", base);
	snprintf(cport, sizeof(cport), "--listening-port=%d", base + 1);
	snprintf(minp, sizeof(minp), "--min-port=%d", base + 1000);
	snprintf(maxp, sizeof(maxp), "--max-port=%d", base + 9000);
	snprintf(tdir, sizeof(tdir), "/tmp/natlab-bench-turn.XXXXXX");
	if (!mkdtemp(tdir))
		return 1;
	snprintf(db, sizeof(db), "--userdb=%s/turndb", tdir);
	snprintf(pidf, sizeof(pidf), "--pidfile=%s/coturn.pid", tdir);
	char nlog[128], clog[128];
	snprintf(nlog, sizeof(nlog), "%s/natlab.log", tdir);
	snprintf(clog, sizeof(clog), "%s/coturn.log", tdir);

	/* no per-user quota, bandwidth cap or request rate: coturn runs
	 * without them too, and they would throttle the load */
	char *nargv[] = {natlab,
			 "--listen",
			 nport,
			 "--user",
			 "bench:pw",
			 "--allow-loopback",
			 "--max-allocs",
			 "5000",
			 "--user-quota",
			 "0",
			 "--bandwidth",
			 "0",
			 "--rate",
			 "0",
			 NULL};
	char *cargv[] = {"turnserver",
			 "-n",
			 "--listening-ip=127.0.0.1",
			 cport,
			 "--relay-ip=127.0.0.1",
			 minp,
			 maxp,
			 "--lt-cred-mech",
			 "--user=bench:pw",
			 "--realm=natlab",
			 "--allow-loopback-peers",
			 "--no-cli",
			 "--no-tls",
			 "--no-dtls",
			 db,
			 pidf,
			 "--log-file=stdout",
			 "--simple-log",
			 "--no-stdout-log",
			 NULL};
	struct server srv[2] = {{.name = "natlab-turn-server"}, {.name = "coturn turnserver"}};
	srv[0].pid = spawn(nargv, nlog);
	srv[1].pid = spawn(cargv, clog);
	for (int i = 0; i < 2; i++) {
		srv[i].addr.sin_family = AF_INET;
		srv[i].addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		srv[i].addr.sin_port = htons((uint16_t)(base + i));
	}
	int rc = 1;
	struct tput tp[2][2];
	double rtt[2], mem[2];
	double direct = direct_rtt(2000);
	struct alloc *as = calloc((size_t)(n > mem_n ? n : mem_n), sizeof(*as));
	for (int i = 0; i < 2; i++) {
		if (wait_ready(&srv[i]) != 0) {
			fprintf(stderr, "%s did not come up\n", srv[i].name);
			goto out;
		}
		if (setup_allocs(&srv[i], as, n, true) != 0)
			goto out;
		tp[i][0] = throughput(&srv[i], as, n, 100, seconds);
		tp[i][1] = throughput(&srv[i], as, n, 1200, seconds);
		rtt[i] = relay_rtt(&as[0], 2000);
		free_allocs(as, n);
		usleep(300000);
		long rss0 = proc_status(srv[i].pid, "VmRSS:");
		if (setup_allocs(&srv[i], as, mem_n, false) != 0)
			goto out;
		long rss1 = proc_status(srv[i].pid, "VmRSS:");
		mem[i] = (double)(rss1 - rss0) * 1024.0 / mem_n;
		free_allocs(as, mem_n);
	}
	printf("bench_turn_relay: %d allocations, %.1f s per run, loopback, same clients for both "
	       "servers\n",
	       n, seconds);
	printf("%-24s %14s %14s %10s\n", "", "natlab", "coturn", "ratio");
	for (int k = 0; k < 2; k++) {
		int size = k ? 1200 : 100;
		printf("ChannelData %4d B  pps  %14.0f %14.0f %10.2f\n", size, tp[0][k].pps,
		       tp[1][k].pps, tp[0][k].pps / tp[1][k].pps);
		printf("              loss %%     %14.2f %14.2f\n", tp[0][k].loss, tp[1][k].loss);
		printf("    CPU us/packet        %14.2f %14.2f %10.2f\n",
		       1e6 * tp[0][k].cpu_s / (tp[0][k].pps * seconds),
		       1e6 * tp[1][k].cpu_s / (tp[1][k].pps * seconds),
		       (tp[0][k].cpu_s / tp[0][k].pps) / (tp[1][k].cpu_s / tp[1][k].pps));
	}
	printf("added latency ms (median RTT via relay - direct %.3f)  %8.3f %14.3f %10.2f\n",
	       direct, rtt[0] - direct, rtt[1] - direct, (rtt[0] - direct) / (rtt[1] - direct));
	printf("memory per allocation (RSS, %d allocs) bytes  %8.0f %14.0f %10.2f\n", mem_n, mem[0],
	       mem[1], mem[0] / mem[1]);
	rc = 0;
out:
	stop(srv[0].pid);
	stop(srv[1].pid);
	free(as);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
