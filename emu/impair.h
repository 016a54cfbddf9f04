/* impair.h - impaired links: a userspace link emulator between two nodes.
 *
 * An impaired link looks to its two nodes like a plain veth link (one
 * interface each, same MAC-level behaviour, ARP and IPv6 ND pass), but it is
 * built from two veth pairs meeting in a hidden "wire" namespace:
 *
 *   node A: ifname_a <-veth-> "a" [wire ns] "b" <-veth-> ifname_b :node B
 *
 * A thread owned by the link reads every frame arriving at "a" or "b" with
 * an AF_PACKET socket, runs it through that direction's impairment model
 * (impair_model.h: loss, burst loss, duplication, rate and queue, delay,
 * jitter, MTU) and writes it out of the other end when its time comes. No
 * sch_netem and no /dev/net/tun: this works as an unprivileged user inside
 * the sandbox's user namespace. See docs/impairments.md.
 *
 * Every call here is thread-safe with respect to the emulator thread and
 * takes effect for the next frame (faults also drop frames in flight).
 */
#ifndef NATLAB_EMU_IMPAIR_H
#define NATLAB_EMU_IMPAIR_H

#include <stdbool.h>
#include <stdint.h>
#include "emu/err.h"
#include "emu/impair_model.h"
#include "emu/node.h"

enum emu_impair_dir {
	EMU_IMPAIR_A_TO_B = 0,
	EMU_IMPAIR_B_TO_A = 1,
};

struct emu_impair;

/* emu_impair_new - build an impaired link: interface @ifname_a in node @a,
 * interface @ifname_b in node @b, both up, and start its emulator thread
 * with perfect-wire settings in both directions. The nodes must outlive
 * the link. Caller owns *@out and frees it with emu_impair_free(). */
int emu_impair_new(struct emu_node *a, const char *ifname_a, struct emu_node *b,
		   const char *ifname_b, struct emu_impair **out, struct natlab_err *e);

/* emu_impair_free - stop the thread, drop frames in flight, close the
 * sockets and any capture, and destroy the wire namespace (which removes
 * both veth pairs, so ifname_a and ifname_b vanish too). Accepts NULL and
 * half-built links. */
void emu_impair_free(struct emu_impair *l);

/* emu_impair_set - replace the settings of direction @dir (copied). */
int emu_impair_set(struct emu_impair *l, enum emu_impair_dir dir, const struct emu_impair_config *c,
		   struct natlab_err *e);

/* emu_impair_set_up - the link's carrier: down takes both wire-side ends
 * down (so both nodes see NO-CARRIER, as when a cable is pulled) and drops
 * every frame in flight; up restores it. */
int emu_impair_set_up(struct emu_impair *l, bool up, struct natlab_err *e);

/* emu_impair_blackhole - silently drop every frame of direction @dir (and
 * those of it already in flight) while @on; the other direction is not
 * touched and the carrier stays up. */
void emu_impair_blackhole(struct emu_impair *l, enum emu_impair_dir dir, bool on);

/* emu_impair_capture_start - write every frame the link delivers, both
 * directions, at the moment it leaves the emulator, to the pcap file @path.
 * Frames the impairments drop are not in it; duplicates are there twice.
 * emu_impair_capture_stop flushes and closes it (returns a write error). */
int emu_impair_capture_start(struct emu_impair *l, const char *path, struct natlab_err *e);
int emu_impair_capture_stop(struct emu_impair *l);

struct emu_impair_stats {
	uint64_t rx; /* frames that entered the direction */
	uint64_t tx; /* copies delivered */
	uint64_t drop_mtu;
	uint64_t drop_loss;   /* random loss */
	uint64_t drop_burst;  /* Gilbert-Elliott */
	uint64_t drop_queue;  /* rate limiter queue full, or in-flight cap */
	uint64_t drop_fault;  /* link down or blackholed */
	uint64_t tx_error;    /* the kernel refused to send */
	uint64_t late_ns_max; /* worst lateness of a departure vs. its schedule */
};

/* emu_impair_stats - counters of direction @dir, and the CPU time the
 * emulator thread used so far (both directions) in *@cpu_ns if non-NULL. */
void emu_impair_stats(struct emu_impair *l, enum emu_impair_dir dir, struct emu_impair_stats *s,
		      uint64_t *cpu_ns);

/* Largest number of frames held in flight by one link; more are dropped and
 * counted in drop_queue (bounds memory at high rate x long delay). */
#define EMU_IMPAIR_INFLIGHT_MAX 200000u

#endif
