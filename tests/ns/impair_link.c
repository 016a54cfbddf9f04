/* impair_link.c - every impairment of an impaired link, measured with a
 * probe stream through real namespaces and veths, against the accuracy
 * targets of docs/impairments.md: delay +-1 ms at p50 and +-2 ms at p99,
 * loss +-1 percentage point over >= 10 000 probes, rate +-5 %. Ends with a
 * teardown check: no thread, descriptor or interface left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include "emu/impair.h"
#include "emu/impair_probe.h"
#include "emu/link.h"
#include "emu/sandbox.h"

struct lab {
	struct emu_node *a;
	struct emu_node *b;
	struct emu_impair *link;
};

static struct lab L;

static void check(int ret, const struct natlab_err *e)
{
	if (ret < 0)
		fail_msg("%s", e->msg);
}

static int lab_up(void **state)
{
	struct natlab_err e = {{0}};

	check(emu_node_new("a", &L.a, &e), &e);
	check(emu_node_new("b", &L.b, &e), &e);
	check(emu_impair_new(L.a, "eth0", L.b, "eth0", &L.link, &e), &e);
	check(emu_link_addr_add(L.a, "eth0", "10.0.0.1/24", &e), &e);
	check(emu_link_addr_add(L.b, "eth0", "10.0.0.2/24", &e), &e);
	return 0;
}

static int lab_down(void **state)
{
	emu_impair_free(L.link);
	emu_node_free(L.a);
	emu_node_free(L.b);
	memset(&L, 0, sizeof(L));
	return 0;
}

static void set(enum emu_impair_dir d, struct emu_impair_config c)
{
	struct natlab_err e = {{0}};
	check(emu_impair_set(L.link, d, &c, &e), &e);
}

static struct emu_impair_probe_result probe(uint32_t count, uint32_t pps, uint32_t payload)
{
	struct emu_impair_probe p = {.src = L.a,
				     .dst = L.b,
				     .dst_addr = "10.0.0.2",
				     .port = 9000,
				     .count = count,
				     .pps = pps,
				     .payload = payload,
				     .settle_ms = 500};
	struct emu_impair_probe_result r;
	struct natlab_err e = {{0}};

	check(emu_impair_probe_run(&p, &r, &e), &e);
	print_message("  sent %u recv %u dup %u reord %u loss %.2f%% p50 %.3f p99 %.3f sd %.3f "
		      "min %.3f max %.3f ms rate %.3f Mbit/s\n",
		      r.sent, r.received, r.duplicates, r.reordered, r.loss * 100,
		      r.delay_p50_us / 1000, r.delay_p99_us / 1000, r.delay_sd_us / 1000,
		      r.delay_min_us / 1000, r.delay_max_us / 1000, r.rate_bps / 1e6);
	return r;
}

#define assert_near(v, want, tol)                                                                  \
	do {                                                                                       \
		double v_ = (v), w_ = (want), t_ = (tol);                                          \
		if (!(fabs(v_ - w_) <= t_))                                                        \
			fail_msg("%s = %.4f, want %.4f +- %.4f", #v, v_, w_, t_);                  \
	} while (0)

/* Timing checks are retried: on a shared VM the vCPU itself stalls for
 * milliseconds now and then (bench/impair_accuracy measures how often),
 * which no userspace emulator can hide. A real error of the emulator, a
 * wrong delay or a wrong spread, fails every attempt. */
typedef bool (*check_fn)(const struct emu_impair_probe_result *r, char *why, size_t n);

static struct emu_impair_probe_result measure_sized(uint32_t count, uint32_t pps, uint32_t payload,
						    check_fn ok)
{
	char why[256] = "";
	struct emu_impair_probe_result r;

	for (int attempt = 1; attempt <= 3; attempt++) {
		r = probe(count, pps, payload);
		if (ok(&r, why, sizeof(why)))
			return r;
		print_message("  attempt %d missed: %s\n", attempt, why);
	}
	fail_msg("%s", why);
	return r;
}

static struct emu_impair_probe_result measure(uint32_t count, uint32_t pps, check_fn ok)
{
	return measure_sized(count, pps, 100, ok);
}

static bool near(double v, double want, double tol, const char *what, char *why, size_t n)
{
	if (fabs(v - want) <= tol)
		return true;
	snprintf(why, n, "%s = %.3f, want %.3f +- %.3f", what, v, want, tol);
	return false;
}

static bool ok_perfect(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	return near(r->loss, 0, 0, "loss", why, n) &&
	       near(r->reordered, 0, 0, "reordered", why, n) &&
	       near(r->duplicates, 0, 0, "duplicates", why, n) &&
	       near(r->delay_p50_us / 1000, 0, 1, "p50 ms", why, n) &&
	       near(r->delay_p99_us / 1000, 0, 2, "p99 ms", why, n);
}

static void perfect_wire_is_transparent(void **state)
{
	measure(5000, 5000, ok_perfect);
}

static bool ok_delay30(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	return near(r->loss, 0, 0, "loss", why, n) &&
	       near(r->delay_p50_us / 1000, 30, 1, "p50 ms", why, n) &&
	       near(r->delay_p99_us / 1000, 30, 2, "p99 ms", why, n) &&
	       near(r->delay_min_us / 1000, 30, 0.1, "min ms (never early)", why, n);
}

static bool ok_delay30_p50(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	return near(r->loss, 0, 0, "loss", why, n) &&
	       near(r->delay_p50_us / 1000, 30, 1, "p50 ms", why, n);
}

static void fixed_delay_within_1ms_p50_2ms_p99(void **state)
{
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.delay_us = 30000});
	/* p99 at 2 000/s: a vCPU stall of a few ms then delays a few frames,
	 * not 1 %. bench/impair_accuracy reports 10 000/s on the same link. */
	measure(10000, 2000, ok_delay30);
	/* and the median holds at 10 000/s */
	measure(10000, 10000, ok_delay30_p50);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

static bool ok_uniform(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	/* the spread of a flat +-10 ms is 10/sqrt(3) ms */
	return near(r->loss, 0, 0, "loss", why, n) &&
	       near(r->delay_p50_us / 1000, 40, 1, "p50 ms", why, n) &&
	       near(r->delay_sd_us / 1000, 10 / sqrt(3.0), 0.5, "sd ms", why, n) &&
	       near(r->delay_min_us / 1000, 30, 0.1 + 1, "min ms", why, n) &&
	       near(r->delay_p99_us / 1000, 49.8, 2, "p99 ms", why, n) &&
	       near(r->reordered > 1000, 1, 0, "reordered > 1000", why, n);
}

static bool ok_normal(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	return near(r->delay_p50_us / 1000, 40, 1, "p50 ms", why, n) &&
	       near(r->delay_sd_us / 1000, 10, 0.8, "sd ms", why, n);
}

static bool ok_pareto(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	/* same spread, but the median sits below the mean and the right tail
	 * reaches much further than the left */
	return near(r->delay_sd_us / 1000, 10, 1.5, "sd ms", why, n) &&
	       near(r->delay_p50_us < 40000, 1, 0, "p50 below 40 ms", why, n) &&
	       near(r->delay_max_us - 40000 > 2 * (40000 - r->delay_min_us), 1, 0,
		    "right tail > 2x left tail", why, n);
}

static bool ok_no_reorder(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	return near(r->loss, 0, 0, "loss", why, n) &&
	       near(r->reordered, 0, 0, "reordered", why, n) &&
	       near(r->delay_min_us / 1000 >= 29.9, 1, 0, "min >= 30 ms", why, n);
}

static void jitter_uniform_normal_and_no_reorder(void **state)
{
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.delay_us = 40000,
							  .jitter_us = 10000,
							  .dist = EMU_JITTER_UNIFORM,
							  .reorder = true,
							  .seed = 1});
	measure(10000, 2500, ok_uniform);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.delay_us = 40000,
							  .jitter_us = 10000,
							  .dist = EMU_JITTER_NORMAL,
							  .reorder = true,
							  .seed = 2});
	measure(10000, 2500, ok_normal);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.delay_us = 40000,
							  .jitter_us = 10000,
							  .dist = EMU_JITTER_PARETO_NORMAL,
							  .reorder = true,
							  .seed = 3});
	measure(10000, 2500, ok_pareto);
	/* Without reordering, jitter never swaps two frames. */
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.delay_us = 40000,
							  .jitter_us = 10000,
							  .dist = EMU_JITTER_UNIFORM,
							  .reorder = false,
							  .seed = 4});
	measure(5000, 5000, ok_no_reorder);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

static void random_loss_within_1pp(void **state)
{
	struct emu_impair_stats st;

	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.loss = 0.10, .seed = 5});
	struct emu_impair_probe_result r = probe(20000, 10000, 100);
	assert_near(r.loss, 0.10, 0.01);
	emu_impair_stats(L.link, EMU_IMPAIR_A_TO_B, &st, NULL);
	assert_true(st.drop_loss >= (uint64_t)(r.sent - r.received));
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

static void burst_loss_within_1pp_and_bursty(void **state)
{
	/* Gilbert-Elliott p=2 %, r=20 %, all lost in bad: mean loss
	 * p/(p+r) = 9.09 %, bursts of 1/r = 5 on average. */
	set(EMU_IMPAIR_A_TO_B,
	    (struct emu_impair_config){.ge_p = 0.02, .ge_r = 0.20, .ge_loss_bad = 1.0, .seed = 6});
	struct emu_impair_probe_result r = probe(40000, 10000, 100);
	assert_near(r.loss, 0.02 / 0.22, 0.01);
	assert_true(r.max_burst_loss >= 10);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

static void duplication_within_1pp(void **state)
{
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.dup = 0.10, .seed = 7});
	struct emu_impair_probe_result r = probe(20000, 10000, 100);
	assert_int_equal(r.received, r.sent);
	assert_near((double)r.duplicates / r.sent, 0.10, 0.01);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

static bool ok_rate(const struct emu_impair_probe_result *r, char *why, size_t n)
{
	/* The queue holds 30 000 bytes = 48 ms at 5 Mbit/s: delay is bounded
	 * by it, and the offered excess (40 %) is dropped. */
	return near(r->rate_bps / 1e6, 5, 5 * 0.05, "rate Mbit/s", why, n) &&
	       near(r->delay_p99_us / 1000, 48, 2, "p99 ms", why, n) &&
	       near(r->loss, 0.4, 0.05, "loss", why, n);
}

static void rate_limit_within_5pc_and_queue_drops(void **state)
{
	struct emu_impair_stats st;

	/* 1042-byte frames at 1000/s = 8.3 Mbit/s into a 5 Mbit/s link. */
	set(EMU_IMPAIR_A_TO_B,
	    (struct emu_impair_config){.rate_bps = 5000000, .queue_bytes = 30000});
	measure_sized(4000, 1000, 1000, ok_rate);
	emu_impair_stats(L.link, EMU_IMPAIR_A_TO_B, &st, NULL);
	assert_true(st.drop_queue > 1000);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

/* Send @n datagrams of @size bytes from a to b; return how many arrived
 * within 500 ms of the last one being sent. */
static int udp_count(int n, size_t size)
{
	struct natlab_err e = {{0}};
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9001)};
	int rx = emu_node_socket(L.b, AF_INET, SOCK_DGRAM, 0, &e);
	int tx = emu_node_socket(L.a, AF_INET, SOCK_DGRAM, 0, &e);
	char buf[2000] = {0};
	int got = 0;
	struct pollfd pfd;

	assert_true(rx >= 0 && tx >= 0);
	inet_pton(AF_INET, "10.0.0.2", &dst.sin_addr);
	assert_int_equal(bind(rx, (struct sockaddr *)&dst, sizeof(dst)), 0);
	for (int i = 0; i < n; i++)
		assert_true(sendto(tx, buf, size, 0, (struct sockaddr *)&dst, sizeof(dst)) > 0);
	pfd = (struct pollfd){rx, POLLIN, 0};
	while (poll(&pfd, 1, 500) > 0 && recv(rx, buf, sizeof(buf), 0) > 0)
		got++;
	close(rx);
	close(tx);
	return got;
}

static void mtu_drops_only_larger_packets(void **state)
{
	struct emu_impair_stats before, after;

	/* Resolve ARP first with small packets, on the unimpaired link. */
	probe(10, 100, 100);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.mtu = 1000});
	emu_impair_stats(L.link, EMU_IMPAIR_A_TO_B, &before, NULL);
	assert_int_equal(udp_count(20, 1000 - 28), 20); /* IP packet of exactly 1000 */
	assert_int_equal(udp_count(20, 1001 - 28), 0);
	emu_impair_stats(L.link, EMU_IMPAIR_A_TO_B, &after, NULL);
	assert_int_equal(after.drop_mtu - before.drop_mtu, 20);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

/* TCP from a local socket crosses veth as GSO super-frames with partial
 * checksums: the virtio-net header must carry both through the emulator,
 * or the far end would drop every segment. 4 MB through a 2 ms link. */
static void tcp_bulk_transfer_arrives_whole(void **state)
{
	struct natlab_err e = {{0}};
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(9300)};
	int ls = emu_node_socket(L.b, AF_INET, SOCK_STREAM, 0, &e);
	int cs = emu_node_socket(L.a, AF_INET, SOCK_STREAM, 0, &e);
	static char chunk[65536];
	size_t total = 4u << 20, sent = 0, got = 0;
	int as;

	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.delay_us = 2000});
	assert_true(ls >= 0 && cs >= 0);
	inet_pton(AF_INET, "10.0.0.2", &addr.sin_addr);
	assert_int_equal(bind(ls, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(connect(cs, (struct sockaddr *)&addr, sizeof(addr)), 0);
	as = accept(ls, NULL, NULL);
	assert_true(as >= 0);
	memset(chunk, 0x5a, sizeof(chunk));
	while (got < total) {
		struct pollfd pfd[2] = {{cs, sent < total ? POLLOUT : 0, 0}, {as, POLLIN, 0}};
		assert_true(poll(pfd, 2, 5000) > 0);
		if (pfd[0].revents & POLLOUT) {
			size_t want = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);
			ssize_t n = send(cs, chunk, want, MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
		}
		if (pfd[1].revents & POLLIN) {
			char rb[65536];
			ssize_t n = recv(as, rb, sizeof(rb), MSG_DONTWAIT);
			assert_true(n > 0);
			for (ssize_t i = 0; i < n; i++)
				assert_true(rb[i] == 0x5a);
			got += (size_t)n;
		}
	}
	assert_int_equal(got, total);
	close(as);
	close(cs);
	close(ls);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
}

/* IPv6 with neighbour discovery across the wire, delayed both ways. */
static void ipv6_crosses_with_delay(void **state)
{
	struct natlab_err e = {{0}};
	struct emu_impair_probe p = {.src = L.a,
				     .dst = L.b,
				     .dst_addr = "fd00:4e4c::2",
				     .port = 9400,
				     .count = 2000,
				     .pps = 2000,
				     .payload = 100,
				     .settle_ms = 300};
	struct emu_impair_probe_result r;

	check(emu_link_addr_add(L.a, "eth0", "fd00:4e4c::1/64", &e), &e);
	check(emu_link_addr_add(L.b, "eth0", "fd00:4e4c::2/64", &e), &e);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){.delay_us = 10000});
	set(EMU_IMPAIR_B_TO_A, (struct emu_impair_config){.delay_us = 10000});
	check(emu_impair_probe_run(&p, &r, &e), &e);
	assert_int_equal(r.received, r.sent);
	assert_true(fabs(r.delay_p50_us - 10000) < 1000);
	set(EMU_IMPAIR_A_TO_B, (struct emu_impair_config){0});
	set(EMU_IMPAIR_B_TO_A, (struct emu_impair_config){0});
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own descriptor, for /proc/self/fd */
}

static void teardown_leaves_nothing_behind(void **state)
{
	struct natlab_err e = {{0}};
	struct emu_node *a, *b;
	struct emu_impair *l;
	int fds, threads;
	char dir[] = "/tmp/natlab-impair-XXXXXX";
	char path[64];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/teardown.pcap", dir);

	check(emu_node_new("ta", &a, &e), &e);
	check(emu_node_new("tb", &b, &e), &e);
	fds = count_dir("/proc/self/fd");
	threads = count_dir("/proc/self/task") + 1;
	for (int round = 0; round < 3; round++) {
		check(emu_impair_new(a, "x0", b, "y0", &l, &e), &e);
		assert_true(count_dir("/proc/self/task") + 1 == threads + 1);
		check(emu_impair_capture_start(l, path, &e), &e);
		emu_impair_free(l);
		assert_int_equal(count_dir("/proc/self/fd"), fds);
		assert_int_equal(count_dir("/proc/self/task") + 1, threads);
		/* The wire namespace dies asynchronously; its veths go with it. */
		int saved;
		check(emu_node_enter(a, &saved, &e), &e);
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			if (if_nametoindex("x0") == 0)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 5)
				break;
			usleep(1000);
		}
		bool gone = if_nametoindex("x0") == 0;
		emu_node_leave(saved);
		assert_true(gone);
	}
	unlink(path);
	rmdir(dir);
	emu_node_free(a);
	emu_node_free(b);
}

static int run(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(perfect_wire_is_transparent),
	    cmocka_unit_test(fixed_delay_within_1ms_p50_2ms_p99),
	    cmocka_unit_test(jitter_uniform_normal_and_no_reorder),
	    cmocka_unit_test(random_loss_within_1pp),
	    cmocka_unit_test(burst_loss_within_1pp_and_bursty),
	    cmocka_unit_test(duplication_within_1pp),
	    cmocka_unit_test(rate_limit_within_5pc_and_queue_drops),
	    cmocka_unit_test(mtu_drops_only_larger_packets),
	    cmocka_unit_test(tcp_bulk_transfer_arrives_whole),
	    cmocka_unit_test(ipv6_crosses_with_delay),
	};
	const struct CMUnitTest teardown[] = {
	    cmocka_unit_test(teardown_leaves_nothing_behind),
	};
	int failed = cmocka_run_group_tests_name("impaired link", tests, lab_up, lab_down);
	failed += cmocka_run_group_tests_name("teardown", teardown, NULL, NULL);
	return failed ? 1 : 0;
}

int main(void)
{
	struct natlab_err e = {{0}};
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* The sandbox's supervisor exits with the lab's status. */
		if (emu_sandbox_enter(NULL, &e) < 0) {
			fprintf(stderr, "skipped: %s\n", e.msg);
			_exit(77);
		}
		_exit(run());
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
