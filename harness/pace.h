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
/* At most this many cells in flight: the most that kept the default
 * matrix's connect times within 10 % (median) and 20 % (p90) of --jobs 2's
 * on the 2-core machine; at 12 the p90 was 37 % longer for 10 % less wall
 * time (docs/performance.md, "Cells in flight"). */
#define PACE_CEILING 10
/* Memory kept free for everything else: this share of the machine's. */
#define PACE_MEM_RESERVE 0.25

struct pace {
	unsigned cores;
	unsigned ceiling;
	double share;	      /* EWMA of a cell's CPU time / wall time; < 0 unknown */
	double cell_kb;	      /* EWMA of the memory a cell in flight costs, kB */
	double external;      /* EWMA of the machine's busy share not ours, 0..1 */
	uint64_t mem_total_kb;
	uint64_t mem_avail_kb; /* last sample */
	uint64_t mem_base_kb;  /* available with nothing of ours in flight */
	unsigned cells_seen;
	unsigned limit; /* what pace_limit returned last */
};

/* pace_init - a pacer for @cores cores (>= 1), at most @ceiling cells (0 =
 * PACE_CEILING), on a machine with @mem_total_kb and @mem_avail_kb now
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
unsigned pace_limit(struct pace *p);

#endif
