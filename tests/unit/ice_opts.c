/* ice_opts.c - natlab-ice's command line (agents/ice/ice_opts.c): every
 * option lands in the struct natlab-ice runs from, every bad value is
 * refused with a message that names it, and the host address list
 * (agents/ice/hostaddr.c) honours --interface. No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "agents/ice/hostaddr.h"
#include "agents/ice/ice_opts.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static void test_defaults(void **st)
{
	char *argv[] = {"natlab-ice", NULL};
	struct ice_opts o;
	char err[ICE_OPTS_ERR_MAX];
	(void)st;

	assert_int_equal(ice_opts_parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_true(o.cfg.controlling);
	assert_int_equal(o.cfg.components, 1);
	assert_int_equal(o.cfg.policy, ICE_POLICY_ALL);
	assert_false(o.cfg.trickle);
	assert_false(o.cfg.aggressive);
	assert_int_equal(o.cfg.n_stun, 0);
	assert_int_equal(o.cfg.keepalive_ms, 0);
	assert_true(o.cfg.seed == 0);
	assert_int_equal(o.nturn, 0);
	assert_int_equal(o.nifaces, 0);
	assert_false(o.tcp);
	assert_false(o.verbose);
	assert_int_equal(o.dataplane, ICE_DATAPLANE_DATAGRAM);
}

static void test_every_option(void **st)
{
	char *argv[] = {"natlab-ice",
			"--role",
			"controlled",
			"--stun",
			"198.51.100.1:3478",
			"--stun",
			"[2001:db8::1]:3479",
			"--turn",
			"udp:198.51.100.2:3478",
			"--turn",
			"tls:198.51.100.3:5349",
			"--turn-user",
			"u",
			"--turn-pass",
			"p",
			"--policy",
			"relay",
			"--components",
			"2",
			"--trickle",
			"--nomination",
			"aggressive",
			"--ta-ms",
			"20",
			"--rto-ms",
			"100",
			"--retransmits",
			"3",
			"--consent-timeout-ms",
			"5000",
			"--keepalive-ms",
			"0",
			"--nominate-wait-ms",
			"40",
			"--gather-timeout-ms",
			"700",
			"--interface",
			"eth0",
			"--interface",
			"eth1",
			"--seed",
			"12345678901",
			"--tcp",
			"--turn-dual",
			"--verbose",
			"--dataplane",
			"datachannel",
			NULL};
	struct ice_opts o;
	char err[ICE_OPTS_ERR_MAX];
	(void)st;

	assert_int_equal(ice_opts_parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_false(o.cfg.controlling);
	assert_int_equal(o.cfg.n_stun, 2);
	assert_int_equal(ice_addr_port(&o.cfg.stun[0]), 3478);
	assert_int_equal(o.cfg.stun[1].sa.sa_family, AF_INET6);
	assert_int_equal(ice_addr_port(&o.cfg.stun[1]), 3479);
	assert_int_equal(o.nturn, 2);
	assert_int_equal(o.turn[0].transport, TURN_TRANSPORT_UDP);
	assert_int_equal(o.turn[1].transport, TURN_TRANSPORT_TLS);
	assert_int_equal(ice_addr_port(&o.turn[1].server), 5349);
	/* the credentials and the RTO reach every server, whatever the order */
	for (unsigned k = 0; k < o.nturn; k++) {
		assert_string_equal(o.turn[k].user, "u");
		assert_string_equal(o.turn[k].pass, "p");
		assert_int_equal(o.turn[k].rto_ms, 100);
	}
	assert_int_equal(o.cfg.policy, ICE_POLICY_RELAY);
	assert_int_equal(o.cfg.components, 2);
	assert_true(o.cfg.trickle);
	assert_true(o.cfg.aggressive);
	assert_int_equal(o.cfg.ta_ms, 20);
	assert_int_equal(o.cfg.rto_ms, 100);
	assert_int_equal(o.cfg.max_tx, 3);
	assert_int_equal(o.cfg.consent_timeout_ms, 5000);
	/* 0 on the command line turns keepalives and consent off */
	assert_true(o.cfg.keepalive_ms == UINT32_MAX);
	assert_int_equal(o.cfg.nominate_wait_ms, 40);
	assert_int_equal(o.cfg.gather_timeout_ms, 700);
	assert_int_equal(o.nifaces, 2);
	assert_string_equal(o.ifaces[1], "eth1");
	assert_true(o.cfg.seed == 12345678901ull);
	assert_true(o.tcp);
	assert_true(o.turn_dual);
	assert_true(o.verbose);
	assert_int_equal(o.dataplane, ICE_DATAPLANE_DATACHANNEL);
}

static void test_help(void **st)
{
	char *argv[] = {"natlab-ice", "--trickle", "--help", "--components", "0", NULL};
	struct ice_opts o;
	char err[ICE_OPTS_ERR_MAX];
	(void)st;

	/* --help wins over what follows it, as natlab-ice always did */
	assert_int_equal(ice_opts_parse(&o, ARGC(argv), argv, err, sizeof(err)), ICE_OPTS_HELP);
}

/* --offer-dataplanes (a test double of a one-plane stack): what ready
 * declares, and the plane used when only one is offered */
static void test_offer_dataplanes(void **st)
{
	char *dc[] = {"natlab-ice", "--offer-dataplanes", "datachannel", NULL};
	char *dg[] = {"natlab-ice",	    "--dataplane", "datachannel",
		      "--offer-dataplanes", "datagram",	   NULL};
	char *both[] = {"natlab-ice", "--offer-dataplanes", "datagram,datachannel", NULL};
	struct ice_opts o;
	char err[ICE_OPTS_ERR_MAX];
	(void)st;

	assert_int_equal(ice_opts_parse(&o, ARGC(dc), dc, err, sizeof(err)), 0);
	assert_int_equal(o.offer_dataplanes, ICE_OPTS_OFFER_DATACHANNEL);
	assert_int_equal(o.dataplane, ICE_DATAPLANE_DATACHANNEL);
	assert_int_equal(ice_opts_parse(&o, ARGC(dg), dg, err, sizeof(err)), 0);
	assert_int_equal(o.dataplane, ICE_DATAPLANE_DATAGRAM);
	assert_int_equal(ice_opts_parse(&o, ARGC(both), both, err, sizeof(err)), 0);
	assert_int_equal(o.offer_dataplanes, ICE_OPTS_OFFER_DATAGRAM | ICE_OPTS_OFFER_DATACHANNEL);
	assert_int_equal(o.dataplane, ICE_DATAPLANE_DATAGRAM);
}

/* @opt @value is refused: the message names @want, and the usage text
 * follows it or not (@usage). */
static void expect_bad(const char *opt, const char *value, const char *want, bool usage)
{
	char o1[64], v1[256];
	char *argv[] = {"natlab-ice", o1, v1, NULL};
	struct ice_opts o;
	char err[ICE_OPTS_ERR_MAX];

	snprintf(o1, sizeof(o1), "%s", opt);
	snprintf(v1, sizeof(v1), "%s", value);
	assert_int_equal(ice_opts_parse(&o, ARGC(argv), argv, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("%s %s: message \"%s\" does not name \"%s\"", opt, value, err, want);
	assert_int_equal(o.usage, usage);
}

static void test_bad_values(void **st)
{
	(void)st;
	expect_bad("--role", "boss", "--role: bad value 'boss'", true);
	expect_bad("--policy", "some", "--policy: bad value 'some'", true);
	expect_bad("--components", "0", "--components: bad value '0'", true);
	expect_bad("--components", "9", "--components: bad value '9'", true);
	expect_bad("--nomination", "eager", "--nomination: bad value 'eager'", true);
	expect_bad("--ta-ms", "-1x", "--ta-ms: bad value '-1x'", true);
	expect_bad("--rto-ms", "", "--rto-ms: bad value ''", true);
	expect_bad("--retransmits", "21", "--retransmits: bad value '21'", true);
	expect_bad("--retransmits", "0", "--retransmits: bad value '0'", true);
	expect_bad("--consent-timeout-ms", "4294967296",
		   "--consent-timeout-ms: bad value '4294967296'", true);
	expect_bad("--keepalive-ms", "1s", "--keepalive-ms: bad value '1s'", true);
	expect_bad("--nominate-wait-ms", "x", "--nominate-wait-ms: bad value 'x'", true);
	expect_bad("--gather-timeout-ms", "1.5", "--gather-timeout-ms: bad value '1.5'", true);
	expect_bad("--seed", "12ab", "--seed: bad value '12ab'", true);
	expect_bad("--dataplane", "webrtc", "--dataplane: bad value 'webrtc'", true);
	expect_bad("--offer-dataplanes", "rtp", "--offer-dataplanes: bad value 'rtp'", true);
	/* --stun and --turn say what they want and print no usage text */
	expect_bad("--stun", "stun.example:3478",
		   "--stun stun.example:3478: want a numeric IP:PORT", false);
	expect_bad("--turn", "198.51.100.2:3478", "--turn 198.51.100.2:3478: want udp|tcp|tls",
		   false);
	expect_bad("--turn", "dtls:198.51.100.2:3478", "--turn dtls:198.51.100.2:3478", false);
	expect_bad("--turn", "tcp:198.51.100.2", "--turn tcp:198.51.100.2", false);
}

static void test_limits(void **st)
{
	char *stun[] = {"natlab-ice",  "--stun", "192.0.2.1:1", "--stun", "192.0.2.1:2", "--stun",
			"192.0.2.1:3", "--stun", "192.0.2.1:4", "--stun", "192.0.2.1:5", NULL};
	char *turn[] = {"natlab-ice",	   "--turn", "udp:192.0.2.1:1", "--turn",
			"udp:192.0.2.1:2", "--turn", "udp:192.0.2.1:3", "--turn",
			"udp:192.0.2.1:4", "--turn", "udp:192.0.2.1:5", NULL};
	char *ifs[] = {"natlab-ice",  "--interface", "a",	    "--interface", "b",
		       "--interface", "c",	     "--interface", "d",	   "--interface",
		       "e",	      "--interface", "f",	    "--interface", "g",
		       "--interface", "h",	     "--interface", "i",	   NULL};
	char *extra[] = {"natlab-ice", "--tcp", "stray", NULL};
	struct ice_opts o;
	char err[ICE_OPTS_ERR_MAX];
	(void)st;

	assert_int_equal(ice_opts_parse(&o, ARGC(stun), stun, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--stun 192.0.2.1:5: want a numeric IP:PORT (at most 4"));
	assert_int_equal(ice_opts_parse(&o, ARGC(turn), turn, err, sizeof(err)), -EINVAL);
	assert_non_null(
	    strstr(err, "--turn udp:192.0.2.1:5: want udp|tcp|tls:IP:PORT (at most 4)"));
	assert_int_equal(ice_opts_parse(&o, ARGC(ifs), ifs, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--interface i: at most 8 interfaces");
	/* a stray argument: no message of its own, the usage text */
	assert_int_equal(ice_opts_parse(&o, ARGC(extra), extra, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "");
	assert_true(o.usage);
}

static void test_usage_text(void **st)
{
	char buf[2048] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	(void)st;

	assert_non_null(f);
	ice_opts_usage(f);
	fclose(f);
	assert_true(strncmp(buf, "usage: natlab-ice ", 18) == 0);
	/* every option the parser takes is in the text */
	static const char *const names[] = {"--role",
					    "--stun",
					    "--turn ",
					    "--turn-user",
					    "--turn-pass",
					    "--policy",
					    "--components",
					    "--trickle",
					    "--nomination",
					    "--ta-ms",
					    "--rto-ms",
					    "--retransmits",
					    "--consent-timeout-ms",
					    "--keepalive-ms",
					    "--nominate-wait-ms",
					    "--gather-timeout-ms",
					    "--interface",
					    "--tcp",
					    "--seed",
					    "--verbose"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(buf, names[i]))
			fail_msg("usage text lacks %s", names[i]);
}

/* whether "lo" is up with an IPv4 address (not so in a fresh network
 * namespace, where the address list has nothing to find) */
static bool lo_up(void)
{
	struct ifaddrs *ifa = NULL;
	bool up = false;
	if (getifaddrs(&ifa) < 0)
		return false;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
		if (strcmp(i->ifa_name, "lo") == 0 && (i->ifa_flags & IFF_UP) && i->ifa_addr &&
		    i->ifa_addr->sa_family == AF_INET)
			up = true;
	freeifaddrs(ifa);
	return up;
}

static void test_hostaddr(void **st)
{
	const char *lo[] = {"lo"};
	const char *none[] = {"natlab-no-such-if"};
	union ice_addr a[8];
	int n;
	(void)st;

	if (!lo_up())
		skip();
	/* named, loopback is taken: 127.0.0.1 (and ::1 where it exists) */
	n = ice_hostaddr_list(lo, 1, a, 8);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_true(ice_addr_is_loopback(&a[i]));
	/* a name that is no interface gives nothing */
	assert_int_equal(ice_hostaddr_list(none, 1, a, 8), 0);
	/* every interface: never a link-local address, and something (at
	 * worst loopback, when nothing else is up) */
	n = ice_hostaddr_list(NULL, 0, a, 8);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_false(ice_addr_is_link_local(&a[i]));
	/* @cap bounds what is written */
	assert_int_equal(ice_hostaddr_list(lo, 1, a, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),   cmocka_unit_test(test_every_option),
	    cmocka_unit_test(test_help),       cmocka_unit_test(test_offer_dataplanes),
	    cmocka_unit_test(test_bad_values), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_usage_text), cmocka_unit_test(test_hostaddr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
