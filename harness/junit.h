/* junit.h - junit.xml from a run: one <testsuite> per scenario, one
 * <testcase> per cell (what CI systems display). */
#ifndef NATLAB_HARNESS_JUNIT_H
#define NATLAB_HARNESS_JUNIT_H

#include <jansson.h>
#include <stdio.h>

/* junit_render - the whole document; caller frees. NULL on no memory. */
char *junit_render(const json_t *run, const json_t *cells);

/* xml_escape - write @s to @f with &, <, >, " and ' escaped and control
 * characters XML 1.0 forbids dropped (shared with the HTML report). */
void xml_escape(FILE *f, const char *s);

#endif
