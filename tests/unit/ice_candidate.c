/* ice_candidate.c - RFC 8839 a=candidate lines, RFC 8445 priorities and
 * foundations, and the check-list rules of RFC 8445 §6.1.2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "agents/ice/candidate.h"
#include "agents/ice/checklist.h"
#include "agents/ice/ice.h"

static int parse(const char *s, struct ice_candidate *c)
{
	return ice_candidate_parse(s, strlen(s), c);
}

static void test_parse_host_srflx_relay(void **st)
{
	struct ice_candidate c;
	char ip[64];
	(void)st;
	assert_int_equal(parse("candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host", &c), 0);
	assert_string_equal(c.foundation, "1");
	assert_int_equal(c.component, 1);
	assert_int_equal(c.transport, ICE_TRANSPORT_UDP);
	assert_int_equal(c.priority, 2130706431u);
	assert_string_equal(ice_addr_ip(&c.addr, ip, sizeof(ip)), "10.0.1.2");
	assert_int_equal(ice_addr_port(&c.addr), 50000);
	assert_int_equal(c.type, ICE_CAND_HOST);
	assert_false(c.has_related);

	/* "a=" prefix, upper-case transport (libnice writes "UDP"), CRLF,
	 * related address, and an unknown extension that must be ignored */
	assert_int_equal(parse("a=candidate:a+/Z 2 UDP 1694498815 2001:db8::7 3478 typ srflx "
			       "raddr 192.168.0.2 rport 5000 generation 0 network-id 1\r\n",
			       &c),
			 0);
	assert_int_equal(c.component, 2);
	assert_int_equal(c.type, ICE_CAND_SRFLX);
	assert_true(ice_addr_is_v6(&c.addr));
	assert_true(c.has_related);
	assert_string_equal(ice_addr_ip(&c.related, ip, sizeof(ip)), "192.168.0.2");
	assert_int_equal(ice_addr_port(&c.related), 5000);

	assert_int_equal(parse("candidate:9 1 udp 16777215 198.51.100.9 60000 typ relay raddr "
			       "203.0.113.4 rport 4000",
			       &c),
			 0);
	assert_int_equal(c.type, ICE_CAND_RELAY);
	/* RFC 6544 TCP candidates carry tcptype */
	assert_int_equal(
	    parse("candidate:3 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active", &c), 0);
	assert_int_equal(c.tcptype, ICE_TCP_ACTIVE);
}

static void test_parse_rejects(void **st)
{
	struct ice_candidate c;
	static const char *bad[] = {
	    "",
	    "candidate:",
	    "candidate:1 1 udp 2130706431 10.0.1.2 50000 typ",	      /* no type */
	    "candidate:1 1 udp 2130706431 10.0.1.2 50000 typ bogus",  /* bad type */
	    "candidate:1 0 udp 2130706431 10.0.1.2 50000 typ host",   /* component 0 */
	    "candidate:1 257 udp 2130706431 10.0.1.2 50000 typ host", /* > 256 */
	    "candidate:1 1 udp 4294967296 10.0.1.2 50000 typ host",   /* > 32 bits */
	    "candidate:1 1 udp 0 10.0.1.2 50000 typ host",	      /* priority 0 */
	    "candidate:1 1 udp 1 10.0.1.2 65536 typ host",	      /* port */
	    "candidate:1 1 udp 1 10.0.1.2 5 tip host",		      /* not "typ" */
	    "candidate:1  1 udp 1 10.0.1.2 5 typ host",		      /* double space */
	    "candidate:1 1 udp 1 10.0.1.2 5 typ host ",		      /* trailing space */
	    "candidate:1 1 udp 1 10.0.1.2 5 typ host generation",     /* odd extension */
	    "candidate:1 1 tcp 1 10.0.1.2 5 typ host",		      /* tcp, no tcptype */
	    "candidate:f-o 1 udp 1 10.0.1.2 5 typ host",	      /* '-' not ice-char */
	    "candidate:123456789012345678901234567890123 1 udp 1 10.0.1.2 5 typ host",
	    "xcandidate:1 1 udp 1 10.0.1.2 5 typ host",
	    "candidate:1 1 udp 1 10.0.1.2 5 typ host raddr 1.2.3.x rport 1",
	};
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &c);
		if (r >= 0)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	/* reasons a caller can tell apart */
	assert_int_equal(parse("candidate:1 1 udp 1 host.example 5 typ host", &c), -EAFNOSUPPORT);
	assert_int_equal(parse("candidate:1 1 udp 1 abcd.local 5 typ host", &c), -EAFNOSUPPORT);
	assert_int_equal(parse("candidate:1 1 sctp 1 10.0.0.1 5 typ host", &c), -EPROTONOSUPPORT);
}

static void test_format_roundtrip(void **st)
{
	static const char *lines[] = {
	    "candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host",
	    "candidate:Ab9 2 udp 1694498815 2001:db8::7 3478 typ srflx raddr 192.168.0.2 rport 5000",
	    "candidate:x 1 udp 16777215 198.51.100.9 60000 typ relay raddr 0.0.0.0 rport 0",
	    "candidate:3 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active",
	};
	(void)st;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct ice_candidate c;
		char out[ICE_CANDIDATE_STR_MAX];
		assert_int_equal(parse(lines[i], &c), 0);
		assert_true(ice_candidate_format(&c, out, sizeof(out)) > 0);
		assert_string_equal(out, lines[i]);
	}
	{
		struct ice_candidate c;
		char small[10];
		assert_int_equal(parse(lines[0], &c), 0);
		assert_int_equal(ice_candidate_format(&c, small, sizeof(small)), -ENOSPC);
	}
}

static void test_priority(void **st)
{
	(void)st;
	/* RFC 8445 §5.1.2.1 with the §5.1.2.2 type preferences */
	assert_int_equal(ice_priority(126, 65535, 1), 2130706431u);
	assert_int_equal(ice_priority(100, 65535, 1), 1694498815u);
	assert_int_equal(ice_priority(0, 65535, 1), 16777215u);
	assert_int_equal(ice_priority(126, 65535, 2), 2130706430u);
	assert_int_equal(ice_type_pref(ICE_CAND_HOST, ICE_TRANSPORT_UDP), 126);
	assert_int_equal(ice_type_pref(ICE_CAND_PRFLX, ICE_TRANSPORT_UDP), 110);
	assert_int_equal(ice_type_pref(ICE_CAND_SRFLX, ICE_TRANSPORT_UDP), 100);
	assert_int_equal(ice_type_pref(ICE_CAND_RELAY, ICE_TRANSPORT_UDP), 0);
	/* RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0) */
	assert_true(ice_pair_priority(10, 20) == ((uint64_t)10 << 32) + 40);
	assert_true(ice_pair_priority(20, 10) == ((uint64_t)10 << 32) + 41);
	/* the pair priority is the same seen from both sides */
	assert_true(ice_pair_priority(2130706431u, 1694498815u) ==
		    ice_pair_priority(2130706431u, 1694498815u));
}

static void test_foundation(void **st)
{
	union ice_addr b1, b2, s1, s1p;
	char f1[33], f2[33], f3[33], f4[33], f5[33];
	(void)st;
	ice_addr_from_text(&b1, "10.0.0.1", 5000);
	ice_addr_from_text(&b2, "10.0.0.2", 5000);
	ice_addr_from_text(&s1, "198.51.100.1", 3478);
	ice_addr_from_text(&s1p, "198.51.100.1", 9999);
	/* RFC 8445 §5.1.1.3: same type, base IP, server IP, transport ->
	 * same foundation; the ports do not matter */
	ice_foundation_make(f1, ICE_CAND_SRFLX, &b1, &s1, ICE_TRANSPORT_UDP);
	ice_addr_set_port(&b1, 6000);
	ice_foundation_make(f2, ICE_CAND_SRFLX, &b1, &s1p, ICE_TRANSPORT_UDP);
	assert_string_equal(f1, f2);
	ice_foundation_make(f3, ICE_CAND_SRFLX, &b2, &s1, ICE_TRANSPORT_UDP);
	ice_foundation_make(f4, ICE_CAND_HOST, &b1, NULL, ICE_TRANSPORT_UDP);
	ice_foundation_make(f5, ICE_CAND_SRFLX, &b1, &s1, ICE_TRANSPORT_TCP);
	assert_string_not_equal(f1, f3);
	assert_string_not_equal(f1, f4);
	assert_string_not_equal(f1, f5);
	/* and it is valid on the wire */
	{
		char line[128];
		struct ice_candidate c;
		snprintf(line, sizeof(line), "candidate:%s 1 udp 1 10.0.0.1 5 typ host", f1);
		assert_int_equal(parse(line, &c), 0);
	}
}

/* RFC 8445 §5.1.1.3: candidates "obtained using the same transport
 * protocol" share a foundation, others do not. Relayed candidates from one
 * TURN server (same relayed IP, same server IP) allocated over UDP, TCP and
 * TLS: three foundations; two allocations over UDP: one. */
static void test_foundation_relay_transport(void **st)
{
	union ice_addr r1, r2, srv, srv_tls;
	char udp[33], udp2[33], tcp[33], tls[33];
	(void)st;
	ice_addr_from_text(&r1, "203.0.113.14", 40001);
	ice_addr_from_text(&r2, "203.0.113.14", 40002);
	ice_addr_from_text(&srv, "203.0.113.14", 3478);
	ice_addr_from_text(&srv_tls, "203.0.113.14", 5349);
	ice_foundation_make_relay(udp, &r1, &srv, ICE_RELAY_VIA_UDP);
	ice_foundation_make_relay(udp2, &r2, &srv, ICE_RELAY_VIA_UDP);
	ice_foundation_make_relay(tcp, &r2, &srv, ICE_RELAY_VIA_TCP);
	ice_foundation_make_relay(tls, &r1, &srv_tls, ICE_RELAY_VIA_TLS);
	assert_string_equal(udp, udp2);
	assert_string_not_equal(udp, tcp);
	assert_string_not_equal(udp, tls);
	assert_string_not_equal(tcp, tls);
}

/* ... and the agent signals them so. */
struct relay_seen {
	char f[3][ICE_FOUNDATION_MAX + 1];
	unsigned n;
};

static void relay_ev(void *ctx, const struct ice_event *ev)
{
	struct relay_seen *s = ctx;
	if (ev->type == ICE_EV_CANDIDATE && ev->cand->type == ICE_CAND_RELAY && s->n < 3)
		snprintf(s->f[s->n++], sizeof(s->f[0]), "%s", ev->cand->foundation);
}

static void relay_send(void *ctx, int base_id, const union ice_addr *to, const uint8_t *buf,
		       size_t len)
{
	(void)ctx, (void)base_id, (void)to, (void)buf, (void)len;
}

static void test_agent_relay_foundations(void **st)
{
	struct ice_config cfg = {.controlling = true, .seed = 1};
	struct relay_seen seen = {.n = 0};
	struct ice_io io = {.ctx = &seen, .send = relay_send, .event = relay_ev};
	struct ice_agent *a;
	union ice_addr host, srv, srv_tls, mapped, r[3];
	const enum ice_relay_via via[3] = {ICE_RELAY_VIA_UDP, ICE_RELAY_VIA_TCP, ICE_RELAY_VIA_TLS};
	(void)st;
	assert_int_equal(ice_agent_new(&cfg, &io, &a), 0);
	ice_addr_from_text(&host, "10.0.0.1", 5000);
	ice_addr_from_text(&srv, "203.0.113.14", 3478);
	ice_addr_from_text(&srv_tls, "203.0.113.14", 5349);
	ice_addr_from_text(&mapped, "198.51.100.2", 5000);
	assert_true(ice_agent_add_host(a, 1, ICE_TRANSPORT_UDP, &host, 1, 0) >= 0);
	for (int i = 0; i < 3; i++) {
		ice_addr_from_text(&r[i], "203.0.113.14", (uint16_t)(40001 + i));
		assert_true(ice_agent_add_relay(a, 1, &r[i],
						via[i] == ICE_RELAY_VIA_TLS ? &srv_tls : &srv,
						&mapped, via[i], 10 + i, 0) >= 0);
	}
	ice_agent_gather(a, false, 0);
	assert_int_equal(seen.n, 3);
	assert_string_not_equal(seen.f[0], seen.f[1]);
	assert_string_not_equal(seen.f[0], seen.f[2]);
	assert_string_not_equal(seen.f[1], seen.f[2]);
	ice_agent_free(a);
}

static void mk_local(struct ice_local *l, const char *line)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(parse(line, &l->c), 0);
	l->base = l->c.addr;
}

static void test_checklist(void **st)
{
	struct ice_local locals[3];
	struct ice_candidate remotes[4];
	struct ice_checklist cl;
	int i;
	(void)st;
	memset(&cl, 0, sizeof(cl));
	mk_local(&locals[0], "candidate:L1 1 udp 2130706431 10.0.0.1 5000 typ host");
	locals[0].base_id = 0;
	mk_local(&locals[1], "candidate:L6 1 udp 2130706175 2001:db8::1 5000 typ host");
	locals[1].base_id = 1;
	mk_local(&locals[2], "candidate:L2 2 udp 2130706430 10.0.0.1 5001 typ host");
	locals[2].base_id = 2;
	assert_int_equal(parse("candidate:R1 1 udp 2130706431 10.0.0.2 6000 typ host", &remotes[0]),
			 0);
	assert_int_equal(parse("candidate:R2 1 udp 1694498815 203.0.113.2 7000 typ srflx raddr "
			       "10.0.0.2 rport 6000",
			       &remotes[1]),
			 0);
	assert_int_equal(parse("candidate:R1 2 udp 2130706430 10.0.0.2 6001 typ host", &remotes[2]),
			 0);
	assert_int_equal(
	    parse("candidate:R6 1 udp 2130706175 2001:db8::2 6000 typ host", &remotes[3]), 0);
	/* RFC 8445 §6.1.2.2: same component and same IP version only */
	for (int l = 0; l < 3; l++)
		for (int r = 0; r < 4; r++)
			ice_checklist_add(&cl, locals, l, remotes, r, true);
	assert_int_equal(cl.n, 4); /* v4 c1 x2, v6 c1 x1, v4 c2 x1 */
	assert_int_equal(ice_checklist_add(&cl, locals, 0, remotes, 2, true), -EINVAL);
	assert_int_equal(ice_checklist_add(&cl, locals, 0, remotes, 0, true), -EEXIST);
	/* sorted by decreasing pair priority */
	for (unsigned k = 1; k < cl.n; k++)
		assert_true(cl.pairs[k - 1].priority >= cl.pairs[k].priority);
	/* RFC 8445 §6.1.2.6: one Waiting pair per foundation, lowest
	 * component first: L1:R1 c1 waits, L2:R1 c2 (other foundation) too */
	ice_checklist_unfreeze_initial(&cl);
	assert_int_equal(ice_checklist_count(&cl, ICE_PAIR_WAITING), 4);
	/* all foundations differ here; make two share one and re-check */
	memset(&cl, 0, sizeof(cl));
	strcpy(locals[2].c.foundation, "L1");
	ice_checklist_add(&cl, locals, 0, remotes, 0, true);
	ice_checklist_add(&cl, locals, 2, remotes, 2, true);
	ice_checklist_unfreeze_initial(&cl);
	assert_int_equal(ice_checklist_count(&cl, ICE_PAIR_WAITING), 1);
	i = ice_checklist_find(&cl, 0, 0);
	assert_int_equal(cl.pairs[i].state, ICE_PAIR_WAITING);
	/* §7.2.5.3.3: success unfreezes the same foundation */
	cl.pairs[i].state = ICE_PAIR_SUCCEEDED;
	ice_checklist_unfreeze_foundation(&cl, cl.pairs[i].foundation);
	assert_int_equal(cl.pairs[ice_checklist_find(&cl, 2, 2)].state, ICE_PAIR_WAITING);
	/* §6.1.4.2: next ordinary = highest Waiting */
	assert_int_equal(ice_checklist_next_ordinary(&cl), ice_checklist_find(&cl, 2, 2));
	/* role change recomputes and re-sorts (§7.2.5.1) */
	ice_checklist_reprioritize(&cl, locals, remotes, false);
	for (unsigned k = 1; k < cl.n; k++)
		assert_true(cl.pairs[k - 1].priority >= cl.pairs[k].priority);
}

static void test_checklist_limit(void **st)
{
	/* RFC 8445 §6.1.2.5: at most 100 pairs; a better pair still gets in
	 * by evicting the lowest Frozen one */
	static struct ice_local locals[1];
	static struct ice_candidate remotes[ICE_CHECKLIST_MAX + 1];
	static struct ice_checklist cl;
	char line[128];
	(void)st;
	memset(&cl, 0, sizeof(cl));
	mk_local(&locals[0], "candidate:L 1 udp 2130706431 10.0.0.1 5000 typ host");
	for (int r = 0; r <= ICE_CHECKLIST_MAX; r++) {
		snprintf(line, sizeof(line), "candidate:R%d 1 udp %d 10.0.%d.%d 6000 typ host", r,
			 1000 + r, r / 200, r % 200 + 1);
		assert_int_equal(parse(line, &remotes[r]), 0);
	}
	for (int r = 0; r < ICE_CHECKLIST_MAX; r++)
		assert_true(ice_checklist_add(&cl, locals, 0, remotes, r, true) >= 0);
	assert_int_equal(cl.n, ICE_CHECKLIST_MAX);
	assert_true(ice_checklist_add(&cl, locals, 0, remotes, ICE_CHECKLIST_MAX, true) >= 0);
	assert_int_equal(cl.n, ICE_CHECKLIST_MAX);
	assert_int_equal(ice_checklist_find(&cl, 0, 0), -1); /* the lowest went */
}

static void test_hostport(void **st)
{
	union ice_addr a;
	char ip[64];
	(void)st;
	assert_int_equal(ice_addr_parse_hostport(&a, "192.0.2.1:3478"), 0);
	assert_int_equal(ice_addr_port(&a), 3478);
	assert_int_equal(ice_addr_parse_hostport(&a, "[2001:db8::1]:19302"), 0);
	assert_string_equal(ice_addr_ip(&a, ip, sizeof(ip)), "2001:db8::1");
	assert_int_equal(ice_addr_port(&a), 19302);
	assert_true(ice_addr_parse_hostport(&a, "192.0.2.1") < 0);
	assert_true(ice_addr_parse_hostport(&a, "192.0.2.1:99999") < 0);
	assert_true(ice_addr_parse_hostport(&a, "[::1:3478") < 0);
	assert_true(ice_addr_parse_hostport(&a, "stun.example:3478") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_host_srflx_relay),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_format_roundtrip),
	    cmocka_unit_test(test_priority),
	    cmocka_unit_test(test_foundation),
	    cmocka_unit_test(test_checklist),
	    cmocka_unit_test(test_checklist_limit),
	    cmocka_unit_test(test_hostport),
	    cmocka_unit_test(test_foundation_relay_transport),
	    cmocka_unit_test(test_agent_relay_foundations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
