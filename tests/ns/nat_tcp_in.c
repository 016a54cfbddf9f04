/* nat_tcp_in.c - the firewall knob tcp_in_blocked ("no TCP connection may
 * be opened from outside") has an effect of its own. On a translating NAT
 * an unsolicited SYN to the inside finds no mapping and is dropped anyway
 * (RFC 5382 REQ-4), so the knob shows only where something else would let
 * the SYN in:
 *   - a firewall that does not translate (translate = false, the "open"
 *     preset's knobs): inbound TCP to c1, over IPv4 and IPv6, connects
 *     with the knob off and is dropped with it on;
 *   - a socket of the NAT node itself: on a translating NAT it accepts a
 *     SYN from outside with the knob off and gets none with it on.
 * Outbound TCP and its answers pass either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat_topo.h"

#define C1 "10.0.0.2"

static bool g_blocked;

static void tweak_blocked(struct emu_nat_config *c)
{
	c->tcp_in_blocked = g_blocked;
}

static const char *verdict(int r)
{
	return r == 0 ? "connected" : strerror(-r);
}

/* A connection that should succeed: a SYN lost while the machine is busy
 * (or sent before an IPv6 address left DAD) is retried, up to four times
 * 700 ms. One that should be refused is tried once: its single timeout is
 * the verdict. */
static int tcp_try_ok(struct emu_node *cli, const char *addr, uint16_t port)
{
	int r = -ETIMEDOUT;

	for (int i = 0; i < 4 && r == -ETIMEDOUT; i++)
		r = tcp_try(cli, addr, port);
	return r;
}

/* An inbound connection judged by the knob: with tcp_in_blocked on it must
 * time out (one try), off it must connect (tcp_try_ok). True when it did
 * what the knob says; the outcome in *@r. */
static bool inbound_as_knob(struct emu_node *from, const char *addr, uint16_t port, int *r)
{
	*r = g_blocked ? tcp_try(from, addr, port) : tcp_try_ok(from, addr, port);
	return g_blocked ? *r == -ETIMEDOUT : *r == 0;
}

/* A firewall without translation: the inside's addresses are routed. */
static int firewall_body(void)
{
	struct natlab_err e = {{0}};
	const char *knob = g_blocked ? "on" : "off";
	struct topo t;
	int rc = 0, l4 = -1, l6 = -1, lnat = -1, lout = -1, r;

	if (topo_build(&t) < 0 || topo_nat(&t, "open", tweak_blocked) < 0) {
		topo_free(&t);
		return 1;
	}
	CHECK(emu_route_add(t.inet, "10.0.0.0/24", PUB1, NULL, &e) == 0, "route: %s", e.msg);
	l4 = tcp_listen(t.c1, C1, 5000);
	l6 = tcp_listen(t.c1, CLI6, 5000);
	lnat = tcp_listen(t.nat, PUB1, 2223);
	lout = tcp_listen(t.inet, SRV1, 80);
	CHECK(l4 >= 0 && l6 >= 0 && lnat >= 0 && lout >= 0, "listeners");
	/* outbound, both knob settings: the answers come back */
	r = tcp_try_ok(t.c1, SRV1, 80);
	CHECK(r == 0, "tcp_in_blocked %s: outbound TCP: %s", knob, verdict(r));
	CHECK(inbound_as_knob(t.inet, C1, 5000, &r),
	      "tcp_in_blocked %s: inbound TCP to the inside: %s", knob, verdict(r));
	CHECK(inbound_as_knob(t.inet, CLI6, 5000, &r),
	      "tcp_in_blocked %s: inbound IPv6 TCP to the inside: %s", knob, verdict(r));
	CHECK(inbound_as_knob(t.inet, PUB1, 2223, &r),
	      "tcp_in_blocked %s: inbound TCP to the firewall itself: %s", knob, verdict(r));
out:
	if (l4 >= 0)
		close(l4);
	if (l6 >= 0)
		close(l6);
	if (lnat >= 0)
		close(lnat);
	if (lout >= 0)
		close(lout);
	topo_free(&t);
	return rc;
}

/* A translating NAT (full-cone): the NAT node's own listener. */
static int nat_node_body(void)
{
	const char *knob = g_blocked ? "on" : "off";
	struct topo t;
	int rc = 0, lnat = -1, lout = -1, r;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_blocked) < 0) {
		topo_free(&t);
		return 1;
	}
	lnat = tcp_listen(t.nat, PUB1, 2223);
	lout = tcp_listen(t.inet, SRV1, 80);
	CHECK(lnat >= 0 && lout >= 0, "listeners");
	r = tcp_try_ok(t.c1, SRV1, 80);
	CHECK(r == 0, "tcp_in_blocked %s: outbound TCP through the NAT: %s", knob, verdict(r));
	CHECK(inbound_as_knob(t.inet, PUB1, 2223, &r),
	      "tcp_in_blocked %s: inbound TCP to the NAT's own socket: %s", knob, verdict(r));
out:
	if (lnat >= 0)
		close(lnat);
	if (lout >= 0)
		close(lout);
	topo_free(&t);
	return rc;
}

static void t_firewall_knob_off(void **state)
{
	g_blocked = false;
	TOPO_CASE(firewall_body);
}

static void t_firewall_knob_on(void **state)
{
	g_blocked = true;
	TOPO_CASE(firewall_body);
}

static void t_nat_node_knob_off(void **state)
{
	g_blocked = false;
	TOPO_CASE(nat_node_body);
}

static void t_nat_node_knob_on(void **state)
{
	g_blocked = true;
	TOPO_CASE(nat_node_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_firewall_knob_off),
	    cmocka_unit_test(t_firewall_knob_on),
	    cmocka_unit_test(t_nat_node_knob_off),
	    cmocka_unit_test(t_nat_node_knob_on),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
