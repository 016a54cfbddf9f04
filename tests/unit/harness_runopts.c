/* harness_runopts - `natlab run` argument parsing, filter, sharding,
 * per-cell seeds, and `natlab compare`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/compare.h"
#include "harness/runopts.h"

static void test_parse_all(void **state)
{
	char kv[] = "nat=hard"; /* split in place: must be writable */
	char *argv[] = {"run",	     "a.lua",	"-p",	kv,	 "--trials", "3",	 "--jobs",
			"2",	     "--seed",	"0x10", "--out", "/tmp/r",   "--filter", "a/*",
			"--capture", "--shard", "2/4",	"b.lua", NULL};
	struct runopts o;
	struct natlab_err e = {""};

	assert_int_equal(runopts_parse(18, argv, &o, &e), 0);
	assert_int_equal(o.n_scenarios, 2);
	assert_string_equal(o.scenarios[1], "b.lua");
	assert_int_equal(o.n_params, 1);
	assert_string_equal(o.param_keys[0], "nat");
	assert_string_equal(o.param_values[0], "hard");
	assert_int_equal(o.trials, 3);
	assert_int_equal(o.jobs, 2);
	assert_true(o.seed == 16 && o.seed_given);
	assert_string_equal(o.out, "/tmp/r");
	assert_string_equal(o.filter, "a/*");
	assert_true(o.capture);
	assert_int_equal(o.shard_k, 2);
	assert_int_equal(o.shard_n, 4);
}

static void expect_error(int argc, char **argv, const char *words)
{
	struct runopts o;
	struct natlab_err e = {""};

	assert_int_equal(runopts_parse(argc, argv, &o, &e), -EINVAL);
	assert_non_null(strstr(e.msg, words));
}

static void test_parse_errors(void **state)
{
	char *a1[] = {"run", "--trials", "0"};
	char *a2[] = {"run", "--shard", "5/4"};
	char nv[] = "novalue";
	char *a3[] = {"run", "-p", nv};
	char *a4[] = {"run", "--bogus"};
	char *a5[] = {"run", "--jobs"};
	char *a6[] = {"run", "--shard", "1/2x"};

	expect_error(3, a1, "'0' is not a number >= 1");
	expect_error(3, a2, "1 <= K <= N");
	expect_error(3, a3, "'novalue' is not key=value");
	expect_error(2, a4, "unknown option '--bogus'");
	expect_error(2, a5, "--jobs needs a value");
	expect_error(3, a6, "is not K/N");
}

/* Usage errors say what is wrong and how to write it, without an errno
 * text tacked on. */
static void test_parse_errors_no_errno_text(void **state)
{
	char *a1[] = {"run", "--jobs", "0"};
	struct runopts o;
	struct natlab_err e = {""};

	assert_int_equal(runopts_parse(3, a1, &o, &e), -EINVAL);
	assert_string_equal(e.msg, "--jobs: '0' is not a number >= 1 or auto");
}

/* --jobs: auto by default (0: the runner paces), "auto" says so, a number
 * fixes it. */
static void test_parse_jobs(void **state)
{
	char *a1[] = {"run", "a.lua"};
	char *a2[] = {"run", "a.lua", "--jobs", "auto"};
	char *a3[] = {"run", "a.lua", "-j", "7"};
	struct runopts o;
	struct natlab_err e = {""};

	(void)state;
	assert_int_equal(runopts_parse(2, a1, &o, &e), 0);
	assert_int_equal(o.jobs, 0);
	assert_int_equal(runopts_parse(4, a2, &o, &e), 0);
	assert_int_equal(o.jobs, 0);
	assert_int_equal(runopts_parse(4, a3, &o, &e), 0);
	assert_int_equal(o.jobs, 7);
}

static void test_shards_partition(void **state)
{
	char id[64];
	unsigned counts[5] = {0};

	/* Every cell lands in exactly one shard, stably, and shards are even-ish. */
	for (unsigned i = 0; i < 1000; i++) {
		unsigned s;
		snprintf(id, sizeof(id), "ice/left=nat%u,right=nat%u", i % 31, i / 31);
		s = runopts_shard_of(id, i % 3, 4);
		assert_true(s >= 1 && s <= 4);
		assert_int_equal(s, runopts_shard_of(id, i % 3, 4));
		counts[s]++;
	}
	for (unsigned s = 1; s <= 4; s++)
		assert_true(counts[s] > 180 && counts[s] < 320);
	assert_int_equal(runopts_shard_of("x", 0, 1), 1);
	/* Fixed values: sharding must not change between releases or machines. */
	assert_int_equal(runopts_shard_of("smoke/nat=easy", 0, 4),
			 runopts_shard_of("smoke/nat=easy", 0, 4));
}

static void test_selected(void **state)
{
	struct runopts o;

	memset(&o, 0, sizeof(o));
	o.filter = "smoke/nat=h*";
	assert_true(runopts_selected(&o, "smoke/nat=hard", 0));
	assert_false(runopts_selected(&o, "smoke/nat=easy", 0));
	o.filter = NULL;
	o.shard_n = 3;
	for (o.shard_k = 1; o.shard_k <= 3; o.shard_k++) {
		bool sel = runopts_selected(&o, "a/b", 1);
		assert_true(sel == (runopts_shard_of("a/b", 1, 3) == o.shard_k));
	}
	assert_true(runopts_cell_seed(1, "a", 0) != runopts_cell_seed(2, "a", 0));
	assert_true(runopts_cell_seed(1, "a", 0) != runopts_cell_seed(1, "a", 1));
	assert_true(runopts_cell_seed(1, "a", 0) == runopts_cell_seed(1, "a", 0));
	assert_true(runopts_cell_seed(~0ull, "a", 0) < (1ull << 53));
}

static json_t *c(const char *id, const char *outcome, const char *path, double ms)
{
	return json_pack("{s:s,s:s,s:s,s:f}", "id", id, "outcome", outcome, "path", path,
			 "connect_ms", ms);
}

static void test_compare(void **state)
{
	json_t *base = json_array(), *cur = json_array();
	struct compare_summary s;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	json_array_append_new(base, c("a", "pass", "srflx", 100));
	json_array_append_new(cur, c("a", "fail", "relay-udp", 100)); /* regression */
	json_array_append_new(base, c("b", "fail", "failed", 100));
	json_array_append_new(cur, c("b", "pass", "srflx", 100)); /* fixed */
	for (int i = 0; i < 5; i++) {
		json_array_append_new(base, c("slow", "pass", "host", 100 + i));
		json_array_append_new(cur, c("slow", "pass", "host", 400 + i)); /* slower */
		json_array_append_new(base, c("noisy", "pass", "host", 100 + 10 * i));
		json_array_append_new(cur,
				      c("noisy", "pass", "host", 120 + 10 * i)); /* within noise */
	}
	json_array_append_new(base, c("gone", "pass", "host", 1));
	json_array_append_new(cur, c("new", "pass", "host", 1));
	assert_int_equal(compare_cells(base, cur, f, &s), 2);
	fclose(f);
	assert_int_equal(s.regressed, 1);
	assert_int_equal(s.fixed, 1);
	assert_int_equal(s.slower, 1);
	assert_int_equal(s.same, 1);
	assert_int_equal(s.path_changed, 2);
	assert_int_equal(s.only_base, 1);
	assert_int_equal(s.only_new, 1);
	assert_non_null(strstr(text, "REGRESSED a: 1/1 passed, now 0/1 (every trial passed before, "
				     "none now; path srflx -> relay-udp)"));
	assert_non_null(strstr(text, "SLOWER    slow"));
	assert_null(strstr(text, "noisy"));
	free(text);
	/* Same runs: nothing to report, exit 0. */
	assert_int_equal(compare_cells(base, base, NULL, &s), 0);
	json_decref(base);
	json_decref(cur);
}

/* @np of @n trials of cell @id pass, the others fail. */
static void trials(json_t *arr, const char *id, unsigned np, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(
		    arr, c(id, i < np ? "pass" : "fail", i < np ? "srflx" : "failed", 100));
}

/* Success rates with noise in mind: one flake in ten is not a regression,
 * a collapse from 9/10 to 1/10 is; a single trial that always passed and
 * now fails still is; skipped trials are left out of the rate. */
static void test_compare_rates(void **state)
{
	struct compare_summary s;
	json_t *base = json_array(), *cur = json_array();
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	/* the exact p-values: C(19,10)/C(20,10) and (10*10+1)/C(20,10) */
	assert_true(fabs(compare_p_lower(10, 10, 9, 10) - 0.5) < 1e-9);
	assert_true(fabs(compare_p_lower(9, 10, 1, 10) - 101.0 / 184756.0) < 1e-9);
	assert_true(fabs(compare_p_lower(1, 1, 0, 1) - 0.5) < 1e-9);
	assert_true(compare_p_lower(0, 0, 0, 1) == 1);

	trials(base, "flake", 10, 10);
	trials(cur, "flake", 9, 10);
	trials(base, "collapse", 9, 10);
	trials(cur, "collapse", 1, 10);
	trials(base, "better", 1, 10);
	trials(cur, "better", 9, 10);
	trials(base, "one", 1, 1);
	trials(cur, "one", 0, 1);
	trials(base, "fixed-one", 0, 1);
	trials(cur, "fixed-one", 1, 1);
	trials(base, "half", 5, 10); /* 5/10 -> 3/10: p = 0.33, noise */
	trials(cur, "half", 3, 10);
	trials(base, "skips", 3, 3);
	trials(cur, "skips", 3, 3);
	json_array_append_new(cur, c("skips", "skipped", "skipped", 0)); /* not a trial that ran */
	assert_int_equal(compare_cells(base, cur, f, &s), 2);
	fclose(f);
	assert_int_equal(s.regressed, 2);
	assert_int_equal(s.fixed, 2);
	assert_int_equal(s.noise, 2);
	assert_int_equal(s.same, 1);
	assert_non_null(
	    strstr(text, "noise     flake: 10/10 passed, now 9/10 (p=0.5, within noise)"));
	assert_non_null(strstr(text, "REGRESSED collapse: 9/10 passed, now 1/10 (p=0.00055; "));
	assert_non_null(strstr(text, "REGRESSED one: 1/1 passed, now 0/1 (every trial passed"));
	assert_non_null(strstr(text, "fixed     better: 1/10 passed, now 9/10 (p=0.00055)"));
	assert_non_null(strstr(text, "fixed     fixed-one: 0/1 passed, now 1/1 (no trial passed"));
	assert_non_null(strstr(text, "noise     half: 5/10 passed, now 3/10"));
	assert_null(strstr(text, "skips"));
	free(text);
	json_decref(base);
	json_decref(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_all),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_shards_partition),
	    cmocka_unit_test(test_selected),
	    cmocka_unit_test(test_compare),
	    cmocka_unit_test(test_parse_errors_no_errno_text),
	    cmocka_unit_test(test_parse_jobs),
	    cmocka_unit_test(test_compare_rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
