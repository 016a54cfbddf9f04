/* wirejudge.c - the matrix's wire verdict for C callers (see wirejudge.h).
 * A thin driver: every rule is natlab.wire's (scenarios/prelude/25_wire.lua). */
#include "harness/wirejudge.h"

#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "harness/luanet.h"
#include "harness/scenario.h"

struct wirejudge {
	lua_State *L;
	struct luanet_ctx ctx; /* what the binding records into (unused here) */
	int obs;	       /* registry reference of the observer */
	int last;	       /* ... of the last judged wire record, or LUA_NOREF */
};

/* A failed call: its message into @e, popped. */
static int call_err(struct wirejudge *w, struct natlab_err *e, const char *what)
{
	const char *m = lua_tostring(w->L, -1);

	natlab_err_set(e, 0, "wire judge: %s: %s", what, m ? m : "error");
	lua_pop(w->L, 1);
	return -EINVAL;
}

/* obs:method(label[, label2, opts]) with @nargs arguments already pushed
 * after the method and the observer: see the callers */
static int obs_call(struct wirejudge *w, const char *method, int nargs, int nres,
		    struct natlab_err *e)
{
	if (lua_pcall(w->L, nargs + 1, nres, 0) != LUA_OK)
		return call_err(w, e, method);
	return 0;
}

/* push obs.method and obs */
static void push_method(struct wirejudge *w, const char *method)
{
	lua_rawgeti(w->L, LUA_REGISTRYINDEX, w->obs);
	lua_getfield(w->L, -1, method);
	lua_insert(w->L, -2);
}

int wirejudge_new(const struct wirejudge_point *pts, size_t n, const json_t *cfg,
		  struct wirejudge **out, struct natlab_err *e)
{
	struct wirejudge *w = calloc(1, sizeof(*w));
	lua_State *L;

	*out = NULL;
	if (!w)
		return natlab_err_set(e, ENOMEM, "wire judge");
	luanet_ctx_init(&w->ctx);
	w->obs = w->last = LUA_NOREF;
	w->L = L = luaL_newstate();
	if (!L) {
		wirejudge_free(w);
		return natlab_err_set(e, ENOMEM, "wire judge: Lua state");
	}
	luaL_openlibs(L);
	luanet_open(L, &w->ctx);
	if (scenario_prelude_load(L, e) < 0) {
		wirejudge_free(w);
		return -EINVAL;
	}
	lua_getglobal(L, "natlab");
	lua_getfield(L, -1, "wire");
	lua_getfield(L, -1, "observer");
	lua_remove(L, -2);
	lua_remove(L, -2);
	luanet_push_json(L, cfg);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 6);
		lua_pushstring(L, pts[i].name);
		lua_setfield(L, -2, "name");
		luanet_push_node(L, pts[i].node);
		lua_setfield(L, -2, "node");
		if (pts[i].side) {
			lua_pushstring(L, pts[i].side);
			lua_setfield(L, -2, "side");
		}
		lua_pushstring(L, pts[i].addr);
		lua_setfield(L, -2, "addr");
		lua_pushstring(L, pts[i].role);
		lua_setfield(L, -2, "role");
		if (pts[i].ifname) {
			lua_pushstring(L, pts[i].ifname);
			lua_setfield(L, -2, "ifname");
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "points");
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		int r = call_err(w, e, "natlab.wire.observer");
		wirejudge_free(w);
		return r;
	}
	w->obs = luaL_ref(L, LUA_REGISTRYINDEX);
	*out = w;
	return 0;
}

void wirejudge_free(struct wirejudge *w)
{
	if (!w)
		return;
	if (w->L)
		lua_close(w->L);
	/* the points' nodes are the caller's: never in ctx.nodes */
	luanet_ctx_teardown(&w->ctx);
	free(w);
}

int wirejudge_watch(struct wirejudge *w, struct natlab_err *e)
{
	push_method(w, "watch");
	return obs_call(w, "watch", 0, 0, e);
}

int wirejudge_snap(struct wirejudge *w, const char *label, struct natlab_err *e)
{
	push_method(w, "snap");
	lua_pushstring(w->L, label);
	return obs_call(w, "snap", 1, 0, e);
}

json_t *wirejudge_judge(struct wirejudge *w, const char *before, const char *after,
			const char *basis, struct natlab_err *e)
{
	json_t *rec;

	push_method(w, "judge");
	lua_pushstring(w->L, before);
	lua_pushstring(w->L, after);
	lua_createtable(w->L, 0, 1);
	lua_pushstring(w->L, basis);
	lua_setfield(w->L, -2, "basis");
	if (obs_call(w, "judge", 3, 1, e) < 0)
		return NULL;
	rec = luanet_to_json(w->L, -1);
	luaL_unref(w->L, LUA_REGISTRYINDEX, w->last);
	w->last = luaL_ref(w->L, LUA_REGISTRYINDEX);
	if (!rec)
		natlab_err_set(e, ENOMEM, "wire judge: the record");
	return rec;
}

char *wirejudge_check_claim(struct wirejudge *w, const char *side, const json_t *ev)
{
	lua_State *L = w->L;
	char *msg = NULL;

	if (w->last == LUA_NOREF || !ev)
		return NULL;
	lua_getglobal(L, "natlab");
	lua_getfield(L, -1, "wire");
	lua_getfield(L, -1, "check_claim");
	lua_remove(L, -2);
	lua_remove(L, -2);
	lua_pushstring(L, side);
	luanet_push_json(L, ev);
	lua_rawgeti(L, LUA_REGISTRYINDEX, w->last);
	push_method(w, "addrs");
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		lua_pop(L, 5);
		return strdup("the wire judge failed to check the claim");
	}
	if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
		msg = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "check_claim failed");
	} else if (lua_isstring(L, -1)) {
		msg = strdup(lua_tostring(L, -1));
	}
	lua_pop(L, 1);
	return msg;
}
