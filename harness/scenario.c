/* scenario.c - loading scenarios and running their cells in Lua. */
#include "harness/scenario.h"
#include "harness/celldeadline.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/profile.h"

struct natlab_prelude_file {
	const char *name;
	const char *text;
};
extern const struct natlab_prelude_file natlab_prelude[];

struct scenario {
	lua_State *L;
	char path[PATH_MAX];
};

#ifndef NATLAB_SOURCE_SCENARIOS
#define NATLAB_SOURCE_SCENARIOS ""
#endif

int scenario_find(const char *arg, char *buf, size_t len, struct natlab_err *e)
{
	const char *env = getenv("NATLAB_SCENARIO_PATH");
	char tried[1024] = "";
	char dirs[2048];
	char *save = NULL;

	if (access(arg, R_OK) == 0) {
		snprintf(buf, len, "%s", arg);
		return 0;
	}
	/* An absolute path, or a file name ending in .lua, names a file:
	 * guessing "<dir>//abs/path.lua.lua" in the scenario folders would
	 * only confuse. */
	size_t alen = strlen(arg);
	if (arg[0] == '/' || (alen > 4 && strcmp(arg + alen - 4, ".lua") == 0)) {
		int err = errno ? errno : ENOENT;
		natlab_err_set(e, 0,
			       "no scenario file '%s': %s; give a readable .lua file, or a "
			       "scenario name ('natlab list' shows them)",
			       arg, strerror(err));
		return -err;
	}
	snprintf(dirs, sizeof(dirs), "%s%s./scenarios:%s", env ? env : "", env ? ":" : "",
		 NATLAB_SOURCE_SCENARIOS);
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		snprintf(buf, len, "%s/%s.lua", d, arg);
		if (access(buf, R_OK) == 0)
			return 0;
		size_t used = strlen(tried);
		snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", buf);
	}
	natlab_err_set(
	    e, 0,
	    "no scenario '%s' (not a readable file; tried %s). 'natlab list' shows the scenarios "
	    "found; give a path or set NATLAB_SCENARIO_PATH",
	    arg, tried);
	return -ENOENT;
}

/* Message handler: file:line message plus a traceback, except for the
 * tables natlab.skip()/natlab.fail() raise, which pass through. */
static int msgh(lua_State *L)
{
	if (lua_istable(L, 1))
		return 1;
	luaL_traceback(
	    L, L, lua_tostring(L, 1) ? lua_tostring(L, 1) : "(error object is not a string)", 1);
	return 1;
}

/* pcall with the traceback handler; the function and @nargs args are on
 * the stack. */
static int pcall_tb(lua_State *L, int nargs, int nres)
{
	int base = lua_gettop(L) - nargs;
	int ret;

	lua_pushcfunction(L, msgh);
	lua_insert(L, base);
	ret = lua_pcall(L, nargs, nres, base);
	lua_remove(L, base);
	return ret;
}

/* Copy an error into @e: the first line (file:line: message). */
static int lua_err(lua_State *L, struct natlab_err *e, const char *what)
{
	const char *m = lua_tostring(L, -1);

	/* no errno text: the Lua message says it all */
	natlab_err_set(e, 0, "%s: %.*s", what, m ? (int)strcspn(m, "\n") : 7, m ? m : "unknown");
	lua_pop(L, 1);
	return -EINVAL;
}

static int l_phase(lua_State *L)
{
	static const char *const names[] = {"network", "run", NULL};
	int i = luaL_checkoption(L, 1, NULL, names);

	profile_mark(names[i]);
	return 0;
}

int scenario_prelude_load(lua_State *L, struct natlab_err *e)
{
	for (const struct natlab_prelude_file *p = natlab_prelude; p->name; p++) {
		char chunk[128];
		snprintf(chunk, sizeof(chunk), "=prelude/%s.lua", p->name);
		if (luaL_loadbuffer(L, p->text, strlen(p->text), chunk) != LUA_OK ||
		    pcall_tb(L, 0, 0) != LUA_OK)
			return lua_err(L, e, "prelude");
	}
	return 0;
}

int scenario_load(const char *path, struct luanet_ctx *ctx, struct scenario **out,
		  struct natlab_err *e)
{
	struct scenario *s = calloc(1, sizeof(*s));
	int ret = 0;

	*out = NULL;
	if (!s)
		return natlab_err_set(e, ENOMEM, "scenario");
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->L = luaL_newstate();
	if (!s->L) {
		ret = natlab_err_set(e, ENOMEM, "Lua state");
		goto fail;
	}
	luaL_openlibs(s->L);
	luanet_open(s->L, ctx);
	/* natlab._phase(name): a profile mark (profile.h) between the cell's
	 * network and run functions; nothing unless NATLAB_PROFILE=1 */
	lua_getglobal(s->L, "natlab");
	lua_pushcfunction(s->L, l_phase);
	lua_setfield(s->L, -2, "_phase");
	lua_pop(s->L, 1);
	ret = scenario_prelude_load(s->L, e);
	if (ret < 0)
		goto fail;
	/* Lua cuts chunk names at 60 bytes: name long paths by their file name
	 * so that "file:line:" stays readable. */
	{
		const char *base = strrchr(path, '/');
		char chunk[PATH_MAX + 1];
		FILE *f = fopen(path, "re");
		char *text = NULL;
		size_t cap = 0;
		ssize_t n;

		if (!f) {
			ret = natlab_err_set(e, errno, "cannot read scenario %s", path);
			goto fail;
		}
		n = getdelim(&text, &cap, '\0', f);
		fclose(f);
		snprintf(chunk, sizeof(chunk), "@%s", strlen(path) < 56 || !base ? path : base + 1);
		ret = luaL_loadbuffer(s->L, text ? text : "", n > 0 ? (size_t)n : 0, chunk);
		free(text);
	}
	if (ret != LUA_OK) {
		/* syntax errors already read "file:line: message" */
		ret = lua_err(s->L, e, "cannot load scenario");
		goto fail;
	}
	if (pcall_tb(s->L, 0, 0) != LUA_OK) {
		ret = lua_err(s->L, e, "scenario failed while loading");
		goto fail;
	}
	lua_getglobal(s->L, "natlab");
	lua_getfield(s->L, -1, "_declared");
	if (pcall_tb(s->L, 0, 1) != LUA_OK) {
		lua_remove(s->L, -2);
		ret = lua_err(s->L, e, "prelude");
		goto fail;
	}
	if (!lua_istable(s->L, -1)) {
		lua_pop(s->L, 2);
		/* -ENOMSG tells a data file (it ran, declared nothing) from a
		 * broken scenario; no errno text: the message says it all */
		natlab_err_set(e, 0,
			       "%s declares no scenario: call scenario{name=..., "
			       "run=function(net, p) ... end}",
			       path);
		ret = -ENOMSG;
		goto fail;
	}
	lua_setfield(s->L, LUA_REGISTRYINDEX, "natlab.decl");
	lua_pop(s->L, 1);
	*out = s;
	return 0;
fail:
	scenario_free(s);
	return ret;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	if (s->L)
		lua_close(s->L);
	free(s);
}

static void push_decl(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "natlab.decl");
}

/* Reads the declaration with lua_getfield, which may run a metamethod of a
 * user's table: always called through lua_pcall (scenario_info). */
static int info_impl(lua_State *L)
{
	struct scenario *s = lua_touserdata(L, 1);
	json_t *info = lua_touserdata(L, 2);
	json_t *v;

	push_decl(L);
	json_object_set_new(info, "path", json_string(s->path));
	lua_getfield(L, -1, "name");
	json_object_set_new(info, "name", json_string(lua_tostring(L, -1)));
	lua_getfield(L, -2, "description");
	json_object_set_new(info, "description",
			    json_string(lua_isstring(L, -1) ? lua_tostring(L, -1) : ""));
	lua_getfield(L, -3, "params");
	v = luanet_to_json(L, -1);
	json_object_set_new(info, "params",
			    json_is_object(v) ? v : (json_decref(v), json_object()));
	lua_getfield(L, -4, "matrix");
	v = luanet_to_json(L, -1);
	json_object_set_new(info, "matrix",
			    json_is_object(v) ? v : (json_decref(v), json_object()));
	lua_pop(L, 5);
	return 0;
}

json_t *scenario_info(struct scenario *s)
{
	json_t *info = json_object();

	lua_pushcfunction(s->L, info_impl);
	lua_pushlightuserdata(s->L, s);
	lua_pushlightuserdata(s->L, info);
	if (lua_pcall(s->L, 2, 0, 0) != LUA_OK) {
		const char *m = lua_tostring(s->L, -1);
		json_object_set_new(info, "description", json_string(m ? m : "?"));
		lua_pop(s->L, 1);
	}
	if (!json_is_string(json_object_get(info, "name")))
		json_object_set_new(info, "name", json_string(s->path));
	return info;
}

int scenario_cells(struct scenario *s, const json_t *overrides, unsigned trials, json_t **cells,
		   struct natlab_err *e)
{
	lua_State *L = s->L;
	json_t *arr;

	*cells = NULL;
	lua_getglobal(L, "natlab");
	lua_getfield(L, -1, "_cells");
	lua_remove(L, -2);
	push_decl(L);
	luanet_push_json(L, overrides);
	lua_pushinteger(L, trials);
	if (pcall_tb(L, 3, 1) != LUA_OK)
		return lua_err(L, e, s->path);
	arr = luanet_to_json(L, -1);
	lua_pop(L, 1);
	if (!json_is_array(arr)) {
		json_decref(arr);
		natlab_err_set(e, 0, "%s: the scenario expands to no cells", s->path);
		return -EINVAL;
	}
	*cells = arr;
	return 0;
}

/* The first line of a Lua error is "file:line: message". */
static void set_error(json_t *result, const char *outcome, const char *text)
{
	size_t first = strcspn(text, "\n");

	json_object_set_new(result, "outcome", json_string(outcome));
	json_object_set_new(result, "message", json_stringn(text, first));
	if (text[first])
		json_object_set_new(result, "traceback", json_string(text));
}

void scenario_run_cell(struct scenario *s, const json_t *cell, int64_t deadline_ms,
		       json_t *result)
{
	lua_State *L = s->L;
	int ret;

	lua_getglobal(L, "natlab");
	lua_getfield(L, -1, "_run");
	lua_remove(L, -2);
	push_decl(L);
	luanet_push_json(L, cell);
	cell_deadline_arm(L, deadline_ms);
	ret = pcall_tb(L, 2, 0);
	cell_deadline_arm(L, 0);
	if (cell_deadline_hit()) {
		/* stopped by its own deadline, whatever a pcall in the script
		 * made of the error: the runner's timeout, with the lab still
		 * standing for the evidence */
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "timed out after %lld ms; the scenario was stopped and its agents killed",
			 (long long)json_integer_value(json_object_get(cell, "timeout_ms")));
		json_object_set_new(result, "outcome", json_string("timeout"));
		json_object_set_new(result, "message", json_string(msg));
		if (ret != LUA_OK)
			lua_pop(L, 1);
		return;
	}
	if (ret == LUA_OK)
		return;
	if (lua_istable(L, -1)) { /* natlab.skip / natlab.fail */
		lua_getfield(L, -1, "natlab_outcome");
		lua_getfield(L, -2, "message");
		json_object_set_new(
		    result, "outcome",
		    json_string(lua_tostring(L, -2) ? lua_tostring(L, -2) : "error"));
		if (lua_isstring(L, -1))
			json_object_set_new(result, "message", json_string(lua_tostring(L, -1)));
		lua_pop(L, 3);
		return;
	}
	set_error(result, "error",
		  lua_tostring(L, -1) ? lua_tostring(L, -1) : "error object is not a string");
	lua_pop(L, 1);
}

int scenario_build(struct scenario *s, const json_t *params, struct natlab_err *e)
{
	lua_State *L = s->L;

	lua_getglobal(L, "natlab");
	lua_getfield(L, -1, "_build");
	lua_remove(L, -2);
	push_decl(L);
	luanet_push_json(L, params);
	if (pcall_tb(L, 2, 0) != LUA_OK) {
		if (lua_istable(L, -1)) {
			lua_pop(L, 1);
			return natlab_err_msg(
			    e, EINVAL, "%s: the network build was skipped or failed", s->path);
		}
		return lua_err(L, e, s->path);
	}
	return 0;
}
