/* artifacts.h - a cell's files (logs/, pcap/) carried from one result
 * directory into another, so that `natlab merge` writes a run whose every
 * log and capture link resolves.
 *
 * A cell names its files relative to its run directory ("logs" and
 * "pcaps" in cells.jsonl, e.g. logs/<cell>.t0/cell.log). The directory of
 * each named file is carried whole: the agents' logs next to cell.log go
 * along even when the cell names only some of them. Files are hard-linked
 * when both directories are on one filesystem (a run's files are never
 * rewritten once it ended), else copied. */
#ifndef NATLAB_HARNESS_ARTIFACTS_H
#define NATLAB_HARNESS_ARTIFACTS_H

#include <jansson.h>
#include <stdbool.h>

#include "emu/err.h"

/* artifacts_path_ok - whether @rel is a path a cell may name: relative,
 * under logs/ or pcap/, no empty, "." or ".." component. cells.jsonl is
 * input: a path outside those must not make merge read or write
 * elsewhere. */
bool artifacts_path_ok(const char *rel);

struct artifacts_stats {
	unsigned files;	  /* files linked or copied */
	unsigned missing; /* named directories absent from the source run */
	unsigned refused; /* names that artifacts_path_ok refused */
};

/* artifacts_carry - the files of @cell from run directory @from into run
 * directory @to (which exists), creating the directories under it. @done
 * (a JSON object used as a set, borrowed) holds the directories already
 * carried and is updated, so a directory two cells share is carried once
 * and a later run's copy never overwrites an earlier one. Adds to *@st.
 * 0, or a negative errno with @e filled when @to cannot be written. */
int artifacts_carry(const char *from, const char *to, const json_t *cell, json_t *done,
		    struct artifacts_stats *st, struct natlab_err *e);

#endif
