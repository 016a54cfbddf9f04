/* scenario.h - one scenario file in its own Lua 5.4 state: the prelude
 * (compiled in), the declaration, the cells it expands to, and a protected
 * run of one cell. Every call into Lua is protected: a script error comes
 * back as a message with file:line and a traceback, never a crash. */
#ifndef NATLAB_HARNESS_SCENARIO_H
#define NATLAB_HARNESS_SCENARIO_H

#include <jansson.h>

#include "emu/err.h"
#include "harness/luanet.h"

struct scenario;

/* scenario_find - resolve @arg (a path, or a name looked up as NAME.lua in
 * $NATLAB_SCENARIO_PATH, ./scenarios and the source tree's scenarios/) into
 * @buf. -ENOENT with the places tried in @e. */
int scenario_find(const char *arg, char *buf, size_t len, struct natlab_err *e);

/* scenario_load - a Lua state with the standard libraries, the `natlab`
 * binding bound to @ctx (borrowed, must outlive the scenario), the prelude
 * and the file at @path, which must call scenario{...}. Caller owns *@out.
 * -ENOMSG when the file ran but declared no scenario (a data file, such as
 * an expected-outcome table a scenario loads). */
int scenario_load(const char *path, struct luanet_ctx *ctx, struct scenario **out,
		  struct natlab_err *e);

void scenario_free(struct scenario *s);

/* scenario_prelude_load - run the compiled-in prelude (scenarios/prelude)
 * in @L, which has the standard libraries and luanet_open already: what
 * a scenario's state has before its file runs (harness/wirejudge.c uses
 * it to judge the wire as scenarios do). 0, or -EINVAL with @e naming
 * the prelude's error. */
int scenario_prelude_load(lua_State *L, struct natlab_err *e);

/* scenario_info - {name, description, path, params{k:{description,default}},
 * matrix{k:[...]}}; caller owns. */
json_t *scenario_info(struct scenario *s);

/* scenario_cells - the cells for @overrides (an object of key -> string
 * from -p) and @trials: an array of {id, scenario, params, trial,
 * expected_path, timeout_ms, grid}. Caller owns *@cells. */
int scenario_cells(struct scenario *s, const json_t *overrides, unsigned trials, json_t **cells,
		   struct natlab_err *e);

/* scenario_run_cell - build the network and run the test of @cell. Fills
 * @result (borrowed) with outcome ("pass", "fail", "error", "skipped",
 * "timeout"), message, traceback, path, and whatever the script recorded.
 * @deadline_ms: the monotonic time (luanet_now_ms) at which the scenario
 * is stopped with the outcome "timeout" (harness/celldeadline.h); 0 for
 * none. */
void scenario_run_cell(struct scenario *s, const json_t *cell, int64_t deadline_ms,
		       json_t *result);

/* scenario_build - only build the network of the scenario for @params (an
 * object, as in a cell): what `natlab exec` and `natlab shell` do. */
int scenario_build(struct scenario *s, const json_t *params, struct natlab_err *e);

#endif
