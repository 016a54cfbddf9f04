/* compare.h - `natlab compare BASE NEW`: which cells changed outcome or
 * path, and which got slower beyond noise. Pure over two cell arrays. */
#ifndef NATLAB_HARNESS_COMPARE_H
#define NATLAB_HARNESS_COMPARE_H

#include <jansson.h>
#include <stdio.h>

/* Slower "beyond noise": the new median connect time exceeds the base's
 * 95th percentile (its own spread) by COMPARE_SLOWER_FACTOR and by at least
 * COMPARE_SLOWER_MIN_MS, so one slow trial in a noisy base is not flagged. */
#define COMPARE_SLOWER_FACTOR 1.25
#define COMPARE_SLOWER_MIN_MS 50.0

struct compare_summary {
	unsigned same;	    /* cells with the same outcome and path */
	unsigned fixed;	    /* were failing, now pass */
	unsigned regressed; /* were passing, now fail or error */
	unsigned path_changed;
	unsigned slower;
	unsigned faster;
	unsigned only_base; /* cells gone from the new run */
	unsigned only_new;
};

/* compare_cells - compare @base and @new (arrays of cells, trials of the
 * same id grouped), print one line per change to @out (may be NULL), fill
 * *@s. Returns the number of regressions (regressed + slower). */
int compare_cells(const json_t *base, const json_t *new_cells, FILE *out,
		  struct compare_summary *s);

#endif
