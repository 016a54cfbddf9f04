/* junit.h - junit.xml from a run: one <testsuite> per scenario, one
 * <testcase> per cell (what CI systems display). */
#ifndef NATLAB_HARNESS_JUNIT_H
#define NATLAB_HARNESS_JUNIT_H

#include <jansson.h>
#include <stdio.h>

struct cellsrc;

/* junit_write - the whole document to @f, reading the cells from @src one
 * at a time (a pass for the suites' counts, then one per suite), so that
 * what it holds is a few bytes per cell, never the cells. 0, -ENOMEM, or
 * -EIO when a cell can no longer be read or @f failed. */
int junit_write(FILE *f, const json_t *run, struct cellsrc *src);

/* junit_render - the whole document of the array @cells; caller frees.
 * NULL on no memory. */
char *junit_render(const json_t *run, const json_t *cells);

/* xml_escape - write @s to @f with &, <, >, " and ' escaped and control
 * characters XML 1.0 forbids dropped (shared with the HTML report). */
void xml_escape(FILE *f, const char *s);

#endif
