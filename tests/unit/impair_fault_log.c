/* impair_fault_log.c - the fault event log without a kernel: order,
 * stamps, bounds, JSON escaping, and many writers at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu/impair_fault.h"

static void records_in_order_with_stamps(void **state)
{
	struct emu_fault_log *log;
	struct emu_fault_event ev;
	struct timespec t0, t1;

	assert_int_equal(emu_fault_log_new(&log, NULL), 0);
	assert_int_equal(emu_fault_log_count(log), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(emu_fault_log_record(log, "nat-flush", "nat1", 0, "mappings: %d", 12), 0);
	assert_int_equal(emu_fault_log_record(log, "link-down", "a-b", -EIO, "%s", "failed"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(emu_fault_log_count(log), 2);
	assert_int_equal(emu_fault_log_get(log, 0, &ev), 0);
	assert_string_equal(ev.kind, "nat-flush");
	assert_string_equal(ev.target, "nat1");
	assert_string_equal(ev.detail, "mappings: 12");
	assert_true(ev.mono_ns >= (uint64_t)t0.tv_sec * 1000000000ull + (uint64_t)t0.tv_nsec);
	assert_true(ev.mono_ns <= (uint64_t)t1.tv_sec * 1000000000ull + (uint64_t)t1.tv_nsec);
	assert_true(ev.real_ns > 1600000000ull * 1000000000ull);
	assert_int_equal(emu_fault_log_get(log, 1, &ev), 0);
	assert_int_equal(ev.result, -EIO);
	assert_int_equal(emu_fault_log_get(log, 2, &ev), -ENOENT);
	emu_fault_log_free(log);
	emu_fault_log_free(NULL);
	/* faults may be injected without a log at all */
	assert_int_equal(emu_fault_log_record(NULL, "x", "y", 0, "z"), 0);
}

static void long_strings_are_cut_not_overrun(void **state)
{
	struct emu_fault_log *log;
	struct emu_fault_event ev;
	char big[1000];

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(emu_fault_log_new(&log, NULL), 0);
	assert_int_equal(emu_fault_log_record(log, big, big, 0, "%s", big), 0);
	assert_int_equal(emu_fault_log_get(log, 0, &ev), 0);
	assert_int_equal(strlen(ev.kind), EMU_FAULT_KIND_MAX - 1);
	assert_int_equal(strlen(ev.target), EMU_FAULT_TARGET_MAX - 1);
	assert_int_equal(strlen(ev.detail), EMU_FAULT_DETAIL_MAX - 1);
	emu_fault_log_free(log);
}

static void json_lines_escape_quotes_and_controls(void **state)
{
	struct emu_fault_log *log;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(emu_fault_log_new(&log, NULL), 0);
	emu_fault_log_record(log, "roam", "host:eth0", 0, "say \"hi\"\\\n\tnow");
	f = open_memstream(&text, &len);
	assert_int_equal(emu_fault_log_write_jsonl(log, f), 0);
	fclose(f);
	assert_non_null(
	    strstr(text, "\"kind\":\"roam\",\"target\":\"host:eth0\","
			 "\"detail\":\"say \\\"hi\\\"\\\\\\u000a\\u0009now\",\"result\":0}\n"));
	assert_int_equal(text[len - 1], '\n');
	free(text);
	emu_fault_log_free(log);
}

static void *writer(void *arg)
{
	struct emu_fault_log *log = arg;

	for (int i = 0; i < 1000; i++)
		emu_fault_log_record(log, "blackhole-on", "t", 0, "%d", i);
	return NULL;
}

static void concurrent_writers_lose_nothing(void **state)
{
	struct emu_fault_log *log;
	pthread_t th[4];
	struct emu_fault_event prev, ev;

	assert_int_equal(emu_fault_log_new(&log, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, log), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(emu_fault_log_count(log), 4000);
	/* stamped under the log's lock: never backwards */
	emu_fault_log_get(log, 0, &prev);
	for (size_t i = 1; i < 4000; i++) {
		emu_fault_log_get(log, i, &ev);
		assert_true(ev.mono_ns >= prev.mono_ns);
		prev = ev;
	}
	emu_fault_log_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(records_in_order_with_stamps),
	    cmocka_unit_test(long_strings_are_cut_not_overrun),
	    cmocka_unit_test(json_lines_escape_quotes_and_controls),
	    cmocka_unit_test(concurrent_writers_lose_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
