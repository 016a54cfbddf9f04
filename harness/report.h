/* report.h - report.html: one self-contained page (inline CSS and SVG, no
 * scripts) that a person reads after a run. Layout: run metadata, then a
 * grid per matrix (rows and columns are the two sides' NATs or
 * implementations, each square coloured by the path taken, mismatches with
 * the expected path marked), connect-time figures with a distribution chart,
 * then a section per cell (candidates, selected pair, event timeline drawn
 * to scale, log excerpts, links to logs and captures).
 *
 * The classes the page uses are an interface (tests read them from the DOM):
 *   table.grid td.sq               one per grid square
 *   .path-<host|srflx|prflx|relay-udp|relay-tcp|relay-tls|failed|skipped|error>
 *   .mismatch                      observed path differs from the expected one
 *   section.cell                   one per cell (trial)
 *   details.ladder svg.ladder      the cell's ladder diagram (harness/ladder.h)
 */
#ifndef NATLAB_HARNESS_REPORT_H
#define NATLAB_HARNESS_REPORT_H

#include <jansson.h>
#include <stdio.h>

struct cellsrc;

/* report_write - the whole page to @f, reading the cells from @src one at a
 * time (twice: the top of the page, then a section per cell), so that what
 * it holds is bounded by the grids, not by the cells. 0, -ENOMEM, or -EIO
 * when a cell can no longer be read or @f failed. */
int report_write(FILE *f, const json_t *run, struct cellsrc *src);

/* What a page draws beyond the defaults. */
struct report_opts {
	/* Ladder diagrams: drawn for every cell that failed ("fail",
	 * "error", "timeout"); besides, for every cell when "all", or for
	 * each trial of the cell with this id. NULL: the default. */
	const char *ladder;
};

/* report_write_opts - report_write with @o (NULL: the defaults). */
int report_write_opts(FILE *f, const json_t *run, struct cellsrc *src, const struct report_opts *o);

/* report_render - the whole page of the array @cells; caller frees. NULL on
 * no memory. */
char *report_render(const json_t *run, const json_t *cells);

/* report_cell_path - the path class a cell is drawn with: its "path", or
 * "error"/"skipped" from its outcome when it has none. */
const char *report_cell_path(const json_t *cell);

/* report_path_names - the path classes report_cell_path returns, in the
 * order the report lists them (its tie-break for "most common path"),
 * NULL-terminated. */
const char *const *report_path_names(void);

/* report_path_class - the class of a path name (docs/expected-matrix.md):
 * host/srflx/prflx "direct", relay-udp "relay", relay-tcp/relay-tls
 * "relay-tcp"; a class name is its own class; anything else (passed,
 * failed, skipped, error) is returned as it is. */
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
