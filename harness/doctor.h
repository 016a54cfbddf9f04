/* doctor.h - `natlab doctor`: what the lab needs, what this machine has. */
#ifndef NATLAB_HARNESS_DOCTOR_H
#define NATLAB_HARNESS_DOCTOR_H

#include <stdio.h>

/* doctor_run - print one line per check to @out. Enters the lab sandbox
 * itself (so every probe object dies with it). Returns 0 when the lab can
 * run here, 2 when something it needs is missing (each with a fix). */
int doctor_run(FILE *out);

#endif
