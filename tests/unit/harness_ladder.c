/* harness_ladder - ladder diagrams of hand-written cell records: the
 * columns a reader sees, arrows between the right columns, drops crossed
 * out at the NAT that dropped them, the settled path highlighted, faults,
 * well-formed XML whatever the record holds, and the byte bound. Set
 * LADDER_DUMP=DIR to keep each diagram as DIR/<test>.svg for a look. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cellsrc.h"
#include "harness/fuzz/xmlcheck.h"
#include "harness/ladder.h"
#include "harness/report.h"

#define BIG (256 * 1024)

/* ---- helpers ---- */

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static json_t *rec(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad test record: %s at %d:%d", je.text, je.line, je.column);
	return j;
}

static void dump(const char *name, const char *svg)
{
	const char *dir = getenv("LADDER_DUMP");
	char path[512];
	FILE *f;

	if (!dir || !svg)
		return;
	snprintf(path, sizeof(path), "%s/%s.svg", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(svg, f);
		fclose(f);
	}
}

/* The ladder of @cell, checked for what every ladder must be. */
static char *draw(const char *name, const json_t *cell, size_t max)
{
	char *svg = ladder_svg(cell, max);
	const char *why;

	assert_non_null(svg);
	assert_true(strlen(svg) <= max);
	why = xmlcheck(svg);
	if (why)
		fail_msg("%s: not well-formed XML: %s", name, why);
	assert_null(strstr(svg, "<script"));
	assert_null(strstr(svg, "href"));
	assert_null(strstr(svg, "@import"));
	dump(name, svg);
	return svg;
}

/* The element with @needle in its start tag: from its '<' to its end. */
static const char *elem(const char *svg, const char *needle)
{
	const char *p = strstr(svg, needle);

	if (!p)
		return NULL;
	while (p > svg && *p != '<')
		p--;
	return p;
}

/* How often @needle occurs in the group starting at @g, up to its </g>. */
static size_t count_in_group(const char *g, const char *needle)
{
	const char *end = strstr(g, "</g>");
	size_t n = 0;

	for (const char *p = strstr(g, needle); p && end && p < end; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The first arrow from column @from to @to whose group (up to its </g>)
 * contains @what (NULL: anything): the start of its group, or NULL. */
static const char *arrow(const char *svg, const char *from, const char *to, const char *what)
{
	char needle[200];

	snprintf(needle, sizeof(needle), "data-from=\"%s\" data-to=\"%s\"", from, to);
	for (const char *p = strstr(svg, needle); p; p = strstr(p + 1, needle)) {
		const char *start = p;
		while (start > svg && strncmp(start, "<g ", 3) != 0)
			start--;
		if (strncmp(start, "<g class=\"ar", 12) != 0 || !strstr(p, "</g>"))
			continue;
		if (!what || count_in_group(start, what) > 0)
			return start;
	}
	return NULL;
}

static bool column(const char *svg, const char *name)
{
	char needle[120];

	snprintf(needle, sizeof(needle), "class=\"col\" data-col=\"%s\"", name);
	return strstr(svg, needle) != NULL;
}

/* The x of column @name's heading. */
static int column_x(const char *svg, const char *name)
{
	char needle[120];
	const char *p;

	snprintf(needle, sizeof(needle), "class=\"col\" data-col=\"%s\" x=\"", name);
	p = strstr(svg, needle);
	return p ? atoi(p + strlen(needle)) : -1;
}

/* ---- records ---- */

/* Two agents behind "easy" NATs, connected directly; the wire saw it at
 * both NATs. */
static const char direct_cell[] =
    "{\"id\":\"matrix/left=easy,right=easy\",\"outcome\":\"pass\",\"path\":\"srflx\","
    "\"params\":{\"left\":\"easy\",\"right\":\"easy\"},"
    "\"candidates\":{\"left\":[\"candidate:a 1 udp 2130706431 10.1.0.2 5000 typ host\","
    "\"candidate:b 1 udp 1694498815 203.0.113.2 40001 typ srflx raddr 10.1.0.2 rport 5000\"],"
    "\"right\":[\"candidate:c 1 udp 2130706431 10.2.0.2 5000 typ host\","
    "\"candidate:d 1 udp 1694498815 203.0.113.6 5000 typ srflx raddr 10.2.0.2 rport 5000\"]},"
    "\"selected\":{\"t_ms\":12,\"local\":{\"type\":\"srflx\",\"address\":\"203.0.113.2\","
    "\"port\":40001},\"remote\":{\"type\":\"srflx\",\"address\":\"203.0.113.6\",\"port\":5000}},"
    "\"events\":[{\"t_ms\":30,\"src\":\"left\",\"ev\":\"local\"},"
    "{\"t_ms\":31,\"src\":\"right\",\"ev\":\"local\"},"
    "{\"t_ms\":200,\"src\":\"left\",\"ev\":\"selected\"},"
    "{\"t_ms\":201,\"src\":\"right\",\"ev\":\"selected\"},"
    "{\"t_ms\":210,\"src\":\"left\",\"ev\":\"rx\"},{\"t_ms\":215,\"src\":\"left\",\"ev\":\"rx\"},"
    "{\"t_ms\":220,\"src\":\"left\",\"ev\":\"rx\"}],"
    "\"wire\":{\"points\":[\"left-nat\",\"right-nat\",\"stun\"],\"window_ms\":[205,400],"
    "\"flows\":["
    "{\"node\":\"left-nat\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.10:3478\",\"tx_pkts\":1,\"rx_pkts\":1,\"first_ms\":32,\"last_ms\":33,"
    "\"kind\":\"stun\"},"
    "{\"node\":\"left-nat\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.6:5000\",\"tx_pkts\":12,\"rx_pkts\":11,\"data_tx_pkts\":4,"
    "\"data_rx_pkts\":4,\"first_ms\":120,\"last_ms\":390,\"kind\":\"direct\"},"
    "{\"node\":\"right-nat\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.6:5000\",\"tx_pkts\":12,\"rx_pkts\":11,\"data_tx_pkts\":4,"
    "\"data_rx_pkts\":4,\"first_ms\":120,\"last_ms\":390,\"kind\":\"direct\"}],"
    "\"directions\":{\"left->right\":{\"class\":\"direct\",\"from\":\"203.0.113.2:40001\","
    "\"to\":\"203.0.113.6:5000\",\"relay\":null}},"
    "\"settled\":{\"class\":\"direct\",\"relay\":null,"
    "\"transport\":{\"left\":\"udp\",\"right\":\"udp\"}}}}";

static void test_direct(void **state)
{
	json_t *c = rec(direct_cell);
	char *svg = draw("direct", c, BIG);
	const char *band, *flow;

	(void)state;
	/* the columns, in order: agent, its NAT, the STUN server, the other NAT, agent */
	assert_true(column(svg, "left") && column(svg, "left-nat") && column(svg, "stun") &&
		    column(svg, "right-nat") && column(svg, "right"));
	assert_false(column(svg, "turn")); /* nothing in the record speaks of TURN */
	assert_true(column_x(svg, "left") < column_x(svg, "left-nat"));
	assert_true(column_x(svg, "left-nat") < column_x(svg, "stun"));
	assert_true(column_x(svg, "stun") < column_x(svg, "right-nat"));
	assert_true(column_x(svg, "right-nat") < column_x(svg, "right"));
	assert_non_null(strstr(svg, ">easy</text>")); /* the NAT's preset under its name */
	/* gathering: the STUN flow, and the answer the agent got */
	assert_true(arrow(svg, "left", "stun", "tx 1 / rx 1 pkts"));
	assert_true(arrow(svg, "stun", "left", "203.0.113.2:40001"));
	/* the direct flow: one arrow although seen at two NATs, dots at both */
	assert_int_equal(count(svg, "direct udp 203.0.113.2:40001 -&gt; 203.0.113.6:5000"), 1);
	flow = arrow(svg, "left", "right", "tx 12 / rx 11 pkts");
	assert_non_null(flow);
	assert_int_equal(count_in_group(flow, "class=\"obs\""), 2);
	/* its data phase is on the settled path */
	assert_true(arrow(svg, "left", "right", "data direct: tx 4 / rx 4"));
	assert_non_null(strstr(svg, "class=\"ar k-data on\" data-from=\"left\" data-to=\"right\""));
	/* the agents' claims */
	assert_non_null(
	    strstr(svg, "selected: srflx 203.0.113.2:40001 -&gt; srflx 203.0.113.6:5000"));
	assert_true(arrow(svg, "right", "left", "rx (left&#39;s word) x3 (210-220 ms)"));
	/* the settled path, from the wire, through both NATs and not a server */
	band = elem(svg, "class=\"settled\"");
	assert_non_null(band);
	assert_non_null(strstr(band, "data-source=\"wire\""));
	assert_non_null(strstr(band, "data-path=\"left,left-nat,right-nat,right\""));
	assert_non_null(strstr(band, "settled path (wire): direct"));
	assert_null(strstr(svg, "class=\"elided")); /* all of it fits */
	free(svg);
	json_decref(c);
}

/* Relayed: TURN over UDP on the left, TCP on the right; the settled path
 * goes through the TURN server. */
static const char relay_cell[] =
    "{\"id\":\"matrix/left=symmetric,right=symmetric\",\"outcome\":\"pass\","
    "\"params\":{\"left\":\"symmetric\",\"right\":\"cgnat\"},"
    "\"events\":[{\"t_ms\":300,\"src\":\"left\",\"ev\":\"selected\"},"
    "{\"t_ms\":301,\"src\":\"right\",\"ev\":\"selected\"}],"
    "\"wire\":{\"points\":[\"left-nat\",\"right-nat\",\"right-cgn\",\"turn\"],"
    "\"window_ms\":[400,900],\"flows\":["
    "{\"node\":\"left-nat\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.14:3478\",\"tx_pkts\":30,\"rx_pkts\":28,\"data_tx_pkts\":10,"
    "\"data_rx_pkts\":9,\"first_ms\":50,\"last_ms\":890,\"kind\":\"turn-udp\"},"
    "{\"node\":\"turn\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.14:3478\",\"tx_pkts\":30,\"rx_pkts\":28,\"data_tx_pkts\":10,"
    "\"data_rx_pkts\":9,\"first_ms\":50,\"last_ms\":890,\"kind\":\"turn-udp\"},"
    "{\"node\":\"right-cgn\",\"side\":\"right\",\"proto\":\"tcp\",\"src\":\"198.51.100.9:6000\","
    "\"dst\":\"203.0.113.14:3478\",\"tx_pkts\":40,\"rx_pkts\":41,\"data_tx_pkts\":9,"
    "\"data_rx_pkts\":10,\"first_ms\":60,\"last_ms\":895,\"kind\":\"turn-tcp\"},"
    "{\"node\":\"turn\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.14:40001\","
    "\"dst\":\"198.51.100.9:7000\",\"tx_pkts\":10,\"rx_pkts\":9,\"data_tx_pkts\":10,"
    "\"data_rx_pkts\":9,\"first_ms\":310,\"last_ms\":890,\"kind\":\"relayed\"},"
    /* the right side's own allocation, the left side's data sent to it */
    "{\"node\":\"turn\",\"side\":\"right\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.14:40444\",\"tx_pkts\":3,\"rx_pkts\":0,\"first_ms\":320,"
    "\"last_ms\":330,\"kind\":\"relayed\"},"
    /* inside the TURN server, from one relayed address to the other */
    "{\"node\":\"turn\",\"proto\":\"udp\",\"src\":\"203.0.113.14:40001\","
    "\"dst\":\"203.0.113.14:40444\",\"tx_pkts\":5,\"rx_pkts\":4,\"first_ms\":330,\"kind\":"
    "\"relayed\"}],"
    "\"settled\":{\"class\":\"relay-tcp\",\"relay\":\"203.0.113.14:40001\","
    "\"relays\":[\"203.0.113.14:40001\",\"203.0.113.14:40444\"],"
    "\"transport\":{\"left\":\"udp\",\"right\":\"tcp\"}}}}";

static void test_relayed(void **state)
{
	json_t *c = rec(relay_cell);
	char *svg = draw("relayed", c, BIG);
	const char *band;

	(void)state;
	assert_true(column(svg, "turn") && column(svg, "right-cgn") && column(svg, "right-nat"));
	assert_false(column(svg, "stun"));
	/* a cgnat side: home NAT next to the host, the carrier beyond it */
	assert_true(column_x(svg, "turn") < column_x(svg, "right-cgn"));
	assert_true(column_x(svg, "right-cgn") < column_x(svg, "right-nat"));
	assert_true(arrow(svg, "left", "turn", "turn-udp udp"));
	assert_true(arrow(svg, "right", "turn", "turn-tcp tcp"));
	/* the relayed leg goes from the TURN server to the right side */
	assert_true(arrow(svg, "turn", "right", "relayed udp 203.0.113.14:40001"));
	/* one begun by the peer: from the left side to the TURN server */
	assert_true(
	    arrow(svg, "left", "turn", "relayed udp 203.0.113.2:40001 -&gt; 203.0.113.14:40444"));
	/* a flow between two relayed addresses: a mark on the TURN server, on the path */
	assert_non_null(strstr(svg, "class=\"mark k-flow on\" data-col=\"turn\""));
	assert_non_null(strstr(svg, "between relayed addresses: 1 flows, tx 5 / rx 4 pkts"));
	/* both relayed addresses the data crossed ("relays") are on the path */
	assert_non_null(strstr(svg, "class=\"ar k-flow on\" data-from=\"left\" data-to=\"turn\""));
	/* all three data arrows are on the settled path */
	assert_int_equal(count(svg, "class=\"ar k-data on\""), 3);
	band = elem(svg, "class=\"settled\"");
	assert_non_null(band);
	assert_non_null(strstr(band, "data-path=\"left,left-nat,turn,right-cgn,right-nat,right\""));
	assert_non_null(strstr(band, "via relayed address 203.0.113.14:40001"));
	assert_non_null(strstr(band, "left udp, right tcp"));
	free(svg);
	json_decref(c);
}

/* natlab-ice nominating the relay first, switching to direct later: the
 * switch is shown, and the settled (direct) path is the highlighted one. */
static const char switch_cell[] =
    "{\"id\":\"matrix/left=easy,right=easy\",\"outcome\":\"pass\","
    "\"params\":{\"left\":\"easy\",\"right\":\"easy\"},"
    "\"observations\":{\"selected_right\":{\"t_ms\":9,\"local\":{\"type\":\"srflx\","
    "\"address\":\"203.0.113.6\",\"port\":5000},\"remote\":{\"type\":\"srflx\","
    "\"address\":\"203.0.113.2\",\"port\":40001}}},"
    "\"events\":[{\"t_ms\":150,\"src\":\"left\",\"ev\":\"selected\"},"
    "{\"t_ms\":151,\"src\":\"right\",\"ev\":\"selected\"},"
    "{\"t_ms\":420,\"src\":\"right\",\"ev\":\"switched\"},"
    "{\"t_ms\":421,\"src\":\"left\",\"ev\":\"switched\"}],"
    "\"switch\":\"relay->direct\",\"switches\":[{\"side\":\"right\",\"t_ms\":270,"
    "\"ev\":\"switched\",\"from\":\"relay-udp\",\"to\":\"srflx\"}],"
    "\"wire\":{\"points\":[\"left-nat\",\"right-nat\",\"turn\"],\"window_ms\":[600,900],"
    "\"flows\":["
    "{\"node\":\"left-nat\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40002\","
    "\"dst\":\"203.0.113.14:3478\",\"tx_pkts\":20,\"rx_pkts\":20,\"first_ms\":40,"
    "\"last_ms\":430,\"kind\":\"turn-udp\"},"
    "{\"node\":\"left-nat\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.6:5000\",\"tx_pkts\":50,\"rx_pkts\":50,\"data_tx_pkts\":30,"
    "\"data_rx_pkts\":30,\"first_ms\":400,\"last_ms\":900,\"kind\":\"direct\"}],"
    "\"settled\":{\"class\":\"direct\",\"relay\":null,"
    "\"transport\":{\"left\":\"udp\",\"right\":\"udp\"}}}}";

static void test_switch(void **state)
{
	json_t *c = rec(switch_cell);
	char *svg = draw("switch", c, BIG);
	const char *sel, *sw, *band;

	(void)state;
	sel = strstr(svg, "data-col=\"left\"><circle");
	sw = strstr(svg, "switched");
	assert_non_null(sel);
	assert_non_null(sw);
	assert_true(sel < sw); /* time runs down: the selection above the switch */
	/* the right side's pair (observations.selected_right) on its last selection */
	/* ... with the wire's account of the change ("switches") */
	assert_non_null(strstr(svg,
			       "switched (relay-udp -&gt; srflx): srflx 203.0.113.6:5000 -&gt; "
			       "srflx 203.0.113.2:40001"));
	/* the relay leg is drawn but not highlighted; the direct data is */
	assert_true(arrow(svg, "left", "turn", "turn-udp"));
	assert_null(strstr(svg, "class=\"ar k-gather on\""));
	assert_non_null(strstr(svg, "class=\"ar k-data on\" data-from=\"left\" data-to=\"right\""));
	band = elem(svg, "class=\"settled\"");
	assert_non_null(band);
	assert_non_null(strstr(band, "data-path=\"left,left-nat,right-nat,right\""));
	assert_non_null(strstr(band, "the agents switched relay-&gt;direct"));
	free(svg);
	json_decref(c);
}

/* Symmetric x port-restricted: the right NAT's filtering drops the left
 * side's checks; a blackhole fault too; data never flowed. */
static const char failed_cell[] =
    "{\"id\":\"matrix/left=symmetric,right=port-restricted-cone\",\"outcome\":\"fail\","
    "\"path\":\"failed\",\"params\":{\"left\":\"symmetric\",\"right\":\"port-restricted-cone\"},"
    "\"events\":[{\"t_ms\":20,\"src\":\"left\",\"ev\":\"local\"},"
    "{\"t_ms\":95,\"t_real_us\":1,\"src\":\"fault\",\"ev\":\"blackhole-on\","
    "\"target\":\"right-nat:eth0\",\"detail\":\"direction a->b\",\"result\":0},"
    "{\"t_ms\":5000,\"src\":\"left\",\"ev\":\"failed\"}],"
    "\"pairs\":{\"left\":[{\"local\":{\"type\":\"srflx\",\"address\":\"203.0.113.2\",\"port\":1},"
    "\"remote\":{\"type\":\"srflx\",\"address\":\"203.0.113.6\",\"port\":5000},"
    "\"state\":\"failed\",\"checks\":7,\"nominated\":false}]},"
    "\"wire\":{\"points\":[\"left-nat\",\"right-nat\"],\"flows\":["
    "{\"node\":\"left-nat\",\"side\":\"left\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.6:5000\",\"tx_pkts\":14,\"rx_pkts\":0,\"first_ms\":300,"
    "\"last_ms\":900,\"kind\":\"direct\"}],"
    "\"settled\":{\"class\":\"failed\",\"relay\":null,\"transport\":{\"left\":null,"
    "\"right\":null}}},"
    "\"evidence\":{\"right-nat\":{\"counters\":{\"drop_filtering\":14},\"drops\":["
    "{\"rule\":\"filtering\",\"proto\":\"udp\",\"src\":\"203.0.113.2:40001\","
    "\"dst\":\"203.0.113.6:5000\",\"pkts\":14,\"first_ms\":300,\"last_ms\":900}]}}}";

static void test_failed_drops(void **state)
{
	json_t *c = rec(failed_cell);
	char *svg = draw("failed", c, BIG);
	const char *drop, *band, *fault, *flow;

	(void)state;
	/* the drop: from the left side, crossed out at the right NAT */
	drop = elem(svg, "class=\"drop\"");
	assert_non_null(drop);
	assert_non_null(strstr(drop, "data-at=\"right-nat\" data-from=\"left\""));
	assert_int_equal(count_in_group(drop, "<path d=\"M"), 1); /* the cross */
	assert_non_null(strstr(drop, "right-nat dropped 14 pkts (filtering)"));
	/* and the counters under the NAT's heading */
	assert_non_null(strstr(svg, "class=\"nat-drops\""));
	assert_non_null(strstr(svg, ">dropped: filtering 14</text>"));
	{
		/* the cross is drawn on the right NAT's lifeline */
		char needle[40];
		snprintf(needle, sizeof(needle), "<path d=\"M%d ", column_x(svg, "right-nat") - 6);
		assert_non_null(strstr(drop, needle));
	}
	/* a one-way flow: one arrowhead */
	flow = arrow(svg, "left", "right", "tx 14 / rx 0 pkts");
	assert_non_null(flow);
	assert_int_equal(count_in_group(flow, "<polygon"), 1);
	/* the fault, at its target's column */
	fault = elem(svg, "class=\"fault\"");
	assert_non_null(fault);
	assert_non_null(strstr(fault, "data-col=\"right-nat\""));
	assert_non_null(strstr(fault, "fault blackhole-on right-nat:eth0 direction a-&gt;b"));
	/* the check list as one arrow, the failure on the lifeline */
	assert_true(arrow(svg, "left", "right", "checks: 1 pairs, 7 requests, 0 succeeded"));
	assert_non_null(strstr(svg, "class=\"mark k-fail\" data-col=\"left\""));
	/* no path to highlight, and it says so */
	band = elem(svg, "class=\"settled\"");
	assert_non_null(band);
	assert_non_null(strstr(band, "data-path=\"\""));
	assert_null(strstr(band, "<polyline"));
	assert_non_null(strstr(band, "settled path (wire): failed"));
	assert_null(strstr(svg, " on\""));
	free(svg);
	json_decref(c);
}

/* A record from before the wire existed (no wire, no evidence): columns
 * inferred from params, the path the agents claim drawn as a claim. */
static void test_claim_only(void **state)
{
	json_t *c = rec("{\"id\":\"x\",\"outcome\":\"fail\",\"path\":\"relay-udp\","
			"\"params\":{\"left\":\"cgnat\",\"right\":\"open\"},"
			"\"candidates\":{\"left\":[\"candidate:a 1 udp 1 203.0.113.14 9 typ relay "
			"raddr 1.2.3.4 rport 1\"]},"
			"\"events\":[{\"t_ms\":5,\"src\":\"left\",\"ev\":\"local\"},"
			"{\"t_ms\":9,\"src\":\"right\",\"ev\":\"selected\"}]}");
	char *svg = draw("claim", c, BIG);
	const char *band;

	(void)state;
	assert_true(column(svg, "left-nat") && column(svg, "left-cgn") && column(svg, "turn"));
	assert_false(column(svg, "right-nat")); /* "open": no NAT */
	assert_true(arrow(svg, "turn", "left", "allocated relay 203.0.113.14:9"));
	band = elem(svg, "class=\"settled claim\"");
	assert_non_null(band);
	assert_non_null(strstr(band, "data-source=\"claim\""));
	assert_non_null(strstr(band, "data-path=\"left,left-nat,left-cgn,turn,right\""));
	assert_non_null(strstr(band, "claim (no wire record): relay-udp"));
	free(svg);
	json_decref(c);
}

/* Events as cells.jsonl keeps them since agent events keep their own
 * fields: the gathered lines are the servers' answers, the selection
 * carries its pair, a state its value, a failure its reason. */
static void test_event_fields(void **state)
{
	json_t *c = rec(
	    "{\"id\":\"x\",\"outcome\":\"fail\",\"params\":{\"left\":\"easy\",\"right\":\"easy\"},"
	    "\"candidates\":{\"left\":[\"candidate:z 1 udp 1 198.51.100.1 1 typ srflx raddr "
	    "1.1.1.1 "
	    "rport 1\"]},"
	    "\"events\":[{\"t_ms\":10,\"src\":\"left\",\"ev\":\"state\",\"state\":\"gathering\"},"
	    "{\"t_ms\":11,\"src\":\"left\",\"ev\":\"local\",\"candidates\":[\"candidate:a 1 udp 1 "
	    "10.1.0.2 5000 typ host\",\"candidate:b 1 udp 1 203.0.113.2 40001 typ srflx raddr "
	    "10.1.0.2 "
	    "rport 5000\"]},"
	    "{\"t_ms\":20,\"src\":\"left\",\"ev\":\"candidate\",\"candidate\":\"candidate:c 1 udp "
	    "1 "
	    "203.0.113.14 50001 typ relay raddr 203.0.113.2 rport 40002\"},"
	    "{\"t_ms\":25,\"src\":\"left\",\"ev\":\"candidate\",\"candidate\":\"candidate:c 1 udp "
	    "1 "
	    "203.0.113.14 50002 typ relay raddr 203.0.113.2 rport 40003\"},"
	    "{\"t_ms\":30,\"src\":\"left\",\"ev\":\"state\",\"state\":\"checking\"},"
	    "{\"t_ms\":90,\"src\":\"right\",\"ev\":\"selected\",\"local\":{\"type\":\"host\","
	    "\"address\":\"10.2.0.2\",\"port\":7},\"remote\":{\"type\":\"relay\",\"address\":"
	    "\"203.0.113.14\",\"port\":50001}},"
	    "{\"t_ms\":900,\"src\":\"left\",\"ev\":\"failed\",\"reason\":\"no valid pair\"}]}");
	char *svg = draw("event-fields", c, BIG);

	(void)state;
	/* the answers from the event lines, not from "candidates" */
	assert_true(arrow(svg, "stun", "left", "mapped address (srflx) 203.0.113.2:40001"));
	assert_null(strstr(svg, "198.51.100.1"));
	assert_true(arrow(svg, "turn", "left", "allocated relay 203.0.113.14:50001 x2 (20-25 ms)"));
	assert_non_null(strstr(svg, ">checking</text>"));
	assert_null(strstr(svg, ">gathering</text>"));
	assert_non_null(
	    strstr(svg, "selected: host 10.2.0.2:7 -&gt; relay 203.0.113.14:50001</text>"));
	assert_non_null(strstr(svg, "failed: no valid pair</text>"));
	free(svg);
	json_decref(c);
}

/* rebinding.lua's way: the NAT presets as "<side>_nat", a fault aimed at a
 * NAT: its column, crossed at the fault's row. */
static void test_fault_nat(void **state)
{
	json_t *c =
	    rec("{\"id\":\"rebinding/fault=flush\",\"outcome\":\"fail\","
		"\"params\":{\"left_nat\":\"port-restricted-cone\",\"right_nat\":\"open\"},"
		"\"events\":[{\"t_ms\":5,\"src\":\"left\",\"ev\":\"local\"},"
		"{\"t_ms\":6,\"src\":\"right\",\"ev\":\"local\"},"
		"{\"t_ms\":500,\"src\":\"fault\",\"ev\":\"nat-flush\",\"target\":\"left-nat\","
		"\"detail\":\"every mapping dropped\",\"result\":0},"
		"{\"t_ms\":600,\"src\":\"fault\",\"ev\":\"blackhole-on\",\"target\":\"access\","
		"\"result\":-19,\"detail\":\"No such device\"}]}");
	char *svg = draw("fault-nat", c, BIG);
	const char *fault;

	(void)state;
	assert_true(column(svg, "left-nat"));
	assert_false(column(svg, "right-nat"));
	assert_false(column(svg, "access")); /* a link, not a node */
	assert_non_null(strstr(svg, ">port-restricted-cone</text>"));
	fault = elem(svg, "class=\"fault\" data-col=\"left-nat\"");
	assert_non_null(fault);
	assert_non_null(strstr(fault, "fault nat-flush left-nat every mapping dropped</text>"));
	/* a fault on no column: the line across, and that it failed */
	assert_non_null(strstr(svg, "fault blackhole-on access No such device (the fault itself "
				    "failed)</text>"));
	free(svg);
	json_decref(c);

	/* no preset in the parameters: the NAT's evidence says what it was */
	c = rec("{\"events\":[{\"t_ms\":5,\"src\":\"left\",\"ev\":\"local\"}],"
		"\"evidence\":{\"left-nat\":{\"nat\":{\"preset\":\"hard\"},\"drops\":[]}}}");
	svg = draw("evidence-preset", c, BIG);
	assert_true(column(svg, "left-nat"));
	assert_non_null(strstr(svg, ">hard</text>"));
	free(svg);
	json_decref(c);
}

/* IPv6: an address the wire writes "[v6]:port" and a candidate writes
 * uncompressed is one address, so an "other" flow (no kind to guess the
 * far end from) still ends at the side whose candidate it is. */
static void test_ipv6(void **state)
{
	json_t *c = rec(
	    "{\"id\":\"v6\",\"params\":{\"left\":\"easy\",\"right\":\"easy\"},"
	    "\"candidates\":{\"left\":[\"candidate:b 1 udp 1 2001:db8:1::2 40001 typ srflx raddr "
	    "10.1.0.2 rport 5000\"],\"right\":[\"candidate:d 1 udp 1 2001:DB8:2:0:0:0:0:6 5000 typ "
	    "srflx raddr 10.2.0.2 rport 5000\"]},"
	    "\"events\":[{\"t_ms\":5,\"src\":\"left\",\"ev\":\"local\"}],"
	    "\"wire\":{\"points\":[\"left-nat\"],\"flows\":["
	    "{\"node\":\"left-nat\",\"side\":\"left\",\"proto\":\"udp\","
	    "\"src\":\"[2001:db8:1::2]:40001\",\"dst\":\"[2001:db8:2::6]:5000\",\"tx_pkts\":3,"
	    "\"rx_pkts\":2,\"first_ms\":10,\"kind\":\"other\"}]}}");
	char *svg = draw("ipv6", c, BIG);

	(void)state;
	assert_true(arrow(svg, "left", "right", "other udp [2001:db8:1::2]:40001"));
	assert_true(arrow(svg, "stun", "left", "mapped address (srflx) 2001:db8:1::2:40001"));
	free(svg);
	json_decref(c);
}

/* No step at all, only the path the agents claim: the band alone. */
static void test_band_only(void **state)
{
	json_t *c = rec("{\"id\":\"x\",\"outcome\":\"fail\",\"path\":\"srflx\","
			"\"candidates\":{\"left\":[],\"right\":[]}}");
	char *svg = draw("band-only", c, BIG);

	(void)state;
	assert_non_null(strstr(svg, "data-path=\"left,right\""));
	assert_null(strstr(svg, "<g class=\"ar"));
	assert_null(strstr(svg, "<g class=\"mark"));
	free(svg);
	json_decref(c);
}

static void test_nothing(void **state)
{
	static const char *const none[] = {
	    "{}",
	    "{\"id\":\"smoke/nat=easy\",\"outcome\":\"pass\",\"params\":{\"left\":\"easy\"}}",
	    "{\"events\":[{\"t_ms\":1,\"src\":\"harness\",\"ev\":\"timer\"}]}",
	    "{\"events\":[{\"t_ms\":\"1\",\"src\":\"left\",\"ev\":\"local\"}]}",
	    "[1,2]",
	    "\"cell\"",
	    NULL};

	(void)state;
	assert_null(ladder_svg(NULL, BIG));
	for (int i = 0; none[i]; i++) {
		json_t *c = json_loads(none[i], JSON_DECODE_ANY, NULL);
		assert_non_null(c);
		errno = 0;
		assert_null(ladder_svg(c, BIG));
		assert_int_equal(errno, ENOENT);
		json_decref(c);
	}
}

/* Every key of the wrong type, and hostile strings: no crash, well-formed
 * XML, every string escaped. */
static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "{\"wire\":\"x\",\"evidence\":[1],\"events\":{\"a\":1},\"candidates\":5,\"pairs\":[],"
	    "\"selected\":\"x\",\"params\":7,\"path\":3}",
	    "{\"wire\":{\"points\":[1,null,{}],\"flows\":[1,\"x\",{\"side\":5,\"src\":[],\"dst\":{}"
	    "},"
	    "{\"side\":\"left\",\"src\":\"a\",\"dst\":\"b\",\"first_ms\":\"late\"},"
	    "{\"side\":\"left\",\"src\":\"1.2.3.4:5\",\"dst\":\"[::1]:6\",\"first_ms\":1e308,"
	    "\"tx_pkts\":-5,\"kind\":7}],\"window_ms\":\"soon\",\"directions\":[1],"
	    "\"settled\":{\"class\":9,\"transport\":[\"x\"]}},\"evidence\":{\"left-nat\":5,"
	    "\"x\":{\"drops\":{}},\"left\":{\"drops\":[1,{\"first_ms\":1}]}},"
	    "\"events\":[1,null,{\"t_ms\":1,\"src\":\"left\",\"ev\":\"rx\"},{\"t_ms\":2,"
	    "\"src\":\"fault\",\"ev\":[],\"target\":5}],\"pairs\":{\"left\":[1,{\"remote\":5}]},"
	    "\"observations\":{\"selected_left\":[]}}",
	    "{\"id\":\"<script>&\\\"'\",\"events\":[{\"t_ms\":1,\"src\":\"<b>&amp;\\\"'x\","
	    "\"ev\":\"local\"},{\"t_ms\":2,\"src\":\"fault\",\"ev\":\"<&>\",\"target\":\"\\\"><"
	    "svg\","
	    "\"detail\":\"a\\u0001\\u0000b]]>\\uffff\"}],\"params\":{\"<b>&amp;\\\"'x\":\"</"
	    "svg>\"}}",
	    NULL};

	(void)state;
	for (int i = 0; bad[i]; i++) {
		json_t *c = json_loads(bad[i], JSON_ALLOW_NUL, NULL);
		char *svg;

		assert_non_null(c);
		svg = ladder_svg(c, BIG);
		if (svg) {
			const char *why = xmlcheck(svg);
			if (why)
				fail_msg("record %d: %s", i, why);
			assert_null(strstr(svg, "<script"));
			assert_null(strstr(svg, "<b>"));
			assert_int_equal(count(svg, "<svg"), 1);
			assert_int_equal(count(svg, "</svg>"), 1);
		}
		if (i == 2) {
			assert_non_null(svg); /* a side and a fault: something to draw */
			assert_non_null(strstr(svg, "&lt;b&gt;&amp;amp;&quot;&#39;x"));
			dump("malformed", svg);
		}
		free(svg);
		json_decref(c);
	}
	/* a torn UTF-8 character (jansson's nocheck strings let it in) */
	{
		json_t *c = rec("{\"events\":[{\"t_ms\":1,\"src\":\"left\",\"ev\":\"local\"},"
				"{\"t_ms\":2,\"src\":\"fault\",\"ev\":\"nat-flush\"}]}");
		json_t *ev = json_array_get(json_object_get(c, "events"), 1);
		char *svg;

		json_object_set_new(ev, "detail", json_stringn_nocheck("ab\xE2\x80\xFF", 5));
		svg = ladder_svg(c, BIG);
		assert_non_null(svg);
		assert_null(xmlcheck(svg));
		assert_non_null(strstr(svg, "fault nat-flush ab</text>"));
		free(svg);
		json_decref(c);
	}
}

/* A record far too big to draw whole: 2500 rx events far apart, 3000
 * flows, drops and a fault; the diagram stays under the bound, keeps the
 * drops and the fault, and says what it left out. */
static void test_huge(void **state)
{
	json_t *c = rec(failed_cell);
	json_t *evs = json_object_get(c, "events");
	json_t *flows = json_object_get(json_object_get(c, "wire"), "flows");
	const size_t max = 30000;
	char *svg;

	(void)state;
	for (int i = 0; i < 2500; i++)
		json_array_append_new(evs, json_pack("{s:i,s:s,s:s}", "t_ms", 6000 + i * 200, "src",
						     i % 2 ? "left" : "right", "ev", "rx"));
	for (int i = 0; i < 3000; i++) {
		char src[40];
		snprintf(src, sizeof(src), "203.0.113.2:%d", 10000 + i);
		json_array_append_new(flows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:s}",
						       "node", "left-nat", "side", "left", "proto",
						       "udp", "src", src, "dst", "203.0.113.6:5000",
						       "tx_pkts", 1, "first_ms", 1000 + i,
						       "last_ms", 1000 + i, "kind", "direct"));
	}
	svg = draw("huge", c, max);
	assert_true(strlen(svg) <= max);
	assert_true(strlen(svg) > max / 2); /* it used the room it had */
	assert_non_null(strstr(svg, "class=\"note elided\""));
	assert_non_null(strstr(svg, "to stay under 30000 bytes"));
	assert_non_null(strstr(svg, "beyond 2000")); /* the steps never considered */
	/* what explains the failure survives: the drop, the fault, the columns */
	assert_non_null(strstr(svg, "class=\"drop\" data-at=\"right-nat\""));
	assert_non_null(strstr(svg, "class=\"fault\""));
	assert_true(column(svg, "left") && column(svg, "right-nat") && column(svg, "right"));
	free(svg);

	/* too small for even the frame */
	errno = 0;
	assert_null(ladder_svg(c, 300));
	assert_int_equal(errno, ENOSPC);
	/* a small budget still draws the frame: this record's five columns
	 * need about 3.3 KB; LADDER_MIN_BYTES is only the floor below which
	 * nothing fits */
	svg = draw("huge-min", c, LADDER_MIN_BYTES * 2);
	free(svg);
	json_decref(c);
}

/* report.html: the ladder of a failed cell in its section, none for a
 * passed one unless asked for. */
static char *page(const json_t *cells, const char *ladder)
{
	struct report_opts ro = {ladder};
	struct cellsrc *src = cellsrc_array_new(cells);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(src);
	assert_non_null(f);
	json_t *run = json_object();

	assert_int_equal(report_write_opts(f, run, src, &ro), 0);
	json_decref(run);
	fclose(f);
	cellsrc_free(src);
	return buf;
}

static void test_report(void **state)
{
	json_t *cells = json_array();
	json_t *pass = rec(direct_cell), *failed = rec(failed_cell);
	char *html;
	const char *sec2;

	(void)state;
	json_object_set_new(pass, "index", json_integer(0));
	json_object_set_new(failed, "index", json_integer(1));
	json_array_append_new(cells, pass);
	json_array_append_new(cells, failed);

	html = page(cells, NULL);
	assert_int_equal(count(html, "<details class=\"ladder\""), 1);
	sec2 = strstr(html, "id=\"cell-2\"");
	assert_non_null(sec2);
	assert_true(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\"") >
		    sec2);
	free(html);

	html = page(cells, "all");
	assert_int_equal(count(html, "<details class=\"ladder\""), 2);
	free(html);

	html = page(cells, "matrix/left=easy,right=easy");
	assert_int_equal(count(html, "<details class=\"ladder\""), 2);
	free(html);

	html = page(cells, "matrix/left=hard,right=hard");
	assert_int_equal(count(html, "<details class=\"ladder\""), 1);
	free(html);
	json_decref(cells);
}

/* The checker itself catches what it must. */
static void test_checker(void **state)
{
	(void)state;
	assert_null(xmlcheck("<svg a=\"1\"><g><text>x &amp; y</text></g></svg>\n"));
	assert_non_null(xmlcheck("<svg><g></svg></g>"));
	assert_non_null(xmlcheck("<svg><text>a & b</text></svg>"));
	assert_null(xmlcheck("<svg a=\"&#39;&#x2026;\"/>"));
	assert_non_null(xmlcheck("<svg><text>&#x;</text></svg>"));
	assert_non_null(xmlcheck("<svg><text>&#3z;</text></svg>"));
	assert_non_null(xmlcheck("<svg a=\"1\" a=\"2\"/>"));
	assert_non_null(xmlcheck("<svg a=\"<\"/>"));
	assert_non_null(xmlcheck("<svg><g>"));
	assert_non_null(xmlcheck("<svg/><svg/>"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checker),	 cmocka_unit_test(test_direct),
	    cmocka_unit_test(test_relayed),	 cmocka_unit_test(test_switch),
	    cmocka_unit_test(test_failed_drops), cmocka_unit_test(test_claim_only),
	    cmocka_unit_test(test_event_fields), cmocka_unit_test(test_fault_nat),
	    cmocka_unit_test(test_band_only),	 cmocka_unit_test(test_nothing),
	    cmocka_unit_test(test_malformed),	 cmocka_unit_test(test_huge),
	    cmocka_unit_test(test_report),	 cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
