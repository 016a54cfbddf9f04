/* harness_scenario - the Lua side without a kernel: declaration checks,
 * cell expansion (matrix, -p overrides, sweeps, types, trials), protected
 * runs turning script errors into outcomes with file:line, JSON <-> Lua. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/celldeadline.h"
#include "harness/luanet.h"
#include "harness/scenario.h"

static char path[64];

static void write_scenario(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/natlab-scn-XXXXXX.lua");
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static const char good[] =
    "scenario {\n"
    "  name = 'g',\n"
    "  description = 'good',\n"
    "  params = { left = { description = 'l', default = 'easy' },\n"
    "             right = { description = 'r', default = 'easy' },\n"
    "             n = { description = 'a number', default = 3 } },\n"
    "  matrix = { left = { 'easy', 'hard' } },\n"
    "  grid = { rows = 'left', cols = 'right' },\n"
    "  expect = function(p) return p.left == 'easy' and 'srflx' or 'relay-udp' end,\n"
    "  run = function(net, p, cell)\n"
    "    if p.right == 'boom' then local t = nil; return t.x end\n"
    "    if p.right == 'skip' then natlab.skip('nothing to do') end\n"
    "    natlab.observe('n', p.n * 2)\n"
    "    natlab.result { path = 'srflx' }\n"
    "  end,\n"
    "}\n";

static json_t *cells_for(struct scenario *s, json_t *ov, unsigned trials, struct natlab_err *e)
{
	json_t *cells = NULL;
	int ret = scenario_cells(s, ov, trials, &cells, e);

	json_decref(ov);
	return ret == 0 ? cells : NULL;
}

static void test_expand(void **state)
{
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	struct natlab_err e = {""};
	json_t *cells, *c;

	write_scenario(good);
	luanet_ctx_init(&ctx);
	assert_int_equal(scenario_load(path, &ctx, &s, &e), 0);
	cells = cells_for(s, json_object(), 2, &e);
	assert_non_null(cells);
	assert_int_equal(json_array_size(cells), 4); /* 2 matrix values x 2 trials */
	c = json_array_get(cells, 2);
	assert_string_equal(json_string_value(json_object_get(c, "id")), "g/left=hard");
	assert_int_equal(json_integer_value(json_object_get(c, "trial")), 0);
	assert_string_equal(json_string_value(json_object_get(c, "expected_path")), "relay-udp");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "grid"), "row")),
			    "hard");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "grid"), "col")),
			    "easy");
	json_decref(cells);

	/* -p right=a,b sweeps a new axis; -p left=hard pins a matrix axis to
	 * one value; -p n=5 is converted to the default's type. */
	cells = cells_for(s, json_pack("{s:s,s:s,s:s}", "right", "x,y", "left", "hard", "n", "5"),
			  1, &e);
	assert_non_null(cells);
	assert_int_equal(json_array_size(cells), 2);
	c = json_array_get(cells, 1);
	assert_string_equal(json_string_value(json_object_get(c, "id")), "g/left=hard,right=y");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "params"), "n")), 5);
	json_decref(cells);

	assert_null(cells_for(s, json_pack("{s:s}", "colour", "red"), 1, &e));
	assert_non_null(strstr(e.msg, "has no param 'colour' (it has: left, n, right)"));
	assert_null(cells_for(s, json_pack("{s:s}", "n", "many"), 1, &e));
	assert_non_null(strstr(e.msg, "expects a number, got 'many'"));
	scenario_free(s);
	luanet_ctx_teardown(&ctx);
	unlink(path);
}

static void run_one(const char *right, json_t **result, json_t **obs)
{
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	struct natlab_err e = {""};
	json_t *cell = json_pack("{s:s,s:{s:s,s:s,s:i},s:i}", "id", "g", "params", "left", "easy",
				 "right", right, "n", 4, "trial", 0);

	luanet_ctx_init(&ctx);
	assert_int_equal(scenario_load(path, &ctx, &s, &e), 0);
	*result = json_object();
	scenario_run_cell(s, cell, 0, *result);
	json_object_update(*result, ctx.result);
	*obs = json_incref(ctx.observations);
	json_decref(cell);
	scenario_free(s);
	luanet_ctx_teardown(&ctx);
}

static void test_run_outcomes(void **state)
{
	json_t *r, *obs;

	write_scenario(good);
	run_one("fine", &r, &obs);
	assert_null(json_object_get(r, "outcome")); /* the runner judges path vs expected */
	assert_string_equal(json_string_value(json_object_get(r, "path")), "srflx");
	assert_int_equal(json_integer_value(json_object_get(obs, "n")), 8);
	json_decref(r);
	json_decref(obs);

	run_one("boom", &r, &obs);
	assert_string_equal(json_string_value(json_object_get(r, "outcome")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(r, "message")),
			       ".lua:11: attempt to index a nil value"));
	assert_non_null(
	    strstr(json_string_value(json_object_get(r, "traceback")), "stack traceback"));
	json_decref(r);
	json_decref(obs);

	run_one("skip", &r, &obs);
	assert_string_equal(json_string_value(json_object_get(r, "outcome")), "skipped");
	assert_string_equal(json_string_value(json_object_get(r, "message")), "nothing to do");
	json_decref(r);
	json_decref(obs);
	unlink(path);
}

static void expect_load_error(const char *text, const char *words)
{
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	struct natlab_err e = {""};

	write_scenario(text);
	luanet_ctx_init(&ctx);
	assert_true(scenario_load(path, &ctx, &s, &e) < 0);
	assert_null(s);
	if (!strstr(e.msg, words))
		fail_msg("'%s' does not say '%s'", e.msg, words);
	luanet_ctx_teardown(&ctx);
	unlink(path);
}

static void test_load_errors(void **state)
{
	expect_load_error("scenario { name = 'x', run = function() if then end end }",
			  ".lua:1: unexpected symbol near 'then'");
	expect_load_error("local x = 1\n", "declares no scenario");
	expect_load_error("scenario { name = 'bad name' }", "name must be a word");
	expect_load_error(
	    "scenario { name = 'x', params = { a = { description = 'no default' } } }",
	    "param 'a' needs {description=..., default=...}");
	expect_load_error("scenario { name = 'x', matrix = { z = { 1 } } }",
			  "matrix axis 'z' is not a declared param");
	expect_load_error("error('at load time')", ".lua:1: at load time");
}

/* Timers fire inside natlab.sleep_ms at their offset, in order. */
/* natlab.after fires in deadline order, never early, inside the sleep
 * that spans both deadlines. No upper bound on lateness: on a loaded
 * machine a timer may be late (both may fire in the same turn), and this
 * is not a timing test. */
static void test_timers(void **state)
{
	json_t *r, *obs;

	write_scenario("scenario { name = 't', run = function()\n"
		       "  local fired, at = {}, {}\n"
		       "  natlab.after(120, function() fired[#fired + 1] = 'late'; at[#at + 1] = natlab.now_ms() end)\n"
		       "  natlab.after(40, function() fired[#fired + 1] = 'early'; at[#at + 1] = natlab.now_ms() end)\n"
		       "  natlab.sleep_ms(200)\n"
		       "  natlab.observe('fired', fired)\n"
		       "  natlab.observe('at', at)\n"
		       "end }\n");
	run_one("x", &r, &obs);
	assert_null(json_object_get(r, "outcome"));
	json_t *f = json_object_get(obs, "fired"), *at = json_object_get(obs, "at");
	assert_int_equal(json_array_size(f), 2);
	assert_string_equal(json_string_value(json_array_get(f, 0)), "early");
	assert_string_equal(json_string_value(json_array_get(f, 1)), "late");
	json_int_t a = json_integer_value(json_array_get(at, 0)),
		   b = json_integer_value(json_array_get(at, 1));
	assert_true(a >= 40 && b >= 120 && a <= b);
	json_decref(r);
	json_decref(obs);
	unlink(path);
}

static void test_find(void **state)
{
	char buf[256];
	struct natlab_err e = {""};

	assert_true(scenario_find("definitely-not-a-scenario", buf, sizeof(buf), &e) < 0);
	assert_non_null(strstr(e.msg, "no scenario 'definitely-not-a-scenario'"));
	assert_non_null(strstr(e.msg, "natlab list"));
	setenv("NATLAB_SCENARIO_PATH", NATLAB_SOURCE_DIR "/scenarios", 1);
	assert_int_equal(scenario_find("smoke", buf, sizeof(buf), &e), 0);
	assert_non_null(strstr(buf, "/scenarios/smoke.lua"));
}

/* A cell's own deadline stops its scenario whether it computes, sleeps or
 * catches the error with pcall, and the outcome is "timeout"; a cell that
 * ends in time is untouched by an armed deadline. */
static const char endless[] =
    "scenario {\n"
    "  name = 'e', description = 'never ends',\n"
    "  params = { how = { description = 'spin, sleep, pcall or quick', default = 'spin' } },\n"
    "  run = function(net, p)\n"
    "    if p.how == 'spin' then while true do end end\n"
    "    if p.how == 'sleep' then natlab.sleep_ms(600000) end\n"
    "    if p.how == 'pcall' then\n"
    "      for i = 1, 1000000 do pcall(natlab.sleep_ms, 600000) end\n"
    "    end\n"
    "    natlab.result { path = 'host' }\n"
    "  end,\n"
    "}\n";

static const char *run_endless(const char *how, int64_t *took_ms)
{
	static char outcome[32];
	struct luanet_ctx ctx;
	struct scenario *s = NULL;
	struct natlab_err e = {""};
	json_t *cell = json_pack("{s:s,s:{s:s},s:i,s:i}", "id", "e", "params", "how", how, "trial",
				 0, "timeout_ms", 250);
	json_t *r = json_object();
	int64_t t0;

	luanet_ctx_init(&ctx);
	assert_int_equal(scenario_load(path, &ctx, &s, &e), 0);
	t0 = luanet_now_ms();
	scenario_run_cell(s, cell, t0 + 200, r);
	*took_ms = luanet_now_ms() - t0;
	snprintf(outcome, sizeof(outcome), "%s",
		 json_string_value(json_object_get(r, "outcome")) ?: "(none)");
	if (!strcmp(outcome, "timeout"))
		assert_non_null(strstr(json_string_value(json_object_get(r, "message")),
				       "timed out after 250 ms"));
	json_decref(r);
	json_decref(cell);
	scenario_free(s);
	luanet_ctx_teardown(&ctx);
	return outcome;
}

static void test_cell_deadline(void **state)
{
	static const char *hows[] = {"spin", "sleep", "pcall"};
	int64_t took;

	(void)state;
	write_scenario(endless);
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		assert_string_equal(run_endless(hows[i], &took), "timeout");
		assert_true(took >= 190 && took < 5000);
	}
	assert_string_equal(run_endless("quick", &took), "(none)");
	assert_false(cell_deadline_hit());
	/* the margin: a tenth of the cell's time, within 300 ms .. 3 s */
	assert_int_equal(cell_deadline_margin_ms(1000), 300);
	assert_int_equal(cell_deadline_margin_ms(12000), 1200);
	assert_int_equal(cell_deadline_margin_ms(120000), 3000);
	/* disarmed: waits are what was asked */
	cell_deadline_arm(NULL, 0);
	assert_int_equal(cell_deadline_cap(1234), 1234);
	assert_int_equal(cell_deadline_cap(-1), -1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand),	cmocka_unit_test(test_run_outcomes),
	    cmocka_unit_test(test_load_errors), cmocka_unit_test(test_timers),
	    cmocka_unit_test(test_find), cmocka_unit_test(test_cell_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
