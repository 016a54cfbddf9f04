/* profile.c - per-phase CPU and wall time of a cell (NATLAB_PROFILE=1). */
#include "harness/profile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PROFILE_PHASES 16

struct phase {
	const char *name;
	double self_ms, children_ms, wall_ms;
};

static struct {
	int on;
	pid_t pid; /* the process that started: a fork starts from zero */
	double self_ms, children_ms, wall_ms; /* at the last mark */
	struct phase ph[PROFILE_PHASES];
	int n;
} prof;

static double cpu_ms(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void profile_start(void)
{
	const char *v = getenv("NATLAB_PROFILE");

	prof.on = v && strcmp(v, "1") == 0;
	prof.n = 0;
	if (!prof.on)
		return;
	prof.pid = getpid();
	prof.self_ms = cpu_ms(RUSAGE_SELF);
	prof.children_ms = cpu_ms(RUSAGE_CHILDREN);
	prof.wall_ms = wall_ms();
}

void profile_mark(const char *name)
{
	double s, c, w;

	if (!prof.on || prof.n >= PROFILE_PHASES)
		return;
	if (getpid() != prof.pid) {
		/* a child of the process that started (the sandbox's lab
		 * process): its own usage began at zero */
		prof.pid = getpid();
		prof.self_ms = 0;
		prof.children_ms = 0;
	}
	s = cpu_ms(RUSAGE_SELF);
	c = cpu_ms(RUSAGE_CHILDREN);
	w = wall_ms();
	prof.ph[prof.n++] = (struct phase){name, s - prof.self_ms, c - prof.children_ms,
					   w - prof.wall_ms};
	prof.self_ms = s;
	prof.children_ms = c;
	prof.wall_ms = w;
}

void profile_print(FILE *f)
{
	if (!prof.on)
		return;
	fprintf(f, "natlab-profile");
	for (int i = 0; i < prof.n; i++)
		fprintf(f, " %s=%.2f/%.2f/%.2f", prof.ph[i].name, prof.ph[i].self_ms,
			prof.ph[i].children_ms, prof.ph[i].wall_ms);
	fprintf(f, "\n");
	fflush(f);
}
