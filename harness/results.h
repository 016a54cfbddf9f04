/* results.h - a run's result directory: run.json, cells.jsonl, junit.xml,
 * report.html, logs/, pcap/ (schema: results/README.md).
 *
 * Everything is written so that a run killed at any moment leaves valid
 * files for the cells that finished: cells.jsonl is appended and fsync'd one
 * line per cell; junit.xml, report.html and run.json are always whole (a
 * temporary name renamed over the old one); `natlab report` draws a killed
 * run's junit.xml and report from cells.jsonl.
 */
#ifndef NATLAB_HARNESS_RESULTS_H
#define NATLAB_HARNESS_RESULTS_H

#include <jansson.h>
#include <stddef.h>

#include "emu/err.h"

#define RESULTS_SCHEMA_VERSION 1
#define RESULTS_PATH_MAX       4096

struct results;

/* results_open - create @root/@run_id/ (with logs/ and pcap/), write run.json
 * from @run (copied; "start" is added when absent), an empty cells.jsonl, an
 * empty junit.xml and report.html, and point @root/latest at the new
 * directory. Caller owns *@out (results_free). */
int results_open(const char *root, const char *run_id, const json_t *run, struct results **out,
		 struct natlab_err *e);

/* results_dir - the run directory (owned by @r). */
const char *results_dir(const struct results *r);

/* results_cell_add - append @cell to cells.jsonl and fsync it, append its
 * testcase to junit.xml's parts, add it to the live index's aggregates and
 * rewrite report.html (the live index, bounded by the matrix) unless that
 * was done less than a second ago. Nothing of the cell is kept and nothing
 * is read back: its cost does not grow with the run. */
int results_cell_add(struct results *r, const json_t *cell, struct natlab_err *e);

/* results_close - record "end", the totals and @resources (taken; NULL for
 * none) in run.json, write junit.xml from its parts and the full report
 * (index, rows and details) in one pass over cells.jsonl. */
int results_close(struct results *r, json_t *resources, struct natlab_err *e);

/* results_free - close files; accepts NULL. */
void results_free(struct results *r);

/* results_load - read @dir/run.json and @dir/cells.jsonl. A torn last line
 * (a run killed mid-write) is ignored; any other bad line is an error that
 * names the file and line. Caller owns *@run and *@cells (an array). */
int results_load(const char *dir, json_t **run, json_t **cells, struct natlab_err *e);

/* results_load_run - read only @dir/run.json. Caller owns *@run. */
int results_load_run(const char *dir, json_t **run, struct natlab_err *e);

/* results_render - rewrite junit.xml, report.html and report/ of @dir from
 * @run and @dir/cells.jsonl, read one cell at a time (natlab report, merge);
 * a bad line of cells.jsonl is an error as in results_load. */
int results_render(const char *dir, const json_t *run, struct natlab_err *e);

/* results_render_opts - results_render, report.html drawn with @ro (NULL:
 * the defaults; natlab report --ladder). */
struct report_opts;
int results_render_opts(const char *dir, const json_t *run, const struct report_opts *ro,
			struct natlab_err *e);

/* results_write_atomic - write @len bytes to @path.tmp, fsync, rename. */
int results_write_atomic(const char *path, const char *data, size_t len, struct natlab_err *e);

/* results_write_cells - write @cells as a fresh cells.jsonl in @dir. */
int results_write_cells(const char *dir, const json_t *cells, struct natlab_err *e);

/* results_now_iso - the current UTC time as ISO 8601 into @buf. */
void results_now_iso(char *buf, size_t len);

/* results_cell_ok - "pass" and "skipped" cells count as passed. */
int results_cell_passed(const json_t *cell);

/* results_outcome_ran - whether a cell of @outcome (its outcome, or
 * report_cell_path's word for it) ran its test: anything but "skipped" (a
 * piece was missing) and "unsupported" (an implementation declared it
 * lacks what the cell needs). Grids, the summary, JUnit and compare count
 * only these as tried. NULL (no outcome yet) ran. */
int results_outcome_ran(const char *outcome);

#endif
