/* nat_adf_endpoint.c - RFC 4787 §5 filtering is per internal endpoint, not
 * per mapping: under address-dependent (or address-and-port-dependent)
 * mapping an internal endpoint X:x has one mapping per remote, and a
 * packet from Y arriving at the mapping X:x made for another remote S must
 * pass once X:x has sent to Y (ADF) or to Y:y (APDF) through any of its
 * mappings. Topology: nat_topo.h, plus a third core address nobody inside
 * ever sends to. Drops are proven by ordering: the packets that must be
 * dropped go first, then a control that must pass on the same path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat_topo.h"

#define WAIT_MS 2000 /* deadline for a packet that must arrive */
#define SRV3	"198.51.100.3"

static enum emu_nat_mapping g_map;
static enum emu_nat_filtering g_filter;

static void tweak(struct emu_nat_config *c)
{
	c->mapping = g_map;
	c->filtering = g_filter;
	c->ports = EMU_NAT_PORTS_SEQUENTIAL; /* distinct, predictable mappings */
	c->port_min = 30000;
	c->port_max = 30999;
}

/* The public port @srv sees for a datagram from @cli. */
static int observe(int cli, int srv, const char *addr, uint16_t port)
{
	struct sockaddr_in f;
	char m[64];

	if (udp_send(cli, addr, port, "probe") < 0 || !udp_recv(srv, WAIT_MS, m, sizeof(m), &f))
		return -1;
	return ntohs(f.sin_port);
}

static int body(void)
{
	struct natlab_err e = {{0}};
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	bool got_y = false, got_yport = false, got_z = false, got_ctl = false;
	int rc = 0, c, s, y, y2, z, p1, p2;

	if (topo_build(&t) < 0 || emu_link_addr_add(t.inet, "lo", SRV3 "/32", &e) < 0 ||
	    topo_nat(&t, "full-cone", tweak) < 0) {
		fprintf(stderr, "topology: %s\n", e.msg);
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 3478);  /* S: the "STUN server" */
	y = udp_open(t.inet, SRV2, 4000);  /* Y:y, the peer X:x sends to */
	y2 = udp_open(t.inet, SRV2, 4001); /* Y, another port */
	z = udp_open(t.inet, SRV3, 4000);  /* an address X:x never sent to */
	c = udp_open(t.c1, NULL, 40000);   /* X:x */
	CHECK(s >= 0 && y >= 0 && y2 >= 0 && z >= 0 && c >= 0, "sockets");
	p1 = observe(c, s, SRV1, 3478);
	p2 = observe(c, y, SRV2, 4000);
	CHECK(p1 > 0 && p2 > 0, "outbound probes lost: %d %d", p1, p2);
	CHECK(p1 != p2, "%s mapping gave one port %d for two addresses",
	      emu_nat_mapping_name(g_map), p1);
	/* Everything to P:p1, the mapping made for S. */
	udp_send(z, PUB1, (uint16_t)p1, "z");
	udp_send(y2, PUB1, (uint16_t)p1, "yport");
	udp_send(y, PUB1, (uint16_t)p1, "y");
	udp_send(s, PUB1, (uint16_t)p1, "control");
	while (!got_ctl && udp_recv(c, WAIT_MS, m, sizeof(m), &f)) {
		/* X:x must see the remote's own address and port (a
		 * conntrack clash would have the kernel rewrite the port) */
		uint16_t want = strcmp(m, "y") == 0 ? 4000 : strcmp(m, "yport") == 0 ? 4001 : 0;
		CHECK(!want || (f.sin_addr.s_addr == inet_addr(SRV2) && ntohs(f.sin_port) == want),
		      "\"%s\" arrived from %s:%u, sent from " SRV2 ":%u", m, inet_ntoa(f.sin_addr),
		      ntohs(f.sin_port), want);
		got_y |= strcmp(m, "y") == 0;
		got_yport |= strcmp(m, "yport") == 0;
		got_z |= strcmp(m, "z") == 0;
		got_ctl |= strcmp(m, "control") == 0;
	}
	fprintf(stderr,
		"mapping %s, filtering %s (p1 %d, p2 %d), at P:p1: Y:y %s, Y:other port %s, "
		"never-contacted address %s\n",
		emu_nat_mapping_name(g_map), emu_nat_filtering_name(g_filter), p1, p2,
		got_y ? "passed" : "dropped", got_yport ? "passed" : "dropped",
		got_z ? "passed" : "dropped");
	CHECK(got_ctl, "S's packet to its own mapping must pass");
	CHECK(!got_z, "a packet from an address X:x never sent to passed");
	CHECK(got_y, "Y:y, which X:x has sent to through another mapping, was dropped");
	CHECK(got_yport == (g_filter == EMU_NAT_FILTER_AD),
	      "Y from another port: %s, expected %s under %s filtering",
	      got_yport ? "passed" : "dropped", g_filter == EMU_NAT_FILTER_AD ? "pass" : "drop",
	      emu_nat_filtering_name(g_filter));
	/* X:x's answer to Y:y still leaves from Y's own mapping p2. */
	CHECK(observe(c, y, SRV2, 4000) == p2, "the mapping for Y changed");
	if (got_yport) {
		/* ... and its answer to the other port of Y, admitted at p1,
		 * follows the mapping behaviour, not the mapping it came in
		 * through: ADM reuses Y's mapping, APDM makes a new one. */
		int p3 = observe(c, y2, SRV2, 4001);
		CHECK(g_map == EMU_NAT_MAP_AD ? p3 == p2 : (p3 > 0 && p3 != p1 && p3 != p2),
		      "answer to " SRV2 ":4001 left from port %d (p1 %d, p2 %d)", p3, p1, p2);
	}
out:
	topo_free(&t);
	return rc;
}

static void run(void)
{
	TOPO_CASE(body);
}

static void t_adm_adf(void **st)
{
	g_map = EMU_NAT_MAP_AD;
	g_filter = EMU_NAT_FILTER_AD;
	run();
}

static void t_adm_apdf(void **st)
{
	g_map = EMU_NAT_MAP_AD;
	g_filter = EMU_NAT_FILTER_APD;
	run();
}

static void t_apdm_adf(void **st)
{
	g_map = EMU_NAT_MAP_APD;
	g_filter = EMU_NAT_FILTER_AD;
	run();
}

static void t_apdm_apdf(void **st)
{
	g_map = EMU_NAT_MAP_APD;
	g_filter = EMU_NAT_FILTER_APD;
	run();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_adm_adf),
	    cmocka_unit_test(t_adm_apdf),
	    cmocka_unit_test(t_apdm_adf),
	    cmocka_unit_test(t_apdm_apdf),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
