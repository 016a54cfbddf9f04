/* cellplan.h - the cells a run plans, handed out one at a time.
 *
 * A scenario expands to its matrix points (scenario_cells with one trial);
 * the plan keeps those and makes each (point, trial) cell only when the
 * runner asks for it, so that what `natlab run` holds follows the matrix,
 * not matrix x trials: 10,000 trials of one cell cost one cell. Each cell
 * made gets its "trial", its "index" (its place in the whole expansion,
 * counted before --filter and --shard so shards agree: point * trials +
 * trial, after the cells of the scenarios before it), "scenario_file" and
 * "seed"; cells --filter or --shard leave out are skipped. */
#ifndef NATLAB_HARNESS_CELLPLAN_H
#define NATLAB_HARNESS_CELLPLAN_H

#include <jansson.h>
#include <stddef.h>

#include "harness/runopts.h"

struct cellplan;

/* cellplan_new - an empty plan for @o's trials, filter, shard and seed
 * (@o is borrowed: it must outlive the plan). NULL on no memory. */
struct cellplan *cellplan_new(const struct runopts *o);

/* cellplan_add - the matrix points of one scenario (@points: an array of
 * cells with trial 0, from scenario_cells(..., 1, ...); referenced, not
 * copied), whose file is @scenario_file; @tag (borrowed, may be NULL) is
 * handed back with each of its cells. 0 or -ENOMEM. */
int cellplan_add(struct cellplan *p, json_t *points, const char *scenario_file, void *tag);

/* cellplan_count - how many cells the plan selects. */
size_t cellplan_count(const struct cellplan *p);

/* cellplan_next - the next selected cell, a new object the caller owns,
 * and its scenario's tag in *@tag (when @tag is not NULL); NULL when there
 * is none left (or on no memory). */
json_t *cellplan_next(struct cellplan *p, void **tag);

/* cellplan_free - accepts NULL. */
void cellplan_free(struct cellplan *p);

#endif
