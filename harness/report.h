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
 */
#ifndef NATLAB_HARNESS_REPORT_H
#define NATLAB_HARNESS_REPORT_H

#include <jansson.h>

/* report_render - the whole page; caller frees. NULL on no memory. */
char *report_render(const json_t *run, const json_t *cells);

/* report_cell_path - the path class a cell is drawn with: its "path", or
 * "error"/"skipped" from its outcome when it has none. */
const char *report_cell_path(const json_t *cell);

/* report_cells_sorted - a copy of @cells in planned order: by "index" (the
 * cell's position in the expanded matrix, the same in every shard), then
 * as given. Caller owns. */
json_t *report_cells_sorted(const json_t *cells);

/* report_percentile - the @p-th percentile (0..100, nearest rank) of the
 * @n values in @v, which it sorts. 0 when n is 0. */
double report_percentile(double *v, size_t n, double p);

#endif
