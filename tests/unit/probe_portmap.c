/* probe_portmap.c - `natlab probe --portmap`'s rows (probe_portmap_compare)
 * and the epoch test of harness/pmcheck.c: a measurement that does what
 * the knob says matches; each way a server can fall short (answering a
 * protocol it should not serve, a mapped port not reachable, a deleted
 * mapping still open, a wrong lifetime or address, a server that lost its
 * state) is flagged on exactly its row. No lab, no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "pmcheck_good.h"

#include <string.h>

#include "emu/nat.h"
#include "harness/pmcheck.h"
#include "harness/probe_cmd.h"

static const struct probe_portmap_claim all = {.offered = EMU_NAT_PORTMAP_ALL,
					       .public_addr = "203.0.114.1",
					       .lifetime_s = 600,
					       .min_lifetime_s = 120,
					       .max_lifetime_s = 86400,
					       .udp = true};

static void good(struct pmcheck_report *rep)
{
	pmcheck_good(rep, 3, 2);
}

static const struct probe_row *row(const struct probe_row *rows, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (strcmp(rows[i].what, what) == 0)
			return &rows[i];
	return NULL;
}

/* the one mismatching row's name (or "" when none, "many" when more) */
static const char *compare(const struct probe_portmap_claim *c, const struct pmcheck_report *rep,
			   struct probe_row *rows, int *n)
{
	int bad;
	const char *which = "";

	*n = 0;
	bad = probe_portmap_compare(c, rep, rows, n);
	for (int i = 0; i < *n; i++)
		if (!rows[i].ok)
			which = rows[i].what;
	return bad > 1 ? "many" : which;
}

static void test_all_good(void **st)
{
	struct pmcheck_report rep;
	struct probe_row rows[PROBE_ROWS_MAX];
	int n;
	(void)st;

	good(&rep);
	assert_string_equal(compare(&all, &rep, rows, &n), "");
	/* 5 rows for PCP and NAT-PMP, 4 for UPnP (no epoch) */
	assert_int_equal(n, 14);
	assert_string_equal(row(rows, n, "pcp mapping")->claimed, "203.0.114.1, 600 s");
	assert_string_equal(row(rows, n, "pcp mapping")->measured, "203.0.114.1:40100, 600 s");
	assert_string_equal(row(rows, n, "natpmp epoch")->measured, "3 s, consistent");
	assert_null(row(rows, n, "upnp epoch"));
	/* appended: earlier rows stay */
	n = 3;
	rows[2].what = "alg";
	probe_portmap_compare(&all, &rep, rows, &n);
	assert_int_equal(n, 17);
	assert_string_equal(rows[2].what, "alg");
}

static void test_each_fault_on_its_row(void **st)
{
	struct pmcheck_report rep;
	struct probe_row rows[PROBE_ROWS_MAX];
	struct probe_portmap_claim pcp_only = all;
	int n;
	(void)st;

	/* a protocol the knob does not serve answers (the udp-blocked bug) */
	pcp_only.offered = EMU_NAT_PORTMAP_PCP;
	good(&rep);
	rep.r[PMCHECK_UPNP].answered = false;
	assert_string_equal(compare(&pcp_only, &rep, rows, &n), "natpmp answers");
	/* ... and one it serves does not */
	good(&rep);
	rep.r[PMCHECK_PCP].answered = false;
	assert_string_equal(compare(&all, &rep, rows, &n), "pcp answers");
	/* the server answers, nothing gets in (a hollow server) */
	good(&rep);
	rep.r[PMCHECK_NATPMP].reachable = 0;
	assert_string_equal(compare(&all, &rep, rows, &n), "natpmp reachable");
	/* deleted but still open, or the deletion not acknowledged */
	good(&rep);
	rep.r[PMCHECK_UPNP].closed_after = 0;
	assert_string_equal(compare(&all, &rep, rows, &n), "upnp deleted");
	assert_string_equal(row(rows, n, "upnp deleted")->measured, "acknowledged, still open");
	good(&rep);
	rep.r[PMCHECK_PCP].deleted = 0;
	assert_string_equal(compare(&all, &rep, rows, &n), "pcp deleted");
	/* lifetime or address not the claimed ones */
	good(&rep);
	rep.r[PMCHECK_PCP].lifetime_s = 300;
	assert_string_equal(compare(&all, &rep, rows, &n), "pcp mapping");
	rep.r[PMCHECK_PCP].lifetime_s = 601;
	assert_string_equal(compare(&all, &rep, rows, &n), "pcp mapping");
	/* UPnP reads back the lease left: a second gone is no mismatch */
	rep.r[PMCHECK_PCP].lifetime_s = 599;
	assert_string_equal(compare(&all, &rep, rows, &n), "");
	good(&rep);
	strcpy(rep.r[PMCHECK_NATPMP].external, "10.0.0.1");
	assert_string_equal(compare(&all, &rep, rows, &n), "natpmp mapping");
	/* an epoch that says the server lost its state */
	good(&rep);
	rep.r[PMCHECK_PCP].epoch_ok = 0;
	assert_string_equal(compare(&all, &rep, rows, &n), "pcp epoch");
	assert_string_equal(row(rows, n, "pcp epoch")->measured, "3 s, lost state");
	/* a refused mapping: answers yes, the mapping row says why, no more */
	good(&rep);
	rep.r[PMCHECK_PCP].external_port = 0;
	strcpy(rep.r[PMCHECK_PCP].result, "NOT_AUTHORIZED");
	assert_string_equal(compare(&all, &rep, rows, &n), "pcp mapping");
	assert_string_equal(row(rows, n, "pcp mapping")->measured, "NOT_AUTHORIZED");
	assert_null(row(rows, n, "pcp reachable"));
}

static void test_udp_blocked_and_untested(void **st)
{
	struct pmcheck_report rep;
	struct probe_row rows[PROBE_ROWS_MAX];
	struct probe_portmap_claim c = all;
	int n;
	(void)st;

	/* nothing gets through a NAT that blocks UDP, mapped or not */
	c.udp = false;
	good(&rep);
	for (int p = 0; p < PMCHECK_N; p++)
		rep.r[p].reachable = 0;
	assert_string_equal(compare(&c, &rep, rows, &n), "");
	good(&rep);
	assert_string_equal(compare(&c, &rep, rows, &n), "many");
	/* no upnpc: a claim of "yes" cannot be shown, one of "no" stands */
	good(&rep);
	rep.r[PMCHECK_UPNP].tested = false;
	assert_string_equal(compare(&all, &rep, rows, &n), "upnp answers");
	assert_string_equal(row(rows, n, "upnp answers")->measured, "not tested");
	c = all;
	c.offered = EMU_NAT_PORTMAP_PCP | EMU_NAT_PORTMAP_NATPMP;
	assert_string_equal(compare(&c, &rep, rows, &n), "");
}

static void test_lifetime_claim(void **st)
{
	struct probe_portmap_claim c = all;
	(void)st;

	assert_int_equal(probe_portmap_lifetime_claim(&c), 600);
	c.lifetime_s = 30;
	assert_int_equal(probe_portmap_lifetime_claim(&c), 120);
	c.lifetime_s = 100000;
	assert_int_equal(probe_portmap_lifetime_claim(&c), 86400);
}

/* RFC 6887 §8.5 with its own numbers: 2 s of slack, 1/16 of the delta */
static void test_epoch(void **st)
{
	(void)st;
	assert_true(pmcheck_epoch_ok(10, 12, 2000));
	assert_true(pmcheck_epoch_ok(10, 10, 900));
	/* at most one second backwards */
	assert_true(pmcheck_epoch_ok(5, 4, 500));
	assert_false(pmcheck_epoch_ok(10, 2, 1000));
	/* the server's clock ran 30 s in 2 s: restarted with an old epoch */
	assert_false(pmcheck_epoch_ok(10, 40, 2000));
	/* it stood still for 10 s */
	assert_false(pmcheck_epoch_ok(100, 100, 10000));
	/* 64 s against 60 s: within 60/16 + 2 */
	assert_true(pmcheck_epoch_ok(0, 64, 60000));
	assert_false(pmcheck_epoch_ok(0, 70, 60000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_good),
	    cmocka_unit_test(test_each_fault_on_its_row),
	    cmocka_unit_test(test_udp_blocked_and_untested),
	    cmocka_unit_test(test_lifetime_claim),
	    cmocka_unit_test(test_epoch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
