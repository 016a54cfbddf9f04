/* profile.h - where a cell's time and CPU go, phase by phase, when the
 * environment has NATLAB_PROFILE=1: each mark records the CPU the calling
 * process used (user + system) and the CPU of the children it reaped
 * (agents) since the previous mark, and the wall time; profile_print writes
 * them as one line the bench reads from each cell's cell.log:
 *   natlab-profile enter=<self>/<children>/<wall> load=... (milliseconds)
 * Off, every call returns at once. One process's state: the cell's lab
 * process marks its own phases (the first, "enter", counts only the lab
 * process's own share: the sandbox's supervisor forks it). */
#ifndef NATLAB_HARNESS_PROFILE_H
#define NATLAB_HARNESS_PROFILE_H

#include <stdio.h>

/* profile_start - begin (when NATLAB_PROFILE=1): the time and CPU so far
 * are the baseline of the first phase. */
void profile_start(void);

/* profile_mark - phase @name (a string constant) ends now. At most 16. */
void profile_mark(const char *name);

/* profile_print - the phases marked, one line on @f. */
void profile_print(FILE *f);

#endif
