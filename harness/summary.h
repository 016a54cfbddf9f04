/* summary.h - the terminal summary grid printed at the end of `natlab run`:
 * one table per grid, a row per row value, a column per column value, each
 * square its most common path ("!" when some trial was not on the expected
 * one), and when it holds several trials (or a failure) how many passed
 * ("9/10", skipped trials left out) and the median connect time.
 *
 * It is built as cells finish, in any order, and keeps per grid, row,
 * column and square a label, an ordering key and counts, plus at most 1024
 * connect times per square: its size follows the matrix, not the length of
 * the run. The table comes out as if the cells had been read in planned
 * order (by "index", ties in finishing order): rows and columns in the
 * order they first appear; a square's counts do not depend on order (the
 * median does only past 1024 timed trials of one square).
 *
 * After the grids come the scenarios' summary grids (harness/rollup.h):
 * each square "97% 35/36 2u 1f 3s", the pass rate and passed/applicable,
 * then the unsupported, failed and skipped counts that are not zero. */
#ifndef NATLAB_HARNESS_SUMMARY_H
#define NATLAB_HARNESS_SUMMARY_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct summary;

/* summary_new - an empty summary; NULL on no memory. Caller frees. */
struct summary *summary_new(void);

/* summary_add - cell @c, the @pos-th recorded (0-based finishing order).
 * Cells without a "grid" with string "name", "row" and "col" are not drawn.
 * 0, or -ENOMEM (the summary then lacks that cell). */
int summary_add(struct summary *s, const json_t *c, size_t pos);

/* summary_print - the tables, to @out. */
void summary_print(const struct summary *s, FILE *out);

/* summary_free - accepts NULL. */
void summary_free(struct summary *s);

#endif
