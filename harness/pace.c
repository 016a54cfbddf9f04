/* pace.c - cells in flight from what cells spend. */
#include "harness/pace.h"

/* Weight of a new measurement in the running averages: a few cells or
 * samples move them, one odd cell does not. */
#define PACE_EWMA 0.2
/* A cell's CPU share is never taken below this (a cell that slept for its
 * whole deadline would otherwise allow thousands). */
#define PACE_SHARE_MIN 0.005
/* A cell in flight costs at least this much memory (kB): the supervisor and
 * the lab process, even when their peak says less. */
#define PACE_CELL_KB_MIN 4096.0
/* A memory sample larger than this per cell is someone else's allocation. */
#define PACE_CELL_KB_MAX (1024.0 * 1024.0)

static double ewma(double old, double sample)
{
	return old < 0 ? sample : old + PACE_EWMA * (sample - old);
}

unsigned pace_ceiling(unsigned cores)
{
	return (cores ? cores : 1) * PACE_CEILING_PER_CORE;
}

void pace_init(struct pace *p, unsigned cores, unsigned ceiling, uint64_t mem_total_kb,
	       uint64_t mem_avail_kb)
{
	p->cores = cores ? cores : 1;
	p->ceiling = ceiling ? ceiling : pace_ceiling(p->cores);
	p->share = -1;
	p->cell_kb = -1;
	p->external = 0;
	p->mem_total_kb = mem_total_kb;
	p->mem_base_kb = mem_avail_kb;
	p->cells_seen = 0;
}

void pace_cell_done(struct pace *p, uint64_t cpu_us, uint64_t wall_us, uint64_t maxrss_kb)
{
	double s = wall_us ? (double)cpu_us / (double)wall_us : 1.0;

	if (s < PACE_SHARE_MIN)
		s = PACE_SHARE_MIN;
	p->share = ewma(p->share, s);
	if ((double)maxrss_kb > p->cell_kb)
		p->cell_kb = ewma(p->cell_kb, (double)maxrss_kb);
	p->cells_seen++;
}

void pace_machine(struct pace *p, double busy, uint64_t mem_avail_kb, unsigned running)
{
	double ours = p->share < 0 ? 0 : (double)running * p->share / (double)p->cores;
	double ext = busy - ours;

	ext = ext < 0 ? 0 : ext > 1 ? 1 : ext;
	p->external = p->external + PACE_EWMA * (ext - p->external);
	if (running == 0 || mem_avail_kb > p->mem_base_kb) {
		/* nothing of ours in flight, or others freed memory */
		p->mem_base_kb = mem_avail_kb;
	} else {
		double per = (double)(p->mem_base_kb - mem_avail_kb) / (double)running;
		if (per > p->cell_kb && per < PACE_CELL_KB_MAX)
			p->cell_kb = ewma(p->cell_kb, per);
	}
}

unsigned pace_limit(const struct pace *p)
{
	double cores_left, cpu, mem, cell_kb, reserve;
	unsigned lim;

	if (p->cells_seen == 0 || p->share < 0) {
		lim = p->cores;
		goto out;
	}
	/* CPU: fill PACE_CPU_SHARE of the cores nobody else is using; when
	 * others use all of them, our cells still get a core's worth. */
	cores_left = (double)p->cores * (1.0 - p->external);
	if (cores_left < 1.0)
		cores_left = 1.0;
	cpu = cores_left * PACE_CPU_SHARE / p->share;
	/* memory: what is available (with ours in flight given back) less the
	 * reserve, over what a cell costs */
	cell_kb = p->cell_kb < PACE_CELL_KB_MIN ? PACE_CELL_KB_MIN : p->cell_kb;
	reserve = (double)p->mem_total_kb * PACE_MEM_RESERVE;
	mem = ((double)p->mem_base_kb - reserve) / cell_kb;
	lim = cpu < mem ? (unsigned)cpu : (mem > 0 ? (unsigned)mem : 0);
out:
	if (lim > p->ceiling)
		lim = p->ceiling;
	if (lim < 1)
		lim = 1;
	return lim;
}
