/* pace.h - how many cells `natlab run` keeps in flight when --jobs is not
 * given: chosen from what the cells spend, not from the number of cores.
 *
 * A cell mostly waits on protocol timers (RFC 8445 pacing, STUN
 * retransmissions, TURN allocations), so its processes use a small share
 * of a core over its wall time. The pacer learns that share from each
 * finished cell (CPU time of the cell's whole process tree, from wait4,
 * over its wall time) and the memory a cell in flight costs (its largest
 * process, and the drop of the machine's available memory per cell in
 * flight), watches how busy the machine is (other work included), and
 * allows as many cells as fill PACE_CPU_SHARE of the cores left to it,
 * within the memory left and never more than a ceiling that keeps the
 * cells' own timings honest (docs/performance.md, "Cells in flight").
 *
 * Pure: the caller feeds measurements in; no clock, no /proc. Unit-tested. */
#ifndef NATLAB_HARNESS_PACE_H
#define NATLAB_HARNESS_PACE_H

#include <stdint.h>

/* The share of the cores left to natlab that its cells may fill. */
#define PACE_CPU_SHARE 0.75
/* At most this many cells in flight per core: on the 2-core machine, 6 in
 * flight ran the default matrix as fast as 8, 10 or 12 (7.8 s against
 * 7.5-8.6 s) with its connect times within 5 % (median) and 9 % (p90) of
 * --jobs 2's, where 8-12 stretched the p90 by 12-40 %; and ran
 * topology-only cells faster than 10 (29 against 25 cells/s: the kernel
 * serialises namespace and device creation). docs/performance.md, "Cells
 * in flight". Measured on 2 cores only: more cores get proportionally more. */
#define PACE_CEILING_PER_CORE 3
/* Memory kept free for everything else: this share of the machine's. */
#define PACE_MEM_RESERVE 0.25

struct pace {
	unsigned cores;
	unsigned ceiling;
	double share;	 /* EWMA of a cell's CPU time / wall time; < 0 unknown */
	double cell_kb;	 /* EWMA of the memory a cell in flight costs, kB */
	double external; /* EWMA of the machine's busy share not ours, 0..1 */
	uint64_t mem_total_kb;
	uint64_t mem_base_kb; /* available with nothing of ours in flight */
	unsigned cells_seen;
};

/* pace_ceiling - the most cells in flight on @cores cores. */
unsigned pace_ceiling(unsigned cores);

/* pace_init - a pacer for @cores cores (>= 1), at most @ceiling cells (0 =
 * pace_ceiling(@cores)), on a machine with @mem_total_kb and @mem_avail_kb now
 * (nothing of the run in flight yet). Until a cell has finished it allows
 * @cores cells. */
void pace_init(struct pace *p, unsigned cores, unsigned ceiling, uint64_t mem_total_kb,
	       uint64_t mem_avail_kb);

/* pace_cell_done - a cell finished: it used @cpu_us of CPU (its process
 * tree) over @wall_us, its largest process peaked at @maxrss_kb. */
void pace_cell_done(struct pace *p, uint64_t cpu_us, uint64_t wall_us, uint64_t maxrss_kb);

/* pace_machine - a sample of the whole machine: @busy (0..1) the share of
 * all cores busy since the last sample (anyone's work), @mem_avail_kb, and
 * @running cells of ours in flight during it. */
void pace_machine(struct pace *p, double busy, uint64_t mem_avail_kb, unsigned running);

/* pace_limit - how many cells may be in flight now (1..ceiling). */
unsigned pace_limit(const struct pace *p);

#endif
