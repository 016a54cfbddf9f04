/* harness_evidence.c - a failed cell's message quotes the NAT evidence that
 * explains it (harness/evidence.c): the largest drops over every NAT, the
 * filtering rule named by the NAT's filtering behaviour, the agent's or
 * verdict's text kept first; passing cells and cells without drops keep
 * their message. No root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "harness/evidence.h"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad fixture: %s", je.text);
	return j;
}

static const char *EV =
    "{\"left-nat\":{\"nat\":{\"mapping\":\"apd\",\"filtering\":\"apd\"},\"drops\":["
    "{\"rule\":\"filtering\",\"proto\":\"udp\",\"src\":\"203.0.113.6:5000\","
    "\"dst\":\"203.0.113.2:40001\",\"pkts\":3}]},"
    "\"right-nat\":{\"nat\":{\"mapping\":\"ei\",\"filtering\":\"apd\"},\"drops\":["
    "{\"rule\":\"filtering\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.6:5000\",\"pkts\":14},"
    "{\"rule\":\"udp_blocked\",\"proto\":\"udp\",\"src\":\"10.0.0.2:1\","
    "\"dst\":\"203.0.113.6:5000\",\"pkts\":1}]}}";

static void test_explain(void **state)
{
	json_t *ev = load(EV);
	char buf[512];
	size_t n = evidence_explain(ev, buf, sizeof(buf));

	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "right-nat (APDF filtering) dropped 14 udp packets from "
				 "203.0.113.2:40001 to 203.0.113.6:5000; "
				 "left-nat (APDF filtering) dropped 3 udp packets from "
				 "203.0.113.6:5000 to 203.0.113.2:40001");
	/* a short buffer is cut, still terminated */
	n = evidence_explain(ev, buf, 20);
	assert_int_equal(strlen(buf), 19);
	assert_int_equal(n, 19);
	json_decref(ev);
}

static void test_explain_rules(void **state)
{
	json_t *ev =
	    load("{\"fw\":{\"nat\":{\"translate\":false},\"drops\":[{\"rule\":\"filtering\","
		 "\"proto\":\"udp\",\"src\":\"a:1\",\"dst\":\"b:2\",\"pkts\":1}]},"
		 "\"n\":{\"nat\":{\"filtering\":\"ad\"},\"drops\":[{\"rule\":\"udp_blocked\","
		 "\"proto\":\"udp\",\"src\":\"c:1\",\"dst\":\"d:2\",\"pkts\":1}]}}");
	char buf[512];

	evidence_explain(ev, buf, sizeof(buf));
	/* no filtering knob recorded: the rule's own name; one packet */
	assert_string_equal(buf, "fw (filtering) dropped 1 udp packet from a:1 to b:2; "
				 "n (udp_blocked) dropped 1 udp packet from c:1 to d:2");
	json_decref(ev);
	ev = load("{\"n\":{\"drops\":[]},\"m\":{\"error\":\"no nfnetlink_log\"}}");
	assert_int_equal(evidence_explain(ev, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	json_decref(ev);
}

static void test_annotate(void **state)
{
	json_t *cell = json_pack("{s:s,s:s,s:o}", "outcome", "fail", "message",
				 "expected path direct, observed relay", "evidence", load(EV));
	json_t *ok = json_pack("{s:s,s:o}", "outcome", "pass", "evidence", load(EV));
	json_t *quiet =
	    json_pack("{s:s,s:s,s:{}}", "outcome", "fail", "message", "ICE failed", "evidence");

	evidence_annotate(cell);
	assert_string_equal(json_string_value(json_object_get(cell, "message")),
			    "expected path direct, observed relay; evidence: right-nat (APDF "
			    "filtering) dropped 14 udp packets from 203.0.113.2:40001 to "
			    "203.0.113.6:5000; left-nat (APDF filtering) dropped 3 udp packets "
			    "from 203.0.113.6:5000 to 203.0.113.2:40001");
	evidence_annotate(ok);
	assert_null(json_object_get(ok, "message"));
	/* an implementation's declared limit is no failure to explain */
	json_object_set_new(ok, "outcome", json_string("unsupported"));
	json_object_set_new(ok, "message", json_string("left cannot do TURN over TLS"));
	evidence_annotate(ok);
	assert_string_equal(json_string_value(json_object_get(ok, "message")),
			    "left cannot do TURN over TLS");
	evidence_annotate(quiet);
	assert_string_equal(json_string_value(json_object_get(quiet, "message")), "ICE failed");
	json_decref(cell);
	json_decref(ok);
	json_decref(quiet);
	/* a failed cell with no message gets the evidence alone */
	cell = json_pack("{s:s,s:o}", "outcome", "error", "evidence", load(EV));
	evidence_annotate(cell);
	assert_int_equal(
	    strncmp(json_string_value(json_object_get(cell, "message")), "evidence: right-nat", 19),
	    0);
	json_decref(cell);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_explain_rules),
	    cmocka_unit_test(test_annotate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
