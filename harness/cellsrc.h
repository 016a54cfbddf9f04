/* cellsrc.h - a run's cells handed out one at a time, so that whoever
 * renders them (junit.xml, report.html, the summary) never holds more than
 * one parsed cell: read back from cells.jsonl on disk, or borrowed from an
 * array already in memory (natlab merge, tests, the fuzz target).
 *
 * What a source keeps per cell is a few words (where its line starts, how
 * long it is, its planned "index"), never the cell itself; a renderer that
 * needs the cells in planned order asks for that order as an array of
 * positions. Both live only as long as one render. */
#ifndef NATLAB_HARNESS_CELLSRC_H
#define NATLAB_HARNESS_CELLSRC_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "emu/err.h"

struct cellsrc;

/* cellsrc_file_open - scan @path (a cells.jsonl) once: every line must be a
 * JSON object, except empty lines (skipped) and a torn last line with no
 * newline (a run killed mid-write: ignored). Any other bad line is an error
 * naming the file and line. A missing file is a source of no cells (a run
 * killed before its first cell). Caller owns *@out (cellsrc_free). */
int cellsrc_file_open(const char *path, struct cellsrc **out, struct natlab_err *e);

/* cellsrc_array_new - the cells of @cells (an array of objects; anything
 * else in it is skipped), borrowed: @cells must outlive the source. NULL on
 * no memory. */
struct cellsrc *cellsrc_array_new(const json_t *cells);

/* cellsrc_count - how many cells. */
/* cellsrc_render - what @write (junit_write, report_write) makes of @run
 * and the in-memory @cells, as a malloc'd string; NULL on failure. */
typedef int (*cellsrc_writer)(FILE *f, const json_t *run, struct cellsrc *src);
char *cellsrc_render(cellsrc_writer write, const json_t *run, const json_t *cells);

size_t cellsrc_count(const struct cellsrc *s);

/* cellsrc_get - cell @i (0-based, in file or array order) as a new
 * reference the caller decrefs; NULL when it can no longer be read (the
 * file changed under us) or on no memory. */
json_t *cellsrc_get(struct cellsrc *s, size_t i);

/* cellsrc_planned_order - the positions of every cell sorted by its
 * "index" (its place in the expanded matrix, the same in every shard),
 * cells without one last, ties in file order: the order the report and the
 * summary draw. Caller frees; NULL on no memory (or no cells). */
size_t *cellsrc_planned_order(const struct cellsrc *s);

/* cellsrc_free - accepts NULL. */
void cellsrc_free(struct cellsrc *s);

#endif
