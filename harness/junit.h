/* junit.h - junit.xml from a run: one <testsuite> per scenario, one
 * <testcase> per cell (what CI systems display). */
#ifndef NATLAB_HARNESS_JUNIT_H
#define NATLAB_HARNESS_JUNIT_H

#include <jansson.h>
#include <stdio.h>

#include "emu/err.h"

struct cellsrc;

/* junit_write - the whole document to @f, reading the cells from @src one
 * at a time (a pass for the suites' counts, then one per suite), so that
 * what it holds is a few bytes per cell, never the cells. 0, -ENOMEM, or
 * -EIO when a cell can no longer be read or @f failed. */
int junit_write(FILE *f, const json_t *run, struct cellsrc *src);

/* junit_render - the whole document of the array @cells; caller frees.
 * NULL on no memory. */
char *junit_render(const json_t *run, const json_t *cells);

/* junit_stream_new - junit.xml of a running run in @dir, written as a
 * stream: each finished cell's testcase is appended to a part file of its
 * suite (@dir/<@part_prefix><k>.part, e.g. ".junit-"), counts are kept per
 * suite, and junit_stream_write puts the document together once at the
 * end. What it holds is a few words per suite, nothing per cell. Two
 * streams in one directory need different prefixes. Caller owns *@out. */
struct junit_stream;
int junit_stream_new(const char *dir, const char *part_prefix, struct junit_stream **out,
		     struct natlab_err *e);

/* junit_stream_add - append cell @c's testcase (the file named in @e on
 * failure: a full disk must say which file). */
int junit_stream_add(struct junit_stream *j, const json_t *c, struct natlab_err *e);

/* junit_stream_write - the document to @f: the same bytes as junit_write
 * of the cells added, in the order added. 0 or a negative errno. */
int junit_stream_write(FILE *f, const json_t *run, struct junit_stream *j);

/* junit_stream_free - remove the part files; accepts NULL. */
void junit_stream_free(struct junit_stream *j);

/* xml_escape - write @s to @f with &, <, >, " and ' escaped and control
 * characters XML 1.0 forbids dropped (shared with the HTML report). */
void xml_escape(FILE *f, const char *s);

#endif
