/* evidence.h - each NAT node's evidence in a cell (emu/nat_evidence.h):
 * the drop log started when the node becomes a NAT, the counters and drops
 * turned into the cell record's `evidence` (results/README.md), and the
 * sentence a failed cell's message gets from them. */
#ifndef NATLAB_HARNESS_EVIDENCE_H
#define NATLAB_HARNESS_EVIDENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/err.h"
#include "emu/node.h"

struct emu_nat_config;
struct evidence_nat;

#define EVIDENCE_CONNTRACK_MAX 64 /* conntrack entries kept per NAT in a record */
#define EVIDENCE_EXPLAIN_MAX   2  /* drop entries quoted in a failed cell's message */

/* evidence_nat_start - begin the evidence of NAT node @n, just made a NAT
 * with @cfg (preset name @preset, may be NULL): its drop log, writing the
 * drops pcap to @pcap_abs (NULL: none) recorded as @pcap_rel. Caller owns
 * *@out (evidence_nat_free). */
int evidence_nat_start(struct emu_node *n, const struct emu_nat_config *cfg, const char *preset,
		       const char *pcap_abs, const char *pcap_rel, struct evidence_nat **out,
		       struct natlab_err *e);

/* Before node @n's NAT is flushed (its mappings forgotten) or re-applied
 * (its table, counters included, replaced): read what would be lost, so
 * that the record covers the whole cell. evidence_nat_reapplied records
 * the new knobs. */
void evidence_nat_before_flush(struct evidence_nat *ev, struct emu_node *n);
void evidence_nat_before_reapply(struct evidence_nat *ev, struct emu_node *n);
/* evidence_nat_changed - the flush (or re-apply) done: keep what was read
 * before it. Not called when it failed. evidence_nat_reapplied calls it. */
void evidence_nat_changed(struct evidence_nat *ev);
void evidence_nat_reapplied(struct evidence_nat *ev, const struct emu_nat_config *cfg,
			    const char *preset);

/* evidence_nat_json - {counters, live_mappings_udp, drops, drop_log, pcap,
 * nat, [conntrack]} of node @n now; drop times in ms since @start_ms
 * (CLOCK_MONOTONIC). @final stops the drop log (the pcap is complete
 * then; later calls give the same drops). @conntrack adds a snapshot of
 * the node's UDP flows. NULL with @e set when the node cannot be read.
 * Caller owns the result. */
json_t *evidence_nat_json(struct evidence_nat *ev, struct emu_node *n, int64_t start_ms, bool final,
			  bool conntrack, struct natlab_err *e);

void evidence_nat_free(struct evidence_nat *ev);

/* evidence_explain - the sentence that quotes @evidence (a cell's
 * `evidence` object) for a failure: its largest drop entries, e.g.
 * "right-nat (APDF filtering) dropped 14 packets from 203.0.113.2:40001
 * to 203.0.113.6:5000". Written to @buf (always terminated); returns its
 * length, 0 when nothing was dropped. Pure. */
size_t evidence_explain(const json_t *evidence, char *buf, size_t len);

/* evidence_outcome_quiet - whether a cell of @outcome needs no evidence
 * quoted and no conntrack snapshot: pass, skipped, unsupported (what an
 * implementation declared it cannot do is no failure to explain). */
bool evidence_outcome_quiet(const char *outcome);

/* evidence_annotate - when @cell failed (fail, error, timeout), append
 * "; evidence: " and evidence_explain to its message (the agent's or
 * verdict's text stays first). */
void evidence_annotate(json_t *cell);

#endif
