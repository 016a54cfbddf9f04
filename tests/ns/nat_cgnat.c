/* nat_cgnat.c - the cgnat preset as the harness builds it: two homes, each
 * behind an easy home NAT whose outside is in the carrier's 100.64.0.0/10,
 * behind one carrier NAT:
 *
 *   h1 (192.168.1.2) - home1 (100.64.1.2) -+
 *                                           carrier (203.0.113.1) - inet
 *   h2 (192.168.1.2) - home2 (100.64.2.2) -+
 *
 * Checked end to end: the internet sees the carrier's address; mapping is
 * endpoint-independent through both NATs; filtering is port-restricted;
 * the two homes reach each other through the carrier's public address
 * only when carrier hairpinning is on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat_topo.h"

#define OK(call) CHECK((call) == 0, "%s: %s", #call, e.msg)

static bool g_hairpin;

static int nat_up(struct emu_node *n, const char *preset, const char *out, const char *pub,
		  bool hairpin, struct natlab_err *e)
{
	struct emu_nat_config c;
	int ret = emu_nat_preset(preset, &c, e);

	if (ret < 0)
		return ret;
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "%s", out);
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "%s", pub);
	c.n_public_addrs = 1;
	c.hairpin = hairpin;
	ret = emu_route_forwarding(n, true, e);
	return ret < 0 ? ret : emu_nat_apply(n, &c, e);
}

static int port_of(int cli, int srv, const char *addr, uint16_t port, struct sockaddr_in *f)
{
	char m[64];

	udp_send(cli, addr, port, "probe");
	return udp_recv(srv, 2000, m, sizeof(m), f) ? ntohs(f->sin_port) : -1;
}

static int cgnat_body(void)
{
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *h1, *h2, *home1, *home2, *carrier, *inet;
	const char *home = emu_nat_preset_inner("cgnat");
	struct sockaddr_in f;
	char m[64];
	int rc = 0, s1, s1b, s2, c1, c2, x, y, got = 0;
	bool other_port = false, ctl = false;

	CHECK(home && strcmp(home, "port-restricted-cone") == 0, "cgnat's inner preset: %s",
	      home ? home : "none");
	OK(emu_lab_new(&lab, &e));
	OK(emu_lab_node_add(lab, "h1", &h1, &e));
	OK(emu_lab_node_add(lab, "h2", &h2, &e));
	OK(emu_lab_node_add(lab, "home1", &home1, &e));
	OK(emu_lab_node_add(lab, "home2", &home2, &e));
	OK(emu_lab_node_add(lab, "carrier", &carrier, &e));
	OK(emu_lab_node_add(lab, "inet", &inet, &e));
	OK(emu_link_veth(h1, "eth0", home1, "lan", &e));
	OK(emu_link_veth(h2, "eth0", home2, "lan", &e));
	OK(emu_link_veth(home1, "wan", carrier, "sub1", &e));
	OK(emu_link_veth(home2, "wan", carrier, "sub2", &e));
	OK(emu_link_veth(carrier, "out", inet, "r0", &e));
	/* The same private prefix in both homes, as in real life. */
	OK(emu_link_addr_add(h1, "eth0", "192.168.1.2/24", &e));
	OK(emu_link_addr_add(h2, "eth0", "192.168.1.2/24", &e));
	OK(emu_link_addr_add(home1, "lan", "192.168.1.1/24", &e));
	OK(emu_link_addr_add(home2, "lan", "192.168.1.1/24", &e));
	OK(emu_link_addr_add(home1, "wan", "100.64.1.2/24", &e));
	OK(emu_link_addr_add(home2, "wan", "100.64.2.2/24", &e));
	OK(emu_link_addr_add(carrier, "sub1", "100.64.1.1/24", &e));
	OK(emu_link_addr_add(carrier, "sub2", "100.64.2.1/24", &e));
	OK(emu_link_addr_add(carrier, "out", PUB1 "/24", &e));
	OK(emu_link_addr_add(inet, "r0", "203.0.113.254/24", &e));
	OK(emu_link_addr_add(inet, "lo", SRV1 "/32", &e));
	OK(emu_link_addr_add(inet, "lo", SRV2 "/32", &e));
	OK(emu_route_add(h1, "default", "192.168.1.1", NULL, &e));
	OK(emu_route_add(h2, "default", "192.168.1.1", NULL, &e));
	OK(emu_route_add(home1, "default", "100.64.1.1", NULL, &e));
	OK(emu_route_add(home2, "default", "100.64.2.1", NULL, &e));
	OK(emu_route_add(carrier, "default", "203.0.113.254", NULL, &e));
	OK(nat_up(home1, home, "wan", "100.64.1.2", true, &e));
	OK(nat_up(home2, home, "wan", "100.64.2.2", true, &e));
	OK(nat_up(carrier, "cgnat", "out", PUB1, g_hairpin, &e));

	s1 = udp_open(inet, SRV1, 4000);
	s1b = udp_open(inet, SRV1, 4001);
	s2 = udp_open(inet, SRV2, 4000);
	c1 = udp_open(h1, NULL, 40000);
	c2 = udp_open(h2, NULL, 40000);
	CHECK(s1 >= 0 && s1b >= 0 && s2 >= 0 && c1 >= 0 && c2 >= 0, "sockets");
	x = port_of(c1, s1, SRV1, 4000, &f);
	CHECK(x > 0 && f.sin_addr.s_addr == inet_addr(PUB1),
	      "h1 must appear as the carrier's " PUB1);
	CHECK(port_of(c1, s2, SRV2, 4000, &f) == x,
	      "mapping through two NATs must be endpoint-independent");
	y = port_of(c2, s1, SRV1, 4000, &f);
	CHECK(y > 0 && y != x, "h2's mapping %d must differ from h1's %d (same inside port)", y, x);
	/* port-restricted end to end */
	udp_send(s1b, PUB1, (uint16_t)x, "other-port");
	udp_send(s1, PUB1, (uint16_t)x, "control");
	while (!ctl && udp_recv(c1, 2000, m, sizeof(m), &f)) {
		other_port |= strcmp(m, "other-port") == 0;
		ctl |= strcmp(m, "control") == 0;
	}
	CHECK(ctl && !other_port, "filtering: control %d, other port %d", ctl, other_port);
	/* Home to home through the carrier's public address: h1 punches
	 * towards h2's public endpoint, then h2 sends to h1's. */
	udp_send(c1, PUB1, (uint16_t)y, "punch");
	udp_send(c2, PUB1, (uint16_t)x, "hello");
	while (!got && udp_recv(c1, g_hairpin ? 2000 : 500, m, sizeof(m), &f))
		got = strcmp(m, "hello") == 0;
	fprintf(stderr, "carrier hairpin %s: h1 %s h2's packet\n", g_hairpin ? "on" : "off",
		got ? "got" : "did not get");
	if (g_hairpin)
		CHECK(got && f.sin_addr.s_addr == inet_addr(PUB1) && ntohs(f.sin_port) == y,
		      "home-to-home through the carrier failed (got %d from port %u)", got,
		      ntohs(f.sin_port));
	else
		CHECK(!got, "carrier hairpin off, yet home-to-home worked");
out:
	emu_lab_free(lab);
	return rc;
}

static void run(bool hairpin)
{
	g_hairpin = hairpin;
	TOPO_CASE(cgnat_body);
}

static void t_cgnat_hairpin(void **s)
{
	run(true);
}
static void t_cgnat_no_hairpin(void **s)
{
	run(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_cgnat_hairpin),
	    cmocka_unit_test(t_cgnat_no_hairpin),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
