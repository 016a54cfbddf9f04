/* impair_model.c - the impairment model on a fake clock: each knob's
 * statistics and timing, with no sockets and no kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emu/impair_model.h"

#define MS 1000000ull

static struct emu_impair_model model(const struct emu_impair_config *c)
{
	struct emu_impair_model m;
	char msg[128];

	assert_int_equal(emu_impair_config_check(c, msg, sizeof(msg)), 0);
	emu_impair_model_init(&m, c);
	return m;
}

static void perfect_wire_passes_at_once(void **state)
{
	struct emu_impair_config c = {0};
	struct emu_impair_model m = model(&c);
	uint64_t d[2];
	enum emu_impair_verdict why;

	for (uint64_t t = 0; t < 1000; t++) {
		assert_int_equal(emu_impair_model_admit(&m, t * 1000, 100, 86, d, &why), 1);
		assert_int_equal(d[0], t * 1000);
		assert_int_equal(why, EMU_IMPAIR_PASS);
	}
}

static void fixed_delay_is_exact(void **state)
{
	struct emu_impair_config c = {.delay_us = 25000};
	struct emu_impair_model m = model(&c);
	uint64_t d[2];

	assert_int_equal(emu_impair_model_admit(&m, 7 * MS, 100, 86, d, NULL), 1);
	assert_int_equal(d[0], 32 * MS);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Mean and standard deviation of n jitter samples, in ns. */
static void jitter_stats(enum emu_jitter_dist dist, int n, double *mean, double *sd, int64_t *min,
			 int64_t *max, int64_t *median)
{
	struct emu_impair_config c = {.delay_us = 50000, .jitter_us = 10000, .dist = dist};
	struct emu_impair_model m = model(&c);
	int64_t *v = calloc((size_t)n, sizeof(*v));
	double s = 0, s2 = 0;

	assert_non_null(v);
	for (int i = 0; i < n; i++) {
		v[i] = emu_impair_model_jitter_ns(&m);
		s += (double)v[i];
	}
	*mean = s / n;
	for (int i = 0; i < n; i++)
		s2 += ((double)v[i] - *mean) * ((double)v[i] - *mean);
	*sd = sqrt(s2 / (n - 1));
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	*min = v[0];
	*max = v[n - 1];
	*median = v[n / 2];
	free(v);
}

static void jitter_distributions_have_their_shape(void **state)
{
	double mean, sd;
	int64_t min, max, med;

	/* Uniform +-10 ms: flat, bounded, sd = 10/sqrt(3) ms. */
	jitter_stats(EMU_JITTER_UNIFORM, 200000, &mean, &sd, &min, &max, &med);
	assert_true(fabs(mean) < 0.1 * MS);
	assert_true(fabs(sd - 10.0 * MS / sqrt(3.0)) < 0.1 * MS);
	assert_true(min >= -10 * (int64_t)MS && max <= 10 * (int64_t)MS);
	/* Normal, sd 10 ms: unbounded, symmetric. */
	jitter_stats(EMU_JITTER_NORMAL, 200000, &mean, &sd, &min, &max, &med);
	assert_true(fabs(mean) < 0.1 * MS);
	assert_true(fabs(sd - 10.0 * MS) < 0.2 * MS);
	assert_true(max > 30 * (int64_t)MS && min < -30 * (int64_t)MS);
	/* Pareto-normal, sd 10 ms: mean 0, a long right tail, median below
	 * the mean. The Pareto part's variance converges slowly. */
	jitter_stats(EMU_JITTER_PARETO_NORMAL, 400000, &mean, &sd, &min, &max, &med);
	assert_true(fabs(mean) < 0.2 * MS);
	assert_true(fabs(sd - 10.0 * MS) < 1.5 * MS);
	assert_true(med < -1 * (int64_t)MS);
	assert_true(max > 4 * -min);
}

static void without_reorder_frames_keep_their_order(void **state)
{
	struct emu_impair_config c = {.delay_us = 20000, .jitter_us = 5000, .reorder = false};
	struct emu_impair_model m = model(&c);
	uint64_t d[2], last = 0;
	int late = 0;

	for (int i = 0; i < 10000; i++) {
		assert_int_equal(emu_impair_model_admit(&m, (uint64_t)i * 100000, 100, 86, d, NULL),
				 1);
		assert_true(d[0] >= last);
		assert_true(d[0] >= (uint64_t)i * 100000 + 15 * MS);
		late += d[0] > (uint64_t)i * 100000 + 25 * MS;
		last = d[0];
	}
	assert_int_equal(late, 0);

	c.reorder = true;
	m = model(&c);
	int inversions = 0;
	last = 0;
	for (int i = 0; i < 10000; i++) {
		emu_impair_model_admit(&m, (uint64_t)i * 100000, 100, 86, d, NULL);
		inversions += d[0] < last;
		last = d[0];
	}
	/* 0.1 ms apart with +-5 ms of jitter: most neighbours swap. */
	assert_true(inversions > 3000);
}

static void random_loss_rate_matches(void **state)
{
	struct emu_impair_config c = {.loss = 0.07, .seed = 42};
	struct emu_impair_model m = model(&c);
	uint64_t d[2];
	int lost = 0;
	enum emu_impair_verdict why;

	for (int i = 0; i < 100000; i++) {
		if (emu_impair_model_admit(&m, (uint64_t)i, 100, 86, d, &why) == 0) {
			lost++;
			assert_int_equal(why, EMU_IMPAIR_DROP_LOSS);
		}
	}
	assert_true(lost > 6700 && lost < 7300);
}

static void gilbert_elliott_loss_comes_in_bursts(void **state)
{
	/* p=1%, r=25%, lose everything in bad, nothing in good: mean loss
	 * p/(p+r) = 3.85%, mean burst length 1/r = 4 frames. */
	struct emu_impair_config c = {.ge_p = 0.01, .ge_r = 0.25, .ge_loss_bad = 1.0, .seed = 7};
	struct emu_impair_model m = model(&c);
	uint64_t d[2];
	int lost = 0, bursts = 0;
	bool prev_lost = false;
	const int n = 200000;

	for (int i = 0; i < n; i++) {
		bool l = emu_impair_model_admit(&m, (uint64_t)i, 100, 86, d, NULL) == 0;
		lost += l;
		bursts += l && !prev_lost;
		prev_lost = l;
	}
	double rate = (double)lost / n;
	double burst_len = (double)lost / bursts;
	assert_true(fabs(rate - 0.01 / 0.26) < 0.005);
	assert_true(burst_len > 3.5 && burst_len < 4.5);
}

static void duplication_sends_two_copies(void **state)
{
	struct emu_impair_config c = {.dup = 0.2, .delay_us = 1000, .seed = 3};
	struct emu_impair_model m = model(&c);
	uint64_t d[2];
	int copies = 0;

	for (int i = 0; i < 50000; i++) {
		int k = emu_impair_model_admit(&m, (uint64_t)i * MS, 100, 86, d, NULL);
		assert_true(k == 1 || k == 2);
		copies += k;
	}
	assert_true(copies > 59000 && copies < 61000);
}

static void rate_limit_spaces_frames_and_tail_drops(void **state)
{
	/* 8 Mbit/s: a 1000-byte frame takes 1 ms on the wire. */
	struct emu_impair_config c = {.rate_bps = 8000000, .queue_bytes = 10000, .delay_us = 5000};
	struct emu_impair_model m = model(&c);
	uint64_t d[2];
	enum emu_impair_verdict why;
	int sent = 0;

	/* 20 frames at once: 10 fit the 10 000-byte queue, the rest drop. */
	for (int i = 0; i < 20; i++) {
		if (emu_impair_model_admit(&m, 0, 1000, 986, d, &why) == 1) {
			sent++;
			assert_int_equal(d[0], (uint64_t)sent * MS + 5 * MS);
		} else {
			assert_int_equal(why, EMU_IMPAIR_DROP_QUEUE);
		}
	}
	assert_int_equal(sent, 10);
	/* Once the queue has drained by half, half fits again. */
	for (int i = 0; i < 10; i++)
		sent += emu_impair_model_admit(&m, 5 * MS, 1000, 986, d, NULL);
	assert_int_equal(sent, 15);
}

static void mtu_drops_larger_frames_only(void **state)
{
	struct emu_impair_config c = {.mtu = 1280};
	struct emu_impair_model m = model(&c);
	uint64_t d[2];
	enum emu_impair_verdict why;

	assert_int_equal(emu_impair_model_admit(&m, 0, 1294, 1280, d, &why), 1);
	assert_int_equal(emu_impair_model_admit(&m, 0, 1295, 1281, d, &why), 0);
	assert_int_equal(why, EMU_IMPAIR_DROP_MTU);
}

static void bad_configs_are_refused_with_a_reason(void **state)
{
	char msg[128];
	struct emu_impair_config c = {.loss = 1.5};

	assert_int_equal(emu_impair_config_check(&c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "loss"));
	c = (struct emu_impair_config){.ge_p = 0.1};
	assert_int_equal(emu_impair_config_check(&c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "Gilbert"));
	c = (struct emu_impair_config){.mtu = 20};
	assert_int_equal(emu_impair_config_check(&c, msg, sizeof(msg)), -EINVAL);
	c = (struct emu_impair_config){.loss = NAN};
	assert_int_equal(emu_impair_config_check(&c, msg, sizeof(msg)), -EINVAL);
}

static void same_seed_same_fate(void **state)
{
	struct emu_impair_config c = {
	    .loss = 0.3, .jitter_us = 3000, .delay_us = 4000, .seed = 99, .reorder = true};
	struct emu_impair_model a = model(&c), b = model(&c);
	uint64_t da[2], db[2];

	for (int i = 0; i < 1000; i++) {
		int na = emu_impair_model_admit(&a, (uint64_t)i * MS, 100, 86, da, NULL);
		int nb = emu_impair_model_admit(&b, (uint64_t)i * MS, 100, 86, db, NULL);
		assert_int_equal(na, nb);
		if (na)
			assert_int_equal(da[0], db[0]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(perfect_wire_passes_at_once),
	    cmocka_unit_test(fixed_delay_is_exact),
	    cmocka_unit_test(jitter_distributions_have_their_shape),
	    cmocka_unit_test(without_reorder_frames_keep_their_order),
	    cmocka_unit_test(random_loss_rate_matches),
	    cmocka_unit_test(gilbert_elliott_loss_comes_in_bursts),
	    cmocka_unit_test(duplication_sends_two_copies),
	    cmocka_unit_test(rate_limit_spaces_frames_and_tail_drops),
	    cmocka_unit_test(mtu_drops_larger_frames_only),
	    cmocka_unit_test(bad_configs_are_refused_with_a_reason),
	    cmocka_unit_test(same_seed_same_fate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
