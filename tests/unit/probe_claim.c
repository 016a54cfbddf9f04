/* probe_claim.c - the claims `natlab probe` derives from preset knobs, and
 * the comparison with a probe report: a measurement that matches passes, a
 * deliberately wrong one (mapping, hairpinning, UDP, lifetime) is flagged
 * on exactly the row that differs. No lab, no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "harness/probe_cmd.h"

static json_t *report(const char *mapping, const char *filtering, const char *ports, bool hairpin)
{
	return json_pack("{s:b,s:b,s:s,s:s,s:b,s:{s:s},s:{s:b},s:{s:b,s:i,s:i}}", "udp", 1, "nat",
			 1, "mapping", mapping, "filtering", filtering, "hairpinning", hairpin,
			 "port_assignment", "pattern", ports, "alg", "detected", 0, "lifetime",
			 "tested", 1, "alive_ms", 2750, "expired_ms", 3000);
}

static const struct probe_row *row(const struct probe_row *rows, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (strcmp(rows[i].what, what) == 0)
			return &rows[i];
	return NULL;
}

static void test_claims_from_knobs(void **st)
{
	struct probe_claim c;
	struct natlab_err e = {""};
	(void)st;

	assert_int_equal(probe_claim_for_preset("symmetric", 0, false, &c, &e), 0);
	assert_string_equal(c.mapping, "address-and-port-dependent");
	assert_string_equal(c.ports, "random");
	assert_false(c.hairpin);
	assert_int_equal(c.udp_timeout_s, 120);
	assert_int_equal(probe_claim_for_preset("cgnat", 0, false, &c, &e), 0);
	/* home (preserve) behind carrier (random): random shows */
	assert_string_equal(c.mapping, "endpoint-independent");
	assert_string_equal(c.filtering, "address-and-port-dependent");
	assert_string_equal(c.ports, "random");
	assert_true(c.hairpin);
	assert_int_equal(probe_claim_for_preset("open", 0, true, &c, &e), 0);
	assert_false(c.nat);
	assert_false(c.check_lifetime); /* no NAT, no mapping to time */
	assert_int_equal(probe_claim_for_preset("udp-blocked", 0, false, &c, &e), 0);
	assert_false(c.udp);
	assert_int_equal(probe_claim_for_preset("nope", 0, false, &c, &e), -ENOENT);

	/* a custom stack: AD behind EI -> AD; sequential behind preserve */
	struct emu_nat_config in, out;
	assert_int_equal(emu_nat_preset("address-dependent", &in, &e), 0);
	assert_int_equal(emu_nat_preset("full-cone", &out, &e), 0);
	probe_claim_derive(&out, &in, false, &c);
	assert_string_equal(c.mapping, "address-dependent");
	assert_string_equal(c.filtering, "address-dependent");
	assert_string_equal(c.ports, "sequential");
}

static void test_match_and_mismatch(void **st)
{
	struct probe_claim c;
	struct probe_row rows[PROBE_ROWS_MAX];
	struct natlab_err e = {""};
	int n;
	json_t *m;
	(void)st;

	assert_int_equal(probe_claim_for_preset("port-restricted-cone", 3, true, &c, &e), 0);
	m = report("endpoint-independent", "address-and-port-dependent", "preserved", true);
	assert_int_equal(probe_claim_compare(&c, m, 1300, rows, &n), 0);
	assert_int_equal(n, 8);
	json_decref(m);

	/* the deliberately wrong measurement: symmetric mapping, no hairpin */
	m = report("address-and-port-dependent", "address-and-port-dependent", "preserved", false);
	assert_int_equal(probe_claim_compare(&c, m, 1300, rows, &n), 2);
	assert_false(row(rows, n, "mapping")->ok);
	assert_string_equal(row(rows, n, "mapping")->measured, "address-and-port-dependent");
	assert_false(row(rows, n, "hairpinning")->ok);
	assert_true(row(rows, n, "filtering")->ok);
	json_decref(m);

	/* a 3 s claim against a mapping measured to die after 10 s */
	m = report("endpoint-independent", "address-and-port-dependent", "preserved", true);
	json_object_set_new(json_object_get(m, "lifetime"), "alive_ms", json_integer(9500));
	json_object_set_new(json_object_get(m, "lifetime"), "expired_ms", json_integer(10000));
	assert_int_equal(probe_claim_compare(&c, m, 1300, rows, &n), 1);
	assert_false(row(rows, n, "mapping lifetime")->ok);
	json_decref(m);

	/* claimed UDP through, measured blocked: one row, a mismatch */
	m = json_pack("{s:b,s:s}", "udp", 0, "mapping", "unknown");
	assert_int_equal(probe_claim_compare(&c, m, 1300, rows, &n), 1);
	assert_int_equal(n, 1);
	json_decref(m);

	/* udp-blocked measured as passing UDP is a mismatch too */
	assert_int_equal(probe_claim_for_preset("udp-blocked", 0, false, &c, &e), 0);
	m = report("endpoint-independent", "address-and-port-dependent", "preserved", false);
	assert_int_equal(probe_claim_compare(&c, m, 1300, rows, &n), 1);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_claims_from_knobs),
	    cmocka_unit_test(test_match_and_mismatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
