/* harness_pace - how many cells `natlab run` keeps in flight (pace.c) and
 * the plan that makes them one at a time (cellplan.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cellplan.h"
#include "harness/pace.h"
#include "harness/runopts.h"

#define GB (1024ull * 1024ull)

/* Before any cell finished: as many as cores, within the ceiling (by
 * default PACE_CEILING_PER_CORE per core). */
static void test_pace_start(void **state)
{
	struct pace p;

	(void)state;
	assert_int_equal(pace_ceiling(2), 2 * PACE_CEILING_PER_CORE);
	pace_init(&p, 2, 0, 24 * GB, 20 * GB);
	assert_int_equal(pace_limit(&p), 2);
	pace_init(&p, 64, 10, 24 * GB, 20 * GB);
	assert_int_equal(pace_limit(&p), 10);
}

/* Cells that wait on timers (5 % of a core each) fill an idle machine up
 * to the ceiling; cells that spin (a whole core each) get one per core's
 * share. */
static void test_pace_cpu(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 2, 0, 24 * GB, 20 * GB);
	for (int i = 0; i < 10; i++)
		pace_cell_done(&p, 50000, 1000000, 8000);
	assert_int_equal(pace_limit(&p), pace_ceiling(2));
	pace_init(&p, 2, 40, 24 * GB, 20 * GB);
	for (int i = 0; i < 10; i++)
		pace_cell_done(&p, 50000, 1000000, 8000);
	/* 2 cores x 0.75 / 0.05 = 30 */
	assert_int_equal(pace_limit(&p), 30);
	pace_init(&p, 4, 40, 24 * GB, 20 * GB);
	for (int i = 0; i < 20; i++)
		pace_cell_done(&p, 1000000, 1000000, 8000);
	assert_int_equal(pace_limit(&p), 3); /* 4 x 0.75 / 1.0 */
}

/* Others' load takes its cores away: a machine busy 90 % with work not
 * ours leaves one core's worth. */
static void test_pace_external_load(void **state)
{
	struct pace p;
	unsigned idle, busy;

	(void)state;
	pace_init(&p, 8, 100, 24 * GB, 20 * GB);
	for (int i = 0; i < 10; i++)
		pace_cell_done(&p, 100000, 1000000, 8000);
	idle = pace_limit(&p); /* 8 x 0.75 / 0.1 = 60 */
	for (int i = 0; i < 40; i++)
		pace_machine(&p, 0.9 + 4 * 0.1 / 8, 20 * GB, 4);
	busy = pace_limit(&p);
	assert_int_equal(idle, 60);
	assert_true(busy < 12 && busy >= 7); /* about 1 core left: 7.5 */
}

/* Memory: cells whose drop of available memory is 0.9 GB each, on a
 * machine with 4 GB available of 8 (2 GB kept free): two cells. */
static void test_pace_memory(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 2, 0, 8 * GB, 4 * GB);
	for (int i = 0; i < 10; i++)
		pace_cell_done(&p, 10000, 1000000, 8000);
	for (int i = 0; i < 40; i++)
		pace_machine(&p, 0.1, 4 * GB - 2 * (GB * 9 / 10), 2);
	assert_int_equal(pace_limit(&p), 2);
}

static json_t *points(const char *scen, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof(id), "%s/k=%d", scen, i);
		json_array_append_new(a, json_pack("{s:s,s:s,s:i}", "id", id, "scenario", scen,
						   "trial", 0));
	}
	return a;
}

/* The plan makes every (point, trial) in order, indexes counted over all
 * scenarios before selection, and a shard makes only its own cells with
 * the same indexes the whole run gives them. */
static void test_plan(void **state)
{
	struct runopts o;
	struct cellplan *p;
	json_t *a = points("a", 3), *b = points("b", 2), *c;
	size_t n = 0, in_shards = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.trials = 2;
	o.seed = 9;
	p = cellplan_new(&o);
	assert_int_equal(cellplan_add(p, a, "/x/a.lua", NULL), 0);
	assert_int_equal(cellplan_add(p, b, "/x/b.lua", NULL), 0);
	assert_int_equal(cellplan_count(p), 10);
	while ((c = cellplan_next(p, NULL))) {
		json_int_t idx = json_integer_value(json_object_get(c, "index"));
		unsigned t = (unsigned)json_integer_value(json_object_get(c, "trial"));
		const char *id = json_string_value(json_object_get(c, "id"));
		assert_int_equal(idx, (json_int_t)n);
		assert_int_equal(t, n % 2);
		assert_string_equal(json_string_value(json_object_get(c, "scenario_file")),
				    n < 6 ? "/x/a.lua" : "/x/b.lua");
		assert_true(json_integer_value(json_object_get(c, "seed")) ==
			    (json_int_t)runopts_cell_seed(9, id, t));
		n++;
		json_decref(c);
	}
	assert_int_equal(n, 10);
	cellplan_free(p);
	for (unsigned k = 1; k <= 3; k++) {
		size_t mine = 0;
		o.shard_k = k;
		o.shard_n = 3;
		p = cellplan_new(&o);
		cellplan_add(p, a, "/x/a.lua", NULL);
		cellplan_add(p, b, "/x/b.lua", NULL);
		while ((c = cellplan_next(p, NULL))) {
			json_int_t idx = json_integer_value(json_object_get(c, "index"));
			const char *id = json_string_value(json_object_get(c, "id"));
			unsigned t = (unsigned)json_integer_value(json_object_get(c, "trial"));
			assert_int_equal(runopts_shard_of(id, t, 3), k);
			/* a's point i trial t is index 2i+t; b's after a's six */
			assert_int_equal(idx, (id[0] == 'a' ? 0 : 6) + 2 * atoi(id + 4) + (json_int_t)t);
			mine++;
			json_decref(c);
		}
		assert_int_equal(mine, cellplan_count(p));
		in_shards += mine;
		cellplan_free(p);
	}
	assert_int_equal(in_shards, 10);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pace_start),
	    cmocka_unit_test(test_pace_cpu),
	    cmocka_unit_test(test_pace_external_load),
	    cmocka_unit_test(test_pace_memory),
	    cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
