/* wirejudge.h - the matrix's wire verdict for C callers: the settled path
 * of a call and each side's claim against it, judged by the very code the
 * scenarios use (natlab.wire in scenarios/prelude/25_wire.lua, counters
 * from emu/flow.c), run in a Lua state of its own with the prelude. So
 * `natlab adapter-check` judges a round by the same rules as a matrix cell
 * (docs/expected-matrix.md, "Verdicts"), with no second copy of them.
 */
#ifndef NATLAB_HARNESS_WIREJUDGE_H
#define NATLAB_HARNESS_WIREJUDGE_H

#include <jansson.h>

#include "emu/err.h"
#include "emu/node.h"

/* An observation point, as scen.watch makes them: a side's outermost NAT
 * (counted on its outside interface @ifname) or an open host, or the TURN
 * server's host (@role "turn", @side NULL, every interface). Strings and
 * the node are borrowed for the judge's life. */
struct wirejudge_point {
	const char *name, *side, *addr, *role, *ifname;
	struct emu_node *node;
};

struct wirejudge;

/* wirejudge_new - a judge of the call between @cfg's "sides" (two names)
 * seen at @pts: @cfg is natlab.wire.observer's configuration without the
 * points ({"sides": [A, B], "stun": addr?, "turn": {"addr", "udp": [ports],
 * "tcp": [...], "tls": [...]}?}; copied). Caller owns *@out. 0, or a
 * negative errno with @e filled. */
int wirejudge_new(const struct wirejudge_point *pts, size_t n, const json_t *cfg,
		  struct wirejudge **out, struct natlab_err *e);
void wirejudge_free(struct wirejudge *w);

/* wirejudge_watch - (re)start counting at every point (obs:watch): before
 * the agents start, and again after a point's nftables were replaced */
int wirejudge_watch(struct wirejudge *w, struct natlab_err *e);

/* wirejudge_snap - the counters now, kept as @label (obs:snap) */
int wirejudge_snap(struct wirejudge *w, const char *label, struct natlab_err *e);

/* wirejudge_judge - snap @after, and the wire record of the window from
 * @before (obs:judge; results/README.md "wire"): @basis "data" or
 * "consent". Caller owns the result; NULL with @e filled on error. */
json_t *wirejudge_judge(struct wirejudge *w, const char *before, const char *after,
			const char *basis, struct natlab_err *e);

/* wirejudge_check_claim - natlab.wire.check_claim: NULL when @side's
 * selected/switched event @ev agrees with the last judged record, else
 * the message saying how they differ (caller frees it). */
char *wirejudge_check_claim(struct wirejudge *w, const char *side, const json_t *ev);

#endif
