/* impair_faults.c - run-time faults through real namespaces: link down and
 * up, a one-way blackhole, a host roaming to another address; each takes
 * effect at once and lands in the event log with its time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "emu/impair.h"
#include "emu/impair_fault.h"
#include "emu/impair_probe.h"
#include "emu/link.h"
#include "emu/sandbox.h"

static struct emu_node *A, *B;
static struct emu_impair *LINK;
static struct emu_fault_log *LOG;

static void check(int ret, const struct natlab_err *e)
{
	if (ret < 0)
		fail_msg("%s", e->msg);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int lab_up(void **state)
{
	struct natlab_err e = {{0}};

	check(emu_node_new("a", &A, &e), &e);
	check(emu_node_new("b", &B, &e), &e);
	check(emu_impair_new(A, "eth0", B, "eth0", &LINK, &e), &e);
	check(emu_link_addr_add(A, "eth0", "10.0.0.1/24", &e), &e);
	check(emu_link_addr_add(B, "eth0", "10.0.0.2/24", &e), &e);
	check(emu_link_addr_add(B, "eth0", "10.0.1.2/24", &e), &e);
	check(emu_fault_log_new(&LOG, &e), &e);
	return 0;
}

static int lab_down(void **state)
{
	emu_impair_free(LINK);
	emu_node_free(A);
	emu_node_free(B);
	emu_fault_log_free(LOG);
	return 0;
}

/* Probe from @src to @dst_addr in @dst until one arrives (warm-up, ARP). */
static void reachable(struct emu_node *src, struct emu_node *dst, const char *dst_addr)
{
	struct emu_impair_probe p = {.src = src,
				     .dst = dst,
				     .dst_addr = dst_addr,
				     .port = 9200,
				     .count = 20,
				     .pps = 1000,
				     .payload = 64,
				     .settle_ms = 200};
	struct emu_impair_probe_result r;
	struct natlab_err e = {{0}};

	check(emu_impair_probe_run(&p, &r, &e), &e);
	assert_int_equal(r.received, r.sent);
}

/* Send @n datagrams from @src to @dst_addr:9201 in @dst; count those that
 * arrive within 300 ms of the last send, and return the source address of
 * the last in @from (if non-NULL). */
static int udp_count(struct emu_node *src, struct emu_node *dst, const char *dst_addr, int n,
		     char *from)
{
	struct natlab_err e = {{0}};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9201)};
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	int rx = emu_node_socket(dst, AF_INET, SOCK_DGRAM, 0, &e);
	int tx = emu_node_socket(src, AF_INET, SOCK_DGRAM, 0, &e);
	char buf[64] = "fault";
	int got = 0;
	struct pollfd pfd;

	assert_true(rx >= 0 && tx >= 0);
	inet_pton(AF_INET, dst_addr, &to.sin_addr);
	assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);
	for (int i = 0; i < n; i++)
		sendto(tx, buf, 16, 0, (struct sockaddr *)&to, sizeof(to));
	pfd = (struct pollfd){rx, POLLIN, 0};
	while (poll(&pfd, 1, 300) > 0 &&
	       recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) > 0) {
		got++;
		if (from)
			inet_ntop(AF_INET, &peer.sin_addr, from, INET_ADDRSTRLEN);
	}
	close(rx);
	close(tx);
	return got;
}

/* IFF_LOWER_UP of @ifname in @n, polled until it equals @want or 3 s. */
static bool carrier_becomes(struct emu_node *n, const char *ifname, bool want)
{
	struct natlab_err e = {{0}};
	struct nl_sock *sk = emu_node_rtnl(n, &e);
	uint64_t deadline = mono_ns() + 3000000000ull;

	assert_non_null(sk);
	for (;;) {
		struct rtnl_link *l = NULL;
		bool carrier;
		assert_int_equal(rtnl_link_get_kernel(sk, 0, ifname, &l), 0);
		carrier = (rtnl_link_get_flags(l) & IFF_LOWER_UP) != 0;
		rtnl_link_put(l);
		if (carrier == want)
			return true;
		if (mono_ns() > deadline)
			return false;
		usleep(2000);
	}
}

static void last_event_is(const char *kind, uint64_t before, uint64_t after)
{
	struct emu_fault_event ev;
	size_t n = emu_fault_log_count(LOG);

	assert_true(n > 0);
	assert_int_equal(emu_fault_log_get(LOG, n - 1, &ev), 0);
	assert_string_equal(ev.kind, kind);
	assert_int_equal(ev.result, 0);
	/* stamped when it took effect: inside the call */
	assert_true(ev.mono_ns >= before && ev.mono_ns <= after);
}

static void link_down_cuts_both_ways_and_up_restores(void **state)
{
	struct natlab_err e = {{0}};
	uint64_t t0, t1;

	reachable(A, B, "10.0.0.2");
	t0 = mono_ns();
	check(emu_fault_link_set(LOG, LINK, "a-b", false, &e), &e);
	t1 = mono_ns();
	last_event_is("link-down", t0, t1);
	assert_true(carrier_becomes(A, "eth0", false));
	assert_true(carrier_becomes(B, "eth0", false));
	assert_int_equal(udp_count(A, B, "10.0.0.2", 10, NULL), 0);
	assert_int_equal(udp_count(B, A, "10.0.0.1", 10, NULL), 0);

	t0 = mono_ns();
	check(emu_fault_link_set(LOG, LINK, "a-b", true, &e), &e);
	t1 = mono_ns();
	last_event_is("link-up", t0, t1);
	assert_true(carrier_becomes(A, "eth0", true));
	reachable(A, B, "10.0.0.2");
	reachable(B, A, "10.0.0.1");
}

static void blackhole_drops_one_direction_only(void **state)
{
	struct emu_impair_stats before, after;
	uint64_t t0, t1;

	reachable(A, B, "10.0.0.2");
	reachable(B, A, "10.0.0.1"); /* both neighbour caches warm */
	emu_impair_stats(LINK, EMU_IMPAIR_A_TO_B, &before, NULL);
	t0 = mono_ns();
	assert_int_equal(emu_fault_blackhole(LOG, LINK, "a-b", EMU_IMPAIR_A_TO_B, true), 0);
	t1 = mono_ns();
	last_event_is("blackhole-on", t0, t1);
	assert_int_equal(udp_count(A, B, "10.0.0.2", 50, NULL), 0);
	assert_int_equal(udp_count(B, A, "10.0.0.1", 50, NULL), 50);
	emu_impair_stats(LINK, EMU_IMPAIR_A_TO_B, &after, NULL);
	assert_true(after.drop_fault - before.drop_fault >= 50);
	assert_int_equal(emu_fault_blackhole(LOG, LINK, "a-b", EMU_IMPAIR_A_TO_B, false), 0);
	assert_int_equal(udp_count(A, B, "10.0.0.2", 50, NULL), 50);
}

static void blackhole_also_drops_frames_in_flight(void **state)
{
	struct natlab_err e = {{0}};
	struct emu_impair_config slow = {.delay_us = 200000};

	reachable(A, B, "10.0.0.2");
	check(emu_impair_set(LINK, EMU_IMPAIR_A_TO_B, &slow, &e), &e);
	/* 200 ms on the wire; the blackhole starts 50 ms after sending. */
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9202)};
	int rx = emu_node_socket(B, AF_INET, SOCK_DGRAM, 0, &e);
	int tx = emu_node_socket(A, AF_INET, SOCK_DGRAM, 0, &e);
	char buf[16] = "x";
	struct pollfd pfd = {rx, POLLIN, 0};

	inet_pton(AF_INET, "10.0.0.2", &to.sin_addr);
	assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);
	for (int i = 0; i < 10; i++)
		sendto(tx, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to));
	usleep(50000);
	emu_fault_blackhole(LOG, LINK, "a-b", EMU_IMPAIR_A_TO_B, true);
	assert_int_equal(poll(&pfd, 1, 400), 0);
	emu_fault_blackhole(LOG, LINK, "a-b", EMU_IMPAIR_A_TO_B, false);
	close(rx);
	close(tx);
	check(emu_impair_set(LINK, EMU_IMPAIR_A_TO_B, &(struct emu_impair_config){0}, &e), &e);
}

static void roaming_changes_the_source_address(void **state)
{
	struct natlab_err e = {{0}};
	char from[INET_ADDRSTRLEN] = "";
	uint64_t t0, t1;
	struct emu_fault_event ev;
	int fd;
	struct sockaddr_in old = {.sin_family = AF_INET};

	assert_int_equal(udp_count(A, B, "10.0.0.2", 5, from), 5);
	assert_string_equal(from, "10.0.0.1");
	t0 = mono_ns();
	check(emu_fault_roam(LOG, A, "eth0", "10.0.0.1/24", "10.0.1.1/24", "10.0.1.2", &e), &e);
	t1 = mono_ns();
	last_event_is("roam", t0, t1);
	assert_int_equal(emu_fault_log_get(LOG, emu_fault_log_count(LOG) - 1, &ev), 0);
	assert_non_null(strstr(ev.detail, "10.0.0.1/24 -> 10.0.1.1/24 via 10.0.1.2"));
	/* The old address is gone at once ... */
	fd = emu_node_socket(A, AF_INET, SOCK_DGRAM, 0, &e);
	inet_pton(AF_INET, "10.0.0.1", &old.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&old, sizeof(old)), -1);
	assert_int_equal(errno, EADDRNOTAVAIL);
	close(fd);
	/* ... and the peer now sees the new one, through the default route
	 * (10.0.0.2 is no longer on-link for A). */
	assert_int_equal(udp_count(A, B, "10.0.0.2", 5, from), 5);
	assert_string_equal(from, "10.0.1.1");
	assert_int_equal(udp_count(A, B, "10.0.1.2", 5, from), 5);
	assert_string_equal(from, "10.0.1.1");
}

static void log_is_ordered_and_written_as_json_lines(void **state)
{
	struct emu_fault_event prev, ev;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	size_t n = emu_fault_log_count(LOG);
	size_t lines = 0;

	assert_true(n >= 7); /* the faults of the tests above */
	assert_int_equal(emu_fault_log_get(LOG, 0, &prev), 0);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(emu_fault_log_get(LOG, i, &ev), 0);
		assert_true(ev.mono_ns >= prev.mono_ns);
		prev = ev;
	}
	assert_int_equal(emu_fault_log_get(LOG, n, &ev), -ENOENT);
	assert_int_equal(emu_fault_log_record(LOG, "nat-flush", "nat1", 0, "quote \" and \\ kept"),
			 0);
	assert_int_equal(emu_fault_log_write_jsonl(LOG, f), 0);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, n + 1);
	assert_non_null(strstr(text, "\"kind\":\"link-down\",\"target\":\"a-b\""));
	assert_non_null(strstr(text, "\"detail\":\"quote \\\" and \\\\ kept\",\"result\":0}\n"));
	free(text);
}

static int run(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(link_down_cuts_both_ways_and_up_restores),
	    cmocka_unit_test(blackhole_drops_one_direction_only),
	    cmocka_unit_test(blackhole_also_drops_frames_in_flight),
	    cmocka_unit_test(roaming_changes_the_source_address),
	    cmocka_unit_test(log_is_ordered_and_written_as_json_lines),
	};
	return cmocka_run_group_tests_name("faults", tests, lab_up, lab_down) ? 1 : 0;
}

int main(void)
{
	struct natlab_err e = {{0}};
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (pid == 0) {
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
