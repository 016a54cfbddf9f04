/* luaimpair.c - the Lua binding of impaired links: argument checks and
 * conversion only (docs/lua-api.md, "Impaired links"). Faults go through
 * emu/impair_fault.h, so each lands on the cell's timeline. */
#include "harness/luaimpair.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "emu/impair.h"
#include "emu/impair_fault.h"
#include "harness/luanet.h"

#define IMPAIR_MT "natlab.impair"

struct impair_ref {
	struct emu_impair *l;
	char name[EMU_FAULT_TARGET_MAX]; /* in fault events and the capture's file name */
	char capture[512];		 /* its capture's run-relative path, "" = none */
};

static struct luanet_ctx *ctx_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static struct impair_ref *check_link(lua_State *L)
{
	struct impair_ref *r = luaL_checkudata(L, 1, IMPAIR_MT);

	if (!r->l)
		luaL_error(L, "impaired link already closed");
	return r;
}

/* Start the link's capture: <capdir>/link-<name>.pcap, the name's
 * characters outside [A-Za-z0-9._-] written as '_'. */
static int link_capture(struct luanet_ctx *ctx, struct impair_ref *r, struct natlab_err *e)
{
	char file[EMU_FAULT_TARGET_MAX + 16], path[4400], rel[sizeof(r->capture)];
	size_t k;
	int ret;

	if (r->capture[0])
		return 0;
	k = (size_t)snprintf(file, sizeof(file), "link-");
	for (const char *c = r->name; *c && k + 6 < sizeof(file); c++)
		file[k++] = (isalnum((unsigned char)*c) || strchr("._-", *c)) ? *c : '_';
	snprintf(file + k, sizeof(file) - k, ".pcap");
	ret = luanet_capture_path(ctx, file, path, sizeof(path), rel, sizeof(rel), e);
	if (ret == 0)
		ret = emu_impair_capture_start(r->l, path, e);
	if (ret < 0)
		return ret;
	snprintf(r->capture, sizeof(r->capture), "%s", rel);
	json_array_append_new(ctx->pcaps, json_string(rel));
	return 0;
}

/* natlab.impair(a, ifname_a, b, ifname_b[, name]) -> link: a link like
 * natlab.link, whose two directions can then be impaired. @name (default
 * "<a>:<ifname_a>-<b>:<ifname_b>") names it in fault events and in a
 * scenario's capture list. */
static int l_impair(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct emu_node *a = luanet_check_node(L, 1);
	const char *ia = luaL_checkstring(L, 2);
	struct emu_node *b = luanet_check_node(L, 3);
	const char *ib = luaL_checkstring(L, 4);
	const char *name = luaL_optstring(L, 5, NULL);
	struct natlab_err e = {""};
	struct impair_ref *r = lua_newuserdatauv(L, sizeof(*r), 0);

	memset(r, 0, sizeof(*r));
	luaL_setmetatable(L, IMPAIR_MT);
	if (name)
		snprintf(r->name, sizeof(r->name), "%s", name);
	else
		snprintf(r->name, sizeof(r->name), "%s:%s-%s:%s", emu_node_name(a), ia,
			 emu_node_name(b), ib);
	if (emu_impair_new(a, ia, b, ib, &r->l, &e) < 0)
		return luaL_error(L, "natlab.impair: %s", e.msg);
	if (ctx->capdir[0] && luanet_capture_wanted(L, ctx, r->name, 0) &&
	    link_capture(ctx, r, &e) < 0)
		return luaL_error(L, "natlab.impair: capture: %s", e.msg);
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

/* link:set(dir, {delay_ms=, jitter_ms=, dist=, reorder=, loss=, ge_p=,
 * ge_r=, ge_loss_good=, ge_loss_bad=, dup=, rate_kbit=, queue_bytes=,
 * mtu=, seed=}); dir "a2b", "b2a" or "both". Fields left out are zero (a
 * perfect wire for that knob), except ge_loss_bad: 1 (the bad state of
 * Gilbert's model loses every frame), and seed: drawn from math.random
 * (seeded from the cell's seed). */
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
	c.ge_p = opt_num(L, 3, "ge_p", 0);
	c.ge_r = opt_num(L, 3, "ge_r", 0);
	c.ge_loss_good = opt_num(L, 3, "ge_loss_good", 0);
	c.ge_loss_bad = opt_num(L, 3, "ge_loss_bad", 1);
	c.dup = opt_num(L, 3, "dup", 0);
	c.rate_bps = (uint64_t)(opt_num(L, 3, "rate_kbit", 0) * 1000.0);
	c.queue_bytes = (uint32_t)opt_num(L, 3, "queue_bytes", 0);
	c.mtu = (uint32_t)opt_num(L, 3, "mtu", 0);
	c.seed = (uint64_t)opt_num(L, 3, "seed", 0);
	lua_getfield(L, 3, "seed");
	if (lua_isnil(L, -1)) {
		/* no seed given: draw one from math.random, which the harness
		 * seeds from the cell's seed, so a --filter/--seed re-run
		 * loses and delays the same frames */
		lua_getglobal(L, "math");
		lua_getfield(L, -1, "random");
		lua_pushinteger(L, 1);
		lua_pushinteger(L, INT32_MAX);
		lua_call(L, 2, 1);
		c.seed = (uint64_t)lua_tointeger(L, -1);
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
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

/* link:up(bool): the link's carrier; a fault, recorded (link-down /
 * link-up). */
static int k_up(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct impair_ref *r = check_link(L);
	struct natlab_err e = {""};
	int ret;

	luaL_checktype(L, 2, LUA_TBOOLEAN);
	ret = emu_fault_link_set(ctx->faults, r->l, r->name, lua_toboolean(L, 2), &e);
	luanet_fault_sync(ctx);
	if (ret < 0)
		return luaL_error(L, "link:up: %s", e.msg);
	return 0;
}

/* link:blackhole(dir, on): drop every frame of direction @dir ("a2b",
 * "b2a" or "both"), those in flight too, while @on; a fault, recorded
 * (blackhole-on / blackhole-off, one event per direction). */
static int k_blackhole(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct impair_ref *r = check_link(L);
	const char *dir = luaL_checkstring(L, 2);
	int on;

	luaL_checktype(L, 3, LUA_TBOOLEAN);
	on = lua_toboolean(L, 3);
	if (strcmp(dir, "a2b") != 0 && strcmp(dir, "b2a") != 0 && strcmp(dir, "both") != 0)
		return luaL_error(L, "link:blackhole: direction must be a2b, b2a or both, not %s",
				  dir);
	if (strcmp(dir, "b2a") != 0)
		emu_fault_blackhole(ctx->faults, r->l, r->name, EMU_IMPAIR_A_TO_B, on);
	if (strcmp(dir, "a2b") != 0)
		emu_fault_blackhole(ctx->faults, r->l, r->name, EMU_IMPAIR_B_TO_A, on);
	luanet_fault_sync(ctx);
	return 0;
}

/* link:capture() -> path | nil, why: write every frame the link delivers
 * (both directions, after the impairments) to pcap/<cell>/link-<name>.pcap;
 * nil when the run writes no results (natlab exec). */
static int k_capture(lua_State *L)
{
	struct impair_ref *r = check_link(L);
	struct natlab_err e = {""};
	int ret = link_capture(ctx_of(L), r, &e);

	if (ret == -ENOTSUP) {
		lua_pushnil(L);
		lua_pushstring(L, e.msg);
		return 2;
	}
	if (ret < 0)
		return luaL_error(L, "link:capture: %s", e.msg);
	lua_pushstring(L, r->capture);
	return 1;
}

/* link:name() -> the name it has in fault events and capture lists. */
static int k_name(lua_State *L)
{
	lua_pushstring(L, check_link(L)->name);
	return 1;
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

void luaimpair_open(lua_State *L, struct luanet_ctx *ctx)
{
	static const luaL_Reg m[] = {
	    {"set", k_set},	    {"up", k_up},     {"blackhole", k_blackhole},
	    {"capture", k_capture}, {"name", k_name}, {"stats", k_stats},
	    {NULL, NULL},
	};

	luaL_newmetatable(L, IMPAIR_MT);
	lua_newtable(L);
	lua_pushlightuserdata(L, ctx);
	luaL_setfuncs(L, m, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, k_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_pushlightuserdata(L, ctx);
	lua_pushcclosure(L, l_impair, 1);
	lua_setfield(L, -2, "impair");
}
