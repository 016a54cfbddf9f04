/* celldeadline.c - the cell's own deadline; see celldeadline.h. */
#include "harness/celldeadline.h"

#include <lauxlib.h>
#include <lua.h>

#include "harness/luanet.h"

/* A count hook every this many VM instructions: a few microseconds of
 * work between looks at the clock. */
#define HOOK_EVERY 20000

static int64_t deadline_ms; /* 0: none */
static bool hit;

int64_t cell_deadline_margin_ms(int64_t timeout_ms)
{
	int64_t m = timeout_ms / 10;

	if (m < 300)
		m = 300;
	if (m > 3000)
		m = 3000;
	return m;
}

static void raise_deadline(lua_State *L)
{
	hit = true;
	luaL_error(L, "the cell's time ran out: the scenario was stopped before the "
		      "runner's kill, so the NATs' evidence could be read");
}

static void hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	if (deadline_ms && luanet_now_ms() >= deadline_ms)
		raise_deadline(L);
}

void cell_deadline_arm(lua_State *L, int64_t at_ms)
{
	deadline_ms = at_ms;
	if (at_ms)
		hit = false; /* disarming keeps the answer of the last run */
	if (L)
		lua_sethook(L, at_ms ? hook : NULL, at_ms ? LUA_MASKCOUNT : 0, HOOK_EVERY);
}

int64_t cell_deadline_cap(int64_t want_ms)
{
	int64_t left;

	if (!deadline_ms)
		return want_ms;
	left = deadline_ms - luanet_now_ms();
	if (left < 0)
		left = 0;
	return want_ms < 0 || want_ms > left ? left : want_ms;
}

void cell_deadline_check(lua_State *L)
{
	if (deadline_ms && luanet_now_ms() >= deadline_ms)
		raise_deadline(L);
}

bool cell_deadline_hit(void)
{
	return hit;
}
