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

/* Outcomes are judged by success rate: of a cell's trials that were not
 * skipped, the share whose outcome is "pass". A cell REGRESSED when its new
 * rate is lower and either
 *   - a one-sided Fisher exact test on the 2x2 table (passed, not passed) x
 *     (base, new) gives p < COMPARE_ALPHA: a drop this large is unlikely if
 *     both runs had the same success probability (10/10 -> 9/10: p = 0.50,
 *     noise; 9/10 -> 1/10: p = 0.0005, a regression), or
 *   - every base trial passed and no new one did (1/1 -> 0/1): with a single
 *     trial there is no spread to weigh, and a cell that always passed and
 *     now never does is what a default one-trial run must catch.
 * "fixed" is the same rule the other way round. A rate change that is
 * neither is reported as "noise" and is not a regression. */
#define COMPARE_ALPHA 0.05

struct compare_summary {
	unsigned same;	    /* cells with the same outcome and path */
	unsigned fixed;	    /* success rate significantly higher (see above) */
	unsigned regressed; /* success rate significantly lower */
	unsigned noise;	    /* success rate changed within noise */
	unsigned path_changed;
	unsigned slower;
	unsigned faster;
	unsigned only_base; /* cells gone from the new run */
	unsigned only_new;
};

/* compare_p_lower - the one-sided Fisher exact p-value that a new success
 * rate of @new_passed/@new_n is this much lower than @base_passed/@base_n
 * by chance: P(base passes >= @base_passed) under the hypergeometric law
 * with the table's margins. 1 when either run has no trials. */
double compare_p_lower(unsigned base_passed, unsigned base_n, unsigned new_passed, unsigned new_n);

/* compare_cells - compare @base and @new (arrays of cells, trials of the
 * same id grouped), print one line per change to @out (may be NULL), fill
 * *@s. Returns the number of regressions (regressed + slower). */
int compare_cells(const json_t *base, const json_t *new_cells, FILE *out,
		  struct compare_summary *s);

#endif
