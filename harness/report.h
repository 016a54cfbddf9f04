/* report.h - the HTML report of a run: an index page, report.html, whose
 * size follows the matrix rather than the number of cells, and files beside
 * it in report/ that hold each cell's details, loaded on demand.
 *
 * report.html: run metadata, the scenarios' summary grids (a grid over the
 * grids, scenario{summary=}: e.g. implementation x implementation, each
 * square a pass rate linking to its pair's grid), a grid per matrix (rows and columns are the
 * two sides' NATs or implementations, each square coloured by the path
 * taken, mismatches with the expected path marked), connect-time figures
 * with a distribution chart, then the cell list: failures first, filters by
 * scenario, outcome and path, a search over ids and parameters, a page of
 * rows at a time. report/index.js holds one short row per cell;
 * report/cells-<k>.js the details of cells k*200+1 .. (k+1)*200 (in planned
 * order): candidates, check lists, the event timeline drawn to scale, log
 * excerpts, links to logs and captures. Opening a cell (#cell-<rank>) loads
 * its file with a <script> element, which browsers allow from file:// where
 * they refuse fetch(): the report works offline from the disk.
 *
 * The classes the page uses are an interface (tests read them from the DOM):
 *   table.grid td.sq               one per grid square
 *   .path-<host|srflx|prflx|relay-udp|relay-tcp|relay-tls|passed|failed|skipped|error|unsupported>,
 *   and for SIP cells .path-<two-way|one-way-to-callee|one-way-to-caller|no-audio|no-call|no-reg>
 *   .mismatch                      observed path differs from the expected one
 *   table.summary[data-summary] td.ssq.rate-<all|some|none|na>
 *                                  one per summary-grid square (harness/rollup.h),
 *                                  with data-passed, data-applicable,
 *                                  data-unsupported, data-failed, data-skipped
 *                                  and a link to #grid-<k>
 *   h2#grid-<k>                    the k-th grid (0-based, in the page's order)
 *   tbody#rows tr.row.o-<outcome>  one per listed cell (a page at a time)
 *   #detail section.cell           the opened cell
 *   details.ladder svg.ladder      the opened cell's ladder diagram (harness/ladder.h)
 *   html[data-index-ms]            when the list was drawn (performance.now())
 *   html[data-load-ms]             when the page was loaded and laid out
 */
#ifndef NATLAB_HARNESS_REPORT_H
#define NATLAB_HARNESS_REPORT_H

#include <jansson.h>
#include <stdio.h>

struct cellsrc;

/* Where report_write puts the files beside the index: @open makes the file
 * @name ("index.js", "cells-<k>.js") and returns a stream for it (NULL on
 * failure), @close finishes it (0, or a negative errno). */
struct report_out {
	FILE *(*open)(void *ctx, const char *name);
	int (*close)(void *ctx, FILE *f);
	void *ctx;
};

/* What a page draws beyond the defaults. */
struct report_opts {
	/* Ladder diagrams: drawn for every cell that failed ("fail",
	 * "error", "timeout"); besides, for every cell when "all", or for
	 * each trial of the cell with this id. NULL: the default. */
	const char *ladder;
};

/* report_write - the index page to @f and the files beside it through
 * @out, reading the cells from @src once, one at a time (a row, a detail
 * and the grids' aggregates per cell; the index page last), so that what
 * it holds is bounded by the grids, not by the cells; @o (NULL: the
 * defaults). 0, -ENOMEM, or -EIO when a cell can no longer be read or a
 * stream failed. */
int report_write(FILE *f, const json_t *run, struct cellsrc *src, const struct report_out *out,
		 const struct report_opts *o);

/* report_cell_detail - what opening cell @c (the @rank-th in planned order,
 * 1-based) shows: one <section class="cell" id="cell-@rank"> with its
 * parameters, outcome, candidates, check lists, timeline, tails, links and
 * (when it failed, or @o asks) its ladder diagram. The one place a cell's
 * detail content is drawn. */
void report_cell_detail(FILE *f, const json_t *c, size_t rank, const struct report_opts *o);

/* report_write_all - every file beside the index, then the index, one
 * after the other, to @f (a cellsrc_writer: tests and the fuzz target). */
int report_write_all(FILE *f, const json_t *run, struct cellsrc *src);

/* report_write_opts - the index page, then every cell's detail section as
 * plain HTML (what the detail files hold, unescaped), to @f: a view for
 * tests of what the details draw. */
int report_write_opts(FILE *f, const json_t *run, struct cellsrc *src, const struct report_opts *o);

/* report_render - report_write_all of the array @cells; caller frees. NULL
 * on no memory. */
char *report_render(const json_t *run, const json_t *cells);

/* The index of a run still running: its header and grids from aggregates
 * kept as cells finish (bounded by the matrix) and the first 200 cells that
 * did not pass, rewritten by the run at most once a second; the cell list
 * and the details come with the final render. */
struct report_live;
struct report_live *report_live_new(void);
/* report_live_add - 0, or -ENOMEM (the live page then lacks the cell). */
int report_live_add(struct report_live *l, const json_t *cell);
int report_live_write(FILE *f, const json_t *run, const struct report_live *l);
void report_live_free(struct report_live *l);

/* report_cell_path - the path class a cell is drawn with: "error" (error,
 * timeout), "skipped" or "unsupported" from its outcome; else its "path"
 * when it is one of report_path_names(); else "passed" for a passing cell
 * with no path, "failed" for the rest. */
const char *report_cell_path(const json_t *cell);

/* report_path_names - the path classes report_cell_path returns, in the
 * order the report lists them (its tie-break for "most common path"),
 * NULL-terminated. */
const char *const *report_path_names(void);

/* report_path_class - the class of a path name (docs/expected-matrix.md):
 * host/srflx/prflx "direct", relay-udp "relay", relay-tcp/relay-tls
 * "relay-tcp"; a class name and passed, failed, skipped, error and
 * unsupported are their own class; any other name (or NULL) is "failed". */
const char *report_path_class(const char *path);

/* report_cell_class - what a cell's verdict rests on: the wire's settled
 * class ("direct", "relay", "relay-tcp", "failed": `wire.settled.class`,
 * results/README.md) when the cell has a wire record, else
 * report_cell_path(cell); "error", "skipped" and "unsupported" from its
 * outcome first.
 * One of report_class_names(). */
const char *report_cell_class(const json_t *cell);

/* report_class_names - what report_cell_class returns, NULL-terminated. */
const char *const *report_class_names(void);

/* report_percentile - the @p-th percentile (0..100, nearest rank) of the
 * @n values in @v, which it sorts. 0 when n is 0. */
double report_percentile(double *v, size_t n, double p);

#endif
