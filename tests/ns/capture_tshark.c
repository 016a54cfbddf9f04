/* capture_tshark.c - captures read back with tshark: a host behind a NAT
 * sends numbered datagrams to a server; the impaired inside link's capture
 * shows them from the host's private address, a listener on the NAT's
 * outside interface shows them from the NAT's public address, both in the
 * order sent. No descriptor or thread is left when the captures stop. */
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
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <netinet/in.h>

#include "emu/capture.h"
#include "emu/impair.h"
#include "emu/impair_fault.h"
#include "emu/impair_probe.h"
#include "emu/link.h"
#include "emu/nft.h"
#include "emu/sandbox.h"

#define N_SENT 50

/* A private directory per run: /tmp is shared with anything else running
 * (PIDs inside the sandbox repeat, so they cannot name files). */
static char tmpdir[] = "/tmp/natlab-capture-XXXXXX";

static const char *tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

static void check(int ret, const struct natlab_err *e)
{
	if (ret < 0)
		fail_msg("%s", e->msg);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

/* The smallest NAT there is: masquerade whatever leaves the router. (The
 * NAT engine proper lives in emu/nat.h; this test needs only a NAT.) */
static void masquerade(struct emu_node *router)
{
	struct natlab_err e = {{0}};
	struct emu_nft_batch *b = emu_nft_batch_new();
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();

	assert_true(b && t && c && r);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "capture_test");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "capture_test");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "post");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 100);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "capture_test");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "post");
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	assert_int_equal(emu_nft_batch_add_table(b, t), 0);
	assert_int_equal(emu_nft_batch_add_chain(b, c), 0);
	assert_int_equal(emu_nft_batch_add_rule(b, r), 0);
	check(emu_nft_batch_commit(b, router, &e), &e);
	nftnl_rule_free(r);
	nftnl_chain_free(c);
	nftnl_table_free(t);
	emu_nft_batch_free(b);
}

/* tshark's view of @path: "src dst payload" per UDP datagram to port 7000. */
static char *tshark(const char *path)
{
	char cmd[512];
	char *out = calloc(1, 65536);
	size_t n;
	FILE *f;

	assert_non_null(out);
	snprintf(cmd, sizeof(cmd),
		 "tshark -r %s -Y 'udp.dstport == 7000' -T fields -e ip.src -e ip.dst -e data.data "
		 "2>/dev/null",
		 path);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, 65535, f);
	out[n] = 0;
	assert_int_equal(pclose(f), 0);
	return out;
}

/* Every line of @text is "@src\t@dst\t<hex of 'seq NNN'>" with NNN = 0, 1,
 * 2, ... in order; returns the number of lines. */
static int in_order(const char *text, const char *src, const char *dst)
{
	int seq = 0;
	char want[128];

	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		char payload[16];
		char hex[40] = "";
		assert_non_null(end);
		snprintf(payload, sizeof(payload), "seq %03d", seq);
		for (size_t i = 0; payload[i]; i++)
			snprintf(hex + 2 * i, 3, "%02x", (unsigned char)payload[i]);
		snprintf(want, sizeof(want), "%s\t%s\t%s", src, dst, hex);
		if ((size_t)(end - line) != strlen(want) || strncmp(line, want, strlen(want)) != 0)
			fail_msg("capture line %d: got \"%.*s\", want \"%s\"", seq,
				 (int)(end - line), line, want);
		seq++;
		line = end + 1;
	}
	return seq;
}

static void captures_show_inside_and_translated_packets_in_order(void **state)
{
	struct natlab_err e = {{0}};
	struct emu_node *host, *nat, *server;
	struct emu_impair *inside;
	struct emu_capture *outside_cap;
	struct emu_capture_stats cs;
	char in_buf[128], out_buf[128];
	const char *in_path = tmp_path(in_buf, sizeof(in_buf), "inside.pcap");
	const char *out_path = tmp_path(out_buf, sizeof(out_buf), "outside.pcap");
	int fds0 = count_fds();
	int rx, tx;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(7000)};

	check(emu_node_new("host", &host, &e), &e);
	check(emu_node_new("nat", &nat, &e), &e);
	check(emu_node_new("server", &server, &e), &e);
	check(emu_impair_new(host, "eth0", nat, "in0", &inside, &e), &e);
	check(emu_link_veth(nat, "out0", server, "eth0", &e), &e);
	check(emu_link_addr_add(nat, "in0", "192.168.1.1/24", &e), &e);
	check(emu_link_addr_add(nat, "out0", "203.0.113.1/24", &e), &e);
	check(emu_link_addr_add(server, "eth0", "203.0.113.2/24", &e), &e);
	check(emu_node_sysctl_set(nat, "net/ipv4/ip_forward", "1", &e), &e);
	/* the host joins its network: address and default route in one call */
	check(emu_fault_roam(NULL, host, "eth0", NULL, "192.168.1.2/24", "192.168.1.1", &e), &e);
	masquerade(nat);
	/* a little delay on the inside link: the capture must not care */
	check(emu_impair_set(inside, EMU_IMPAIR_A_TO_B,
			     &(struct emu_impair_config){.delay_us = 5000, .jitter_us = 2000}, &e),
	      &e);

	check(emu_impair_capture_start(inside, in_path, &e), &e);
	check(emu_capture_start(nat, "out0", out_path, &outside_cap, &e), &e);
	rx = emu_node_socket(server, AF_INET, SOCK_DGRAM, 0, &e);
	tx = emu_node_socket(host, AF_INET, SOCK_DGRAM, 0, &e);
	assert_true(rx >= 0 && tx >= 0);
	inet_pton(AF_INET, "203.0.113.2", &to.sin_addr);
	assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5555)};
	inet_pton(AF_INET, "192.168.1.2", &from.sin_addr);
	assert_int_equal(bind(tx, (struct sockaddr *)&from, sizeof(from)), 0);
	for (int i = 0; i < N_SENT; i++) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "seq %03d", i);
		assert_int_equal(
		    sendto(tx, msg, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)), len);
		usleep(1000);
	}
	int got = 0;
	struct pollfd pfd = {rx, POLLIN, 0};
	char buf[64];
	while (got < N_SENT && poll(&pfd, 1, 2000) > 0 && recv(rx, buf, sizeof(buf), 0) > 0)
		got++;
	assert_int_equal(got, N_SENT);
	close(rx);
	close(tx);

	assert_int_equal(emu_impair_capture_stop(inside), 0);
	assert_int_equal(emu_capture_stop(outside_cap, &cs), 0);
	assert_true(cs.frames >= N_SENT);
	assert_int_equal(cs.kernel_drops, 0);
	emu_impair_free(inside);
	emu_node_free(host);
	emu_node_free(nat);
	emu_node_free(server);
	assert_int_equal(count_fds(), fds0);

	if (access("/usr/bin/tshark", X_OK) != 0) {
		unlink(in_path);
		unlink(out_path);
		skip(); /* tshark (Debian package tshark) is not installed */
	}
	char *inner = tshark(in_path);
	char *outer = tshark(out_path);
	assert_int_equal(in_order(inner, "192.168.1.2", "203.0.113.2"), N_SENT);
	assert_int_equal(in_order(outer, "203.0.113.1", "203.0.113.2"), N_SENT);
	free(inner);
	free(outer);
	unlink(in_path);
	unlink(out_path);
}

/* Capturing must not move the timing it observes beyond the accuracy
 * targets: a 20 ms link measured with both captures running. */
static void capture_keeps_timing_within_targets(void **state)
{
	struct natlab_err e = {{0}};
	struct emu_node *a, *b;
	struct emu_impair *l;
	struct emu_capture *cap;
	struct emu_capture_stats cs;
	struct emu_impair_probe p = {.dst_addr = "10.0.0.2",
				     .port = 9500,
				     .count = 6000,
				     .pps = 2000,
				     .payload = 100,
				     .settle_ms = 300};
	struct emu_impair_probe_result r;
	bool ok = false;

	check(emu_node_new("a", &a, &e), &e);
	check(emu_node_new("b", &b, &e), &e);
	check(emu_impair_new(a, "eth0", b, "eth0", &l, &e), &e);
	check(emu_link_addr_add(a, "eth0", "10.0.0.1/24", &e), &e);
	check(emu_link_addr_add(b, "eth0", "10.0.0.2/24", &e), &e);
	check(emu_impair_set(l, EMU_IMPAIR_A_TO_B, &(struct emu_impair_config){.delay_us = 20000},
			     &e),
	      &e);
	char emu_path[128], listen_path[128];
	tmp_path(emu_path, sizeof(emu_path), "timing-emu.pcap");
	tmp_path(listen_path, sizeof(listen_path), "timing-listen.pcap");
	check(emu_impair_capture_start(l, emu_path, &e), &e);
	check(emu_capture_start(b, "eth0", listen_path, &cap, &e), &e);
	p.src = a;
	p.dst = b;
	/* retried like every timing check: a vCPU stall is not the capture's */
	for (int attempt = 1; attempt <= 3 && !ok; attempt++) {
		check(emu_impair_probe_run(&p, &r, &e), &e);
		print_message("  p50 %.3f p99 %.3f ms, lost %u\n", r.delay_p50_us / 1000,
			      r.delay_p99_us / 1000, r.sent - r.received);
		ok = r.received == r.sent && fabs(r.delay_p50_us - 20000) <= 1000 &&
		     fabs(r.delay_p99_us - 20000) <= 2000;
	}
	assert_true(ok);
	assert_int_equal(emu_capture_stop(cap, &cs), 0);
	assert_true(cs.frames >= p.count);
	assert_int_equal(cs.kernel_drops, 0);
	assert_int_equal(emu_impair_capture_stop(l), 0);
	emu_impair_free(l);
	emu_node_free(a);
	emu_node_free(b);
	unlink(emu_path);
	unlink(listen_path);
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
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			_exit(1);
		}
		const struct CMUnitTest tests[] = {
		    cmocka_unit_test(captures_show_inside_and_translated_packets_in_order),
		    cmocka_unit_test(capture_keeps_timing_within_targets),
		};
		int failed = cmocka_run_group_tests(tests, NULL, NULL);
		/* files of a failed test are removed too */
		char cmd[160];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
		_exit(failed ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
