/* dut_portmap.c - natlab dut's port-mapping rows (harness/dut_portmap.c):
 * a device that maps, lets the datagram in, deletes and keeps its epoch
 * passes; each way of falling short fails its row; a protocol that does
 * not answer is not tested, one that refuses is inconclusive. No lab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "pmcheck_good.h"

#include <stdlib.h>
#include <string.h>

#include "harness/dut_portmap.h"

static void good(struct pmcheck_report *rep)
{
	pmcheck_good(rep, 7, 3);
}

static const struct compl_row *rows(const struct pmcheck_report *pm, struct compl_report *r)
{
	memset(r, 0, sizeof(*r));
	r->n_rows = 2; /* the suite's rows come first */
	dut_portmap_rows(pm, r);
	assert_int_equal(r->n_rows, 5);
	return &r->rows[2];
}

static void test_pass(void **st)
{
	struct pmcheck_report pm;
	struct compl_report *r = calloc(1, sizeof(*r));
	const struct compl_row *w;
	(void)st;

	good(&pm);
	w = rows(&pm, r);
	assert_string_equal(w[0].key, "pcp");
	assert_string_equal(w[1].key, "natpmp");
	assert_string_equal(w[2].key, "upnp_igd");
	for (int i = 0; i < 3; i++)
		assert_int_equal(w[i].verdict, COMPL_PASS);
	assert_string_equal(w[0].measured, "203.0.114.1:40100, 600 s, epoch 7 s");
	assert_string_equal(w[2].measured, "203.0.114.1:40102, 600 s");
	assert_non_null(strstr(w[0].evidence, "a fresh datagram after it: dropped"));
	free(r);
}

static void test_fail_and_others(void **st)
{
	struct pmcheck_report pm;
	struct compl_report *r = calloc(1, sizeof(*r));
	const struct compl_row *w;
	(void)st;

	/* hollow: granted, nothing gets in */
	good(&pm);
	pm.r[PMCHECK_PCP].reachable = 0;
	w = rows(&pm, r);
	assert_int_equal(w[0].verdict, COMPL_FAIL);
	assert_non_null(strstr(w[0].measured, "not reachable"));
	assert_int_equal(w[1].verdict, COMPL_PASS);
	/* still open after deletion; deletion not acknowledged; epoch */
	good(&pm);
	pm.r[PMCHECK_NATPMP].closed_after = 0;
	pm.r[PMCHECK_UPNP].deleted = 0;
	pm.r[PMCHECK_PCP].epoch_ok = 0;
	w = rows(&pm, r);
	for (int i = 0; i < 3; i++)
		assert_int_equal(w[i].verdict, COMPL_FAIL);
	assert_non_null(strstr(w[1].evidence, "arrived (still open)"));
	/* not offered, not tried, refused */
	good(&pm);
	pm.r[PMCHECK_PCP].answered = false;
	pm.r[PMCHECK_UPNP].tested = false;
	pm.r[PMCHECK_NATPMP].external_port = 0;
	strcpy(pm.r[PMCHECK_NATPMP].result, "NOT_AUTHORIZED");
	w = rows(&pm, r);
	assert_int_equal(w[0].verdict, COMPL_NOT_TESTED);
	assert_string_equal(w[0].measured, "no answer: not offered");
	assert_int_equal(w[1].verdict, COMPL_INCONCLUSIVE);
	assert_string_equal(w[1].measured, "answers, maps nothing: NOT_AUTHORIZED");
	assert_int_equal(w[2].verdict, COMPL_NOT_TESTED);
	assert_string_equal(w[2].measured, "not tested");
	/* the other protocol's server refusing the version (RFC 6887 §9) */
	good(&pm);
	pm.r[PMCHECK_NATPMP].answered = false;
	strcpy(pm.r[PMCHECK_NATPMP].result, "UNSUPP_VERSION");
	w = rows(&pm, r);
	assert_int_equal(w[1].verdict, COMPL_NOT_TESTED);
	assert_string_equal(w[1].measured, "not offered (UNSUPP_VERSION)");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pass),
	    cmocka_unit_test(test_fail_and_others),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
