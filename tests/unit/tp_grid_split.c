/* tp_grid_split - a scenario's grid.split (scenarios/prelude/00_core.lua):
 * sweeping a split param gives each combination of the split values a grid
 * of its own, so that an implementation pair is not folded into the NAT
 * pair's square (scenarios/matrix.lua); without a sweep the grid keeps its
 * plain name. */
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
#include "harness/scenario.h"

static const char text[] = "scenario {\n"
			   "  name = 'm',\n"
			   "  description = 'split',\n"
			   "  params = { left = { description = 'l', default = 'a' },\n"
			   "             right = { description = 'r', default = 'a' },\n"
			   "             left_impl = { description = 'li', default = 'x' },\n"
			   "             right_impl = { description = 'ri', default = 'x' } },\n"
			   "  matrix = { left = { 'a', 'b' }, right = { 'a', 'b' } },\n"
			   "  grid = { name = 'G', rows = 'left', cols = 'right',\n"
			   "           split = { 'left_impl', 'right_impl' } },\n"
			   "  run = function() end,\n"
			   "}\n";

static const char *grid_name(json_t *cells, size_t i)
{
	return json_string_value(
	    json_object_get(json_object_get(json_array_get(cells, i), "grid"), "name"));
}

static void test_split(void **state)
{
	char path[64] = "/tmp/natlab-split-XXXXXX.lua";
	int fd = mkstemps(path, 4);
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	struct natlab_err e = {""};
	json_t *cells = NULL, *ov;
	size_t i, n_xy = 0, n_yx = 0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	luanet_ctx_init(&ctx);
	assert_int_equal(scenario_load(path, &ctx, &s, &e), 0);

	/* no sweep of a split param: one grid, its plain name */
	ov = json_object();
	assert_int_equal(scenario_cells(s, ov, 1, &cells, &e), 0);
	json_decref(ov);
	assert_int_equal(json_array_size(cells), 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(grid_name(cells, i), "G");
	json_decref(cells);

	/* both implementations swept: 4 pairs x 4 NAT pairs, one grid per pair
	 * named after it, rows and columns still the NAT presets */
	ov = json_pack("{s:s,s:s}", "left_impl", "x,y", "right_impl", "x,y");
	assert_int_equal(scenario_cells(s, ov, 1, &cells, &e), 0);
	json_decref(ov);
	assert_int_equal(json_array_size(cells), 16);
	for (i = 0; i < 16; i++) {
		const char *g = grid_name(cells, i);
		json_t *p = json_object_get(json_array_get(cells, i), "params");
		char want[64];
		snprintf(want, sizeof(want), "G [left_impl=%s, right_impl=%s]",
			 json_string_value(json_object_get(p, "left_impl")),
			 json_string_value(json_object_get(p, "right_impl")));
		assert_string_equal(g, want);
		n_xy += strcmp(g, "G [left_impl=x, right_impl=y]") == 0;
		n_yx += strcmp(g, "G [left_impl=y, right_impl=x]") == 0;
		assert_string_equal(
		    json_string_value(json_object_get(
			json_object_get(json_array_get(cells, i), "grid"), "row_label")),
		    "left");
	}
	assert_int_equal(n_xy, 4);
	assert_int_equal(n_yx, 4);
	json_decref(cells);

	/* one of them swept, the other pinned: the pinned value is named too */
	ov = json_pack("{s:s,s:s}", "left_impl", "x,y", "right_impl", "z");
	assert_int_equal(scenario_cells(s, ov, 1, &cells, &e), 0);
	json_decref(ov);
	assert_string_equal(grid_name(cells, 0), "G [left_impl=x, right_impl=z]");
	json_decref(cells);

	scenario_free(s);
	luanet_ctx_teardown(&ctx);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_split)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
