/* The wire's class in the terminal grid, natlab compare and the report
 * (docs/expected-matrix.md "Verdicts"): a cell with a `wire` record is
 * counted by wire.settled.class, held against its expected path's class;
 * a cell without one by its exact path, as before. No root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness/compare.h"
#include "harness/report.h"
#include "harness/summary.h"

/* a matrix-like cell; @wire: the wire's settled class, or NULL (no record) */
static json_t *cell(const char *row, const char *col, const char *path, const char *expected,
		    const char *outcome, const char *wire)
{
	char id[128];
	json_t *c;

	snprintf(id, sizeof(id), "m/l=%s,r=%s", row, col);
	c = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:f,s:{s:s,s:s,s:s}}", "id", id, "scenario", "m",
		      "trial", 0, "outcome", outcome, "path", path, "expected_path", expected,
		      "connect_ms", 100.0, "grid", "name", "m", "row", row, "col", col);
	if (wire)
		json_object_set_new(c, "wire", json_pack("{s:{s:s}}", "settled", "class", wire));
	return c;
}

static char *grid(const json_t *cells)
{
	struct summary *s = summary_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < json_array_size(cells); i++)
		assert_int_equal(summary_add(s, json_array_get(cells, i), i), 0);
	summary_print(s, f);
	fclose(f);
	summary_free(s);
	return buf;
}

static void test_cell_class(void **state)
{
	json_t *c;

	(void)state;
	c = cell("a", "b", "srflx", "srflx", "pass", "direct");
	assert_string_equal(report_cell_class(c), "direct");
	json_decref(c);
	/* the claim said srflx, the wire a relay: the class is the wire's */
	c = cell("a", "b", "srflx", "direct", "fail", "relay");
	assert_string_equal(report_cell_class(c), "relay");
	json_decref(c);
	c = cell("a", "b", "relay-tls", "relay-tls", "pass", NULL);
	assert_string_equal(report_cell_class(c), "relay-tls");
	json_decref(c);
	c = cell("a", "b", "srflx", "srflx", "skipped", "direct");
	assert_string_equal(report_cell_class(c), "skipped");
	json_decref(c);
	assert_string_equal(report_path_class("prflx"), "direct");
	assert_string_equal(report_path_class("relay-tls"), "relay-tcp");
	assert_string_equal(report_path_class("relay-udp"), "relay");
}

/* The grid shows the wire's class; "!" when it is not the expected path's
 * class (a relay-tls expectation is met by the class relay-tcp). */
static void test_grid(void **state)
{
	json_t *cells = json_array();
	char *text;

	(void)state;
	json_array_append_new(cells, cell("easy", "easy", "srflx", "srflx", "pass", "direct"));
	json_array_append_new(cells, cell("easy", "hard", "srflx", "direct", "fail", "relay"));
	json_array_append_new(cells, cell("hard", "easy", "relay-tls", "relay-tls", "pass", "relay-tcp"));
	json_array_append_new(cells, cell("hard", "hard", "srflx", "srflx", "pass", NULL));
	text = grid(cells);
	assert_non_null(strstr(text, "\neasy                     direct       relay! 0/1  "));
	assert_non_null(strstr(text, "\nhard                     relay-tcp    srflx       "));
	assert_null(strstr(text, "relay-tcp!"));
	free(text);
	json_decref(cells);
}

/* SIP cells (scenarios/sip.lua) record their call class as the path: the
 * grids count and show it as it is, "!" where it is not the expected one
 * (a call class must not fall into "failed", which would hide a passing
 * no-audio cell behind the colour of a failure). */
static void test_call_classes(void **state)
{
	json_t *cells = json_array();
	const char *const *names = report_path_names();
	const char *want[] = {"two-way",  "one-way-to-callee", "one-way-to-caller",
			      "no-audio", "no-call",	       "no-reg"};
	char *text;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t k = 0;

		while (names[k] && strcmp(names[k], want[i]) != 0)
			k++;
		assert_non_null(names[k]);
		assert_string_equal(report_path_class(want[i]), want[i]);
	}
	json_array_append_new(
	    cells, cell("open", "nat", "one-way-to-caller", "one-way-to-caller", "pass", NULL));
	json_array_append_new(cells, cell("open", "none", "no-call", "no-call", "pass", NULL));
	json_array_append_new(cells, cell("prc", "nat", "no-audio", "two-way", "fail", NULL));
	json_array_append_new(cells, cell("prc", "none", "no-call", "no-call", "pass", NULL));
	assert_string_equal(report_cell_class(json_array_get(cells, 0)), "one-way-to-caller");
	text = grid(cells);
	assert_non_null(strstr(text, "one-way-to-caller"));
	assert_non_null(strstr(text, "no-audio! 0/1"));
	assert_null(strstr(text, "no-call!"));
	assert_null(strstr(text, "failed"));
	free(text);
	json_decref(cells);
}

/* compare: a claims-only run (exact paths) against a wire run (classes)
 * changes path only where the classes differ */
static void test_compare(void **state)
{
	json_t *base = json_array(), *cur = json_array();
	struct compare_summary s;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	json_array_append_new(base, cell("a", "a", "srflx", "srflx", "pass", NULL));
	json_array_append_new(cur, cell("a", "a", "srflx", "srflx", "pass", "direct"));
	json_array_append_new(base, cell("b", "b", "relay-tls", "relay-tls", "pass", NULL));
	json_array_append_new(cur, cell("b", "b", "relay-tls", "relay-tls", "pass", "relay-tcp"));
	json_array_append_new(base, cell("c", "c", "srflx", "srflx", "pass", NULL));
	json_array_append_new(cur, cell("c", "c", "srflx", "direct", "fail", "relay"));
	/* two wire runs: the class decides, whatever the claims said */
	json_array_append_new(base, cell("d", "d", "srflx", "srflx", "pass", "direct"));
	json_array_append_new(cur, cell("d", "d", "prflx", "prflx", "pass", "direct"));
	assert_int_equal(compare_cells(base, cur, f, &s), 1);
	fclose(f);
	assert_int_equal(s.path_changed, 1);
	assert_non_null(strstr(text, "path      m/l=c,r=c: srflx -> relay\n"));
	assert_int_equal(s.regressed, 1);
	free(text);
	json_decref(base);
	json_decref(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cell_class),
	    cmocka_unit_test(test_grid),
	    cmocka_unit_test(test_call_classes),
	    cmocka_unit_test(test_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
