/* ladder.h - a cell's ladder (sequence) diagram, drawn from its record.
 *
 * Columns are the agents (the call's sides), their NAT nodes and the STUN
 * and TURN servers; time runs down, one row per step in time order (labelled
 * in ms since the cell began, not to scale). What is drawn comes only from
 * the record: the wire's flows (one arrow per flow and phase, with packet
 * counts), the NAT evidence's drops (an arrow ending in a cross at the NAT
 * that dropped them), the agents' events (aggregated: "rx x40", not forty
 * rows; selections with their pairs, states, failures with their reasons),
 * their candidate lines (the servers' answers) and check lists, fault
 * events (a dashed line across the diagram) and the settled path (the
 * wire's, else the agents' claim, said as such) highlighted.
 *
 * The SVG is self-contained (no scripts, no external fonts, no ids, so any
 * number of ladders share a page) and uses these classes, which tests read:
 *   svg.ladder                 the diagram; data-cell = the cell id
 *   text.col[data-col=NAME]    a column heading
 *   text.nat-drops             under a NAT's heading: its drop counters
 *   g.ar[data-from][data-to]   an arrow between two columns (k-<kind> class)
 *   g.drop[data-at=NAME]       a drop, crossed out at the NAT NAME
 *   g.mark[data-col=NAME]      an event on a column's lifeline
 *   g.fault                    a fault across the diagram
 *   g.settled[data-path=A,B..] the settled path (data-source "wire"|"claim")
 *   g.ar.on, g.mark.on         an arrow (a mark) on the settled path
 *   text.elided                the note of what was left out
 */
#ifndef NATLAB_HARNESS_LADDER_H
#define NATLAB_HARNESS_LADDER_H

#include <jansson.h>
#include <stddef.h>

/* Below this no diagram fits (headings, axis and notes alone). */
#define LADDER_MIN_BYTES 2048

/* ladder_svg - the cell's ladder diagram as inline SVG: columns for the
 * agents, their NATs and the STUN/TURN servers; arrows for allocations,
 * checks, answers, data in time; drops marked; the settled path
 * highlighted. Reads "events", "wire", "evidence", "selected", "params" of
 * @cell (and "candidates", "pairs", "observations", "switches", "switch",
 * "path", "id"); tolerates any of them missing or of the wrong type.
 * Returns a malloc'd
 * NUL-terminated string (caller frees), or NULL when the cell has nothing
 * to draw (errno ENOENT), when not even the frame fits in @max_bytes
 * (ENOSPC) or on no memory (ENOMEM). Output is at most @max_bytes, the NUL
 * not counted (elided arrows are counted in a note). */
char *ladder_svg(const json_t *cell, size_t max_bytes);

#endif
