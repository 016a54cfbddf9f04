/* impair_model.h - what one direction of an impaired link does to a frame.
 *
 * Pure: no sockets, no clock, no threads. The link emulator (impair.h)
 * feeds every frame it receives to emu_impair_model_admit() with the time
 * it arrived, and gets back when each copy must leave (none when the frame
 * is lost). Unit tests drive it with a fake clock.
 *
 * Order of the stages, the same as a real bottleneck link followed by a
 * long wire:
 *   MTU check -> random loss -> Gilbert-Elliott loss -> duplication ->
 *   rate limiter (FIFO queue with a byte limit, tail drop) ->
 *   delay + jitter (optionally never reordering).
 * The semantics follow sch_netem's documented ones where netem has the same
 * knob, so a scenario means the same thing on a kernel that has netem.
 */
#ifndef NATLAB_EMU_IMPAIR_MODEL_H
#define NATLAB_EMU_IMPAIR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum emu_jitter_dist {
	EMU_JITTER_UNIFORM = 0,	  /* delay +- jitter, flat */
	EMU_JITTER_NORMAL,	  /* jitter is the standard deviation */
	EMU_JITTER_PARETO_NORMAL, /* 1/4 normal + 3/4 Pareto (heavy right tail),
				   * scaled so jitter is the standard deviation */
};

/* One direction of a link. All zero means "a perfect wire". */
struct emu_impair_config {
	uint32_t delay_us;  /* fixed one-way delay */
	uint32_t jitter_us; /* spread around delay_us, see dist */
	enum emu_jitter_dist dist;
	bool reorder; /* false: a frame never leaves before the one sent before it
		       * (jitter then only delays, as netem with a FIFO child) */
	double loss;  /* independent loss probability, 0..1 */
	/* Gilbert-Elliott burst loss (used when ge_p > 0): per frame, lose with
	 * the current state's probability, then move good->bad with ge_p and
	 * bad->good with ge_r. Mean loss = (r*loss_good + p*loss_bad)/(p+r). */
	double ge_p;
	double ge_r;
	double ge_loss_good;
	double ge_loss_bad;
	double dup;	      /* probability that a frame is sent twice */
	uint64_t rate_bps;    /* 0: unlimited. Counts whole Ethernet frames */
	uint32_t queue_bytes; /* rate limiter queue; 0: EMU_IMPAIR_QUEUE_DEFAULT */
	uint32_t mtu;	      /* 0: none; else frames whose L3 size exceeds it
			       * are dropped, as on a link with a smaller MTU */
	uint64_t seed;	      /* PRNG seed; 0 picks a fixed default */
};

/* Default rate-limiter queue: 64 full-size frames, about what a home
 * router's interface queue holds. */
#define EMU_IMPAIR_QUEUE_DEFAULT (64u * 1514u)

/* Why a frame was not sent. */
enum emu_impair_verdict {
	EMU_IMPAIR_PASS = 0,
	EMU_IMPAIR_DROP_MTU,
	EMU_IMPAIR_DROP_LOSS,
	EMU_IMPAIR_DROP_BURST,
	EMU_IMPAIR_DROP_QUEUE,
};

struct emu_impair_model {
	struct emu_impair_config cfg;
	uint64_t rng[4];      /* xoshiro256** state */
	bool ge_bad;	      /* Gilbert-Elliott state */
	uint64_t busy_until;  /* rate limiter: when the link is free (ns) */
	uint64_t last_depart; /* latest departure given, for no-reorder */
};

/* emu_impair_config_check - 0 when @c is usable, else -EINVAL with a
 * message naming the bad field in @msg (@len bytes). */
int emu_impair_config_check(const struct emu_impair_config *c, char *msg, size_t len);

/* emu_impair_model_init - start @m with a copy of @c (already checked). */
void emu_impair_model_init(struct emu_impair_model *m, const struct emu_impair_config *c);

/* emu_impair_model_reconfig - change the settings while frames are in
 * flight: the queue and ordering state carry over, the PRNG is kept. */
void emu_impair_model_reconfig(struct emu_impair_model *m, const struct emu_impair_config *c);

/* emu_impair_model_admit - a frame of @frame_len bytes (Ethernet header
 * included; @l3_len bytes above it, i.e. what the MTU limits) arrived at
 * @now_ns. Fills depart_ns[0..n-1] with when each copy leaves and returns
 * n (0, 1 or 2); with 0, *@why says why the frame was dropped. */
int emu_impair_model_admit(struct emu_impair_model *m, uint64_t now_ns, uint32_t frame_len,
			   uint32_t l3_len, uint64_t depart_ns[2], enum emu_impair_verdict *why);

/* emu_impair_model_uniform - next PRNG value in [0, 1) (exported for tests
 * of the distributions). */
double emu_impair_model_uniform(struct emu_impair_model *m);

/* emu_impair_model_jitter_ns - one signed jitter sample in ns. */
int64_t emu_impair_model_jitter_ns(struct emu_impair_model *m);

#endif
