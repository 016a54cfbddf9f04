/* rollup.h - the summary grids of a run: a grid over the grids, declared by
 * a scenario (scenario{summary = {rows = "param", cols = "param"}},
 * docs/lua-api.md), e.g. implementation x implementation over the 9 x 9
 * NAT grids of each pair (scenarios/interop.lua).
 *
 * A cell takes part when its "grid" holds a "summary" object with string
 * "name", "row" and "col" (results/README.md). Each square counts every
 * cell of one (row, col): how many passed, failed ("fail", and "error" or
 * "timeout": the cell gave no verdict), were `unsupported` (an
 * implementation declared it cannot do what the cell needs) and
 * `skipped`; the cells that count for its pass rate, the applicable ones,
 * are the others (passed + failed). It also keeps the grid ("grid.name")
 * of its first cell, which the report links to.
 *
 * Bounded by the summary (labels and squares), not by the cells; the
 * counts do not depend on the order cells come in, and rows and columns
 * come out in the order of the earliest key a label was added with. */
#ifndef NATLAB_HARNESS_ROLLUP_H
#define NATLAB_HARNESS_ROLLUP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/labelset.h"

struct rollup;

/* One square. Strings are the rollup's (valid until rollup_free). */
struct rollup_square {
	size_t cells;	    /* every cell of the square, trials counted */
	size_t passed;	    /* outcome "pass" */
	size_t failed;	    /* "fail", "error", "timeout" (or none) */
	size_t unsupported; /* "unsupported" */
	size_t skipped;	    /* "skipped" */
	const char *grid;   /* grid.name of the cell with the smallest order */
};

/* rollup_new - an empty rollup; NULL on no memory. Caller frees. */
struct rollup *rollup_new(void);

/* rollup_free - accepts NULL. */
void rollup_free(struct rollup *r);

/* rollup_add - cell @c, @k its place (the planned one where known,
 * harness/labelset.h): the earliest decides where a row or column goes
 * and which grid a square links to. A cell without a summary is left out
 * (0). 0, or -ENOMEM (the rollup then lacks the cell). */
int rollup_add(struct rollup *r, const json_t *c, struct labelset_key k);

/* rollup_count - how many summaries (distinct names) were seen. */
size_t rollup_count(const struct rollup *r);

/* rollup_name, rollup_row_label, rollup_col_label - summary @i's name
 * and the params its rows and columns are ("" when not given); @i <
 * rollup_count, in the order summaries were first seen. */
const char *rollup_name(const struct rollup *r, size_t i);
const char *rollup_row_label(const struct rollup *r, size_t i);
const char *rollup_col_label(const struct rollup *r, size_t i);

/* rollup_rows, rollup_cols - how many rows (columns) summary @i has, and
 * rollup_row / rollup_col the @k-th in order. */
size_t rollup_rows(const struct rollup *r, size_t i);
size_t rollup_cols(const struct rollup *r, size_t i);
const char *rollup_row(const struct rollup *r, size_t i, size_t k);
const char *rollup_col(const struct rollup *r, size_t i, size_t k);

/* rollup_square - summary @i's square at row @rk, column @ck (positions in
 * order), or NULL when no cell fell there. */
const struct rollup_square *rollup_square(const struct rollup *r, size_t i, size_t rk, size_t ck);

/* rollup_applicable - the cells of @sq its pass rate is over: passed +
 * failed (neither skipped nor unsupported). */
size_t rollup_applicable(const struct rollup_square *sq);

/* rollup_percent - @sq's pass rate in percent, rounded down (so that 100
 * means every applicable cell passed); -1 when none is applicable. */
int rollup_percent(const struct rollup_square *sq);

#endif
