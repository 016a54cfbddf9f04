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

/* "passed": a cell that passed without a connection path to show (a
 * turn-security refusal, a DUT row); a cell without one that did not pass
 * is "failed". */
static const char *const paths[] = {"host",	 "srflx",     "prflx",	"relay-udp",
				    "relay-tcp", "relay-tls", "passed", "failed",
				    "skipped",	 "error",     "unsupported", NULL};

/* Colours chosen to be told apart in print and by most colour-blind readers:
 * direct paths green/teal, relays blue/purple, failures red/grey. */
static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}"
    "table.meta th{background:#f3f3f3}"
    "table.grid td.sq{width:9em;height:3.2em;text-align:center;vertical-align:middle}"
    "table.grid td.sq a{color:inherit;text-decoration:none;display:block}"
    ".path-host{background:#1b9e77;color:#fff}.path-srflx{background:#66c2a5}"
    ".path-prflx{background:#a6d854}.path-relay-udp{background:#8da0cb}"
    ".path-relay-tcp{background:#7570b3;color:#fff}.path-relay-tls{background:#5e3c99;color:#fff}"
    ".path-passed{background:#b8e186}.path-failed{background:#d7301f;color:#fff}.path-skipped{"
    "background:#ddd;color:#555}"
    ".path-error{background:#333;color:#fff}"
    ".path-unsupported{background:#fdd49e;color:#7f2704}"
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
    "details.ladder{overflow-x:auto;margin:.5em 0}details.ladder summary{cursor:pointer}";

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
				      "unsupported", NULL};

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
	    {"unsupported", "unsupported"},
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
	int count[16];
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

struct page {
	size_t n;
	int pass, fail, err, skip;
	struct strset names;
	struct grid *g;
	size_t ng, capg;
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
	pg->err += strcmp(o, "error") == 0 || strcmp(o, "timeout") == 0;

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
	sq->ran += strcmp(o, "skipped") != 0;
	sq->passed += strcmp(o, "pass") == 0;
	p = report_cell_path(c);
	for (int k = 0; paths[k]; k++)
		if (strcmp(p, paths[k]) == 0)
			sq->count[k]++;
	exp = str(c, "expected_path", NULL);
	if (exp) {
		free(sq->expected);
		sq->expected = dup_or_oom(exp, &pg->oom);
		if (strcmp(exp, p) != 0 && strcmp(p, "skipped") != 0)
			sq->mismatch = 1;
	}
	if (json_is_number(ms)) {
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
		"skipped%s</p>\n",
		pg->n, pg->pass, pg->fail, pg->err, pg->skip,
		json_object_get(run, "end") ? "" : " (run in progress or interrupted)");
	fprintf(f, "<table class=\"meta\">\n");
	for (int k = 0; keys[k]; k++)
		if (json_object_get(run, keys[k]))
			meta_row(f, keys[k], json_object_get(run, keys[k]));
	fprintf(f, "</table>\n<p class=\"legend\">");
	for (int k = 0; paths[k]; k++)
		fprintf(f, "<span class=\"path-%s\">%s</span>", paths[k], paths[k]);
	fprintf(f, "<span class=\"path-skipped\" style=\"outline:3px dashed #ff0\">mismatch with "
		   "expected</span></p>\n");
}

/* One square drawn with the most common path; marked as a mismatch when
 * any trial's path differs from what was expected. It says how many of its
 * trials passed (skipped ones left out), how many took each path when they
 * did not all take the same one, and the median and p95 connect time. */
static void grid_square(FILE *f, struct grid *g, long ri, long ci)
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
	fprintf(f, "\"><a href=\"#cell-%zu\"><b>%s</b>%s", sq->first_rank, paths[best],
		sq->mismatch ? " &#x2260;" : "");
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

static void grids(FILE *f, struct page *pg)
{
	for (size_t gi = 0; gi < pg->ng; gi++) {
		struct grid *g = &pg->g[gi];

		fprintf(f, "<h2>");
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
				grid_square(f, g, (long)ri, (long)ci);
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

static void cell_section(FILE *f, const json_t *c, size_t rank, const struct report_opts *o)
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

int report_write(FILE *f, const json_t *run, struct cellsrc *src)
{
	return report_write_opts(f, run, src, NULL);
}

int report_write_opts(FILE *f, const json_t *run, struct cellsrc *src, const struct report_opts *o)
{
	size_t n = cellsrc_count(src);
	size_t *order = cellsrc_planned_order(src);
	struct page pg;
	int ret = 0;

	memset(&pg, 0, sizeof(pg));
	if (!order)
		return -ENOMEM;
	/* Anchors are positional (cell-<place in planned order>) so they are
	 * unique even across merged runs. Pass one: what the top needs. */
	for (size_t i = 0; i < n && !pg.oom; i++) {
		json_t *c = cellsrc_get(src, order[i]);
		if (!c) {
			ret = -EIO;
			goto out;
		}
		page_add(&pg, c, i + 1);
		json_decref(c);
	}
	if (pg.oom) {
		ret = -ENOMEM;
		goto out;
	}
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<meta name=\"viewport\" content=\"width=device-width\"><title>natlab ");
	esc(f, str(run, "run_id", ""));
	fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n", css);
	header(f, run, &pg);
	compliance_table(f, run);
	grids(f, &pg);
	fprintf(f, "<h2>Cells</h2>\n");
	/* Pass two: each cell's section, one cell in memory at a time. */
	for (size_t i = 0; i < n; i++) {
		json_t *c = cellsrc_get(src, order[i]);
		if (!c) {
			ret = -EIO;
			goto out;
		}
		cell_section(f, c, i + 1, o);
		json_decref(c);
	}
	fprintf(f, "</body></html>\n");
	if (ferror(f))
		ret = -EIO;
out:
	page_free(&pg);
	free(order);
	return ret;
}

char *report_render(const json_t *run, const json_t *cells)
{
	return cellsrc_render(report_write, run, cells);
}
