/* runner.h - runs cells in parallel, each in a forked child that enters a
 * sandbox of its own (emu_sandbox_enter), so cells cannot see each other;
 * a per-cell deadline kills a hung cell (with every agent in it) and marks
 * it timed out with the tail of its stderr. SIGINT/SIGTERM end the run
 * cleanly: running cells are killed, finished ones stay recorded. */
#ifndef NATLAB_HARNESS_RUNNER_H
#define NATLAB_HARNESS_RUNNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/results.h"
#include "harness/runopts.h"

struct runner_stats {
	unsigned total, done, passed, failed, errors, skipped, unsupported;
	int interrupted;
	/* what the cells spent: CPU of every cell's process tree (wait4), the
	 * largest process of any cell; how many were in flight (time-weighted
	 * mean, max) */
	int paced; /* --jobs auto */
	uint64_t cells_cpu_us, cell_maxrss_kb;
	unsigned in_flight_max;
	double in_flight_mean;
	/* the whole machine's busy CPU time during the run (anyone's work:
	 * an upper bound of the run's own, kernel threads included) */
	double machine_busy_s;
};

struct summary;
struct scenario;
struct luanet_ctx;

/* runner_run - run the cells of the plan @cells, made one at a time as they
 * start (cellplan.h), @o->jobs at a time (0: as many as the
 * pacer allows, pace.h), recording each in
 * @res as it finishes (with its "resources": CPU and peak memory), adding
 * it to @sum (when not NULL) and printing
 * progress to @progress (a live line when it is a terminal, one line per
 * cell otherwise). A finished cell is not kept: what stays in memory per
 * cell is nothing (the results and the summary keep aggregates). */
struct cellplan;
int runner_run(const struct runopts *o, struct cellplan *cells, struct results *res, FILE *progress,
	       struct summary *sum, struct runner_stats *st, struct natlab_err *e);

/* A scenario loaded once by the run's parent (its Lua state with the prelude
 * and the scenario file, and the context it is bound to): a cell's child,
 * forked from the parent, uses its copy instead of loading the scenario
 * again (docs/performance.md: the Lua load was 1.7-2 ms of every cell). */
struct runner_scenario {
	struct scenario *s;
	struct luanet_ctx *ctx;
};

/* runner_cell_run - what the child does for one cell: enter the sandbox,
 * load the scenario (or take @pre, loaded before the fork; NULL to load),
 * run the cell, write the result as one JSON object to @result_fd.
 * @capdir: where the cell's captures go (made on first use), for every node
 * with @capture_all (--capture), else for what the scenario asks (its
 * `capture` field, natlab.capture, link:capture); "" for none. Returns the
 * child's exit status (never returns an error). */
int runner_cell_child(const json_t *cell, const struct runner_scenario *pre, const char *logdir,
		      const char *log_prefix, const char *capdir, const char *pcap_prefix,
		      bool capture_all, int result_fd);

/* runner_sandbox_check - whether a cell could enter its sandbox here (a
 * throw-away attempt in a child); the reason and the fix in @e if not. */
int runner_sandbox_check(struct natlab_err *e);

/* runner_summary - the terminal summary grid of the array @cells (see
 * summary.h; natlab run builds it as cells finish instead). */
void runner_summary(FILE *out, const json_t *cells);

/* runner_tail - the last @max bytes of the file at @path ("" if none),
 * starting at a line boundary; caller frees. */
char *runner_tail(const char *path, size_t max);

#endif
