/* report.c - the self-contained HTML report. */
#include "harness/grow.h"
#include "harness/report.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cellsrc.h"
#include "harness/junit.h"
#include "harness/ladder.h"
#include "harness/results.h"
#include "harness/rollup.h"

/* "passed": a cell that passed without a connection path to show (a
 * turn-security refusal, a DUT row); a cell without one that did not pass
 * is "failed". From FIRST_CALL_CLASS on: the call classes of SIP cells
 * (scenarios/sip.lua, docs/sip.md), audio per direction judged from the
 * wire: their own colours, in the legend only when a cell has one. */
static const char *const paths[] = {"host",	 "srflx",     "prflx",	"relay-udp",
				    "relay-tcp", "relay-tls", "passed", "failed",
				    "skipped",	 "error",     "unsupported",
				    /* FIRST_CALL_CLASS */
				    "two-way", "one-way-to-callee", "one-way-to-caller",
				    "no-audio", "no-call", "no-reg", NULL};
#define FIRST_CALL_CLASS 11

/* Colours chosen to be told apart in print and by most colour-blind readers:
 * direct paths green/teal, relays blue/purple, failures red/grey. */
static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}"
    "table.meta th{background:#f3f3f3}"
    "table.grid td.sq{width:9em;height:3.2em;text-align:center;vertical-align:middle}"
    "table.grid td.sq a,table.summary td.ssq a{color:inherit;text-decoration:none;display:block}"
    "table.summary td.ssq{width:10em;height:3.2em;text-align:center;vertical-align:middle}"
    ".path-host{background:#1b9e77;color:#fff}.path-srflx{background:#66c2a5}"
    ".path-prflx{background:#a6d854}.path-relay-udp{background:#8da0cb}"
    ".path-relay-tcp{background:#7570b3;color:#fff}.path-relay-tls{background:#5e3c99;color:#fff}"
    ".path-passed{background:#b8e186}.path-failed{background:#d7301f;color:#fff}.path-skipped{"
    "background:#ddd;color:#555}"
    ".path-error{background:#333;color:#fff}"
    ".path-unsupported{background:#fdd49e;color:#7f2704}"
    /* calls: both ways green, one way amber/yellow, none reds darkening
     * with how early it failed */
    ".path-two-way{background:#1a9850;color:#fff}.path-one-way-to-callee{background:#fdae61}"
    ".path-one-way-to-caller{background:#fee08b}.path-no-audio{background:#f46d43;color:#fff}"
    ".path-no-call{background:#a50026;color:#fff}.path-no-reg{background:#67001f;color:#fff}"
    "td.sq.mismatch{outline:4px dashed #ff0;outline-offset:-6px}"
    ".legend span{display:inline-block;padding:2px 8px;margin:2px;border-radius:3px}"
    ".small{font-size:.85em;color:#555}pre{background:#f6f6f6;padding:6px;overflow:auto;"
    "max-height:20em;font-size:12px}"
    "section.cell{border:1px solid #ccc;padding:8px 12px;margin:1em 0}"
    ".outcome-pass{color:#1b7e3b}.outcome-fail,.outcome-error,.outcome-timeout{color:#c0281a}"
    "svg text{font:11px sans-serif}"
    "table.compliance td.v-pass{background:#c7e9c0}table.compliance td.v-warn{background:#fee391}"
    "table.compliance td.v-fail{background:#d7301f;color:#fff}"
    "table.compliance td.v-inconclusive,table.compliance td.v-not-tested{background:#ddd}"
    "table.pairs td{font-size:12px}table.pairs tr.nominated td{font-weight:bold}"
    "table.pairs td.st-succeeded{background:#c7e9c0}table.pairs td.st-failed{background:#fcbba1}"
    "details.ladder{overflow-x:auto;margin:.5em 0}details.ladder summary{cursor:pointer}"
    ".rate-all{background:#1b9e77;color:#fff}.rate-some{background:#fdae61}"
    ".rate-none{background:#d7301f;color:#fff}.rate-na{background:#ddd;color:#555}";

const char *const *report_path_names(void)
{
	return paths;
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

const char *report_cell_path(const json_t *cell)
{
	const char *p = str(cell, "path", NULL);
	const char *o = str(cell, "outcome", "error");

	if (strcmp(o, "error") == 0 || strcmp(o, "timeout") == 0)
		return "error";
	if (strcmp(o, "skipped") == 0)
		return "skipped";
	if (strcmp(o, "unsupported") == 0)
		return "unsupported";
	for (int i = 0; p && paths[i]; i++)
		if (strcmp(p, paths[i]) == 0)
			return p;
	return strcmp(o, "pass") == 0 && !p ? "passed" : "failed";
}

/* report_cell_class's names: the paths, with the wire's classes "direct"
 * and "relay" ("relay-tcp" is both) beside the paths they stand for */
static const char *const classes[] = {"host",	   "srflx",	"prflx",     "direct",
				      "relay-udp", "relay",	"relay-tcp", "relay-tls",
				      "passed",	   "failed",	"skipped",   "error",
				      "unsupported",
				      /* calls, as in paths[] */
				      "two-way", "one-way-to-callee", "one-way-to-caller",
				      "no-audio", "no-call", "no-reg", NULL};

const char *const *report_class_names(void)
{
	return classes;
}

const char *report_path_class(const char *path)
{
	static const char *const map[][2] = {
	    {"host", "direct"},	      {"srflx", "direct"},	  {"prflx", "direct"},
	    {"relay-udp", "relay"},   {"relay-tcp", "relay-tcp"}, {"relay-tls", "relay-tcp"},
	    {"direct", "direct"},     {"relay", "relay"},	  {"passed", "passed"},
	    {"failed", "failed"},     {"skipped", "skipped"},	  {"error", "error"},
	    {"unsupported", "unsupported"}, {"two-way", "two-way"},
	    {"one-way-to-callee", "one-way-to-callee"}, {"one-way-to-caller", "one-way-to-caller"},
	    {"no-audio", "no-audio"},   {"no-call", "no-call"},	  {"no-reg", "no-reg"},
	};

	for (size_t i = 0; path && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(path, map[i][0]) == 0)
			return map[i][1];
	return "failed";
}

const char *report_cell_class(const json_t *cell)
{
	const char *p = report_cell_path(cell);
	const json_t *settled = json_object_get(json_object_get(cell, "wire"), "settled");
	const char *w = json_string_value(json_object_get(settled, "class"));

	if (strcmp(p, "error") == 0 || strcmp(p, "skipped") == 0 ||
	    strcmp(p, "unsupported") == 0 || !w)
		return p;
	return report_path_class(w);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double report_percentile(double *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	/* nearest rank: the smallest value with at least p% of values <= it */
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static void esc(FILE *f, const char *s)
{
	xml_escape(f, s);
}

static void json_text(FILE *f, const json_t *v)
{
	char *s;

	if (!v)
		return;
	if (json_is_string(v)) {
		esc(f, json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	esc(f, s);
	free(s);
}

static void meta_row(FILE *f, const char *k, const json_t *v)
{
	fprintf(f, "<tr><th>");
	esc(f, k);
	fprintf(f, "</th><td>");
	json_text(f, v);
	fprintf(f, "</td></tr>\n");
}

/* ---- what the page's top needs, gathered in one pass over the cells ----
 *
 * The cells are read one at a time in planned order; what stays is per
 * grid, per row, column and square (bounded by the matrix, not by the
 * trials) plus the connect times the percentiles need. */

/* Strings in first-seen order, found again through a hash. */
struct strset {
	char **v;
	size_t n, cap;
	json_t *map; /* string -> its position */
};

/* One square: every trial of one (row, col). */
struct square {
	int count[24]; /* per paths[] */
	size_t n;
	size_t ran, passed; /* trials not skipped; of those, outcome "pass" */
	int mismatch;
	size_t first_rank; /* the first cell's 1-based place: its anchor */
	char *expected;	   /* the last one given */
	double *ms;
	size_t nms, cap;
};

struct grid {
	char *name;
	struct strset rows, cols;
	char *rlabel, *clabel;
	json_t *sqmap; /* "row:col" positions -> index into sq */
	struct square *sq;
	size_t nsq, capsq;
	double *hist; /* connect times for the histogram, at most HIST_MAX */
	size_t nhist, caphist;
};

#define HIST_MAX 4096
/* The live index of a running run keeps at most this many connect times
 * per square (its median is then of the first ones), so that what the run's
 * parent holds follows the matrix, not the trials. */
#define SQUARE_MS_LIVE 1024

struct page {
	int bounded; /* live: at most SQUARE_MS_LIVE times per square */
	int calls;   /* some cell has a call class: the legend shows them */
	size_t n;
	int pass, fail, err, skip, unsup;
	struct strset names;
	struct grid *g;
	size_t ng, capg;
	struct rollup *roll; /* the scenarios' summary grids */
	int oom;
};

static char *dup_or_oom(const char *s, int *oom)
{
	char *d = strdup(s);

	if (!d)
		*oom = 1;
	return d;
}

/* The position of @s, added when new; -1 on no memory. */
static long strset_add(struct strset *l, const char *s, int *oom)
{
	json_t *hit;

	if (!l->map && !(l->map = json_object()))
		goto oom;
	hit = json_object_get(l->map, s);
	if (hit)
		return (long)json_integer_value(hit);
	if (harness_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0 ||
	    !(l->v[l->n] = strdup(s)))
		goto oom;
	if (json_object_set_new_nocheck(l->map, s, json_integer((json_int_t)l->n)) < 0) {
		free(l->v[l->n]);
		goto oom;
	}
	return (long)l->n++;
oom:
	*oom = 1;
	return -1;
}

static void strset_free(struct strset *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	json_decref(l->map);
}

static void page_free(struct page *pg)
{
	for (size_t i = 0; i < pg->ng; i++) {
		struct grid *g = &pg->g[i];
		free(g->name);
		strset_free(&g->rows);
		strset_free(&g->cols);
		free(g->rlabel);
		free(g->clabel);
		json_decref(g->sqmap);
		for (size_t k = 0; k < g->nsq; k++) {
			free(g->sq[k].expected);
			free(g->sq[k].ms);
		}
		free(g->sq);
		free(g->hist);
	}
	free(pg->g);
	strset_free(&pg->names);
	rollup_free(pg->roll);
}

/* The grid a cell belongs to: its "grid" object, else one column per
 * scenario with a row per cell id. */
static void cell_axes(const json_t *c, const char **grid, const char **row, const char **col)
{
	const json_t *g = json_object_get(c, "grid");

	*grid = str(g, "name", str(c, "scenario", "?"));
	*row = str(g, "row", str(c, "id", "?"));
	*col = str(g, "col", "result");
}

static struct square *square_of(struct grid *g, long r, long co, int *oom)
{
	char key[48];
	json_t *hit;

	snprintf(key, sizeof(key), "%ld:%ld", r, co);
	if (!g->sqmap && !(g->sqmap = json_object()))
		goto oom;
	hit = json_object_get(g->sqmap, key);
	if (hit)
		return &g->sq[json_integer_value(hit)];
	if (harness_grow((void **)&g->sq, &g->capsq, g->nsq + 1, sizeof(*g->sq)) < 0 ||
	    json_object_set_new_nocheck(g->sqmap, key, json_integer((json_int_t)g->nsq)) < 0)
		goto oom;
	memset(&g->sq[g->nsq], 0, sizeof(g->sq[0]));
	return &g->sq[g->nsq++];
oom:
	*oom = 1;
	return NULL;
}

/* Cell @c, the @rank-th (1-based) in planned order, into the page. */
static void page_add(struct page *pg, const json_t *c, size_t rank)
{
	const char *o = str(c, "outcome", "error");
	const json_t *gobj = json_object_get(c, "grid");
	const json_t *ms = json_object_get(c, "connect_ms");
	const char *gname, *row, *col, *p, *exp;
	struct grid *g;
	struct square *sq;
	long gi, ri, ci;

	pg->n++;
	pg->pass += strcmp(o, "pass") == 0;
	pg->fail += strcmp(o, "fail") == 0;
	pg->skip += strcmp(o, "skipped") == 0;
	pg->unsup += strcmp(o, "unsupported") == 0;
	pg->err += strcmp(o, "error") == 0 || strcmp(o, "timeout") == 0;

	if ((!pg->roll && !(pg->roll = rollup_new())) ||
	    rollup_add(pg->roll, c, (struct labelset_key){(int64_t)rank, 0}) < 0)
		pg->oom = 1;
	cell_axes(c, &gname, &row, &col);
	gi = strset_add(&pg->names, gname, &pg->oom);
	if (gi < 0)
		return;
	if ((size_t)gi == pg->ng) {
		if (harness_grow((void **)&pg->g, &pg->capg, pg->ng + 1, sizeof(*pg->g)) < 0) {
			pg->oom = 1;
			return;
		}
		memset(&pg->g[pg->ng], 0, sizeof(pg->g[0]));
		pg->g[pg->ng].name = dup_or_oom(gname, &pg->oom);
		pg->ng++;
	}
	g = &pg->g[gi];
	ri = strset_add(&g->rows, row, &pg->oom);
	ci = strset_add(&g->cols, col, &pg->oom);
	if (ri < 0 || ci < 0)
		return;
	if (json_is_string(json_object_get(gobj, "row_label"))) {
		free(g->rlabel);
		g->rlabel = dup_or_oom(str(gobj, "row_label", ""), &pg->oom);
	}
	if (json_is_string(json_object_get(gobj, "col_label"))) {
		free(g->clabel);
		g->clabel = dup_or_oom(str(gobj, "col_label", ""), &pg->oom);
	}
	if (json_is_number(ms) && g->nhist < HIST_MAX) {
		if (harness_grow((void **)&g->hist, &g->caphist, g->nhist + 1, sizeof(double)) <
		    0) {
			pg->oom = 1;
			return;
		}
		g->hist[g->nhist++] = json_number_value(ms);
	}
	sq = square_of(g, ri, ci, &pg->oom);
	if (!sq)
		return;
	if (sq->n++ == 0)
		sq->first_rank = rank;
	sq->ran += results_outcome_ran(o);
	sq->passed += strcmp(o, "pass") == 0;
	p = report_cell_path(c);
	for (int k = 0; paths[k]; k++)
		if (strcmp(p, paths[k]) == 0) {
			sq->count[k]++;
			pg->calls |= k >= FIRST_CALL_CLASS;
		}
	exp = str(c, "expected_path", NULL);
	if (exp) {
		free(sq->expected);
		sq->expected = dup_or_oom(exp, &pg->oom);
		if (strcmp(exp, p) != 0 && results_outcome_ran(p))
			sq->mismatch = 1;
	}
	if (json_is_number(ms) && (!pg->bounded || sq->nms < SQUARE_MS_LIVE)) {
		if (harness_grow((void **)&sq->ms, &sq->cap, sq->nms + 1, sizeof(double)) < 0) {
			pg->oom = 1;
			return;
		}
		sq->ms[sq->nms++] = json_number_value(ms);
	}
}

static void header(FILE *f, const json_t *run, const struct page *pg)
{
	static const char *const keys[] = {
	    "run_id",  "natlab_version", "start",   "end",    "kernel",
	    "machine", "seed",		 "options", "shards", NULL};

	fprintf(f, "<h1>natlab run ");
	esc(f, str(run, "run_id", ""));
	fprintf(f,
		"</h1>\n<p class=\"summary\">%zu cells: %d passed, %d failed, %d errors, %d "
		"skipped, %d unsupported%s</p>\n",
		pg->n, pg->pass, pg->fail, pg->err, pg->skip, pg->unsup,
		json_object_get(run, "end") ? "" : " (run in progress or interrupted)");
	fprintf(f, "<table class=\"meta\">\n");
	for (int k = 0; keys[k]; k++)
		if (json_object_get(run, keys[k]))
			meta_row(f, keys[k], json_object_get(run, keys[k]));
	fprintf(f, "</table>\n<p class=\"legend\">");
	for (int k = 0; paths[k] && k < FIRST_CALL_CLASS; k++)
		fprintf(f, "<span class=\"path-%s\">%s</span>", paths[k], paths[k]);
	fprintf(f, "<span class=\"path-skipped\" style=\"outline:3px dashed #ff0\">mismatch with "
		   "expected</span></p>\n");
	if (pg->calls) {
		fprintf(f, "<p class=\"legend calls\">calls (audio per direction, from the wire):");
		for (int k = FIRST_CALL_CLASS; paths[k]; k++)
			fprintf(f, "<span class=\"path-%s\">%s</span>", paths[k], paths[k]);
		fprintf(f, "</p>\n");
	}
}

/* One square drawn with the most common path; marked as a mismatch when
 * any trial's path differs from what was expected. It says how many of its
 * trials passed (skipped ones left out), how many took each path when they
 * did not all take the same one, and the median and p95 connect time. */
static void grid_square(FILE *f, struct grid *g, long ri, long ci, int links)
{
	const char *row = g->rows.v[ri], *col = g->cols.v[ci];
	struct square *sq = NULL;
	char key[48];
	json_t *hit;
	int best = -1;

	snprintf(key, sizeof(key), "%ld:%ld", ri, ci);
	hit = json_object_get(g->sqmap, key);
	if (hit)
		sq = &g->sq[json_integer_value(hit)];
	if (!sq || sq->n == 0) {
		fprintf(f, "<td class=\"empty\"></td>");
		return;
	}
	for (int k = 0; paths[k]; k++)
		if (best < 0 || sq->count[k] > sq->count[best])
			best = k;
	fprintf(f, "<td class=\"sq path-%s%s\" title=\"", paths[best],
		sq->mismatch ? " mismatch" : "");
	esc(f, row);
	fprintf(f, " / ");
	esc(f, col);
	if (sq->expected) {
		fprintf(f, ", expected ");
		esc(f, sq->expected);
	}
	if (links)
		fprintf(f, "\"><a href=\"#cell-%zu\">", sq->first_rank);
	else
		fprintf(f, "\"><a>");
	fprintf(f, "<b>%s</b>%s", paths[best], sq->mismatch ? " &#x2260;" : "");
	if (sq->ran)
		fprintf(f, "<br><span class=\"small rate\">%zu/%zu passed</span>", sq->passed,
			sq->ran);
	if ((size_t)sq->count[best] < sq->n) {
		const char *sep = "";

		fprintf(f, "<br><span class=\"small paths\">");
		for (int k = 0; paths[k]; k++)
			if (sq->count[k]) {
				fprintf(f, "%s%s %d", sep, paths[k], sq->count[k]);
				sep = ", ";
			}
		fprintf(f, "</span>");
	}
	if (sq->nms) {
		double med = report_percentile(sq->ms, sq->nms, 50);
		double p95 = report_percentile(sq->ms, sq->nms, 95);
		fprintf(f, "<br><span class=\"small\">%.0f ms (p95 %.0f)</span>", med, p95);
	}
	fprintf(f, "</a></td>");
}

/* A histogram of connect times, 12 bins from 0 to the maximum. */
static void histogram(FILE *f, struct grid *g)
{
	enum { BINS = 12, W = 480, H = 120, TOP = 14 };
	double *v = g->hist;
	size_t n = g->nhist;
	int bin[BINS] = {0}, top = 0;
	double max = 0;

	if (n == 0)
		return;
	for (size_t k = 0; k < n; k++)
		max = v[k] > max ? v[k] : max;
	if (max <= 0)
		max = 1;
	for (size_t k = 0; k < n; k++) {
		/* clamp as a double: a negative or huge connect_ms (a hand-edited
		 * or corrupt cells.jsonl) must not index outside the bins */
		double x = v[k] / max * BINS;
		int b = x < 0 ? 0 : x >= BINS ? BINS - 1 : (int)x;
		bin[b]++;
		top = bin[b] > top ? bin[b] : top;
	}
	fprintf(f, "<p>Connect time: median %.1f ms, p95 %.1f ms over %zu cells</p>\n",
		report_percentile(v, n, 50), report_percentile(v, n, 95), n);
	fprintf(f,
		"<svg class=\"dist\" width=\"%d\" height=\"%d\" role=\"img\" "
		"aria-label=\"connect time distribution\">\n",
		W, H + 30);
	for (int b = 0; b < BINS; b++) {
		int h = top ? bin[b] * H / top : 0;
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#66c2a5\"/>",
			b * W / BINS, H - h, W / BINS - 2, h);
		if (bin[b])
			fprintf(f, "<text x=\"%d\" y=\"%d\">%d</text>", b * W / BINS + 2, H - h - 2,
				bin[b]);
	}
	fprintf(f,
		"<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>"
		"<text x=\"0\" y=\"%d\">0 ms</text><text x=\"%d\" y=\"%d\" "
		"text-anchor=\"end\">%.0f ms</text>"
		"</svg>\n",
		H, W, H, H + 15, W, H + 15, max);
}

/* One square of a summary grid: its pass rate over the applicable cells,
 * "passed/applicable", the unsupported, failed and skipped counts, linking
 * to the grid its cells are drawn in. */
static void summary_square(FILE *f, const struct page *pg, const struct rollup_square *sq)
{
	int pct;
	const char *rate;
	json_t *gi;

	if (!sq) {
		fprintf(f, "<td class=\"empty\"></td>");
		return;
	}
	pct = rollup_percent(sq);
	if (pct < 0)
		rate = "na";
	else if (sq->passed == rollup_applicable(sq))
		rate = "all";
	else
		rate = sq->passed ? "some" : "none";
	fprintf(f,
		"<td class=\"ssq rate-%s\" data-passed=\"%zu\" data-applicable=\"%zu\" "
		"data-unsupported=\"%zu\" data-failed=\"%zu\" data-skipped=\"%zu\">",
		rate, sq->passed, rollup_applicable(sq), sq->unsupported, sq->failed, sq->skipped);
	gi = sq->grid ? json_object_get(pg->names.map, sq->grid) : NULL;
	if (gi)
		fprintf(f, "<a href=\"#grid-%lld\">", (long long)json_integer_value(gi));
	else
		fprintf(f, "<a>");
	if (pct < 0)
		fprintf(f, "<b>n/a</b>");
	else
		fprintf(f, "<b>%d%%</b> <span class=\"rate\">%zu/%zu passed</span>", pct,
			sq->passed, rollup_applicable(sq));
	fprintf(f, "<br><span class=\"small\">%zu unsupported, %zu failed", sq->unsupported,
		sq->failed);
	if (sq->skipped)
		fprintf(f, ", %zu skipped", sq->skipped);
	fprintf(f, "</span></a></td>");
}

/* The scenarios' summary grids (scenario{summary=}), before the grids they
 * sum up. */
static void summaries(FILE *f, const struct page *pg)
{
	const struct rollup *r = pg->roll;

	for (size_t i = 0; r && i < rollup_count(r); i++) {
		fprintf(f, "<h2>");
		esc(f, rollup_name(r, i));
		fputs("</h2>\n<p class=\"small\">Each square: the pass rate over its applicable "
		      "cells (neither skipped nor unsupported), the unsupported and failed (fail, "
		      "error, timeout) counts; it links to the grid of its cells.</p>\n"
		      "<table class=\"summary\" data-summary=\"",
		      f);
		esc(f, rollup_name(r, i));
		fprintf(f, "\">\n<tr><th>");
		esc(f, rollup_row_label(r, i));
		fprintf(f, " \\ ");
		esc(f, rollup_col_label(r, i));
		fprintf(f, "</th>");
		for (size_t ck = 0; ck < rollup_cols(r, i); ck++) {
			fprintf(f, "<th>");
			esc(f, rollup_col(r, i, ck));
			fprintf(f, "</th>");
		}
		fprintf(f, "</tr>\n");
		for (size_t rk = 0; rk < rollup_rows(r, i); rk++) {
			fprintf(f, "<tr><th>");
			esc(f, rollup_row(r, i, rk));
			fprintf(f, "</th>");
			for (size_t ck = 0; ck < rollup_cols(r, i); ck++)
				summary_square(f, pg, rollup_square(r, i, rk, ck));
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

static void grids(FILE *f, struct page *pg, int links)
{
	for (size_t gi = 0; gi < pg->ng; gi++) {
		struct grid *g = &pg->g[gi];

		fprintf(f, "<h2 id=\"grid-%zu\">", gi);
		esc(f, g->name);
		fprintf(f, "</h2>\n<table class=\"grid\" data-grid=\"");
		esc(f, g->name);
		fprintf(f, "\">\n<tr><th>");
		esc(f, g->rlabel ? g->rlabel : "");
		fprintf(f, " \\ ");
		esc(f, g->clabel ? g->clabel : "");
		fprintf(f, "</th>");
		for (size_t ci = 0; ci < g->cols.n; ci++) {
			fprintf(f, "<th>");
			esc(f, g->cols.v[ci]);
			fprintf(f, "</th>");
		}
		fprintf(f, "</tr>\n");
		for (size_t ri = 0; ri < g->rows.n; ri++) {
			fprintf(f, "<tr><th>");
			esc(f, g->rows.v[ri]);
			fprintf(f, "</th>");
			for (size_t ci = 0; ci < g->cols.n; ci++)
				grid_square(f, g, (long)ri, (long)ci, links);
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
		histogram(f, g);
	}
}

/* The event timeline drawn to scale: one tick per event at its t_ms, the
 * first TIMELINE_MAX of them; the scale spans them all, and a note says
 * how many more there are. */
#define TIMELINE_MAX 60

static void timeline(FILE *f, const json_t *events)
{
	enum { W = 720, ROW = 16 };
	double max = 1;
	size_t i, n = json_array_size(events), all = n;
	json_t *ev;

	if (n == 0)
		return;
	json_array_foreach(events, i, ev)
	{
		double t = json_number_value(json_object_get(ev, "t_ms"));
		max = t > max ? t : max;
	}
	if (n > TIMELINE_MAX)
		n = TIMELINE_MAX;
	fprintf(f,
		"<svg class=\"timeline\" width=\"%d\" height=\"%zu\" role=\"img\" "
		"aria-label=\"event timeline\">\n",
		W + 220, n * ROW + 24);
	fprintf(f, "<line x1=\"0\" y1=\"%zu\" x2=\"%d\" y2=\"%zu\" stroke=\"#333\"/>", n * ROW + 4,
		W, n * ROW + 4);
	fprintf(f,
		"<text x=\"0\" y=\"%zu\">0 ms</text><text x=\"%d\" y=\"%zu\" "
		"text-anchor=\"end\">%.0f ms</text>\n",
		n * ROW + 18, W, n * ROW + 18, max);
	json_array_foreach(events, i, ev)
	{
		double t = json_number_value(json_object_get(ev, "t_ms"));
		int x = (int)(t / max * (W - 4));

		if (i >= n)
			break;
		fprintf(f,
			"<circle cx=\"%d\" cy=\"%zu\" r=\"4\" fill=\"#7570b3\"/><text x=\"%d\" "
			"y=\"%zu\">",
			x + 4, i * ROW + 8, x + 12, i * ROW + 12);
		esc(f, str(ev, "src", ""));
		fprintf(f, " ");
		esc(f, str(ev, "ev", ""));
		fprintf(f, " %.0f ms</text>\n", t);
	}
	fprintf(f, "</svg>\n");
	if (all > n)
		fprintf(f,
			"<p class=\"small more-events\">%zu more events not drawn (%zu in all; "
			"cells.jsonl holds every one)</p>\n",
			all - n, all);
}

/* A relative path as a URL: bytes outside the unreserved set and '/'
 * percent-encoded ('#' or '?' in a file name would otherwise cut it). */
static void url_path(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~/=,", c))
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static void list_links(FILE *f, const char *what, const json_t *arr)
{
	size_t i;
	json_t *v;

	if (json_array_size(arr) == 0)
		return;
	fprintf(f, "<p>%s: ", what);
	json_array_foreach(arr, i, v)
	{
		fprintf(f, "<a href=\"");
		url_path(f, json_string_value(v));
		fprintf(f, "\">");
		esc(f, json_string_value(v));
		fprintf(f, "</a> ");
	}
	fprintf(f, "</p>\n");
}

static void pre_block(FILE *f, const char *title, const char *text)
{
	if (!text || !*text)
		return;
	fprintf(f, "<p>%s:</p><pre>", title);
	esc(f, text);
	fprintf(f, "</pre>\n");
}

/* "type transport address:port", the way a candidate pair's end reads. */
static void endpoint_text(FILE *f, const json_t *e)
{
	const char *a = str(e, "address", "?");
	bool v6 = strchr(a, ':') != NULL;

	esc(f, str(e, "type", "?"));
	fprintf(f, " ");
	esc(f, str(e, "transport", "?"));
	if (json_object_get(e, "tcptype")) {
		fprintf(f, "/");
		esc(f, str(e, "tcptype", ""));
	}
	fprintf(f, " %s", v6 ? "[" : "");
	esc(f, a);
	fprintf(f, "%s:%lld", v6 ? "]" : "",
		(long long)json_integer_value(json_object_get(e, "port")));
	if (json_object_get(e, "relay_transport")) {
		fprintf(f, " via ");
		esc(f, str(e, "relay_transport", ""));
	}
}

/* Each side's check list (its last "checks" event): one row per candidate
 * pair in priority order, the nominated pair in bold. */
static void pairs_tables(FILE *f, const json_t *pairs)
{
	const char *side;
	json_t *list;

	json_object_foreach((json_t *)pairs, side, list)
	{
		size_t k;
		json_t *p;
		if (!json_is_array(list))
			continue;
		fprintf(f, "<p>check list of ");
		esc(f, side);
		fprintf(f,
			" (%zu pairs):</p>\n<table class=\"pairs\"><tr><th>comp</th><th>local</th>"
			"<th>remote</th><th>state</th><th>checks</th><th>rtt ms</th>"
			"<th>nominated</th></tr>\n",
			json_array_size(list));
		json_array_foreach(list, k, p)
		{
			const char *st = str(p, "state", "?");
			bool nom = json_is_true(json_object_get(p, "nominated"));
			fprintf(f, "<tr%s><td>%lld</td><td>", nom ? " class=\"nominated\"" : "",
				(long long)json_integer_value(json_object_get(p, "component")));
			endpoint_text(f, json_object_get(p, "local"));
			fprintf(f, "</td><td>");
			endpoint_text(f, json_object_get(p, "remote"));
			fprintf(f, "</td><td class=\"st-");
			esc(f, st);
			fprintf(f, "\">");
			esc(f, st);
			fprintf(f, "</td><td>%lld</td><td>",
				(long long)json_integer_value(json_object_get(p, "checks")));
			if (json_object_get(p, "rtt_ms"))
				fprintf(
				    f, "%lld",
				    (long long)json_integer_value(json_object_get(p, "rtt_ms")));
			fprintf(f, "</td><td>%s</td></tr>\n", nom ? "yes" : "");
		}
		fprintf(f, "</table>\n");
	}
}

/* A ladder diagram is an aid, not the record: one this size holds a
 * matrix cell many times over (a few KiB); a bigger one says what it
 * left out. */
#define REPORT_LADDER_MAX (64 * 1024)

/* The cell's ladder diagram (harness/ladder.h), folded in a <details>:
 * always for a cell that failed (fail, error, timeout), for others when @o
 * asks. */
static void ladder_block(FILE *f, const json_t *c, const struct report_opts *o)
{
	const char *outcome = str(c, "outcome", "error"), *want = o ? o->ladder : NULL;
	bool failed = strcmp(outcome, "fail") == 0 || strcmp(outcome, "error") == 0 ||
		      strcmp(outcome, "timeout") == 0;
	char *svg;

	if (!failed && !(want && (strcmp(want, "all") == 0 || strcmp(want, str(c, "id", "")) == 0)))
		return;
	svg = ladder_svg(c, REPORT_LADDER_MAX);
	if (!svg)
		return;
	fprintf(f,
		"<details class=\"ladder\" open><summary>ladder diagram</summary>\n%s</details>\n",
		svg);
	free(svg);
}

/* What opening a cell shows, written into its report/cells-<k>.js: the one
 * place a cell's detail content is drawn (with its ladder diagram when it
 * failed or @o asks). */
void report_cell_detail(FILE *f, const json_t *c, size_t rank, const struct report_opts *o)
{
	const json_t *cand = json_object_get(c, "candidates");
	const json_t *sel = json_object_get(c, "selected");
	const char *outcome = str(c, "outcome", "error");
	size_t i;
	json_t *v;

	fprintf(f, "<section class=\"cell\" id=\"cell-%zu\">\n<h3>", rank);
	esc(f, str(c, "id", "?"));
	fprintf(f, " trial %lld &mdash; <span class=\"outcome-%s\">%s</span></h3>\n",
		(long long)json_integer_value(json_object_get(c, "trial")), outcome, outcome);
	fprintf(f, "<table class=\"meta\">");
	meta_row(f, "params", json_object_get(c, "params"));
	meta_row(f, "seed", json_object_get(c, "seed"));
	meta_row(f, "expected path", json_object_get(c, "expected_path"));
	meta_row(f, "observed path", json_object_get(c, "path"));
	meta_row(f, "connect ms", json_object_get(c, "connect_ms"));
	if (json_object_get(c, "settled_ms"))
		meta_row(f, "settled ms", json_object_get(c, "settled_ms"));
	if (json_string_value(json_object_get(c, "switch"))) {
		/* "relay->direct": the stack switched pairs and the wire agreed */
		const char *sw = json_string_value(json_object_get(c, "switch"));
		const char *arrow = strstr(sw, "->");
		fprintf(f, "<tr><th>switch</th><td>");
		if (arrow) {
			char from[64];
			snprintf(from, sizeof(from), "%.*s", (int)(arrow - sw), sw);
			esc(f, from);
			fprintf(f, "&rarr;");
			esc(f, arrow + 2);
		} else {
			esc(f, sw);
		}
		fprintf(f, " ");
		json_text(f, json_object_get(c, "switches"));
		fprintf(f, "</td></tr>\n");
	}
	if (json_object_get(json_object_get(c, "wire"), "settled")) {
		meta_row(f, "wire: settled path", json_object_get(json_object_get(c, "wire"), "settled"));
		meta_row(f, "wire: directions", json_object_get(json_object_get(c, "wire"), "directions"));
	}
	meta_row(f, "duration ms", json_object_get(c, "duration_ms"));
	if (json_object_get(c, "message"))
		meta_row(f, "message", json_object_get(c, "message"));
	if (sel)
		meta_row(f, "selected pair", sel);
	if (json_object_size(json_object_get(c, "observations")))
		meta_row(f, "observations", json_object_get(c, "observations"));
	if (json_object_get(c, "data"))
		meta_row(f, "data plane", json_object_get(c, "data"));
	fprintf(f, "</table>\n");
	if (cand) {
		const char *side;
		json_object_foreach((json_t *)cand, side, v)
		{
			size_t k;
			json_t *cl;
			fprintf(f, "<p>candidates of ");
			esc(f, side);
			fprintf(f, ":</p><pre>");
			json_array_foreach(v, k, cl)
			{
				esc(f, json_string_value(cl));
				fprintf(f, "\n");
			}
			fprintf(f, "</pre>\n");
		}
	}
	pairs_tables(f, json_object_get(c, "pairs"));
	timeline(f, json_object_get(c, "events"));
	ladder_block(f, c, o);
	pre_block(f, "traceback", str(c, "traceback", NULL));
	pre_block(f, "stderr (tail)", str(c, "stderr_tail", NULL));
	list_links(f, "logs", json_object_get(c, "logs"));
	list_links(f, "captures", json_object_get(c, "pcaps"));
	(void)i;
	fprintf(f, "</section>\n");
}

/* natlab dut: run.json's "compliance" (the compliance.json object) as a
 * table, one row per requirement: requirement, verdict, measured, evidence. */
static void compliance_table(FILE *f, const json_t *run)
{
	const json_t *reqs = json_object_get(json_object_get(run, "compliance"), "requirements");
	size_t i;
	json_t *r;

	if (!json_is_array(reqs))
		return;
	fprintf(f, "<h2>Compliance</h2>\n<table class=\"compliance\">\n<tr><th>requirement</th>"
		   "<th>title</th><th>verdict</th><th>measured</th><th>evidence</th></tr>\n");
	json_array_foreach(reqs, i, r)
	{
		fprintf(f, "<tr><td>");
		esc(f, str(r, "requirement", ""));
		fprintf(f, "</td><td>");
		esc(f, str(r, "title", ""));
		fprintf(f, "</td><td class=\"verdict v-");
		esc(f, str(r, "verdict", ""));
		fprintf(f, "\">");
		esc(f, str(r, "verdict", ""));
		fprintf(f, "</td><td>");
		esc(f, str(r, "measured", ""));
		fprintf(f, "</td><td class=\"small\">");
		esc(f, str(r, "evidence", ""));
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n");
}

/* ---- the index page and the files beside it ----
 *
 * report.html is an index whose size follows the matrix, not the run: the
 * header, the grids, and an empty cell list that its script fills from
 * report/index.js (one short row per cell). A cell's details (tables,
 * timeline, logs; for a failed cell its ladder) are in report/cells-<k>.js,
 * REPORT_CHUNK cells per file, loaded by a <script> element when the cell
 * is opened: fetch() of a file:// URL is refused by browsers, a script
 * element is not, so the report works offline from the disk. */

static const char index_css[] =
    "#filters{margin:.5em 0}#filters select,#filters input{margin-right:.6em}"
    "#filters input{width:22em}"
    "table.cells td{font-size:13px;padding:2px 6px}table.cells a{color:inherit}"
    "tr.o-fail td.o,tr.o-error td.o,tr.o-timeout td.o{color:#c0281a;font-weight:bold}"
    "#pager button{margin:0 .3em}#detail:empty{display:none}"
    "#detail{border:2px solid #7570b3;padding:0 8px;margin:1em 0}";

/* The page's script: rows from report/index.js, failures first, then in
 * planned order; filters by scenario, outcome and path and a search over
 * id and parameters; a page of REPORT_PAGE rows at a time; #cell-<rank>
 * opens that cell's details from its chunk. */
static const char index_js[] =
    "(function(){"
    "var C=%d,PER=%d,R=window.natlab_index||{scenarios:[],params:[],rows:[]},S=R.scenarios,P=R.params,"
    "rows=R.rows,order=[],shown=[],page=0,loaded={},asked={},want=0;"
    "function $(i){return document.getElementById(i)}"
    "function esc(s){return String(s).replace(/[&<>\"]/g,function(c){"
    "return{'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}[c]})}"
    "function bad(o){return o!=='pass'&&o!=='skipped'&&o!=='unsupported'}"
    /* failures first, each group in planned order (rows come in that order) */
    "rows.forEach(function(r){if(bad(r[3]))order.push(r)});"
    "rows.forEach(function(r){if(!bad(r[3]))order.push(r)});"
    "function opts(id,list){var e=$(id);list.forEach(function(v){var o=document."
    "createElement('option');o.value=o.textContent=v;e.appendChild(o)})}"
    "var os={},ps={};rows.forEach(function(r){os[r[3]]=1;ps[r[4]]=1});"
    "opts('f-scenario',S);opts('f-outcome',Object.keys(os).sort());"
    "opts('f-path',Object.keys(ps).sort());"
    "function apply(){var sc=$('f-scenario').value,oc=$('f-outcome').value,"
    "pa=$('f-path').value,q=$('f-search').value.toLowerCase();shown=[];"
    "for(var i=0;i<order.length;i++){var r=order[i];"
    "if(sc&&S[r[7]]!==sc)continue;if(oc==='!pass'?!bad(r[3]):oc&&r[3]!==oc)continue;"
    "if(pa&&r[4]!==pa)continue;"
    "if(q&&(r[1]+' '+P[r[8]]).toLowerCase().indexOf(q)<0)continue;shown.push(r)}"
    "page=0;draw()}"
    "function draw(){var h=[],a=page*PER,b=Math.min(shown.length,a+PER);"
    "for(var i=a;i<b;i++){var r=shown[i],o=esc(r[3]);h.push('<tr class=\"row o-'+o+'\"><td><a href=\"#cell-'"
    "+r[0]+'\">'+esc(r[1])+'</a></td><td>'+r[2]+'</td><td class=\"o\">'+o+"
    "'</td><td class=\"path-'+r[4]+'\">'+r[4]+(r[6]&&r[6]!==r[4]?' (expected '+esc(r[6])+')':'')"
    "+'</td><td>'+(r[5]===null?'':r[5])+'</td><td class=\"small\">'+esc(P[r[8]])+'</td></tr>')}"
    "$('rows').innerHTML=h.join('');"
    "$('count').textContent=shown.length?(a+1)+'-'+b+' of '+shown.length+' cells shown ('"
    "+rows.length+' in the run)':'no cell matches ('+rows.length+' in the run)';"
    "$('prev').disabled=page===0;$('next').disabled=b>=shown.length}"
    "window.natlab_cells=function(k,a){loaded[k]=a;if(want)show(want)};"
    "function show(n){var k=Math.floor((n-1)/C);if(!loaded[k]){want=n;if(!asked[k]){"
    "asked[k]=1;var s=document.createElement('script');s.src='report/cells-'+k+'.js';"
    "document.head.appendChild(s)}return}"
    "want=0;var d=$('detail');d.innerHTML=loaded[k][(n-1)%%C]||'';"
    "if(d.scrollIntoView)d.scrollIntoView()}"
    /* #cell-<rank> opens a cell; #find:outcome=fail&q=left%3Dhard sets the
     * filters (scenario, outcome, path, q), so a filtered list has a link */
    "function route(){var h=location.hash,m=/^#cell-(\\d+)$/.exec(h);if(m){show(+m[1]);return}"
    "if(h.indexOf('#find:')===0){h.slice(6).split('&').forEach(function(kv){"
    "var i=kv.indexOf('='),k=kv.slice(0,i),v=decodeURIComponent(kv.slice(i+1)),"
    "e=$(k==='q'?'f-search':'f-'+k);if(e&&i>0)e.value=v});apply()}}"
    "['f-scenario','f-outcome','f-path'].forEach(function(i){$(i).onchange=apply});"
    "$('f-search').oninput=apply;"
    "$('prev').onclick=function(){page--;draw()};$('next').onclick=function(){page++;draw()};"
    "window.addEventListener('hashchange',route);"
    "apply();route();"
    "var H=document.documentElement;H.setAttribute('data-index-ms',Math.round(performance.now()));"
    /* when the page is loaded and laid out: what a reader waits for */
    "window.addEventListener('load',function(){void document.body.offsetHeight;"
    "H.setAttribute('data-load-ms',Math.round(performance.now()))})"
    "})();";

/* Cells per detail file: a click loads one file of at most this many
 * cells (about 13 kB each for the default matrix). */
#define REPORT_CHUNK 200
/* Rows of the cell list drawn at a time. */
#define REPORT_PAGE 200

/* @s as the body of a JavaScript string literal in double quotes. */
static void js_string(FILE *f, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		unsigned char c;

		/* runs that need no escape in one write (the details of every
		 * cell pass through here) */
		while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			fwrite(s + i, 1, run - i, f);
			i = run;
			continue;
		}
		c = (unsigned char)s[i++];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else
			fprintf(f, "\\u%04x", c);
	}
}

static void page_head(FILE *f, const json_t *run)
{
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<meta name=\"viewport\" content=\"width=device-width\"><title>natlab ");
	esc(f, str(run, "run_id", ""));
	fprintf(f, "</title>\n<style>%s%s</style></head>\n<body>\n", css, index_css);
}

/* The cell list: controls, an empty table the script fills, the detail
 * panel, then the scripts (index.js first: it defines the rows). */
static void cell_list(FILE *f, const struct page *pg)
{
	fprintf(f,
		"<h2 id=\"cells\">Cells</h2>\n"
		"<noscript><p>The cell list and each cell's details need JavaScript; the grids "
		"above and cells.jsonl do not.</p></noscript>\n"
		"<div id=\"filters\"><label>scenario <select id=\"f-scenario\"><option "
		"value=\"\">all</option></select></label> <label>outcome <select "
		"id=\"f-outcome\"><option value=\"\">all</option><option value=\"!pass\">not "
		"passed</option></select></label> <label>path <select id=\"f-path\"><option "
		"value=\"\">all</option></select></label> <input id=\"f-search\" type=\"search\" "
		"placeholder=\"search id and parameters, e.g. left=hard\"></div>\n"
		"<p id=\"pager\"><span id=\"count\">%zu cells</span> <button id=\"prev\">&larr; "
		"previous</button><button id=\"next\">next &rarr;</button></p>\n"
		"<div id=\"detail\"></div>\n"
		"<table class=\"cells\"><thead><tr><th>cell</th><th>trial</th><th>outcome</th>"
		"<th>path</th><th>connect ms</th><th>parameters</th></tr></thead>"
		"<tbody id=\"rows\"></tbody></table>\n"
		"<script src=\"report/index.js\"></script>\n<script>",
		pg->n);
	fprintf(f, index_js, REPORT_CHUNK, REPORT_PAGE);
	fprintf(f, "</script>\n");
}

/* Whether @key is one of the axes the cell id "scenario/k=v,k=v" names. */
static bool id_has_axis(const char *id, const char *key)
{
	const char *p = strchr(id, '/');
	size_t n = strlen(key);

	for (p = p ? p + 1 : NULL; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return true;
	return false;
}

/* "k=v k=v" of a cell's parameters that its id does not already name (the
 * ones that are not matrix axes: the same for most cells, so the index
 * keeps each distinct text once), in key order, for the search box. */
static void params_text(FILE *f, const json_t *params, const char *id)
{
	const char *k;
	json_t *v;
	const char *sep = "";
	char *text;
	size_t n = 0;
	const char *keys[64];

	json_object_foreach((json_t *)params, k, v) if (n < 64 && !id_has_axis(id, k)) keys[n++] = k;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(params, keys[i]);
		fprintf(f, "%s%s=", sep, keys[i]);
		if (json_is_string(v)) {
			fputs(json_string_value(v), f);
		} else {
			text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
			if (text)
				fputs(text, f);
			free(text);
		}
		sep = " ";
	}
}

/* One row of report/index.js: [rank, id, trial, outcome, path, connect_ms
 * or null, expected path or null, scenario (position in "scenarios"),
 * the parameters the id does not name (position in "params", @pset)]. */
static void index_row(FILE *f, const json_t *c, size_t rank, long scen, struct strset *pset,
		      int *oom, int first)
{
	const json_t *ms = json_object_get(c, "connect_ms");
	const char *exp = str(c, "expected_path", NULL);
	const char *id = str(c, "id", "?");
	char *pt = NULL;
	size_t ptn = 0;
	long pi = -1;
	FILE *m = open_memstream(&pt, &ptn);

	if (m) {
		params_text(m, json_object_get(c, "params"), id);
		fclose(m);
	}
	if (pt)
		pi = strset_add(pset, pt, oom);
	free(pt);
	if (pi < 0)
		*oom = 1;
	fprintf(f, "%s[%zu,\"", first ? "" : ",\n", rank);
	js_string(f, id, strlen(id));
	{
		const char *o = str(c, "outcome", "error"); /* any text a file holds */
		fprintf(f, "\",%lld,\"", (long long)json_integer_value(json_object_get(c, "trial")));
		js_string(f, o, strlen(o));
		fprintf(f, "\",\"%s\",", report_cell_path(c)); /* one of paths[] */
	}
	if (json_is_number(ms))
		fprintf(f, "%.0f", json_number_value(ms));
	else
		fputs("null", f);
	if (exp) {
		fputs(",\"", f);
		js_string(f, exp, strlen(exp));
		fputs("\"", f);
	} else {
		fputs(",null", f);
	}
	fprintf(f, ",%ld,%ld]", scen, pi);
}

static void js_strings(FILE *f, const struct strset *l)
{
	for (size_t k = 0; k < l->n; k++) {
		fprintf(f, "%s\"", k ? "," : "");
		js_string(f, l->v[k], strlen(l->v[k]));
		fprintf(f, "\"");
	}
}

/* The header, compliance table and grids: the top of both index pages. */
static void index_top(FILE *f, const json_t *run, struct page *pg, int links)
{
	page_head(f, run);
	header(f, run, pg);
	compliance_table(f, run);
	summaries(f, pg);
	grids(f, pg, links);
}

int report_write(FILE *f, const json_t *run, struct cellsrc *src, const struct report_out *out,
		 const struct report_opts *o)
{
	size_t n = cellsrc_count(src);
	size_t *order = cellsrc_planned_order(src);
	struct strset scen = {0}, pset = {0};
	struct page pg;
	FILE *idx = NULL, *chunk = NULL;
	char *det = NULL;
	size_t detcap = 0;
	int ret = 0;

	memset(&pg, 0, sizeof(pg));
	if (!order)
		return -ENOMEM;
	/* Ranks are positional (the place in planned order) so that they are
	 * unique even across merged runs, and the same in a merge of shards as
	 * in the run they split. One pass, one cell in memory at a time: its
	 * row into index.js, its details into its chunk, its share of the grids
	 * into the aggregates; the index page, which needs the aggregates, is
	 * written last. */
	idx = out->open(out->ctx, "index.js");
	if (!idx) {
		ret = -EIO;
		goto out;
	}
	fprintf(idx, "window.natlab_index={rows:[\n");
	for (size_t i = 0; i < n; i++) {
		json_t *c = cellsrc_get(src, order[i]);
		size_t detlen = 0;
		FILE *m;

		if (!c) {
			ret = -EIO;
			goto out;
		}
		page_add(&pg, c, i + 1);
		index_row(idx, c, i + 1, strset_add(&scen, str(c, "scenario", "?"), &pg.oom), &pset,
			  &pg.oom, i == 0);
		if (i % REPORT_CHUNK == 0) {
			char name[64];
			if (chunk && (ret = out->close(out->ctx, chunk)) < 0) {
				chunk = NULL;
				json_decref(c);
				goto out;
			}
			snprintf(name, sizeof(name), "cells-%zu.js", i / REPORT_CHUNK);
			chunk = out->open(out->ctx, name);
			if (!chunk) {
				json_decref(c);
				ret = -EIO;
				goto out;
			}
			fprintf(chunk, "natlab_cells(%zu,[\n", i / REPORT_CHUNK);
		}
		m = open_memstream(&det, &detcap);
		if (!m) {
			json_decref(c);
			ret = -ENOMEM;
			goto out;
		}
		report_cell_detail(m, c, i + 1, o);
		fclose(m);
		detlen = strlen(det ? det : "");
		fprintf(chunk, "%s\"", i % REPORT_CHUNK ? ",\n" : "");
		js_string(chunk, det ? det : "", detlen);
		fprintf(chunk, "\"");
		if (i % REPORT_CHUNK == REPORT_CHUNK - 1 || i + 1 == n)
			fprintf(chunk, "]);\n");
		free(det);
		det = NULL;
		json_decref(c);
	}
	/* the tables the rows point into, after them: both are complete only
	 * once every cell is read */
	fprintf(idx, "],\nscenarios:[");
	js_strings(idx, &scen);
	fprintf(idx, "],\nparams:[");
	js_strings(idx, &pset);
	fprintf(idx, "]};\n");
	if (pg.oom) {
		ret = -ENOMEM;
		goto out;
	}
	index_top(f, run, &pg, 1);
	cell_list(f, &pg);
	fprintf(f, "</body></html>\n");
	if (ferror(f) || ferror(idx) || (chunk && ferror(chunk)))
		ret = -EIO;
out:
	if (chunk) {
		int r = out->close(out->ctx, chunk);
		ret = ret < 0 ? ret : r;
	}
	if (idx) {
		int r = out->close(out->ctx, idx);
		ret = ret < 0 ? ret : r;
	}
	free(det);
	strset_free(&scen);
	strset_free(&pset);
	page_free(&pg);
	free(order);
	return ret;
}

/* ---- everything into one stream (tests, the fuzz target) ---- */

static FILE *same_open(void *ctx, const char *name)
{
	FILE *f = ctx;

	fprintf(f, "\n/* report/%s */\n", name);
	return f;
}

static int same_close(void *ctx, FILE *f)
{
	(void)ctx;
	return ferror(f) ? -EIO : 0;
}

int report_write_all(FILE *f, const json_t *run, struct cellsrc *src)
{
	struct report_out out = {same_open, same_close, f};

	return report_write(f, run, src, &out, NULL);
}

char *report_render(const json_t *run, const json_t *cells)
{
	return cellsrc_render(report_write_all, run, cells);
}

static FILE *null_open(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return fopen("/dev/null", "we");
}

static int null_close(void *ctx, FILE *f)
{
	(void)ctx;
	return fclose(f) != 0 ? -EIO : 0;
}

int report_write_opts(FILE *f, const json_t *run, struct cellsrc *src, const struct report_opts *o)
{
	struct report_out out = {null_open, null_close, NULL};
	size_t *order;
	int ret = report_write(f, run, src, &out, o);

	if (ret < 0)
		return ret;
	order = cellsrc_planned_order(src);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < cellsrc_count(src) && ret == 0; i++) {
		json_t *c = cellsrc_get(src, order[i]);
		if (!c) {
			ret = -EIO;
			break;
		}
		report_cell_detail(f, c, i + 1, o);
		json_decref(c);
	}
	free(order);
	return ret < 0 ? ret : ferror(f) ? -EIO : 0;
}

/* ---- the live index of a running run ---- */

/* The live index lists the first REPORT_LIVE_FAILS cells that did not
 * pass, as they finish: what a person watching a long run wants first,
 * bounded so the parent does not grow with the failures either. */
#define REPORT_LIVE_FAILS 200

struct report_live {
	struct page pg;
	json_t *fails; /* [id, trial, outcome, message], at most REPORT_LIVE_FAILS */
	size_t nfails; /* all of them, listed or not */
};

struct report_live *report_live_new(void)
{
	struct report_live *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->pg.bounded = 1;
	l->fails = json_array();
	if (!l->fails) {
		free(l);
		return NULL;
	}
	return l;
}

int report_live_add(struct report_live *l, const json_t *cell)
{
	const char *o = str(cell, "outcome", "error");

	page_add(&l->pg, cell, l->pg.n + 1);
	if (!results_cell_passed(cell)) {
		if (json_array_size(l->fails) < REPORT_LIVE_FAILS &&
		    json_array_append_new(
			l->fails, json_pack("[s,I,s,s]", str(cell, "id", "?"),
					    json_integer_value(json_object_get(cell, "trial")), o,
					    str(cell, "message", ""))) < 0)
			l->pg.oom = 1;
		l->nfails++;
	}
	return l->pg.oom ? -ENOMEM : 0;
}

int report_live_write(FILE *f, const json_t *run, const struct report_live *l)
{
	struct page *pg = (struct page *)&l->pg;
	size_t i;
	json_t *r;

	index_top(f, run, pg, 0);
	fprintf(f, "<h2 id=\"cells\">Cells</h2>\n<p class=\"live\">%zu cells so far. The run is in "
		   "progress: the cell list and each cell's details are written when it ends "
		   "(<code>natlab report DIR</code> draws them for a run that was killed).</p>\n",
		pg->n);
	if (l->nfails) {
		fprintf(f, "<p>%zu did not pass so far%s:</p>\n<table class=\"cells\"><tr><th>cell"
			   "</th><th>trial</th><th>outcome</th><th>message</th></tr>\n",
			l->nfails, l->nfails > json_array_size(l->fails) ? " (the first listed)" : "");
		json_array_foreach(l->fails, i, r)
		{
			/* the outcome is the script's to set (natlab.result{outcome=}):
			 * escaped, as the final index's script escapes it */
			const char *o = json_string_value(json_array_get(r, 2));

			fprintf(f, "<tr class=\"row o-");
			esc(f, o);
			fprintf(f, "\"><td>");
			esc(f, json_string_value(json_array_get(r, 0)));
			fprintf(f, "</td><td>%lld</td><td class=\"o\">",
				(long long)json_integer_value(json_array_get(r, 1)));
			esc(f, o);
			fprintf(f, "</td><td class=\"small\">");
			esc(f, json_string_value(json_array_get(r, 3)));
			fprintf(f, "</td></tr>\n");
		}
		fprintf(f, "</table>\n");
	}
	fprintf(f, "</body></html>\n");
	return ferror(f) ? -EIO : 0;
}

void report_live_free(struct report_live *l)
{
	if (!l)
		return;
	page_free(&l->pg);
	json_decref(l->fails);
	free(l);
}
