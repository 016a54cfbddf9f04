/* harness_results - the result writers, read back: run.json, cells.jsonl
 * (including a run killed mid-line), junit.xml and report.html. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/cellsrc.h"
#include "harness/junit.h"
#include "harness/report.h"
#include "harness/results.h"
#include "harness/summary.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *dir, const char *name)
{
	char path[4200];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static json_t *cell(const char *row, const char *col, const char *path, const char *expected,
		    const char *outcome, double ms)
{
	char id[128];

	snprintf(id, sizeof(id), "t/a=%s,b=%s", row, col);
	return json_pack(
	    "{s:s,s:s,s:i,s:s,s:s,s:s,s:f,s:f,s:{s:s,s:s,s:s},s:{s:s,s:s},s:[{s:f,s:s,s:s}]}", "id",
	    id, "scenario", "t", "trial", 0, "outcome", outcome, "path", path, "expected_path",
	    expected, "connect_ms", ms, "duration_ms", ms + 100.0, "grid", "name", "t", "row", row,
	    "col", col, "params", "a", row, "b", col, "events", "t_ms", ms, "src", "a", "ev",
	    "selected");
}

static void test_run_dir_roundtrip(void **state)
{
	char root[] = "/tmp/natlab-results-XXXXXX";
	struct natlab_err e = {""};
	struct results *r = NULL;
	json_t *run, *cells, *c;
	char link[256];
	char target[256];
	char *text;
	ssize_t n;

	assert_non_null(mkdtemp(root));
	run = json_pack("{s:s,s:i}", "kernel", "Linux test", "seed", 42);
	assert_int_equal(results_open(root, "run1", run, &r, &e), 0);
	json_decref(run);
	c = cell("easy", "easy", "srflx", "srflx", "pass", 120);
	assert_int_equal(results_cell_add(r, c, &e), 0);
	json_decref(c);
	c = cell("easy", "hard", "relay-udp", "srflx", "fail", 900);
	assert_int_equal(results_cell_add(r, c, &e), 0);
	json_decref(c);
	/* Before close: the files already hold both cells (a killed run). */
	assert_int_equal(results_load(results_dir(r), &run, &cells, &e), 0);
	assert_int_equal(json_array_size(cells), 2);
	assert_null(json_object_get(run, "end"));
	assert_int_equal(json_integer_value(json_object_get(run, "seed")), 42);
	json_decref(run);
	json_decref(cells);
	assert_int_equal(results_close(r, NULL, &e), 0);
	assert_int_equal(results_load(results_dir(r), &run, &cells, &e), 0);
	assert_non_null(json_object_get(run, "end"));
	assert_string_equal(json_string_value(json_object_get(run, "run_id")), "run1");
	assert_int_equal(json_integer_value(json_object_get(run, "cells_passed")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cells, 1), "path")),
			    "relay-udp");
	json_decref(run);
	json_decref(cells);

	snprintf(link, sizeof(link), "%s/latest", root);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "run1");

	text = slurp(results_dir(r), "junit.xml");
	assert_int_equal(count(text, "<testcase "), 2);
	assert_int_equal(count(text, "<failure "), 1);
	assert_non_null(strstr(text, "tests=\"2\" failures=\"1\" errors=\"0\""));
	free(text);
	/* junit.xml, streamed while the run went on, is what junit_write
	 * makes of the cells */
	{
		char *want;
		assert_int_equal(results_load(results_dir(r), &run, &cells, &e), 0);
		text = slurp(results_dir(r), "junit.xml");
		want = junit_render(run, cells);
		assert_string_equal(text, want);
		free(want);
		free(text);
		json_decref(run);
		json_decref(cells);
	}
	/* the index: grids, the list's script; rows and details beside it */
	text = slurp(results_dir(r), "report.html");
	assert_int_equal(count(text, "<td class=\"sq "), 2);
	assert_int_equal(count(text, "class=\"sq path-relay-udp mismatch\""), 1);
	assert_int_equal(count(text, "class=\"sq path-srflx\""), 1);
	assert_int_equal(count(text, "<section class=\"cell\""), 0);
	assert_non_null(strstr(text, "<script src=\"report/index.js\"></script>"));
	free(text);
	text = slurp(results_dir(r), "report/index.js");
	assert_int_equal(count(text, "\n["), 2); /* a row a line */
	free(text);
	text = slurp(results_dir(r), "report/cells-0.js");
	assert_int_equal(count(text, "<section class=\\\"cell\\\" id=\\\"cell-"), 2);
	assert_true(strncmp(text, "natlab_cells(0,[", 16) == 0);
	free(text);
	results_free(r);
	rm_rf(root);
}

static void test_torn_last_line(void **state)
{
	char dir[] = "/tmp/natlab-torn-XXXXXX";
	char path[256];
	struct natlab_err e = {""};
	json_t *run, *cells;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run.json", dir);
	f = fopen(path, "w");
	fputs("{\"run_id\":\"x\"}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	f = fopen(path, "w");
	fputs("{\"id\":\"a\",\"outcome\":\"pass\"}\n{\"id\":\"b\",\"outc", f);
	fclose(f);
	assert_int_equal(results_load(dir, &run, &cells, &e), 0);
	assert_int_equal(json_array_size(cells), 1);
	json_decref(run);
	json_decref(cells);
	/* A bad line in the middle is an error naming file and line. */
	f = fopen(path, "w");
	fputs("{\"id\":\"a\"}\nnot json\n{\"id\":\"c\"}\n", f);
	fclose(f);
	assert_true(results_load(dir, &run, &cells, &e) < 0);
	assert_non_null(strstr(e.msg, "cells.jsonl:2"));
	/* No run.json: says what the directory is not. */
	assert_true(results_load("/nonexistent-natlab", &run, &cells, &e) < 0);
	assert_non_null(strstr(e.msg, "no run.json"));
	rm_rf(dir);
}

static void test_escaping_and_paths(void **state)
{
	json_t *cells = json_array();
	json_t *run = json_pack("{s:s}", "run_id", "<x>");
	json_t *c = json_pack("{s:s,s:s,s:s,s:s}", "id", "a<b>&\"c\"", "scenario", "s&t", "outcome",
			      "error", "message", "boom <here>");
	char *x;

	json_object_set_new(c, "logs", json_pack("[s]", "logs/a#1 b/x.log"));
	json_array_append_new(cells, c);
	x = junit_render(run, cells);
	assert_non_null(strstr(x, "name=\"a&lt;b&gt;&amp;&quot;c&quot;#0\""));
	assert_non_null(strstr(x, "<error message=\"boom &lt;here&gt;\""));
	assert_null(strstr(x, "<here>"));
	free(x);
	x = report_render(run, cells);
	assert_non_null(strstr(x, "class=\"sq path-error\""));
	/* a link's path is URL-encoded: '#' would start a fragment */
	assert_non_null(strstr(x, "href=\\\"logs/a%231%20b/x.log\\\""));
	assert_null(strstr(x, "<here>"));
	free(x);
	assert_string_equal(report_cell_path(c), "error");
	/* an outcome no run writes (a hand-edited file) stays a JS string */
	json_object_set_new(c, "outcome", json_string("x\"<y"));
	x = report_render(run, cells);
	assert_non_null(strstr(x, "\"x\\\"<y\",\"failed\""));
	free(x);
	json_object_set_new(c, "outcome", json_string("skipped"));
	assert_string_equal(report_cell_path(c), "skipped");
	json_object_set_new(c, "outcome", json_string("fail"));
	json_object_set_new(c, "path", json_string("bogus"));
	assert_string_equal(report_cell_path(c), "failed");
	/* no path at all: a pass shows as passed (a refusal that was right),
	 * anything else as failed */
	json_object_del(c, "path");
	assert_string_equal(report_cell_path(c), "failed");
	json_object_set_new(c, "outcome", json_string("pass"));
	assert_string_equal(report_cell_path(c), "passed");
	json_decref(cells);
	json_decref(run);
}

static void test_percentile(void **state)
{
	double v[] = {50, 10, 40, 30, 20, 100, 90, 80, 70, 60};

	assert_true(report_percentile(v, 10, 50) == 50);
	assert_true(report_percentile(v, 10, 95) == 100);
	assert_true(report_percentile(v, 10, 0) == 10);
	assert_true(report_percentile(v, 0, 50) == 0);
}

/* A run as cells finish: two scenarios, two grids, trials, a cell without
 * a grid, finishing order shuffled against the planned "index". */
static json_t *mixed_cells(void)
{
	static const char *const nat[] = {"easy", "hard", "cgnat"};
	static const char *const outcome[] = {"pass", "fail", "error", "skipped", "timeout"};
	json_t *cells = json_array();
	int n = 0;

	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			for (int t = 0; t < 3; t++) {
				int k = (i * 9 + j * 3 + t) * 7 % 27; /* a permutation */
				json_t *c =
				    cell(nat[k / 9], nat[k / 3 % 3], k % 4 ? "srflx" : "relay-udp",
					 "srflx", outcome[k % 5], 10.0 * k);
				json_object_set_new(c, "index", json_integer(k));
				json_object_set_new(c, "trial", json_integer(k % 3));
				if (k % 6 == 0) {
					json_object_set_new(c, "scenario", json_string("u"));
					json_object_set_new(c, "grid",
							    json_pack("{s:s,s:s,s:s,s:s}", "name",
								      "u", "row", nat[k % 3], "col",
								      "x", "row_label", "left"));
				}
				if (k == 13)
					json_object_del(c, "grid");
				if (k == 20)
					json_object_del(c, "index");
				json_array_append_new(cells, c);
				n++;
			}
	assert_int_equal(n, 27);
	return cells;
}

static char *render_file(const char *path, const json_t *run,
			 int (*fn)(FILE *, const json_t *, struct cellsrc *))
{
	struct natlab_err e = {""};
	struct cellsrc *src = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(cellsrc_file_open(path, &src, &e), 0);
	assert_int_equal(fn(f, run, src), 0);
	cellsrc_free(src);
	fclose(f);
	return buf;
}

/* The reports drawn from cells.jsonl one cell at a time are the ones
 * drawn from all the cells in memory, byte for byte. */
static void test_streamed_equals_in_memory(void **state)
{
	char dir[] = "/tmp/natlab-stream-XXXXXX";
	char path[256];
	struct natlab_err e = {""};
	json_t *cells = mixed_cells(), *run = json_pack("{s:s,s:s}", "run_id", "r", "start", "t0");
	char *a, *b;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(results_write_cells(dir, cells, &e), 0);
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	a = junit_render(run, cells);
	b = render_file(path, run, junit_write);
	assert_string_equal(a, b);
	assert_int_equal(count(b, "<testsuite "), 2);
	assert_int_equal(count(b, "<testcase "), 27);
	free(b);
	/* natlab report's junit.xml (through part files, the two suites'
	 * cells interleaved in cells.jsonl) is the same document, and its
	 * parts are gone */
	assert_int_equal(results_render(dir, run, &e), 0);
	b = slurp(dir, "junit.xml");
	assert_string_equal(a, b);
	snprintf(path, sizeof(path), "%s/.junit-render-0.part", dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	free(a);
	free(b);
	a = report_render(run, cells);
	b = render_file(path, run, report_write_all);
	assert_string_equal(a, b);
	assert_int_equal(count(b, "<section class=\\\"cell\\\""), 27);
	assert_non_null(strstr(b, "<section class=\\\"cell\\\" id=\\\"cell-27\\\">"));
	/* the cell without an index is drawn last */
	assert_non_null(strstr(strstr(b, "id=\\\"cell-27\\\""), "trial 2"));
	free(a);
	free(b);
	json_decref(cells);
	json_decref(run);
	rm_rf(dir);
}

static char *summary_text(const json_t *cells, const size_t *order)
{
	struct summary *s = summary_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < json_array_size(cells); i++)
		assert_int_equal(summary_add(s, json_array_get(cells, order ? order[i] : i), i), 0);
	summary_print(s, f);
	fclose(f);
	summary_free(s);
	return buf;
}

/* The summary does not depend on the order cells finish in: it is drawn
 * as if read in planned order, the last trial of a square winning. */
static void test_summary_order(void **state)
{
	json_t *cells = mixed_cells();
	size_t n = json_array_size(cells);
	size_t *order = calloc(n, sizeof(*order));
	struct cellsrc *src = cellsrc_array_new(cells);
	size_t *planned = cellsrc_planned_order(src);
	json_t *sorted = json_array();
	char *a, *b;

	for (size_t i = 0; i < n; i++) {
		order[i] = (i * 11) % n; /* another finishing order */
		json_array_append(sorted, json_array_get(cells, planned[i]));
	}
	a = summary_text(cells, NULL);
	b = summary_text(cells, order);
	assert_string_equal(a, b);
	free(b);
	b = summary_text(sorted, NULL);
	assert_string_equal(a, b);
	/* two grids; each square is its last trial's: hard/easy passed through
	 * srflx (k 11), hard/hard timed out (k 14), hard/cgnat errored (k 17) */
	/* two grids; each square its most common path, marked when some trial
	 * was not on the expected one, with trials passed and median time:
	 * hard/easy k 11, 14, 17 (one passed), hard/hard errored (k 4) */
	assert_non_null(strstr(a, "\nt  (! = not the expected path; k/n = trials passed; ms = "
				  "median connect time)\n"));
	assert_non_null(strstr(a, "\nu  (! = not the expected path; "));
	assert_non_null(
	    strstr(a, "\nhard                     srflx! 1/3 100ms     error! 0/1           "));
	free(a);
	free(b);
	free(order);
	free(planned);
	cellsrc_free(src);
	json_decref(sorted);
	json_decref(cells);
}

/* Trials of one square: the pass rate and the median beside the path; a
 * one-trial grid that passed stays as terse as before. */
static void test_summary_rates(void **state)
{
	json_t *cells = json_array();
	char *a;

	for (int t = 0; t < 10; t++) {
		json_t *c = cell("easy", "hard", t < 9 ? "srflx" : "failed", "srflx",
				 t < 9 ? "pass" : "fail", 100.0 + t);
		json_object_set_new(c, "trial", json_integer(t));
		json_array_append_new(cells, c);
	}
	json_array_append_new(cells, cell("hard", "hard", "relay-udp", "relay-udp", "pass", 300));
	/* a single trial that failed with the expected path still says so */
	json_array_append_new(cells, cell("hard", "easy", "srflx", "srflx", "fail", 50));
	a = summary_text(cells, NULL);
	/* columns as wide as the widest square; the failed trial's path
	 * "failed" is not the expected one: "!" */
	assert_non_null(
	    strstr(a, "\neasy                     srflx! 9/10 104ms -                \n"));
	assert_non_null(
	    strstr(a, "\nhard                     relay-udp         srflx 0/1        \n"));
	free(a);
	json_decref(cells);
	cells = json_array();
	json_array_append_new(cells, cell("easy", "easy", "host", "host", "pass", 10));
	a = summary_text(cells, NULL);
	assert_non_null(strstr(a, "\nt  (! = not the expected path)\n"));
	assert_non_null(strstr(a, "\neasy                     host        \n"));
	free(a);
	json_decref(cells);
}

/* A report square says how many trials passed and, when they differ, how
 * many took each path; the histogram is well-formed SVG; a long timeline
 * says how many events it leaves out. */
static void test_report_rates(void **state)
{
	json_t *cells = json_array(), *run = json_pack("{s:s}", "run_id", "r");
	json_t *events = json_array();
	char *html;

	for (int t = 0; t < 10; t++) {
		json_t *c = cell("easy", "hard",
				 t < 7	 ? "srflx"
				 : t < 9 ? "relay-udp"
					 : "failed",
				 "srflx", t < 9 ? "pass" : "fail", 100.0 + t);
		json_object_set_new(c, "trial", json_integer(t));
		json_array_append_new(cells, c);
	}
	for (int i = 0; i < 75; i++)
		json_array_append_new(
		    events, json_pack("{s:i,s:s,s:s}", "t_ms", i, "src", "a", "ev", "rx"));
	json_object_set_new(json_array_get(cells, 0), "events", events);
	html = report_render(run, cells);
	assert_non_null(html);
	assert_non_null(strstr(html, "<span class=\"small rate\">9/10 passed</span>"));
	assert_non_null(
	    strstr(html, "<span class=\"small paths\">srflx 7, relay-udp 2, failed 1</span>"));
	assert_non_null(strstr(html, "104 ms (p95 109)"));
	/* no stray </g> (the failed trial's ladder diagram has groups of its own) */
	assert_int_equal(count(html, "<g ") + count(html, "<g>"), count(html, "</g>"));
	assert_int_equal(count(html, "<svg"), count(html, "</svg>"));
	assert_non_null(strstr(html, "15 more events not drawn (75 in all;"));
	assert_int_equal(count(html, "more events not drawn"), 1);
	free(html);
	/* the live index of a running run: the same square from aggregates,
	 * no cell list yet, no links to details that do not exist yet */
	{
		struct report_live *l = report_live_new();
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		size_t i;
		json_t *c;

		assert_non_null(l);
		json_array_foreach(cells, i, c) assert_int_equal(report_live_add(l, c), 0);
		assert_int_equal(report_live_write(f, run, l), 0);
		fclose(f);
		assert_non_null(strstr(buf, "<span class=\"small rate\">9/10 passed</span>"));
		assert_non_null(strstr(buf, "104 ms (p95 109)"));
		assert_non_null(strstr(buf, "10 cells so far"));
		/* the one that did not pass is listed, with why */
		assert_non_null(strstr(buf, "1 did not pass so far:"));
		assert_int_equal(count(buf, "<tr class=\"row o-fail\">"), 1);
		assert_null(strstr(buf, "href=\"#cell-"));
		assert_null(strstr(buf, "<script"));
		free(buf);
		report_live_free(l);
	}
	/* an outcome a script set (natlab.result{outcome=}) is text there */
	{
		struct report_live *l = report_live_new();
		json_t *c = json_deep_copy(json_array_get(cells, 0));
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		json_object_set_new(c, "outcome", json_string("x\"<y"));
		assert_int_equal(report_live_add(l, c), 0);
		assert_int_equal(report_live_write(f, run, l), 0);
		fclose(f);
		assert_non_null(strstr(buf, "<tr class=\"row o-x&quot;&lt;y\">"));
		assert_non_null(strstr(buf, "<td class=\"o\">x&quot;&lt;y</td>"));
		assert_null(strstr(buf, "x\"<y"));
		free(buf);
		json_decref(c);
		report_live_free(l);
	}
	json_decref(cells);
	json_decref(run);
}

/* cells.jsonl read back: empty lines skipped, a torn last line ignored, a
 * bad line in the middle an error naming the line, no file no cells. */
static void test_cellsrc_file(void **state)
{
	char dir[] = "/tmp/natlab-cellsrc-XXXXXX";
	char path[256];
	struct natlab_err e = {""};
	struct cellsrc *src = NULL;
	json_t *c;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cells.jsonl", dir);
	assert_int_equal(cellsrc_file_open(path, &src, &e), 0);
	assert_int_equal(cellsrc_count(src), 0);
	cellsrc_free(src);
	f = fopen(path, "w");
	fputs(
	    "{\"id\":\"a\",\"index\":3}\n\n{\"id\":\"b\",\"index\":1}\n{\"id\":\"c\"}\n{\"id\":\"d",
	    f);
	fclose(f);
	assert_int_equal(cellsrc_file_open(path, &src, &e), 0);
	assert_int_equal(cellsrc_count(src), 3);
	c = cellsrc_get(src, 1);
	assert_string_equal(json_string_value(json_object_get(c, "id")), "b");
	json_decref(c);
	assert_null(cellsrc_get(src, 3));
	{
		size_t *o = cellsrc_planned_order(src);
		assert_int_equal(o[0], 1);
		assert_int_equal(o[1], 0);
		assert_int_equal(o[2], 2);
		free(o);
	}
	cellsrc_free(src);
	f = fopen(path, "w");
	fputs("{\"id\":\"a\"}\n[1]\n{\"id\":\"c\"}\n", f);
	fclose(f);
	assert_true(cellsrc_file_open(path, &src, &e) < 0);
	assert_null(src);
	assert_non_null(strstr(e.msg, "cells.jsonl:2: not a JSON object"));
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_dir_roundtrip),
	    cmocka_unit_test(test_torn_last_line),
	    cmocka_unit_test(test_escaping_and_paths),
	    cmocka_unit_test(test_percentile),
	    cmocka_unit_test(test_streamed_equals_in_memory),
	    cmocka_unit_test(test_summary_order),
	    cmocka_unit_test(test_summary_rates),
	    cmocka_unit_test(test_report_rates),
	    cmocka_unit_test(test_cellsrc_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
