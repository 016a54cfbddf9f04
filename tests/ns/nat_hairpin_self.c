/* nat_hairpin_self.c - RFC 4787 REQ-9 hairpinning between two sockets of
 * ONE host behind the NAT (what natlab-probe and the classic stun client
 * measure: one host, its second socket sending to the first socket's
 * public mapping), for every hairpinning preset, with the hosts on their
 * own veth (nat_topo.h), and on a bridge of the NAT node as the harness
 * builds a LAN (where a kernel with br_netfilter loaded used to bridge the
 * hairpinned packet past the hairpin SNAT), one host and two. The
 * hairpinned packet must arrive from the sender's own mapping (REQ-9 a:
 * "External source IP address and port"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat_topo.h"

#define WAIT_MS 2000 /* deadline for a packet that must arrive */

static const char *g_preset;
static bool g_bridge;	 /* the hosts share a bridge of the NAT node */
static bool g_two_hosts; /* the second socket is on the second host */

/* The public port @srv sees for a datagram from @cli. */
static int observe(int cli, int srv)
{
	struct sockaddr_in f;
	char m[64];

	if (udp_send(cli, SRV1, 3478, "probe") < 0 || !udp_recv(srv, WAIT_MS, m, sizeof(m), &f))
		return -1;
	return ntohs(f.sin_port);
}

/* As the harness builds a LAN: c1 (10.0.0.2) and c2 (10.0.0.3) on bridge
 * "lan" (10.0.0.1/24) of the NAT node, which has "out" as in nat_topo.h. */
static int bridge_build(struct topo *t)
{
	struct natlab_err e = {{0}};

	memset(t, 0, sizeof(*t));
	TOPO_TRY(emu_lab_new(&t->lab, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "c1", &t->c1, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "c2", &t->c2, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "nat", &t->nat, &e));
	TOPO_TRY(emu_lab_node_add(t->lab, "inet", &t->inet, &e));
	TOPO_TRY(emu_link_bridge_add(t->nat, "lan", &e));
	TOPO_TRY(emu_link_veth(t->c1, "eth0", t->nat, "lan0", &e));
	TOPO_TRY(emu_link_veth(t->c2, "eth0", t->nat, "lan1", &e));
	TOPO_TRY(emu_link_bridge_attach(t->nat, "lan", "lan0", &e));
	TOPO_TRY(emu_link_bridge_attach(t->nat, "lan", "lan1", &e));
	TOPO_TRY(emu_link_veth(t->nat, "out", t->inet, "r0", &e));
	TOPO_TRY(emu_link_addr_add(t->c1, "eth0", "10.0.0.2/24", &e));
	TOPO_TRY(emu_link_addr_add(t->c2, "eth0", "10.0.0.3/24", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "lan", "10.0.0.1/24", &e));
	TOPO_TRY(emu_link_addr_add(t->nat, "out", PUB1 "/24", &e));
	TOPO_TRY(emu_link_addr_add(t->inet, "r0", "203.0.113.254/24", &e));
	TOPO_TRY(emu_link_addr_add(t->inet, "lo", SRV1 "/32", &e));
	TOPO_TRY(emu_route_add(t->c1, "default", "10.0.0.1", NULL, &e));
	TOPO_TRY(emu_route_add(t->c2, "default", "10.0.0.1", NULL, &e));
	TOPO_TRY(emu_route_add(t->nat, "default", "203.0.113.254", NULL, &e));
	TOPO_TRY(emu_route_forwarding(t->nat, true, &e));
	return 0;
}

/* Sockets @a (in c1) and @b (in c1, or in c2 with g_two_hosts) learn
 * their mappings, then send to each other's at once, as natlab-probe does;
 * each packet must arrive from the sender's mapping. */
static int body(void)
{
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	int rc = 0, s, a, b, pa, pb;
	bool got_a = false, got_b = false;

	if ((g_bridge ? bridge_build(&t) : topo_build(&t)) < 0 ||
	    topo_nat(&t, g_preset, NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 3478);
	a = udp_open(t.c1, NULL, 40000);
	b = udp_open(g_two_hosts ? t.c2 : t.c1, NULL, 40001);
	CHECK(s >= 0 && a >= 0 && b >= 0, "sockets");
	pa = observe(a, s);
	pb = observe(b, s);
	CHECK(pa > 0 && pb > 0, "outbound probes lost: %d %d", pa, pb);
	/* Retransmit like a STUN client: the first packets may race. */
	for (int i = 0; i < 5 && !(got_a && got_b); i++) {
		udp_send(b, PUB1, (uint16_t)pa, "to-a");
		udp_send(a, PUB1, (uint16_t)pb, "to-b");
		if (!got_a && udp_recv(a, 300, m, sizeof(m), &f)) {
			got_a = true;
			CHECK(f.sin_addr.s_addr == inet_addr(PUB1) && ntohs(f.sin_port) == pb,
			      "a got \"%s\" from %s:%u, expected the sender's mapping " PUB1 ":%d",
			      m, inet_ntoa(f.sin_addr), ntohs(f.sin_port), pb);
		}
		if (!got_b && udp_recv(b, 300, m, sizeof(m), &f)) {
			got_b = true;
			CHECK(f.sin_addr.s_addr == inet_addr(PUB1) && ntohs(f.sin_port) == pa,
			      "b got \"%s\" from %s:%u, expected the sender's mapping " PUB1 ":%d",
			      m, inet_ntoa(f.sin_addr), ntohs(f.sin_port), pa);
		}
	}
	fprintf(stderr, "%s, %s, %s: hairpin to a %s, to b %s\n", g_preset,
		g_bridge ? "bridged LAN" : "one veth per host",
		g_two_hosts ? "two hosts" : "one host", got_a ? "arrived" : "lost",
		got_b ? "arrived" : "lost");
	CHECK(got_a && got_b, "hairpinned packets lost");
out:
	topo_free(&t);
	return rc;
}

static void run(const char *preset, bool bridge, bool two_hosts)
{
	g_preset = preset;
	g_bridge = bridge;
	g_two_hosts = two_hosts;
	TOPO_CASE(body);
}

static void t_full_cone(void **st)
{
	run("full-cone", false, false);
}

static void t_restricted_cone(void **st)
{
	run("restricted-cone", false, false);
}

static void t_port_restricted_cone(void **st)
{
	run("port-restricted-cone", false, false);
}

static void t_cgnat_carrier(void **st)
{
	run("cgnat", false, false);
}

static void t_bridge_one_host(void **st)
{
	run("port-restricted-cone", true, false);
}

static void t_bridge_one_host_full_cone(void **st)
{
	run("full-cone", true, false);
}

static void t_bridge_two_hosts(void **st)
{
	run("restricted-cone", true, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_full_cone),
	    cmocka_unit_test(t_restricted_cone),
	    cmocka_unit_test(t_port_restricted_cone),
	    cmocka_unit_test(t_cgnat_carrier),
	    cmocka_unit_test(t_bridge_one_host),
	    cmocka_unit_test(t_bridge_one_host_full_cone),
	    cmocka_unit_test(t_bridge_two_hosts),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
