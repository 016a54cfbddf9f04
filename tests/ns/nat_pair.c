/* nat_pair.c - two NATs side by side on one internet, a host behind each:
 *
 *   a (10.0.1.2) - natA (203.0.113.1) - inet (198.51.100.1) - natB (203.0.113.129) - b (10.0.2.2)
 *
 * Each host learns its public endpoint from a reflector in inet, then both
 * send to each other's public endpoint ("hole punching", what ICE does,
 * answering a peer heard from a new source there, as ICE's peer-reflexive
 * candidates do).
 * Whether data then flows both ways follows from the knobs: two
 * port-restricted cones connect; symmetric against port-restricted does
 * not (the symmetric side's mapping towards the peer is not the one the
 * reflector saw); symmetric against full-cone does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat_topo.h"

#define OK(call) CHECK((call) == 0, "%s: %s", #call, e.msg)

struct pair_case {
	const char *a, *b;
	bool connects;
};

static const struct pair_case *g_case;

static int nat_up(struct emu_node *n, const char *preset, const char *pub, struct natlab_err *e)
{
	struct emu_nat_config c;
	int ret = emu_nat_preset(preset, &c, e);

	if (ret < 0)
		return ret;
	snprintf(c.outside_ifname, sizeof(c.outside_ifname), "out");
	snprintf(c.public_addrs[0], sizeof(c.public_addrs[0]), "%s", pub);
	c.n_public_addrs = 1;
	ret = emu_route_forwarding(n, true, e);
	return ret < 0 ? ret : emu_nat_apply(n, &c, e);
}

/* Send "punch" rounds both ways until both sides heard the other, or the
 * deadline passes; true when data flowed both ways. Like ICE's triggered
 * checks, a side that hears its peer from an unexpected source (a
 * peer-reflexive address) answers there from then on. */
static bool punch(int ca, int cb, const struct sockaddr_in *pa, const struct sockaddr_in *pb)
{
	long long deadline = topo_now_ms() + 2000;
	bool a_heard = false, b_heard = false;
	struct sockaddr_in to_b = *pb, to_a = *pa, f;
	char m[64];

	while (!(a_heard && b_heard) && topo_now_ms() < deadline) {
		sendto(ca, "from-a", 6, 0, (const struct sockaddr *)&to_b, sizeof(to_b));
		sendto(cb, "from-b", 6, 0, (const struct sockaddr *)&to_a, sizeof(to_a));
		while (udp_recv(ca, 50, m, sizeof(m), &f)) {
			if (strcmp(m, "from-b") == 0) {
				a_heard = true;
				to_b = f;
			}
		}
		while (udp_recv(cb, 0, m, sizeof(m), &f)) {
			if (strcmp(m, "from-a") == 0) {
				b_heard = true;
				to_a = f;
			}
		}
	}
	return a_heard && b_heard;
}

static int pair_body(void)
{
	const struct pair_case *pc = g_case;
	struct natlab_err e = {{0}};
	struct emu_lab *lab = NULL;
	struct emu_node *a, *b, *na, *nb, *inet;
	struct sockaddr_in pa, pb;
	char m[64];
	int rc = 0, srv, ca, cb;
	bool ok;

	OK(emu_lab_new(&lab, &e));
	OK(emu_lab_node_add(lab, "a", &a, &e));
	OK(emu_lab_node_add(lab, "natA", &na, &e));
	OK(emu_lab_node_add(lab, "inet", &inet, &e));
	OK(emu_lab_node_add(lab, "natB", &nb, &e));
	OK(emu_lab_node_add(lab, "b", &b, &e));
	OK(emu_link_veth(a, "eth0", na, "in0", &e));
	OK(emu_link_veth(na, "out", inet, "ra", &e));
	OK(emu_link_veth(nb, "out", inet, "rb", &e));
	OK(emu_link_veth(b, "eth0", nb, "in0", &e));
	OK(emu_link_addr_add(a, "eth0", "10.0.1.2/24", &e));
	OK(emu_link_addr_add(na, "in0", "10.0.1.1/24", &e));
	OK(emu_link_addr_add(na, "out", "203.0.113.1/25", &e));
	OK(emu_link_addr_add(inet, "ra", "203.0.113.126/25", &e));
	OK(emu_link_addr_add(inet, "rb", "203.0.113.254/25", &e));
	OK(emu_link_addr_add(inet, "lo", SRV1 "/32", &e));
	OK(emu_link_addr_add(nb, "out", "203.0.113.129/25", &e));
	OK(emu_link_addr_add(nb, "in0", "10.0.2.1/24", &e));
	OK(emu_link_addr_add(b, "eth0", "10.0.2.2/24", &e));
	OK(emu_route_add(a, "default", "10.0.1.1", NULL, &e));
	OK(emu_route_add(b, "default", "10.0.2.1", NULL, &e));
	OK(emu_route_add(na, "default", "203.0.113.126", NULL, &e));
	OK(emu_route_add(nb, "default", "203.0.113.254", NULL, &e));
	OK(emu_route_forwarding(inet, true, &e));
	OK(nat_up(na, pc->a, "203.0.113.1", &e));
	OK(nat_up(nb, pc->b, "203.0.113.129", &e));
	srv = udp_open(inet, SRV1, 3478);
	ca = udp_open(a, NULL, 40000);
	cb = udp_open(b, NULL, 40000);
	CHECK(srv >= 0 && ca >= 0 && cb >= 0, "sockets");
	/* the reflector: each side's public endpoint as the internet sees it */
	udp_send(ca, SRV1, 3478, "who");
	CHECK(udp_recv(srv, 2000, m, sizeof(m), &pa), "a's probe lost");
	udp_send(cb, SRV1, 3478, "who");
	CHECK(udp_recv(srv, 2000, m, sizeof(m), &pb), "b's probe lost");
	ok = punch(ca, cb, &pa, &pb);
	fprintf(stderr, "%s <-> %s: %s\n", pc->a, pc->b, ok ? "connected" : "no direct path");
	CHECK(ok == pc->connects, "%s <-> %s: expected %s", pc->a, pc->b,
	      pc->connects ? "a direct path" : "none");
out:
	emu_lab_free(lab);
	return rc;
}

static const struct pair_case cases[] = {
    {"port-restricted-cone", "port-restricted-cone", true},
    {"restricted-cone", "symmetric", true},
    {"symmetric", "full-cone", true},
    {"symmetric", "port-restricted-cone", false},
    {"symmetric", "symmetric", false},
};

static void t_pair(void **state)
{
	g_case = *state;
	TOPO_CASE(pair_body);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0])];
	static char names[sizeof(cases) / sizeof(cases[0])][64];

	if (!topo_sandbox_available())
		return 77;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(names[i], sizeof(names[i]), "%s <-> %s", cases[i].a, cases[i].b);
		tests[i] = (struct CMUnitTest){names[i], t_pair, NULL, NULL, (void *)&cases[i]};
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
