/* nat_behaviour.c - every NAT knob checked with raw UDP probes across a
 * real topology (see nat_topo.h): mapping reuse, filtering, port
 * assignment, hairpinning, mapping expiry and refresh, NAT flush, pooling
 * and the firewall knobs. Each case builds its own lab in its own sandbox.
 * Drops are proven by ordering where possible: a probe that must be
 * dropped is followed on the same path by one that must pass, and the
 * receiver reads until the second arrives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <netinet/tcp.h>

#include "nat_topo.h"

#define WAIT_MS 2000 /* deadline for a packet that must arrive */

static enum emu_nat_mapping g_map;
static enum emu_nat_filtering g_filter;
static enum emu_nat_ports g_ports;
static bool g_flag;

/* The public port the server socket @srv sees for a datagram from @cli. */
static int observe(int cli, int srv, const char *srv_addr, uint16_t srv_port,
		   struct sockaddr_in *from)
{
	char m[64];

	if (udp_send(cli, srv_addr, srv_port, "probe") < 0)
		return -1;
	if (!udp_recv(srv, WAIT_MS, m, sizeof(m), from))
		return -1;
	return ntohs(from->sin_port);
}

static void tweak_mapping(struct emu_nat_config *c)
{
	c->mapping = g_map;
	c->filtering = EMU_NAT_FILTER_EI;
}

/* RFC 4787 §4.1: EIM reuses X1':x1' for every Y:y; ADM for every port
 * of one Y; APDM only for one Y:y. */
static int mapping_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	int rc = 0, c, s1a, s1b, s2a;
	int pa, pb, pc;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_mapping) < 0) {
		topo_free(&t);
		return 1;
	}
	s1a = udp_open(t.inet, SRV1, 4000);
	s1b = udp_open(t.inet, SRV1, 4001);
	s2a = udp_open(t.inet, SRV2, 4000);
	c = udp_open(t.c1, NULL, 40000);
	CHECK(s1a >= 0 && s1b >= 0 && s2a >= 0 && c >= 0, "sockets");
	pa = observe(c, s1a, SRV1, 4000, &f);
	pb = observe(c, s1b, SRV1, 4001, &f);
	pc = observe(c, s2a, SRV2, 4000, &f);
	CHECK(pa > 0 && pb > 0 && pc > 0, "probes lost: %d %d %d", pa, pb, pc);
	fprintf(stderr, "mapping %s: ports %d %d %d\n", emu_nat_mapping_name(g_map), pa, pb, pc);
	if (g_map == EMU_NAT_MAP_EI)
		CHECK(pa == pb && pb == pc, "EIM must reuse the mapping: %d %d %d", pa, pb, pc);
	else if (g_map == EMU_NAT_MAP_AD)
		CHECK(pa == pb && pa != pc,
		      "ADM: same address same mapping, other address new: %d %d %d", pa, pb, pc);
	else
		CHECK(pa != pb && pa != pc && pb != pc, "APDM: a mapping per endpoint: %d %d %d",
		      pa, pb, pc);
out:
	topo_free(&t);
	return rc;
}

static void tweak_filter(struct emu_nat_config *c)
{
	c->mapping = EMU_NAT_MAP_EI;
	c->filtering = g_filter;
}

/* RFC 4787 §5: after X:x sent to Y1:y1 only, who may send in. */
static int filtering_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	bool got_port = false, got_addr = false, got_ctl = false;
	int rc = 0, c, s1a, s1b, s2a, px;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_filter) < 0) {
		topo_free(&t);
		return 1;
	}
	s1a = udp_open(t.inet, SRV1, 4000);
	s1b = udp_open(t.inet, SRV1, 4001);
	s2a = udp_open(t.inet, SRV2, 4000);
	c = udp_open(t.c1, NULL, 40000);
	CHECK(s1a >= 0 && s1b >= 0 && s2a >= 0 && c >= 0, "sockets");
	px = observe(c, s1a, SRV1, 4000, &f);
	CHECK(px > 0, "outbound probe lost");
	udp_send(s1b, PUB1, (uint16_t)px, "other-port");
	udp_send(s2a, PUB1, (uint16_t)px, "other-addr");
	udp_send(s1a, PUB1, (uint16_t)px, "control");
	while (!got_ctl && udp_recv(c, WAIT_MS, m, sizeof(m), &f)) {
		got_port |= strcmp(m, "other-port") == 0;
		got_addr |= strcmp(m, "other-addr") == 0;
		got_ctl |= strcmp(m, "control") == 0;
	}
	fprintf(stderr, "filtering %s: other port %s, other address %s\n",
		emu_nat_filtering_name(g_filter), got_port ? "passed" : "dropped",
		got_addr ? "passed" : "dropped");
	CHECK(got_ctl, "the reply from the contacted endpoint must always pass");
	CHECK(got_port == (g_filter != EMU_NAT_FILTER_APD),
	      "same address, other port: wrong verdict");
	CHECK(got_addr == (g_filter == EMU_NAT_FILTER_EI), "other address: wrong verdict");
out:
	topo_free(&t);
	return rc;
}

static void tweak_ports(struct emu_nat_config *c)
{
	c->ports = g_ports;
	if (g_ports == EMU_NAT_PORTS_SEQUENTIAL) {
		c->port_min = 20000;
		c->port_max = 20999;
	}
}

/* RFC 4787 §4.2.1: port preservation, sequential and random assignment. */
static int ports_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	int rc = 0, s, c[6], p[6], c2;

	if (topo_build(&t) < 0 || topo_nat(&t, "easy", tweak_ports) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 4000);
	CHECK(s >= 0, "server socket");
	for (int i = 0; i < 6; i++) {
		c[i] = udp_open(t.c1, NULL, (uint16_t)(41000 + 7 * i));
		CHECK(c[i] >= 0, "client socket");
		p[i] = observe(c[i], s, SRV1, 4000, &f);
		CHECK(p[i] > 0, "probe %d lost", i);
	}
	fprintf(stderr, "ports %s: %d %d %d %d %d %d\n", emu_nat_ports_name(g_ports), p[0], p[1],
		p[2], p[3], p[4], p[5]);
	if (g_ports == EMU_NAT_PORTS_PRESERVE) {
		for (int i = 0; i < 6; i++)
			CHECK(p[i] == 41000 + 7 * i, "port %d not preserved (%d)", 41000 + 7 * i,
			      p[i]);
		/* RFC 4787 REQ-3: no port overloading: a second host
		 * with the same internal port gets another public port. */
		c2 = udp_open(t.c2, NULL, 41000);
		CHECK(c2 >= 0, "c2 socket");
		int q = observe(c2, s, SRV1, 4000, &f);
		CHECK(q > 0 && q != 41000, "second host on port 41000 got public port %d", q);
	} else if (g_ports == EMU_NAT_PORTS_SEQUENTIAL) {
		CHECK(p[0] == 20000, "first sequential port %d, expected 20000", p[0]);
		for (int i = 1; i < 6; i++)
			CHECK(p[i] == p[i - 1] + 1, "ports not sequential at %d: %d after %d", i,
			      p[i], p[i - 1]);
	} else {
		int preserved = 0, steps = 0;
		for (int i = 0; i < 6; i++) {
			CHECK(p[i] >= 1024 && p[i] <= 65535, "port %d outside the range", p[i]);
			preserved += p[i] == 41000 + 7 * i;
			if (i)
				steps += p[i] == p[i - 1] + 1;
		}
		/* 6 random draws among 64512 ports: a preserved port or a
		 * sequential step is a 1-in-10^4 event; two are a bug. */
		CHECK(preserved <= 1 && steps <= 1, "ports look preserved/sequential, not random");
	}
out:
	topo_free(&t);
	return rc;
}

static void tweak_hairpin(struct emu_nat_config *c)
{
	c->hairpin = g_flag;
}

/* RFC 4787 REQ-9: hairpinning, with the sender's public source. */
static int hairpin_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	int rc = 0, s, c1, c2, px, py, got;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_hairpin) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 4000);
	c1 = udp_open(t.c1, NULL, 40000);
	c2 = udp_open(t.c2, NULL, 40001);
	CHECK(s >= 0 && c1 >= 0 && c2 >= 0, "sockets");
	px = observe(c1, s, SRV1, 4000, &f);
	py = observe(c2, s, SRV1, 4000, &f);
	CHECK(px > 0 && py > 0, "outbound probes lost");
	udp_send(c2, PUB1, (uint16_t)px, "hairpin");
	got = udp_recv(c1, g_flag ? WAIT_MS : 500, m, sizeof(m), &f);
	if (g_flag) {
		CHECK(got && strcmp(m, "hairpin") == 0, "hairpinned packet lost");
		CHECK(f.sin_addr.s_addr == inet_addr(PUB1) && ntohs(f.sin_port) == py,
		      "hairpinned packet came from %s:%u, expected the sender's mapping " PUB1
		      ":%d",
		      inet_ntoa(f.sin_addr), ntohs(f.sin_port), py);
	} else {
		CHECK(!got, "hairpin off, yet the packet arrived");
		/* The sender's path is fine: the NAT dropped the hairpin only. */
		CHECK(observe(c2, s, SRV1, 4000, &f) == py, "c2 lost its way out");
	}
out:
	topo_free(&t);
	return rc;
}

static void tweak_clash(struct emu_nat_config *c)
{
	c->mapping = g_map;
	c->filtering = g_map == EMU_NAT_MAP_EI ? EMU_NAT_FILTER_EI : EMU_NAT_FILTER_APD;
	c->ports = g_ports;
	c->port_min = 5000;
	c->port_max = 5001;
}

/* RFC 4787 REQ-3 (no port overloading) and §4.1 (APDM: a new port per
 * destination) with a drawn port that may be taken toward another
 * destination: the kernel only keeps 5-tuples unique. Ports 5000-5001.
 * Sequential, EIM: c1:40000 gets 5000, c2:40001 5001; a third endpoint
 * then draws 5000, 5001, 5000 toward SRV2 — all mapped already, so all
 * its packets are refused, and c1:40000's packet to SRV2, sent after
 * them, arrives first. Random, APDM: c1:40000 maps to one port for SRV1;
 * toward SRV2 it must get the other one (retransmitting, as a drawn
 * clash is dropped). */
static int clash_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	int rc = 0, s1, s2, a, b, n, pa, pb = -1;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_clash) < 0) {
		topo_free(&t);
		return 1;
	}
	s1 = udp_open(t.inet, SRV1, 4000);
	s2 = udp_open(t.inet, SRV2, 4000);
	a = udp_open(t.c1, NULL, 40000);
	b = udp_open(t.c2, NULL, 40001);
	n = udp_open(t.c1, NULL, 40002);
	CHECK(s1 >= 0 && s2 >= 0 && a >= 0 && b >= 0 && n >= 0, "sockets");
	pa = observe(a, s1, SRV1, 4000, &f);
	CHECK(pa == 5000 || pa == 5001, "first mapping :%d", pa);
	if (g_ports == EMU_NAT_PORTS_SEQUENTIAL) {
		pb = observe(b, s1, SRV1, 4000, &f);
		CHECK(pa == 5000 && pb == 5001, "sequential ports %d %d", pa, pb);
		for (int i = 0; i < 3; i++)
			udp_send(n, SRV2, 4000, "new");
		udp_send(a, SRV2, 4000, "old");
		CHECK(udp_recv(s2, WAIT_MS, m, sizeof(m), &f), "c1:40000's packet to SRV2 lost");
		CHECK(strcmp(m, "old") == 0, "a third endpoint got mapped port :%u (overloading)",
		      ntohs(f.sin_port));
		CHECK(ntohs(f.sin_port) == pa, "c1:40000 came from :%u, not :%d", ntohs(f.sin_port),
		      pa);
	} else {
		for (int i = 0; i < 30 && pb < 0; i++) {
			udp_send(a, SRV2, 4000, "probe");
			if (udp_recv(s2, 200, m, sizeof(m), &f))
				pb = ntohs(f.sin_port);
		}
		CHECK(pb > 0, "no mapping toward SRV2 in 30 tries");
		CHECK(pb != pa, "APDM: SRV2 sees the port SRV1 sees (:%d)", pa);
	}
out:
	topo_free(&t);
	return rc;
}

static void tweak_hairpin_filter(struct emu_nat_config *c)
{
	c->hairpin = true;
	c->mapping = g_map;
	c->filtering = g_filter;
	c->ports = EMU_NAT_PORTS_PRESERVE;
}

/* RFC 4787 §6 / REQ-9: a hairpinned packet comes from the sender's
 * public endpoint, so the receiver's filtering applies as to a packet from
 * outside. A (c1) and B, B2 (two sockets of c2) have mappings; B sends
 * "early" to A's mapping before A sent anything to B; A sends to B's
 * mapping (B's own send opened B's filter: this one passes); B2 sends
 * "other", B sends "late". A must see: EIF every packet; ADF (A has sent
 * to the public address) "other" and "late"; APDF (A has sent to B's
 * endpoint only) "late" alone. A drop is proven by "late", sent after it
 * on the same path, arriving first. */
static int hairpin_filter_body(void)
{
	static const char *const want[] = {"early,other,late,", "other,late,", "late,"};
	struct topo t;
	struct sockaddr_in f;
	char m[64], seen[128] = "";
	int rc = 0, s, a, b, b2, px, py, pz;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_hairpin_filter) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 4000);
	a = udp_open(t.c1, NULL, 40000);
	b = udp_open(t.c2, NULL, 40001);
	b2 = udp_open(t.c2, NULL, 40002);
	CHECK(s >= 0 && a >= 0 && b >= 0 && b2 >= 0, "sockets");
	px = observe(a, s, SRV1, 4000, &f);
	py = observe(b, s, SRV1, 4000, &f);
	pz = observe(b2, s, SRV1, 4000, &f);
	CHECK(px > 0 && py > 0 && pz > 0, "outbound probes lost");
	udp_send(b, PUB1, (uint16_t)px, "early");
	udp_send(a, PUB1, (uint16_t)py, "a2b");
	CHECK(udp_recv(b, WAIT_MS, m, sizeof(m), &f) && strcmp(m, "a2b") == 0,
	      "A's hairpinned packet to B, whose filter B's own send opened, lost");
	CHECK(g_map != EMU_NAT_MAP_EI || ntohs(f.sin_port) == px,
	      "A's packet came from :%u, not its mapping :%d", ntohs(f.sin_port), px);
	udp_send(b2, PUB1, (uint16_t)px, "other");
	udp_send(b, PUB1, (uint16_t)px, "late");
	while (!strstr(seen, "late,")) {
		if (!udp_recv(a, WAIT_MS, m, sizeof(m), &f))
			break;
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s,", m);
	}
	fprintf(stderr, "hairpin, mapping %s, filtering %s: A got %s\n",
		emu_nat_mapping_name(g_map), emu_nat_filtering_name(g_filter), seen);
	CHECK(strcmp(seen, want[g_filter]) == 0, "A got \"%s\", expected \"%s\"", seen,
	      want[g_filter]);
out:
	topo_free(&t);
	return rc;
}

static void tweak_timeout(struct emu_nat_config *c)
{
	c->udp_timeout_s = 2;
	c->inbound_refreshes = g_flag;
}

/* RFC 4787 REQ-5/REQ-6: the mapping lives udp_timeout_s after the last
 * outbound packet (and, with inbound refresh, after the last inbound). An
 * outside endpoint sends every 100 ms; we note which probes get in. */
static int timeout_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	int rc = 0, s1, s2, c, px;
	long long t0, end, last_in = -1, first_lost = -1;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_timeout) < 0) {
		topo_free(&t);
		return 1;
	}
	s1 = udp_open(t.inet, SRV1, 4000);
	s2 = udp_open(t.inet, SRV2, 4000);
	c = udp_open(t.c1, NULL, 40000);
	CHECK(s1 >= 0 && s2 >= 0 && c >= 0, "sockets");
	px = observe(c, s1, SRV1, 4000, &f);
	CHECK(px > 0, "outbound probe lost");
	t0 = topo_now_ms();
	end = t0 + (g_flag ? 5000 : 3500);
	while (topo_now_ms() < end) {
		long long sent = topo_now_ms() - t0;
		char msg[32];
		snprintf(msg, sizeof(msg), "%lld", sent);
		udp_send(s2, PUB1, (uint16_t)px, msg);
		if (udp_recv(c, 100, m, sizeof(m), &f)) {
			last_in = atoll(m);
			while (udp_recv(c, 0, m, sizeof(m), &f))
				last_in = atoll(m);
			poll(NULL, 0,
			     100 - (int)((topo_now_ms() - t0) - sent) > 0
				 ? 100 - (int)((topo_now_ms() - t0) - sent)
				 : 0);
		} else if (first_lost < 0) {
			first_lost = sent;
		}
	}
	fprintf(stderr,
		"timeout 2 s, inbound refresh %s: last probe in sent at %lld ms, first lost at "
		"%lld ms\n",
		g_flag ? "on" : "off", last_in, first_lost);
	if (g_flag) {
		CHECK(first_lost < 0,
		      "inbound traffic must keep the mapping alive (lost at %lld ms)", first_lost);
	} else {
		CHECK(first_lost >= 1700, "the mapping expired early (%lld ms < 2 s)", first_lost);
		CHECK(last_in <= 2300,
		      "the mapping outlived its timeout (probe sent at %lld ms got in)", last_in);
	}
out:
	topo_free(&t);
	return rc;
}

static void tweak_twoway(struct emu_nat_config *c)
{
	c->udp_timeout_s = 2;
	c->inbound_refreshes = false;
	c->ports = EMU_NAT_PORTS_RANDOM; /* a new mapping shows as a new port */
}

/* RFC 4787 REQ-6 with outbound refresh only: a two-way flow (conntrack has
 * seen replies) whose inside goes quiet while the peer keeps sending must
 * lose its mapping udp_timeout_s after the last outbound packet: the
 * peer's packets stop getting in, and the next outbound packet gets a new
 * mapping, not the old one kept alive by the inbound packets. */
static int timeout_twoway_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	int rc = 0, s1, c, px, py;
	long long t0, last_in = -1, first_lost = -1;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_twoway) < 0) {
		topo_free(&t);
		return 1;
	}
	s1 = udp_open(t.inet, SRV1, 4000);
	c = udp_open(t.c1, NULL, 40000);
	CHECK(s1 >= 0 && c >= 0, "sockets");
	px = observe(c, s1, SRV1, 4000, &f);
	CHECK(px > 0, "outbound probe lost");
	udp_send(s1, PUB1, (uint16_t)px, "reply");
	CHECK(udp_recv(c, WAIT_MS, m, sizeof(m), &f), "the reply of the two-way flow was lost");
	t0 = topo_now_ms();
	while (topo_now_ms() < t0 + 3500) {
		long long sent = topo_now_ms() - t0;
		char msg[32];
		snprintf(msg, sizeof(msg), "%lld", sent);
		udp_send(s1, PUB1, (uint16_t)px, msg);
		if (udp_recv(c, 100, m, sizeof(m), &f)) {
			last_in = atoll(m);
			while (udp_recv(c, 0, m, sizeof(m), &f))
				last_in = atoll(m);
			long long left = 100 - ((topo_now_ms() - t0) - sent);
			poll(NULL, 0, left > 0 ? (int)left : 0);
		} else if (first_lost < 0) {
			first_lost = sent;
		}
	}
	py = observe(c, s1, SRV1, 4000, &f);
	fprintf(stderr,
		"two-way flow, timeout 2 s, outbound refresh only: last probe in sent at %lld ms, "
		"first lost at %lld ms; mapping %d, after the idle period %d\n",
		last_in, first_lost, px, py);
	CHECK(first_lost >= 1700, "the mapping expired early (%lld ms < 2 s)", first_lost);
	CHECK(last_in <= 2300,
	      "inbound packets kept the mapping alive (probe sent at %lld ms got in)", last_in);
	CHECK(py > 0 && py != px,
	      "the next outbound packet reused the expired mapping %d (inbound packets kept its "
	      "conntrack flow alive)",
	      px);
out:
	topo_free(&t);
	return rc;
}

static void tweak_idle(struct emu_nat_config *c)
{
	c->udp_timeout_s = 2;
	c->ports = EMU_NAT_PORTS_RANDOM; /* a new mapping shows as a new port */
}

/* RFC 4787 REQ-5: udp_timeout_s holds for conntrack too: after 2.5 s of
 * silence the flow's next packet gets a new mapping (when the kernel's own
 * 30 s UDP timeout applied, conntrack kept the old port). The wait is the
 * behaviour under test, not a hope that something finished. */
static int idle_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	int rc = 0, s1, c, px, py;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_idle) < 0) {
		topo_free(&t);
		return 1;
	}
	s1 = udp_open(t.inet, SRV1, 4000);
	c = udp_open(t.c1, NULL, 40000);
	CHECK(s1 >= 0 && c >= 0, "sockets");
	px = observe(c, s1, SRV1, 4000, &f);
	poll(NULL, 0, 2500);
	py = observe(c, s1, SRV1, 4000, &f);
	fprintf(stderr, "idle 2.5 s with a 2 s timeout: mapping %d, then %d\n", px, py);
	CHECK(px > 0 && py > 0 && px != py, "the flow kept its mapping %d past the timeout", px);
out:
	topo_free(&t);
	return rc;
}

static void tweak_sequential(struct emu_nat_config *c)
{
	c->ports = EMU_NAT_PORTS_SEQUENTIAL;
	c->port_min = 30000;
	c->port_max = 30999;
}

/* "NAT reboot": emu_nat_flush drops every mapping; the next packet gets a
 * new one and the old public port is closed. */
static int flush_body(void)
{
	struct topo t;
	struct natlab_err e = {{0}};
	struct sockaddr_in f;
	char m[64];
	int rc = 0, s, c, p1, p2;
	bool old = false, ctl = false;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", tweak_sequential) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 4000);
	c = udp_open(t.c1, NULL, 40000);
	CHECK(s >= 0 && c >= 0, "sockets");
	p1 = observe(c, s, SRV1, 4000, &f);
	CHECK(p1 == 30000, "first mapping %d", p1);
	CHECK(emu_nat_flush(t.nat, &e) == 0, "flush: %s", e.msg);
	udp_send(s, PUB1, (uint16_t)p1, "old");
	p2 = observe(c, s, SRV1, 4000, &f);
	CHECK(p2 == 30001, "after the flush the mapping must be new: %d", p2);
	udp_send(s, PUB1, (uint16_t)p1, "old");
	udp_send(s, PUB1, (uint16_t)p2, "control");
	while (!ctl && udp_recv(c, WAIT_MS, m, sizeof(m), &f)) {
		old |= strcmp(m, "old") == 0;
		ctl |= strcmp(m, "control") == 0;
	}
	CHECK(ctl && !old, "old mapping still open (%d) or new one closed (%d)", old, !ctl);
out:
	topo_free(&t);
	return rc;
}

/* Changing a NAT at run time: the new knobs hold at once, even for a flow
 * that conntrack had already translated under the old ones. */
static int reapply_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	int rc = 0, s1, s2, c, p1, p2;

	if (topo_build(&t) < 0 || topo_nat(&t, "symmetric", NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	s1 = udp_open(t.inet, SRV1, 4000);
	s2 = udp_open(t.inet, SRV2, 4000);
	c = udp_open(t.c1, NULL, 40000);
	CHECK(s1 >= 0 && s2 >= 0 && c >= 0, "sockets");
	p1 = observe(c, s1, SRV1, 4000, &f);
	p2 = observe(c, s2, SRV2, 4000, &f);
	CHECK(p1 > 0 && p2 > 0 && p1 != p2, "symmetric: %d %d", p1, p2);
	CHECK(topo_nat(&t, "full-cone", tweak_sequential) == 0, "re-apply");
	p1 = observe(c, s1, SRV1, 4000, &f);
	p2 = observe(c, s2, SRV2, 4000, &f);
	fprintf(stderr, "after symmetric -> full-cone (sequential from 30000): %d %d\n", p1, p2);
	CHECK(p1 == 30000 && p2 == 30000, "the old flows shadow the new rules: %d %d", p1, p2);
out:
	topo_free(&t);
	return rc;
}

static void tweak_pool(struct emu_nat_config *c)
{
	snprintf(c->public_addrs[1], sizeof(c->public_addrs[1]), PUB2);
	c->n_public_addrs = 2;
	c->paired_pooling = g_flag;
}

/* RFC 4787 REQ-2: paired pooling gives one internal host one public
 * address; arbitrary pooling spreads its mappings over the pool. */
static int pool_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	int rc = 0, s, n1 = 0, n2 = 0;

	if (topo_build(&t) < 0 || topo_nat(&t, "symmetric", tweak_pool) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 4000);
	CHECK(s >= 0, "server socket");
	for (int i = 0; i < 16; i++) {
		int c = udp_open(t.c1, NULL, 0);
		CHECK(c >= 0 && observe(c, s, SRV1, 4000, &f) > 0, "probe %d lost", i);
		n1 += f.sin_addr.s_addr == inet_addr(PUB1);
		n2 += f.sin_addr.s_addr == inet_addr(PUB2);
		close(c);
	}
	fprintf(stderr, "pooling %s: %d mappings on " PUB1 ", %d on " PUB2 "\n",
		g_flag ? "paired" : "arbitrary", n1, n2);
	CHECK(n1 + n2 == 16, "a mapping outside the pool");
	if (g_flag)
		CHECK(n1 == 16 || n2 == 16, "paired pooling split one host over two addresses");
	else
		CHECK(n1 > 0 && n2 > 0,
		      "arbitrary pooling used one address for 16 mappings (p = 2^-15)");
out:
	topo_free(&t);
	return rc;
}

/* IPv6 crosses a NAT router untranslated; its firewall still holds:
 * replies pass, flows opened from outside do not; udp-blocked blocks UDP
 * over IPv6 too. */
static int ipv6_body(void)
{
	struct topo t;
	char m[64];
	int rc = 0, c, s, s2;
	bool unsolicited = false, ctl = false;

	if (topo_build(&t) < 0 || topo_nat(&t, g_flag ? "udp-blocked" : "easy", NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	c = udp6_open(t.c1, CLI6, 40000);
	s = udp6_open(t.inet, SRV6, 4000);
	s2 = udp6_open(t.inet, SRV6, 4001);
	CHECK(c >= 0 && s >= 0 && s2 >= 0, "sockets");
	udp6_send(c, SRV6, 4000, "out");
	if (g_flag) {
		CHECK(!udp_recv_text(s, 500, m, sizeof(m)),
		      "udp-blocked let UDP over IPv6 through");
		goto out;
	}
	CHECK(udp_recv_text(s, 2000, m, sizeof(m)), "outbound IPv6 UDP lost");
	udp6_send(s2, CLI6, 40000, "unsolicited");
	udp6_send(s, CLI6, 40000, "reply");
	while (!ctl && udp_recv_text(c, 2000, m, sizeof(m))) {
		unsolicited |= strcmp(m, "unsolicited") == 0;
		ctl |= strcmp(m, "reply") == 0;
	}
	CHECK(ctl, "the reply over IPv6 was dropped");
	CHECK(!unsolicited, "a flow opened from outside over IPv6 got in");
out:
	topo_free(&t);
	return rc;
}

/* udp-blocked and tcp-web-only: what gets through. */
static int firewall_body(void)
{
	struct topo t;
	struct sockaddr_in f;
	char m[64];
	const char *preset = g_flag ? "tcp-web-only" : "udp-blocked";
	int rc = 0, s, c, l80, l8080, r;

	if (topo_build(&t) < 0 || topo_nat(&t, preset, NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	s = udp_open(t.inet, SRV1, 4000);
	c = udp_open(t.c1, NULL, 40000);
	l80 = tcp_listen(t.inet, SRV1, 80);
	l8080 = tcp_listen(t.inet, SRV1, 8080);
	CHECK(s >= 0 && c >= 0 && l80 >= 0 && l8080 >= 0, "sockets");
	CHECK(tcp_try(t.c1, SRV1, 80) == 0, "%s: outbound TCP to port 80 must work", preset);
	r = tcp_try(t.c1, SRV1, 8080);
	if (g_flag)
		CHECK(r == -ETIMEDOUT, "%s: TCP to port 8080 must be dropped (got %s)", preset,
		      strerror(-r));
	else
		CHECK(r == 0, "%s: TCP to port 8080 must work (got %s)", preset, strerror(-r));
	udp_send(c, SRV1, 4000, "udp");
	CHECK(!udp_recv(s, 500, m, sizeof(m), &f), "%s: UDP got through", preset);
	/* Inbound: with tcp_in_blocked the SYN vanishes; without, too (RFC
	 * 5382 REQ-4: the NAT does not answer an unsolicited SYN). */
	r = tcp_try(t.inet, PUB1, 2222);
	CHECK(r == -ETIMEDOUT, "%s: inbound TCP must be dropped (got %s)", preset, strerror(-r));
out:
	topo_free(&t);
	return rc;
}

/* RFC 5382 REQ-4: an unsolicited SYN from outside to the NAT's public
 * address gets no answer (the router's own stack would reset it at once),
 * whether or not its port carries a TCP mapping toward someone else; a
 * socket the NAT node itself listens on still gets its SYN. The 700 ms
 * wait of tcp_try is ample: a reset comes back in well under 1 ms. */
static int syn_body(void)
{
	struct natlab_err e = {{0}};
	struct topo t;
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int rc = 0, l80 = -1, lnat = -1, c = -1, a = -1, r;
	uint16_t mapped;

	if (topo_build(&t) < 0 || topo_nat(&t, "full-cone", NULL) < 0) {
		topo_free(&t);
		return 1;
	}
	l80 = tcp_listen(t.inet, SRV1, 80);
	lnat = tcp_listen(t.nat, PUB1, 2223);
	CHECK(l80 >= 0 && lnat >= 0, "listeners");
	/* a TCP mapping: c1 -> SRV1:80, kept open */
	c = emu_node_socket(t.c1, AF_INET, SOCK_STREAM, 0, &e);
	CHECK(c >= 0, "socket: %s", e.msg);
	{
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)};
		inet_pton(AF_INET, SRV1, &sa.sin_addr);
		CHECK(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0, "outbound TCP: %s",
		      strerror(errno));
	}
	a = accept(l80, (struct sockaddr *)&peer, &plen);
	CHECK(a >= 0, "accept: %s", strerror(errno));
	mapped = ntohs(peer.sin_port);
	r = tcp_try(t.inet, PUB1, 2222);
	CHECK(r == -ETIMEDOUT, "SYN to an unmapped port answered (%s)",
	      r ? strerror(-r) : "connected");
	r = tcp_try(t.inet, PUB1, mapped);
	CHECK(r == -ETIMEDOUT, "SYN from another endpoint to the TCP mapping :%u answered (%s)",
	      mapped, r ? strerror(-r) : "connected");
	/* the same path delivers a SYN the NAT node has a socket for */
	r = tcp_try(t.inet, PUB1, 2223);
	CHECK(r == 0, "SYN to the NAT's own listener: %s", strerror(-r));
out:
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
	if (l80 >= 0)
		close(l80);
	if (lnat >= 0)
		close(lnat);
	topo_free(&t);
	return rc;
}

static void run(int (*body)(void))
{
	TOPO_CASE(body);
}

static void t_map_ei(void **s)
{
	g_map = EMU_NAT_MAP_EI;
	run(mapping_body);
}
static void t_map_ad(void **s)
{
	g_map = EMU_NAT_MAP_AD;
	run(mapping_body);
}
static void t_map_apd(void **s)
{
	g_map = EMU_NAT_MAP_APD;
	run(mapping_body);
}
static void t_filter_ei(void **s)
{
	g_filter = EMU_NAT_FILTER_EI;
	run(filtering_body);
}
static void t_filter_ad(void **s)
{
	g_filter = EMU_NAT_FILTER_AD;
	run(filtering_body);
}
static void t_filter_apd(void **s)
{
	g_filter = EMU_NAT_FILTER_APD;
	run(filtering_body);
}
static void t_ports_preserve(void **s)
{
	g_ports = EMU_NAT_PORTS_PRESERVE;
	run(ports_body);
}
static void t_ports_sequential(void **s)
{
	g_ports = EMU_NAT_PORTS_SEQUENTIAL;
	run(ports_body);
}
static void t_ports_random(void **s)
{
	g_ports = EMU_NAT_PORTS_RANDOM;
	run(ports_body);
}
static void t_hairpin_on(void **s)
{
	g_flag = true;
	run(hairpin_body);
}
static void t_hairpin_off(void **s)
{
	g_flag = false;
	run(hairpin_body);
}
static void t_hairpin_filter_ei(void **s)
{
	g_map = EMU_NAT_MAP_EI;
	g_filter = EMU_NAT_FILTER_EI;
	run(hairpin_filter_body);
}
static void t_hairpin_filter_ad(void **s)
{
	g_map = EMU_NAT_MAP_EI;
	g_filter = EMU_NAT_FILTER_AD;
	run(hairpin_filter_body);
}
static void t_hairpin_filter_apd(void **s)
{
	g_map = EMU_NAT_MAP_EI;
	g_filter = EMU_NAT_FILTER_APD;
	run(hairpin_filter_body);
}
/* per internal endpoint filtering (ADM): fsent */
static void t_hairpin_filter_adm_ad(void **s)
{
	g_map = EMU_NAT_MAP_AD;
	g_filter = EMU_NAT_FILTER_AD;
	run(hairpin_filter_body);
}
static void t_ports_clash_sequential(void **s)
{
	g_map = EMU_NAT_MAP_EI;
	g_ports = EMU_NAT_PORTS_SEQUENTIAL;
	run(clash_body);
}
static void t_ports_clash_random(void **s)
{
	g_map = EMU_NAT_MAP_APD;
	g_ports = EMU_NAT_PORTS_RANDOM;
	run(clash_body);
}
static void t_timeout(void **s)
{
	g_flag = false;
	run(timeout_body);
}
static void t_timeout_refresh(void **s)
{
	g_flag = true;
	run(timeout_body);
}
static void t_timeout_idle(void **s)
{
	run(idle_body);
}
static void t_timeout_twoway(void **s)
{
	run(timeout_twoway_body);
}
static void t_flush(void **s)
{
	run(flush_body);
}
static void t_reapply(void **s)
{
	run(reapply_body);
}
static void t_pool_paired(void **s)
{
	g_flag = true;
	run(pool_body);
}
static void t_pool_arbitrary(void **s)
{
	g_flag = false;
	run(pool_body);
}
static void t_ipv6_easy(void **s)
{
	g_flag = false;
	run(ipv6_body);
}
static void t_ipv6_udp_blocked(void **s)
{
	g_flag = true;
	run(ipv6_body);
}
static void t_udp_blocked(void **s)
{
	g_flag = false;
	run(firewall_body);
}
static void t_tcp_web_only(void **s)
{
	g_flag = true;
	run(firewall_body);
}
static void t_tcp_syn_silent(void **s)
{
	run(syn_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_map_ei),
	    cmocka_unit_test(t_map_ad),
	    cmocka_unit_test(t_map_apd),
	    cmocka_unit_test(t_filter_ei),
	    cmocka_unit_test(t_filter_ad),
	    cmocka_unit_test(t_filter_apd),
	    cmocka_unit_test(t_ports_preserve),
	    cmocka_unit_test(t_ports_sequential),
	    cmocka_unit_test(t_ports_random),
	    cmocka_unit_test(t_hairpin_on),
	    cmocka_unit_test(t_hairpin_off),
	    cmocka_unit_test(t_timeout),
	    cmocka_unit_test(t_timeout_refresh),
	    cmocka_unit_test(t_flush),
	    cmocka_unit_test(t_reapply),
	    cmocka_unit_test(t_pool_paired),
	    cmocka_unit_test(t_pool_arbitrary),
	    cmocka_unit_test(t_udp_blocked),
	    cmocka_unit_test(t_tcp_web_only),
	    cmocka_unit_test(t_ipv6_easy),
	    cmocka_unit_test(t_ipv6_udp_blocked),
	    cmocka_unit_test(t_timeout_twoway),
	    cmocka_unit_test(t_timeout_idle),
	    cmocka_unit_test(t_tcp_syn_silent),
	    cmocka_unit_test(t_hairpin_filter_ei),
	    cmocka_unit_test(t_hairpin_filter_ad),
	    cmocka_unit_test(t_hairpin_filter_apd),
	    cmocka_unit_test(t_hairpin_filter_adm_ad),
	    cmocka_unit_test(t_ports_clash_sequential),
	    cmocka_unit_test(t_ports_clash_random),
	};

	if (!topo_sandbox_available())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
