/* summary.h - the terminal summary grid printed at the end of `natlab run`:
 * one table per grid, a row per row value, a column per column value, each
 * square the path of its last trial ("!" when not the expected one).
 *
 * It is built as cells finish, in any order, and keeps per grid, row,
 * column and square only a label and an ordering key: its size follows the
 * matrix, not the number of cells or trials, so a long run does not grow
 * with it. The table comes out as if the cells had been read in planned
 * order (by "index", ties in finishing order): rows and columns in the order
 * they first appear, each square from the last cell that fell in it. */
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
