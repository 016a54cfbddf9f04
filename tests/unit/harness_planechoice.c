/* The data plane two agents use (harness/planechoice.h,
 * docs/agent-protocol.md "The data plane"): what a ready event offers
 * (absent: datagram), the plane asked for when both offer it, else
 * datagram, else datachannel, else none. No root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness/planechoice.h"

#define DG PLANECHOICE_DATAGRAM
#define DC PLANECHOICE_DATACHANNEL

static unsigned offer_of(const char *json)
{
	json_t *r = json ? json_loads(json, 0, NULL) : NULL;
	unsigned o = planechoice_offer(r);
	json_decref(r);
	return o;
}

static void test_offer(void **state)
{
	(void)state;
	/* today's adapters say nothing: datagram only */
	assert_int_equal(offer_of(NULL), DG);
	assert_int_equal(offer_of("{\"ev\":\"ready\",\"impl\":\"x\"}"), DG);
	assert_int_equal(offer_of("{\"dataplanes\":[\"datachannel\"]}"), DC);
	assert_int_equal(offer_of("{\"dataplanes\":[\"datagram\",\"datachannel\"]}"), DG | DC);
	/* a plane this harness does not know is left out; an empty list
	 * offers nothing; a malformed field counts as absent */
	assert_int_equal(offer_of("{\"dataplanes\":[\"quic\",\"datachannel\",7]}"), DC);
	assert_int_equal(offer_of("{\"dataplanes\":[]}"), 0);
	assert_int_equal(offer_of("{\"dataplanes\":\"datachannel\"}"), DG);
}

static void test_pick(void **state)
{
	(void)state;
	/* nothing asked: datagram first, then the data channel */
	assert_int_equal(planechoice_pick(DG, DG, NULL), DG);
	assert_int_equal(planechoice_pick(DG | DC, DG | DC, NULL), DG);
	assert_int_equal(planechoice_pick(DG | DC, DC, "auto"), DC);
	assert_int_equal(planechoice_pick(DC, DG | DC, ""), DC);
	/* asked and shared: taken */
	assert_int_equal(planechoice_pick(DG | DC, DG | DC, "datachannel"), DC);
	assert_int_equal(planechoice_pick(DG | DC, DG | DC, "datagram"), DG);
	/* asked but one side lacks it: the order above */
	assert_int_equal(planechoice_pick(DG | DC, DG, "datachannel"), DG);
	assert_int_equal(planechoice_pick(DC, DG | DC, "datagram"), DC);
	/* none in common */
	assert_int_equal(planechoice_pick(DC, DG, NULL), PLANECHOICE_NONE);
	assert_int_equal(planechoice_pick(0, DG | DC, "datagram"), PLANECHOICE_NONE);
}

static void test_names(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(planechoice_name(DG), "datagram");
	assert_string_equal(planechoice_name(DC), "datachannel");
	assert_null(planechoice_name(PLANECHOICE_NONE));
	assert_int_equal(planechoice_parse("datachannel"), DC);
	assert_int_equal(planechoice_parse("auto"), PLANECHOICE_NONE);
	assert_int_equal(planechoice_parse(NULL), PLANECHOICE_NONE);
	assert_string_equal(planechoice_describe(DG | DC, buf, sizeof(buf)),
			    "datagram, datachannel");
	assert_string_equal(planechoice_describe(DC, buf, sizeof(buf)), "datachannel");
	assert_string_equal(planechoice_describe(0, buf, sizeof(buf)), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offer),
	    cmocka_unit_test(test_pick),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
