/* harness_rollup - the summary grids (harness/rollup.h, scenario{summary=}):
 * each square counts passed, failed, unsupported and skipped cells and
 * its pass rate is over the applicable ones only; rows and columns come
 * in planned order whatever order cells finish in; a square links to the
 * grid of its first cell; the prelude gives cells their summary only when
 * a summary axis is swept, and a param with sets= hands its -p value to
 * the params it names; the report and the terminal summary draw it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/luanet.h"
#include "harness/report.h"
#include "harness/rollup.h"
#include "harness/scenario.h"
#include "harness/summary.h"

static const char *const SUMNAME = "impl x impl";

/* A cell of pair (@l, @r) in the grid "G [l>r]" with @outcome. */
static json_t *cell(const char *l, const char *r, const char *outcome, int index)
{
	char grid[64];

	snprintf(grid, sizeof(grid), "G [%s>%s]", l, r);
	return json_pack("{s:s,s:s,s:i,s:i,s:{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s}}}", "id", "c",
			 "outcome", outcome, "trial", 0, "index", index, "grid", "name", grid,
			 "row", "nat-a", "col", "nat-b", "summary", "name", SUMNAME, "row", l,
			 "col", r, "row_label", "left_impl", "col_label", "right_impl");
}

static void add(struct rollup *r, const char *l, const char *rt, const char *o, uint64_t order)
{
	json_t *c = cell(l, rt, o, (int)order);

	assert_int_equal(rollup_add(r, c, (struct labelset_key){(int64_t)order, 0}), 0);
	json_decref(c);
}

static void test_counts(void **state)
{
	struct rollup *r = rollup_new();
	const struct rollup_square *sq;
	json_t *plain;

	(void)state;
	assert_non_null(r);
	/* finishing order is not planned order: y's cells come first but
	 * were planned after x's */
	add(r, "y", "x", "pass", 30);
	add(r, "x", "x", "pass", 1);
	add(r, "x", "x", "pass", 2);
	add(r, "x", "x", "fail", 3);
	add(r, "x", "x", "error", 4);
	add(r, "x", "x", "unsupported", 5);
	add(r, "x", "x", "skipped", 6);
	add(r, "x", "y", "unsupported", 10);
	add(r, "x", "y", "unsupported", 11);
	/* a cell without a summary is not counted */
	plain = json_pack("{s:s,s:{s:s,s:s,s:s}}", "outcome", "pass", "grid", "name", "other",
			  "row", "a", "col", "b");
	assert_int_equal(rollup_add(r, plain, (struct labelset_key){0, 0}), 0);
	json_decref(plain);

	assert_int_equal(rollup_count(r), 1);
	assert_string_equal(rollup_name(r, 0), SUMNAME);
	assert_string_equal(rollup_row_label(r, 0), "left_impl");
	assert_string_equal(rollup_col_label(r, 0), "right_impl");
	assert_int_equal(rollup_rows(r, 0), 2);
	assert_int_equal(rollup_cols(r, 0), 2);
	assert_string_equal(rollup_row(r, 0, 0), "x");
	assert_string_equal(rollup_row(r, 0, 1), "y");
	assert_string_equal(rollup_col(r, 0, 0), "x");
	assert_string_equal(rollup_col(r, 0, 1), "y");

	/* x>x: 2 of 4 applicable passed (fail and error are failures), one
	 * unsupported and one skipped left out of the rate */
	sq = rollup_square(r, 0, 0, 0);
	assert_non_null(sq);
	assert_int_equal(sq->cells, 6);
	assert_int_equal(sq->passed, 2);
	assert_int_equal(sq->failed, 2);
	assert_int_equal(sq->unsupported, 1);
	assert_int_equal(sq->skipped, 1);
	assert_int_equal(rollup_applicable(sq), 4);
	assert_int_equal(rollup_percent(sq), 50);
	assert_string_equal(sq->grid, "G [x>x]");

	/* x>y: nothing applicable, no rate */
	sq = rollup_square(r, 0, 0, 1);
	assert_non_null(sq);
	assert_int_equal(rollup_applicable(sq), 0);
	assert_int_equal(rollup_percent(sq), -1);
	assert_int_equal(sq->unsupported, 2);

	/* y>x: all passed; y>y: no cell */
	sq = rollup_square(r, 0, 1, 0);
	assert_int_equal(rollup_percent(sq), 100);
	assert_null(rollup_square(r, 0, 1, 1));

	/* 2 of 3 is 66 %, rounded down: 100 only when every one passed */
	add(r, "y", "x", "pass", 31);
	add(r, "y", "x", "fail", 32);
	assert_int_equal(rollup_percent(rollup_square(r, 0, 1, 0)), 66);
	rollup_free(r);
	rollup_free(NULL);
}

/* The report draws the summary above the grids, each square with its
 * counts and a link to its pair's grid; the terminal summary prints it. */
static void test_drawn(void **state)
{
	json_t *run = json_pack("{s:s}", "run_id", "t");
	json_t *cells = json_array();
	struct summary *s = summary_new();
	char *html, *text = NULL;
	size_t len = 0;
	FILE *f;
	const char *want_xx = "<td class=\"ssq rate-some\" data-passed=\"1\" data-applicable=\"2\" "
			      "data-unsupported=\"1\" data-failed=\"1\" data-skipped=\"0\">";

	(void)state;
	json_array_append_new(cells, cell("x", "x", "pass", 0));
	json_array_append_new(cells, cell("x", "x", "fail", 1));
	json_array_append_new(cells, cell("x", "x", "unsupported", 2));
	json_array_append_new(cells, cell("x", "y", "pass", 3));
	html = report_render(run, cells);
	assert_non_null(html);
	assert_non_null(strstr(html, "<table class=\"summary\" data-summary=\"impl x impl\">"));
	assert_non_null(strstr(html, want_xx));
	assert_non_null(strstr(html, "<td class=\"ssq rate-all\" data-passed=\"1\" "
				     "data-applicable=\"1\""));
	/* the squares link to the grids, which carry those ids */
	assert_non_null(strstr(html, "<a href=\"#grid-0\"><b>50%</b>"));
	assert_non_null(strstr(html, "<a href=\"#grid-1\"><b>100%</b>"));
	assert_non_null(strstr(html, "<h2 id=\"grid-0\">G [x&gt;x]</h2>"));
	assert_non_null(strstr(html, "<h2 id=\"grid-1\">G [x&gt;y]</h2>"));
	/* above the grids */
	assert_true(strstr(html, "data-summary=") < strstr(html, "id=\"grid-0\""));
	free(html);

	for (size_t i = 0; i < json_array_size(cells); i++)
		assert_int_equal(summary_add(s, json_array_get(cells, i), i), 0);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	summary_print(s, f);
	fclose(f);
	assert_non_null(strstr(text, "impl x impl  (pass rate passed/applicable"));
	assert_non_null(strstr(text, "50% 1/2 1u 1f"));
	assert_non_null(strstr(text, "100% 1/1"));
	free(text);
	summary_free(s);
	json_decref(cells);
	json_decref(run);
}

static const char text[] =
    "scenario {\n"
    "  name = 'm',\n"
    "  description = 'summary',\n"
    "  params = { left = { description = 'l', default = 'a' },\n"
    "             left_impl = { description = 'li', default = 'x' },\n"
    "             right_impl = { description = 'ri', default = 'x' },\n"
    "             impls = { description = 'both', default = 'x', sets = { 'left_impl', "
    "'right_impl' } } },\n"
    "  matrix = { left = { 'a', 'b' } },\n"
    "  grid = { name = 'G', rows = 'left', cols = 'left', split = { 'left_impl', 'right_impl' } "
    "},\n"
    "  summary = { name = 'S', rows = 'left_impl', cols = 'right_impl' },\n"
    "  run = function() end,\n"
    "}\n";

static json_t *expand(struct scenario *s, json_t *ov)
{
	struct natlab_err e = {""};
	json_t *cells = NULL;

	assert_int_equal(scenario_cells(s, ov, 1, &cells, &e), 0);
	json_decref(ov);
	return cells;
}

static const json_t *summary_of(json_t *cells, size_t i)
{
	return json_object_get(json_object_get(json_array_get(cells, i), "grid"), "summary");
}

static void test_prelude(void **state)
{
	char path[64] = "/tmp/natlab-rollup-XXXXXX.lua";
	int fd = mkstemps(path, 4);
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	struct natlab_err e = {""};
	json_t *cells;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	luanet_ctx_init(&ctx);
	assert_int_equal(scenario_load(path, &ctx, &s, &e), 0);

	/* no summary axis swept: no summary */
	cells = expand(s, json_object());
	assert_int_equal(json_array_size(cells), 2);
	assert_null(summary_of(cells, 0));
	json_decref(cells);

	/* impls=x,y sets both sides: 2 x 2 pairs x 2 NATs, each cell in the
	 * summary square of its pair; impls itself is no axis */
	cells = expand(s, json_pack("{s:s}", "impls", "x,y"));
	assert_int_equal(json_array_size(cells), 8);
	for (size_t i = 0; i < 8; i++) {
		const json_t *c = json_array_get(cells, i);
		const json_t *p = json_object_get(c, "params");
		const json_t *sm = summary_of(cells, i);
		assert_non_null(sm);
		assert_string_equal(json_string_value(json_object_get(sm, "name")), "S");
		assert_string_equal(json_string_value(json_object_get(sm, "row")),
				    json_string_value(json_object_get(p, "left_impl")));
		assert_string_equal(json_string_value(json_object_get(sm, "col")),
				    json_string_value(json_object_get(p, "right_impl")));
		assert_string_equal(json_string_value(json_object_get(sm, "row_label")),
				    "left_impl");
		assert_string_equal(json_string_value(json_object_get(p, "impls")), "x,y");
		assert_null(strstr(json_string_value(json_object_get(c, "id")), "impls="));
	}
	json_decref(cells);

	/* a side named itself keeps its own value */
	cells = expand(s, json_pack("{s:s,s:s}", "impls", "x,y", "right_impl", "z"));
	assert_int_equal(json_array_size(cells), 4);
	assert_string_equal(json_string_value(json_object_get(summary_of(cells, 0), "col")), "z");
	json_decref(cells);

	scenario_free(s);
	luanet_ctx_teardown(&ctx);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_counts),
					   cmocka_unit_test(test_drawn),
					   cmocka_unit_test(test_prelude)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
