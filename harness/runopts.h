/* runopts.h - the options of `natlab run` (and `list`, `exec`), parsed
 * from argv into plain data, and the cell selection they imply (filter,
 * deterministic sharding). Pure: no Lua, no kernel; unit-tested. */
#ifndef NATLAB_HARNESS_RUNOPTS_H
#define NATLAB_HARNESS_RUNOPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/err.h"

#define RUNOPTS_MAX 64 /* scenarios, -p pairs, exec argv words */

struct runopts {
	const char *scenarios[RUNOPTS_MAX]; /* borrowed from argv */
	unsigned n_scenarios;
	const char *param_keys[RUNOPTS_MAX]; /* -p key=value, split in place */
	const char *param_values[RUNOPTS_MAX];
	unsigned n_params;
	unsigned trials; /* --trials, >= 1 */
	unsigned jobs;	 /* --jobs N (>= 1); 0 = auto (the default): paced (pace.h) */
	uint64_t seed;	 /* --seed; default from the clock */
	bool seed_given;
	const char *out;    /* --out: the results root; default "results" */
	const char *filter; /* --filter: glob over cell ids, NULL = all */
	bool capture;	    /* --capture */
	unsigned shard_k;   /* --shard K/N: 1-based K */
	unsigned shard_n;   /* 0 = no sharding */
	unsigned timeout_s; /* --timeout: per-cell deadline override, 0 = scenario's */
	bool help;
};

/* runopts_parse - parse @argv[1..] (argv[0] is the command name). Options
 * and scenario paths may be interleaved; "--" ends the options. Modifies
 * "key=value" words in place. On error returns -EINVAL with a message
 * naming the bad word and the expected form. */
int runopts_parse(int argc, char **argv, struct runopts *o, struct natlab_err *e);

/* runopts_shard_parse - "K/N" with 1 <= K <= N. */
int runopts_shard_parse(const char *s, unsigned *k, unsigned *n, struct natlab_err *e);

/* runopts_param_split - split "key=value" in place; -EINVAL if malformed. */
int runopts_param_split(char *kv, const char **key, const char **value, struct natlab_err *e);

/* runopts_shard_of - the shard (1..n) a cell belongs to: FNV-1a of
 * "@id#@trial" mod @n, so each cell's shard never depends on which other
 * cells exist, on their order, or on the machine. */
unsigned runopts_shard_of(const char *id, unsigned trial, unsigned n);

/* runopts_selected - whether the cell passes --filter and --shard. */
bool runopts_selected(const struct runopts *o, const char *id, unsigned trial);

/* runopts_cell_seed - the seed of one cell: derived from the run seed and
 * the cell's identity, so re-running one cell with --filter and --seed
 * gives it the same seed it had in the full run. */
uint64_t runopts_cell_seed(uint64_t run_seed, const char *id, unsigned trial);

#endif
