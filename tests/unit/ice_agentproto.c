/* ice_agentproto.c - the agent protocol's commands and events
 * (docs/agent-protocol.md), and the data plane's numbered datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agents/ice/agentproto.h"
#include "agents/ice/dataplane.h"

static int parse(const char *s, struct agentproto_cmd *c, char *err)
{
	return agentproto_cmd_parse(s, strlen(s), c, err, AGENTPROTO_ERR_MAX);
}

static void test_commands(void **st)
{
	static struct agentproto_cmd c;
	char err[AGENTPROTO_ERR_MAX];
	(void)st;
	assert_int_equal(parse("{\"cmd\":\"gather\"}", &c, err), 0);
	assert_int_equal(c.type, AGENTPROTO_GATHER);
	assert_int_equal(c.dataplane, AGENTPROTO_DATAPLANE_UNSET);
	/* the plane the harness chose from both ready events */
	assert_int_equal(parse("{\"cmd\":\"gather\",\"dataplane\":\"datachannel\"}", &c, err), 0);
	assert_int_equal(c.dataplane, AGENTPROTO_DATAPLANE_DATACHANNEL);
	assert_int_equal(parse("{\"cmd\":\"gather\",\"dataplane\":\"datagram\"}", &c, err), 0);
	assert_int_equal(c.dataplane, AGENTPROTO_DATAPLANE_DATAGRAM);
	assert_int_equal(parse("{\"cmd\":\"gather\",\"dataplane\":null}", &c, err), 0);
	assert_int_equal(c.dataplane, AGENTPROTO_DATAPLANE_UNSET);
	/* a plane the protocol does not have, or not a string: refused, named */
	assert_int_equal(parse("{\"cmd\":\"gather\",\"dataplane\":\"rtp\"}", &c, err), -EINVAL);
	assert_non_null(strstr(err, "\"dataplane\" must be"));
	assert_int_equal(parse("{\"cmd\":\"gather\",\"dataplane\":2}", &c, err), -EINVAL);
	assert_int_equal(parse("{\"cmd\":\"remote\",\"ufrag\":\"abcd\",\"pwd\":"
			       "\"0123456789012345678901\",\"candidates\":[\"candidate:1 1 udp "
			       "2130706431 10.0.1.2 50000 typ host\",\"candidate:2 1 udp 1 "
			       "x.local 5 typ host\"]}",
			       &c, err),
			 0);
	assert_int_equal(c.type, AGENTPROTO_REMOTE);
	assert_string_equal(c.ufrag, "abcd");
	assert_int_equal(c.ncands, 1);
	assert_int_equal(c.nskipped, 1); /* the mDNS one: skipped, said so */
	assert_non_null(strstr(c.skipped, "x.local"));
	assert_int_equal(parse("{\"cmd\":\"candidate\",\"candidate\":\"candidate:1 1 udp 1 "
			       "10.0.1.2 5 typ host\"}",
			       &c, err),
			 0);
	assert_int_equal(c.type, AGENTPROTO_CANDIDATE);
	assert_int_equal(c.ncands, 1);
	assert_int_equal(parse("{\"cmd\":\"end-of-candidates\"}", &c, err), 0);
	assert_int_equal(c.type, AGENTPROTO_END_OF_CANDIDATES);
	assert_int_equal(
	    parse("{\"cmd\":\"send\",\"n\":50,\"size\":300,\"interval_ms\":5}", &c, err), 0);
	assert_int_equal(c.n, 50);
	assert_int_equal(c.size, 300);
	assert_int_equal(c.interval_ms, 5);
	assert_int_equal(parse("{\"cmd\":\"send\",\"n\":3}", &c, err), 0);
	assert_int_equal(c.size, 100); /* defaults */
	assert_int_equal(c.interval_ms, 20);
	assert_int_equal(parse("{\"cmd\":\"restart\"}", &c, err), 0);
	assert_int_equal(c.type, AGENTPROTO_RESTART);
	assert_int_equal(parse("{\"cmd\":\"stop\"}", &c, err), 0);
	assert_int_equal(c.type, AGENTPROTO_STOP);
}

static void test_bad_commands(void **st)
{
	static struct agentproto_cmd c;
	char err[AGENTPROTO_ERR_MAX];
	static const struct {
		const char *line, *why;
	} bad[] = {
	    {"not json", "bad JSON"},
	    {"[1,2]", "JSON object"},
	    {"{\"cmd\":1}", "\"cmd\""},
	    {"{}", "\"cmd\""},
	    {"{\"cmd\":\"dance\"}", "unknown command"},
	    {"{\"cmd\":\"remote\",\"pwd\":\"x\"}", "\"ufrag\""},
	    {"{\"cmd\":\"remote\",\"ufrag\":\"a\",\"pwd\":\"b\",\"candidates\":3}", "array"},
	    {"{\"cmd\":\"remote\",\"ufrag\":\"a\",\"pwd\":\"b\",\"candidates\":[\"nope\"]}",
	     "bad candidate"},
	    {"{\"cmd\":\"send\"}", "\"n\" is missing"},
	    {"{\"cmd\":\"send\",\"n\":-1}", "\"n\""},
	    {"{\"cmd\":\"send\",\"n\":1,\"size\":100000}", "\"size\""},
	    {"{\"cmd\":\"send\",\"n\":\"3\"}", "integer"},
	    {"{\"cmd\":\"gather\",\"cmd\":\"stop\"}", "bad JSON"}, /* duplicate key */
	};
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i].line, &c, err), -EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].line, err,
				 bad[i].why);
	}
}

/* Every event is one line of JSON with "ev" and an integer "t_ms". */
static void test_events(void **st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct agentproto_out o = {f};
	struct ice_candidate c;
	struct agentproto_endpoint l, r;
	struct agentproto_data_report d = {10, 9, 8, 2, 0.25, 1.5};
	const char *line = "candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host";
	int nlines = 0;
	(void)st;
	assert_int_equal(ice_candidate_parse(line, strlen(line), &c), 0);
	memset(&l, 0, sizeof(l));
	l.type = ICE_CAND_RELAY;
	l.relay_transport = "tls";
	ice_addr_from_text(&l.addr, "198.51.100.1", 40000);
	r = l;
	r.type = ICE_CAND_SRFLX;
	agentproto_ev_ready(&o, 0, "natlab-ice", "0.1");
	agentproto_ev_local(&o, 5, "ufra", "pwdpwdpwdpwdpwdpwdpwdpwd", &c, 1, true);
	agentproto_ev_candidate(&o, 6, &c);
	agentproto_ev_end_of_candidates(&o, 7);
	agentproto_ev_state(&o, 8, "checking");
	agentproto_ev_pair(&o, 9, "selected", 1, &l, &r, 3);
	{
		struct agentproto_check ck[2] = {
		    {.component = 1,
		     .local = l,
		     .remote = r,
		     .state = "succeeded",
		     .priority = 9115005270282354687ull,
		     .valid = true,
		     .nominated = true,
		     .checks = 2,
		     .rtt_ms = 4},
		    {.component = 1, .local = r, .remote = r, .state = "frozen", .rtt_ms = -1},
		};
		agentproto_ev_checks(&o, 9, ck, 2);
	}
	agentproto_ev_consent_lost(&o, 10, 1, &l, &r);
	agentproto_ev_failed(&o, 11, "all candidate pairs failed");
	agentproto_ev_rx(&o, 12, 7, 100);
	agentproto_ev_data(&o, 13, &d);
	agentproto_ev_log(&o, 14, "warning", "x=%d", 1);
	agentproto_ev_error(&o, 15, "bad \"%s\"\nline", "q");
	fclose(f);
	for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		const char *ev;
		assert_non_null(j);
		ev = json_string_value(json_object_get(j, "ev"));
		assert_non_null(ev);
		assert_true(json_is_integer(json_object_get(j, "t_ms")));
		if (strcmp(ev, "local") == 0) {
			assert_string_equal(
			    json_string_value(json_array_get(json_object_get(j, "candidates"), 0)),
			    line);
			assert_true(json_is_true(json_object_get(j, "complete")));
		} else if (strcmp(ev, "selected") == 0) {
			json_t *lo = json_object_get(j, "local");
			assert_string_equal(json_string_value(json_object_get(lo, "type")),
					    "relay");
			assert_string_equal(
			    json_string_value(json_object_get(lo, "relay_transport")), "tls");
			assert_string_equal(json_string_value(json_object_get(lo, "address")),
					    "198.51.100.1");
			assert_int_equal(json_integer_value(json_object_get(lo, "port")), 40000);
			/* relay_transport only on relays */
			assert_null(
			    json_object_get(json_object_get(j, "remote"), "relay_transport"));
			assert_int_equal(json_integer_value(json_object_get(j, "rtt_ms")), 3);
		} else if (strcmp(ev, "checks") == 0) {
			json_t *ps = json_object_get(j, "pairs"), *p0 = json_array_get(ps, 0),
			       *p1 = json_array_get(ps, 1);
			assert_int_equal(json_array_size(ps), 2);
			assert_string_equal(json_string_value(json_object_get(p0, "state")),
					    "succeeded");
			/* a 64-bit pair priority survives as an exact integer */
			assert_true(json_integer_value(json_object_get(p0, "priority")) ==
				    9115005270282354687ll);
			assert_true(json_is_true(json_object_get(p0, "nominated")));
			assert_int_equal(json_integer_value(json_object_get(p0, "rtt_ms")), 4);
			assert_string_equal(json_string_value(json_object_get(
						json_object_get(p0, "local"), "relay_transport")),
					    "tls");
			assert_true(json_is_false(json_object_get(p1, "valid")));
			assert_null(json_object_get(p1, "rtt_ms")); /* none: not written */
		} else if (strcmp(ev, "data") == 0) {
			assert_int_equal(json_integer_value(json_object_get(j, "lost")), 2);
			assert_true(json_number_value(json_object_get(j, "rtt_ms_p95")) == 1.5);
		} else if (strcmp(ev, "candidate") == 0 && json_object_get(j, "end")) {
			assert_true(json_is_true(json_object_get(j, "end")));
		}
		json_decref(j);
		nlines++;
	}
	assert_int_equal(nlines, 13); /* the embedded newline was escaped */
	free(buf);
}

static void test_dataplane(void **st)
{
	struct dataplane *a, *b;
	uint8_t pkt[DATAPLANE_SIZE_MAX], ack[DATAPLANE_HEADER_LEN];
	size_t n, alen;
	uint32_t seq;
	uint64_t t = 1000;
	struct dataplane_report ra, rb;
	(void)st;
	assert_int_equal(dataplane_new(&a), 0);
	assert_int_equal(dataplane_new(&b), 0);
	assert_int_equal(dataplane_start(a, 10, 200, 1000, t), 0);
	assert_int_equal(dataplane_start(a, 10, 200, 1000, t), -EBUSY);
	/* a sends 10 datagrams 1 ms apart; b drops #3; acks take 500 us */
	for (int i = 0; i < 10; i++, t += 1000) {
		n = dataplane_next_send(a, t, pkt);
		assert_int_equal(n, 200);
		assert_int_equal(dataplane_next_send(a, t, pkt), 0); /* paced */
		if (i == 3)
			continue;
		assert_int_equal(dataplane_input(b, pkt, n, t + 200, &seq, ack, &alen),
				 DATAPLANE_DATA);
		assert_int_equal(seq, (uint32_t)i);
		/* a duplicate is not counted twice */
		if (i == 5)
			dataplane_input(b, pkt, n, t + 200, &seq, ack, &alen);
		assert_int_equal(dataplane_input(a, ack, alen, t + 500, &seq, pkt, &n),
				 DATAPLANE_ACK);
	}
	assert_int_equal(dataplane_input(a, (const uint8_t *)"\x00\x01", 2, t, &seq, ack, &alen),
			 DATAPLANE_NOT_OURS);
	assert_false(dataplane_report_due(a, t, &ra));
	t += DATAPLANE_QUIET_US;
	assert_true(dataplane_report_due(a, t, &ra));
	assert_false(dataplane_report_due(a, t, &ra)); /* once */
	assert_int_equal(ra.sent, 10);
	assert_int_equal(ra.acked, 9);
	assert_int_equal(ra.lost, 1);
	assert_true(ra.rtt_ms_median > 0.49 && ra.rtt_ms_median < 0.51);
	/* b never sent: its run starts now and counts what it got */
	assert_int_equal(dataplane_start(b, 1, 10, 0, t), 0);
	n = dataplane_next_send(b, t, pkt);
	assert_int_equal(n, DATAPLANE_HEADER_LEN); /* padded up to the header */
	assert_true(dataplane_report_due(b, t + DATAPLANE_QUIET_US, &rb));
	assert_int_equal(rb.received, 9);
	assert_int_equal(rb.lost, 1);
	assert_true(rb.rtt_ms_median < 0);
	dataplane_free(a);
	dataplane_free(b);
	dataplane_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_bad_commands),
	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_dataplane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
