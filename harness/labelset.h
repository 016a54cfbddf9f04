/* labelset.h - the row, column and grid labels of the run's summary
 * tables: strings kept once each, found again through a hash, each with
 * the smallest ordering key it was added with, and listed in that order.
 * Cells finish in any order; a label's key is where its first cell was
 * planned, so the tables come out as if read in planned order. Shared by
 * the terminal summary (harness/summary.c) and the summary grids
 * (harness/rollup.c). */
#ifndef NATLAB_HARNESS_LABELSET_H
#define NATLAB_HARNESS_LABELSET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Where a label comes: by @major (a cell's planned index), ties by
 * @minor (its finishing position). */
struct labelset_key {
	int64_t major;
	uint64_t minor;
};

struct labelset_label {
	char *name;
	struct labelset_key first;
};

/* Zero-initialised is empty. */
struct labelset {
	struct labelset_label *v; /* in first-seen order: a label's position */
	size_t n, cap;
	json_t *map; /* name -> position in v */
};

/* labelset_add - the position of @name (copied), added when new; its key
 * lowered to @k when @k comes earlier. -ENOMEM on no memory (the set is
 * unchanged). */
long labelset_add(struct labelset *l, const char *name, struct labelset_key k);

/* labelset_order - the positions of @l's labels sorted by key, in a new
 * array the caller frees; NULL on no memory. */
size_t *labelset_order(const struct labelset *l);

/* labelset_free - the labels and the hash (not @l itself); accepts an
 * empty set. */
void labelset_free(struct labelset *l);

#endif
