/* celldeadline.h - the cell's own deadline, inside the cell process.
 *
 * The runner kills a cell that outlives its time (SIGKILL of its process
 * group), and with it the lab: nothing of the NATs could then be read, so
 * a timed-out cell had no evidence. The cell process therefore ends the
 * scenario itself a little before that: every blocking call of the Lua
 * API (natlab.poll, proc:line, proc:wait, natlab.sleep_ms) waits at most
 * until the deadline, and a Lua count hook stops a script that computes
 * past it. Either raises a Lua error that ends the scenario; the runner
 * then records the outcome "timeout" with the NATs' evidence read from
 * the still-standing lab. One deadline per process: a cell process runs
 * one cell. */
#ifndef NATLAB_HARNESS_CELLDEADLINE_H
#define NATLAB_HARNESS_CELLDEADLINE_H

#include <stdbool.h>
#include <stdint.h>

struct lua_State;

/* cell_deadline_margin_ms - how long before the runner's kill the scenario
 * is stopped, for a cell of @timeout_ms: a tenth of it, between 300 ms and
 * 3 s (reading the evidence and a conntrack snapshot takes well under
 * that). */
int64_t cell_deadline_margin_ms(int64_t timeout_ms);

/* cell_deadline_arm - stop the scenario running in @L at the monotonic
 * time @at_ms (luanet_now_ms()); 0 disarms (cell_deadline_hit still
 * answers for the run that ended). */
void cell_deadline_arm(struct lua_State *L, int64_t at_ms);

/* cell_deadline_cap - @want_ms (negative: forever; callers whose wait is
 * a computed remainder clamp it at 0 first) capped to the time left
 * before the deadline (never negative); @want_ms unchanged when no
 * deadline is armed. */
int64_t cell_deadline_cap(int64_t want_ms);

/* cell_deadline_check - raise the deadline's Lua error in @L when the
 * deadline has passed; returns otherwise. */
void cell_deadline_check(struct lua_State *L);

/* cell_deadline_hit - whether the deadline stopped the scenario. */
bool cell_deadline_hit(void);

#endif
