/* luaimpair.c - the Lua binding of impaired links: argument checks and
 * conversion only (docs/lua-api.md, "Impaired links"). */
#include "harness/luaimpair.h"

#include <lauxlib.h>
#include <string.h>

#include "emu/impair.h"
#include "harness/luanet.h"

#define IMPAIR_MT "natlab.impair"

struct impair_ref {
	struct emu_impair *l;
};

static struct impair_ref *check_link(lua_State *L)
{
	struct impair_ref *r = luaL_checkudata(L, 1, IMPAIR_MT);

	if (!r->l)
		luaL_error(L, "impaired link already closed");
	return r;
}

/* natlab.impair(a, ifname_a, b, ifname_b) -> link: a link like
 * natlab.link, whose two directions can then be impaired. */
static int l_impair(lua_State *L)
{
	struct emu_node *a = luanet_check_node(L, 1);
	const char *ia = luaL_checkstring(L, 2);
	struct emu_node *b = luanet_check_node(L, 3);
	const char *ib = luaL_checkstring(L, 4);
	struct natlab_err e = {""};
	struct impair_ref *r = lua_newuserdatauv(L, sizeof(*r), 0);

	r->l = NULL;
	luaL_setmetatable(L, IMPAIR_MT);
	if (emu_impair_new(a, ia, b, ib, &r->l, &e) < 0)
		return luaL_error(L, "natlab.impair: %s", e.msg);
	return 1;
}

static double opt_num(lua_State *L, int t, const char *k, double dflt)
{
	double v;

	lua_getfield(L, t, k);
	v = luaL_optnumber(L, -1, dflt);
	lua_pop(L, 1);
	return v;
}

/* link:set(dir, {delay_ms=, jitter_ms=, dist=, reorder=, loss=, dup=,
 * rate_kbit=, queue_bytes=, mtu=, seed=}); dir "a2b", "b2a" or "both".
 * Fields left out are zero (a perfect wire for that knob). */
static int k_set(lua_State *L)
{
	struct impair_ref *r = check_link(L);
	const char *dir = luaL_checkstring(L, 2);
	struct emu_impair_config c;
	struct natlab_err e = {""};
	const char *dist;

	luaL_checktype(L, 3, LUA_TTABLE);
	memset(&c, 0, sizeof(c));
	c.delay_us = (uint32_t)(opt_num(L, 3, "delay_ms", 0) * 1000.0);
	c.jitter_us = (uint32_t)(opt_num(L, 3, "jitter_ms", 0) * 1000.0);
	c.loss = opt_num(L, 3, "loss", 0);
	c.dup = opt_num(L, 3, "dup", 0);
	c.rate_bps = (uint64_t)(opt_num(L, 3, "rate_kbit", 0) * 1000.0);
	c.queue_bytes = (uint32_t)opt_num(L, 3, "queue_bytes", 0);
	c.mtu = (uint32_t)opt_num(L, 3, "mtu", 0);
	c.seed = (uint64_t)opt_num(L, 3, "seed", 0);
	lua_getfield(L, 3, "reorder");
	c.reorder = lua_toboolean(L, -1);
	lua_getfield(L, 3, "dist");
	dist = luaL_optstring(L, -1, "uniform");
	lua_pop(L, 2);
	if (strcmp(dist, "uniform") == 0)
		c.dist = EMU_JITTER_UNIFORM;
	else if (strcmp(dist, "normal") == 0)
		c.dist = EMU_JITTER_NORMAL;
	else if (strcmp(dist, "pareto-normal") == 0)
		c.dist = EMU_JITTER_PARETO_NORMAL;
	else
		return luaL_error(
		    L, "link:set: dist must be uniform, normal or pareto-normal, not %s", dist);
	if (strcmp(dir, "a2b") != 0 && strcmp(dir, "b2a") != 0 && strcmp(dir, "both") != 0)
		return luaL_error(L, "link:set: direction must be a2b, b2a or both, not %s", dir);
	if (strcmp(dir, "b2a") != 0 && emu_impair_set(r->l, EMU_IMPAIR_A_TO_B, &c, &e) < 0)
		return luaL_error(L, "link:set: %s", e.msg);
	if (strcmp(dir, "a2b") != 0 && emu_impair_set(r->l, EMU_IMPAIR_B_TO_A, &c, &e) < 0)
		return luaL_error(L, "link:set: %s", e.msg);
	return 0;
}

/* link:up(bool): the link's carrier. */
static int k_up(lua_State *L)
{
	struct impair_ref *r = check_link(L);
	struct natlab_err e = {""};

	if (emu_impair_set_up(r->l, lua_toboolean(L, 2), &e) < 0)
		return luaL_error(L, "link:up: %s", e.msg);
	return 0;
}

/* link:stats(dir) -> {rx, tx, drop_loss, drop_burst, drop_queue, drop_mtu,
 * drop_fault, tx_error}; dir "a2b" or "b2a". */
static int k_stats(lua_State *L)
{
	struct impair_ref *r = check_link(L);
	const char *dir = luaL_checkstring(L, 2);
	struct emu_impair_stats s;

	if (strcmp(dir, "a2b") != 0 && strcmp(dir, "b2a") != 0)
		return luaL_error(L, "link:stats: direction must be a2b or b2a, not %s", dir);
	emu_impair_stats(r->l, strcmp(dir, "a2b") == 0 ? EMU_IMPAIR_A_TO_B : EMU_IMPAIR_B_TO_A, &s,
			 NULL);
	lua_createtable(L, 0, 8);
#define F(name)                                                                                    \
	lua_pushinteger(L, (lua_Integer)s.name);                                                   \
	lua_setfield(L, -2, #name)
	F(rx);
	F(tx);
	F(drop_loss);
	F(drop_burst);
	F(drop_queue);
	F(drop_mtu);
	F(drop_fault);
	F(tx_error);
#undef F
	return 1;
}

static int k_gc(lua_State *L)
{
	struct impair_ref *r = luaL_checkudata(L, 1, IMPAIR_MT);

	emu_impair_free(r->l);
	r->l = NULL;
	return 0;
}

void luaimpair_open(lua_State *L)
{
	static const luaL_Reg m[] = {
	    {"set", k_set},
	    {"up", k_up},
	    {"stats", k_stats},
	    {NULL, NULL},
	};

	luaL_newmetatable(L, IMPAIR_MT);
	lua_newtable(L);
	luaL_setfuncs(L, m, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, k_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_pushcfunction(L, l_impair);
	lua_setfield(L, -2, "impair");
}
