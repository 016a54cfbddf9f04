/* impair_fault.h - faults injected at run time, each one call that takes
 * effect before it returns, and recorded with its time in an event log the
 * harness reads (and writes next to a cell's results).
 *
 * Faults here: an impaired link's carrier down/up, any interface down/up, a
 * path blackholed in one direction only, and a host roaming to another
 * address. NAT faults (flush mappings, change behaviour) belong to the NAT
 * engine; the harness records them in the same log with
 * emu_fault_log_record() so one timeline holds every fault of a run.
 */
#ifndef NATLAB_EMU_IMPAIR_FAULT_H
#define NATLAB_EMU_IMPAIR_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "emu/err.h"
#include "emu/impair.h"
#include "emu/node.h"

#define EMU_FAULT_KIND_MAX   24
#define EMU_FAULT_TARGET_MAX 64
#define EMU_FAULT_DETAIL_MAX 160

struct emu_fault_event {
	uint64_t mono_ns;		   /* CLOCK_MONOTONIC when the fault took effect */
	uint64_t real_ns;		   /* CLOCK_REALTIME at the same moment */
	char kind[EMU_FAULT_KIND_MAX];	   /* "link-down", "blackhole-on", "roam", ... */
	char target[EMU_FAULT_TARGET_MAX]; /* which link, interface or node */
	char detail[EMU_FAULT_DETAIL_MAX]; /* parameters, or the error text */
	int result;			   /* 0, or the negative errno of a failed fault */
};

struct emu_fault_log;

/* emu_fault_log_new - an empty log. Caller owns it; thread-safe. */
int emu_fault_log_new(struct emu_fault_log **out, struct natlab_err *e);
void emu_fault_log_free(struct emu_fault_log *log); /* accepts NULL */

/* emu_fault_log_record - append an event stamped now (strings copied,
 * cut to their bounds). For faults done elsewhere, e.g. a NAT flush. */
int emu_fault_log_record(struct emu_fault_log *log, const char *kind, const char *target,
			 int result, const char *detail_fmt, ...)
    __attribute__((format(printf, 5, 6)));

size_t emu_fault_log_count(struct emu_fault_log *log);

/* emu_fault_log_get - copy event @i (0 = oldest) into *@ev; -ENOENT past
 * the end. */
int emu_fault_log_get(struct emu_fault_log *log, size_t i, struct emu_fault_event *ev);

/* emu_fault_log_write_jsonl - one JSON object per event, oldest first:
 * {"t_mono_ns":..,"t_real_ns":..,"kind":"..","target":"..","detail":"..","result":0} */
int emu_fault_log_write_jsonl(struct emu_fault_log *log, FILE *f);

/* emu_fault_link_set - carrier of impaired link @l (called @name in the
 * log) down or up: see emu_impair_set_up(). */
int emu_fault_link_set(struct emu_fault_log *log, struct emu_impair *l, const char *name, bool up,
		       struct natlab_err *e);

/* emu_fault_iface_set - interface @ifname of node @n down or up (for a
 * plain veth link: the peer sees NO-CARRIER). */
int emu_fault_iface_set(struct emu_fault_log *log, struct emu_node *n, const char *ifname, bool up,
			struct natlab_err *e);

/* emu_fault_blackhole - drop direction @dir of impaired link @l while @on;
 * the other direction and the carrier are untouched. Note that ARP and ND
 * replies crossing the blackholed direction are lost too, as on a real
 * one-way failure. */
int emu_fault_blackhole(struct emu_fault_log *log, struct emu_impair *l, const char *name,
			enum emu_impair_dir dir, bool on);

/* emu_fault_roam - host @n moves to another network on @ifname: @old_cidr
 * is removed (NULL: none), @new_cidr added, and the default route of its
 * family replaced by one via @gateway (NULL: routes untouched). Sockets
 * bound to the old address stop working, as on a real move. */
int emu_fault_roam(struct emu_fault_log *log, struct emu_node *n, const char *ifname,
		   const char *old_cidr, const char *new_cidr, const char *gateway,
		   struct natlab_err *e);

#endif
