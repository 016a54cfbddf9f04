/* emu_topology.c - labs through the C API: IPv6 routing through a router,
 * a LAN of two hosts on a bridge, MTU, link down/up at run time, processes
 * killed with their process group at teardown, and errors that name the
 * object. Each case runs in its own sandbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>

#include "nat_topo.h"

#define OK(call) CHECK((call) == 0, "%s: %s", #call, e.msg)

static bool udp6_roundtrip(int from, int to, const char *addr, uint16_t port)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct pollfd p = {.fd = to, .events = POLLIN};
	char buf[16];

	inet_pton(AF_INET6, addr, &sa.sin6_addr);
	if (sendto(from, "v6", 2, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return false;
	return poll(&p, 1, 2000) == 1 && recv(to, buf, sizeof(buf), 0) == 2;
}

/* h1 (fd00:1::2) - r - h2 (fd00:2::2), default6 routes via r. */
static int ipv6_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *h1, *r, *h2;
	int rc = 0, a, b;

	OK(emu_lab_new(&lab, &e));
	OK(emu_lab_node_add(lab, "h1", &h1, &e));
	OK(emu_lab_node_add(lab, "r", &r, &e));
	OK(emu_lab_node_add(lab, "h2", &h2, &e));
	OK(emu_link_veth(h1, "eth0", r, "e1", &e));
	OK(emu_link_veth(h2, "eth0", r, "e2", &e));
	OK(emu_link_addr_add(h1, "eth0", "fd00:1::2/64", &e));
	OK(emu_link_addr_add(r, "e1", "fd00:1::1/64", &e));
	OK(emu_link_addr_add(r, "e2", "fd00:2::1/64", &e));
	OK(emu_link_addr_add(h2, "eth0", "fd00:2::2/64", &e));
	OK(emu_route_add(h1, "default6", "fd00:1::1", NULL, &e));
	OK(emu_route_add(h2, "::/0", "fd00:2::1", "eth0", &e));
	a = udp6_open(h1, "fd00:1::2", 5000);
	b = udp6_open(h2, "fd00:2::2", 5000);
	CHECK(a >= 0 && b >= 0, "sockets");
	CHECK(!udp6_roundtrip(a, b, "fd00:2::2", 5000),
	      "forwarding is off, yet the packet crossed the router");
	OK(emu_route_forwarding(r, true, &e));
	CHECK(udp6_roundtrip(a, b, "fd00:2::2", 5000), "IPv6 packet lost through the router");
out:
	emu_lab_free(lab);
	return rc;
}

/* Two hosts on the bridge of a switch node, and the router behind it. */
static int lan_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *a, *b, *sw, *r;
	struct sockaddr_in f;
	char m[32];
	int rc = 0, sa, sb, sr;

	OK(emu_lab_new(&lab, &e));
	OK(emu_lab_node_add(lab, "a", &a, &e));
	OK(emu_lab_node_add(lab, "b", &b, &e));
	OK(emu_lab_node_add(lab, "sw", &sw, &e));
	OK(emu_lab_node_add(lab, "r", &r, &e));
	OK(emu_link_bridge_add(sw, "br0", &e));
	OK(emu_link_veth(a, "eth0", sw, "pa", &e));
	OK(emu_link_veth(b, "eth0", sw, "pb", &e));
	OK(emu_link_veth(r, "lan", sw, "pr", &e));
	OK(emu_link_bridge_attach(sw, "br0", "pa", &e));
	OK(emu_link_bridge_attach(sw, "br0", "pb", &e));
	OK(emu_link_bridge_attach(sw, "br0", "pr", &e));
	OK(emu_link_addr_add(a, "eth0", "10.9.0.2/24", &e));
	OK(emu_link_addr_add(b, "eth0", "10.9.0.3/24", &e));
	OK(emu_link_addr_add(r, "lan", "10.9.0.1/24", &e));
	sa = udp_open(a, "10.9.0.2", 6000);
	sb = udp_open(b, "10.9.0.3", 6000);
	sr = udp_open(r, "10.9.0.1", 6000);
	CHECK(sa >= 0 && sb >= 0 && sr >= 0, "sockets");
	udp_send(sa, "10.9.0.3", 6000, "to-b");
	CHECK(udp_recv(sb, 2000, m, sizeof(m), &f) && strcmp(m, "to-b") == 0,
	      "a -> b lost on the LAN");
	udp_send(sb, "10.9.0.1", 6000, "to-r");
	CHECK(udp_recv(sr, 2000, m, sizeof(m), &f) && f.sin_addr.s_addr == inet_addr("10.9.0.3"),
	      "b -> router lost");
	CHECK(emu_link_bridge_attach(sw, "br9", "pa", &e) < 0 &&
		  strstr(e.msg, "node sw: no bridge br9"),
	      "attaching to a missing bridge: \"%s\"", e.msg);
out:
	emu_lab_free(lab);
	return rc;
}

/* MTU and link state, changed at run time. */
static int link_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *a, *b;
	struct sockaddr_in f;
	static char big[1400];
	char m[1500];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(7000)};
	int rc = 0, sa, sb, got;
	long long deadline;

	OK(emu_lab_new(&lab, &e));
	OK(emu_lab_node_add(lab, "a", &a, &e));
	OK(emu_lab_node_add(lab, "b", &b, &e));
	OK(emu_link_veth(a, "eth0", b, "eth0", &e));
	OK(emu_link_addr_add(a, "eth0", "10.8.0.1/24", &e));
	OK(emu_link_addr_add(b, "eth0", "10.8.0.2/24", &e));
	sa = udp_open(a, "10.8.0.1", 7000);
	sb = udp_open(b, "10.8.0.2", 7000);
	CHECK(sa >= 0 && sb >= 0, "sockets");
	setsockopt(sa, IPPROTO_IP, IP_MTU_DISCOVER, &(int){IP_PMTUDISC_DO}, sizeof(int));
	inet_pton(AF_INET, "10.8.0.2", &to.sin_addr);
	memset(big, 'x', sizeof(big));
	CHECK(sendto(sa, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(big),
	      "1400 bytes at MTU 1500: %s", strerror(errno));
	CHECK(udp_recv(sb, 2000, m, sizeof(m), &f), "1400-byte datagram lost");
	OK(emu_link_set_mtu(a, "eth0", 1280, &e));
	CHECK(sendto(sa, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
		  errno == EMSGSIZE,
	      "1400 bytes with DF at MTU 1280 must fail with EMSGSIZE");
	CHECK(emu_link_set_mtu(a, "eth0", 20, &e) == -EINVAL && strstr(e.msg, "MTU 20 of eth0"),
	      "bad MTU: %s", e.msg);
	/* down: the packet cannot leave; up again: it flows (polled). */
	OK(emu_link_set_up(b, "eth0", false, &e));
	udp_send(sa, "10.8.0.2", 7000, "while-down");
	OK(emu_link_set_up(b, "eth0", true, &e));
	deadline = topo_now_ms() + 3000;
	got = 0;
	while (!got && topo_now_ms() < deadline) {
		udp_send(sa, "10.8.0.2", 7000, "after-up");
		got = udp_recv(sb, 100, m, sizeof(m), &f) && strcmp(m, "after-up") == 0;
	}
	CHECK(got, "no packet after the link came back up");
out:
	emu_lab_free(lab);
	return rc;
}

/* Processes spawned through the lab die with it, their children too. */
static int spawn_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *n;
	char *argv[] = {"sh", "-c", "sleep 300 & sleep 300", NULL};
	char *bad[] = {"/nonexistent/natlab-test", NULL};
	pid_t pid, pid2, pid3;
	int rc = 0, status;
	long long deadline;

	OK(emu_lab_new(&lab, &e));
	OK(emu_lab_node_add(lab, "n", &n, &e));
	CHECK(emu_lab_node_add(lab, "n", NULL, &e) == -EEXIST && strstr(e.msg, "node n"),
	      "duplicate: %s", e.msg);
	CHECK(emu_lab_node_find(lab, "n") == n && emu_lab_node_find(lab, "x") == NULL, "node_find");
	OK(emu_lab_spawn(lab, n, argv, NULL, &pid, &e));
	OK(emu_lab_spawn(lab, n, argv, NULL, &pid2, &e));
	CHECK(emu_lab_wait(lab, pid, &status, 50, &e) == -ETIMEDOUT, "sh exited early");
	CHECK(emu_lab_kill(lab, pid2, &status, &e) == 0 && WIFSIGNALED(status), "kill");
	CHECK(emu_lab_spawn(lab, n, bad, NULL, &pid3, &e) == -ENOENT &&
		  strstr(e.msg, "node n: cannot run"),
	      "exec failure: %s", e.msg);
	CHECK(emu_route_add(n, "default", "10.77.0.1", NULL, &e) < 0 && strstr(e.msg, "node n") &&
		  strstr(e.msg, "default via 10.77.0.1") && strstr(e.msg, "(kernel: "),
	      "route error must name node, route and the kernel's words: %s", e.msg);
	emu_lab_free(lab);
	lab = NULL;
	/* The background sleeps were in their sh's groups: gone as well
	 * (polled: the orphans are reaped by PID 1 of the sandbox, which is
	 * us, and a zombie still counts for kill()). */
	deadline = topo_now_ms() + 3000;
	while ((kill(-pid, 0) == 0 || kill(-pid2, 0) == 0) && topo_now_ms() < deadline) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		poll(NULL, 0, 10);
	}
	CHECK(kill(-pid, 0) < 0 && errno == ESRCH, "process group %d survived the lab", (int)pid);
	CHECK(kill(-pid2, 0) < 0 && errno == ESRCH, "process group %d survived", (int)pid2);
out:
	emu_lab_free(lab);
	return rc;
}

static void run(int (*body)(void))
{
	TOPO_CASE(body);
}

static void t_ipv6(void **s)
{
	run(ipv6_body);
}
static void t_lan(void **s)
{
	run(lan_body);
}
static void t_link(void **s)
{
	run(link_body);
}
static void t_spawn(void **s)
{
	run(spawn_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_ipv6),
	    cmocka_unit_test(t_lan),
	    cmocka_unit_test(t_link),
	    cmocka_unit_test(t_spawn),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
