/* luanet.c - the Lua binding of a lab: nodes, links, NATs, recording.
 * Processes and agent events are in luaproc.c. */
#include "harness/luanet.h"
#include "harness/celldeadline.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <unistd.h>

#include "emu/conntrack.h"
#include "emu/flow.h"
#include "emu/impair_fault.h"
#include "emu/link.h"
#include "emu/node.h"
#include "emu/capture.h"
#include "harness/evidence.h"
#include "harness/luaimpair.h"
#include "harness/luaproc.h"
#include "harness/planechoice.h"
#include "harness/stunprobe.h"
#ifdef NATLAB_HAVE_EMU_ROUTE
#include "emu/route.h"
#endif
#ifdef NATLAB_HAVE_EMU_NAT
#include "emu/nat.h"
#endif

#define NODE_MT	      "natlab.node"
#define JSON_ARRAY_MT "natlab.json_array"

struct node_ref {
	struct emu_node *n;
};

static struct luanet_ctx *ctx_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

int64_t luanet_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void luanet_ctx_init(struct luanet_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->start_ms = luanet_now_ms();
	ctx->result = json_object();
	ctx->events = json_array();
	ctx->observations = json_object();
	ctx->logs = json_array();
	ctx->log_prefix = "";
	ctx->pcaps = json_array();
	ctx->pcap_prefix = "";
	/* Without a log (no memory) faults still work, unrecorded. */
	emu_fault_log_new(&ctx->faults, NULL);
}

void luanet_ctx_teardown(struct luanet_ctx *ctx)
{
	/* The pids are capture processes: ask them to write out what they
	 * hold, give them a bounded time, then make sure. */
	struct timespec t0, t;
	unsigned left = 0;

	for (unsigned i = 0; i < ctx->n_pids; i++)
		if (ctx->pids[i] > 0 && kill(ctx->pids[i], SIGTERM) == 0)
			left++;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0) {
		for (unsigned i = 0; i < ctx->n_pids; i++) {
			if (ctx->pids[i] > 0 &&
			    waitpid(ctx->pids[i], NULL, WNOHANG) == ctx->pids[i]) {
				ctx->pids[i] = 0;
				left--;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (left == 0 ||
		    (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 1000)
			break;
		usleep(5000);
	}
	for (unsigned i = 0; i < ctx->n_pids; i++) {
		if (ctx->pids[i] > 0) {
			kill(-ctx->pids[i], SIGKILL);
			waitpid(ctx->pids[i], NULL, 0);
			ctx->pids[i] = 0;
		}
	}
	/* Every evidence slot, not only the first n_nodes: a caller that lent
	 * nodes takes them back by moving nodes[] (natlab dut), and a drop
	 * log left open would keep its NAT's namespace, and its veths, alive. */
	for (unsigned i = 0; i < LUANET_NODES_MAX; i++) {
		evidence_nat_free(ctx->evidence[i]);
		ctx->evidence[i] = NULL;
	}
	for (unsigned i = 0; i < ctx->n_nodes; i++)
		emu_node_free(ctx->nodes[i]);
	ctx->n_nodes = 0;
	json_decref(ctx->evidence_errors);
	ctx->evidence_errors = NULL;
	json_decref(ctx->result);
	json_decref(ctx->events);
	json_decref(ctx->observations);
	json_decref(ctx->logs);
	json_decref(ctx->pcaps);
	ctx->result = ctx->events = ctx->observations = ctx->logs = ctx->pcaps = NULL;
	emu_fault_log_free(ctx->faults);
	ctx->faults = NULL;
	ctx->faults_seen = 0;
	ctx->event_field_bytes = 0;
}

/* Agent and scenario events stop at 2000 per cell (luaproc.c, l_event);
 * faults get room of their own past that, so a chatty agent cannot hide
 * the fault that explains its behaviour. */
#define FAULT_EVENTS_ROOM 1000

void luanet_fault_sync(struct luanet_ctx *ctx)
{
	struct emu_fault_event ev;

	if (!ctx->faults || !ctx->events)
		return;
	while (emu_fault_log_get(ctx->faults, ctx->faults_seen, &ev) == 0) {
		json_t *j;

		ctx->faults_seen++;
		if (json_array_size(ctx->events) >= 2000 + FAULT_EVENTS_ROOM)
			continue;
		j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:i}", "t_ms",
			      (json_int_t)(ev.mono_ns / 1000000) - (json_int_t)ctx->start_ms,
			      "t_real_us", (json_int_t)(ev.real_ns / 1000), "src", "fault", "ev",
			      ev.kind, "target", ev.target, "detail", ev.detail, "result",
			      ev.result);
		if (j)
			json_array_append_new(ctx->events, j);
	}
}

static int node_index(const struct luanet_ctx *ctx, const struct emu_node *n)
{
	for (unsigned i = 0; i < ctx->n_nodes; i++)
		if (ctx->nodes[i] == n)
			return (int)i;
	return -1;
}

/* ---- captures ---- */

int luanet_capture_wanted(lua_State *L, struct luanet_ctx *ctx, const char *name, int is_node)
{
	int want = 0;

	if (is_node && ctx->capture_all)
		return 1;
	lua_getfield(L, LUA_REGISTRYINDEX, "natlab.decl");
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	lua_getfield(L, -1, "capture");
	if (lua_isboolean(L, -1)) {
		want = is_node && lua_toboolean(L, -1);
	} else if (lua_istable(L, -1)) {
		for (lua_Integer i = 1; !want && i <= (lua_Integer)lua_rawlen(L, -1); i++) {
			lua_rawgeti(L, -1, i);
			if (lua_type(L, -1) != LUA_TSTRING)
				return luaL_error(L, "scenario: capture must be true or a list of "
						     "node and impaired-link names");
			want = strcmp(lua_tostring(L, -1), name) == 0;
			lua_pop(L, 1);
		}
	} else if (!lua_isnil(L, -1)) {
		return luaL_error(L,
				  "scenario: capture must be true or a list of node and "
				  "impaired-link names, not a %s",
				  luaL_typename(L, -1));
	}
	lua_pop(L, 2);
	return want;
}

int luanet_capture_path(struct luanet_ctx *ctx, const char *file, char *abs, size_t abs_len,
			char *rel, size_t rel_len, struct natlab_err *e)
{
	if (!ctx->capdir[0])
		return natlab_err_msg(
		    e, ENOTSUP, "no result directory to capture into (only natlab run captures)");
	if (mkdir(ctx->capdir, 0755) < 0 && errno != EEXIST)
		return natlab_err_set(e, errno, "capture: cannot create %s", ctx->capdir);
	if ((size_t)snprintf(abs, abs_len, "%s/%s", ctx->capdir, file) >= abs_len ||
	    (size_t)snprintf(rel, rel_len, "%s%s", ctx->pcap_prefix, file) >= rel_len)
		return natlab_err_set(e, ENAMETOOLONG, "capture: path of %s", file);
	return 0;
}

/* Capture every interface of node @i (emu/capture.c, a process) into
 * <capdir>/<node>.pcap; its path into @abs and its path relative to the
 * run directory into @rel (also when the node is captured already). Once
 * per node. */
static int node_capture(struct luanet_ctx *ctx, unsigned i, char *abs, size_t abs_len, char *rel,
			size_t rel_len, struct natlab_err *e)
{
	char file[300];
	pid_t pid;
	int ret;

	snprintf(file, sizeof(file), "%s.pcap", emu_node_name(ctx->nodes[i]));
	ret = luanet_capture_path(ctx, file, abs, abs_len, rel, rel_len, e);
	if (ret < 0 || (ctx->node_flags[i] & LUANET_NODE_CAPTURED))
		return ret;
	if (ctx->n_pids >= LUANET_PROCS_MAX)
		return natlab_err_msg(e, EMFILE, "capture: at most %d processes per cell",
				      LUANET_PROCS_MAX);
	ret = emu_capture_node_start(ctx->nodes[i], abs, &pid, e);
	if (ret < 0)
		return ret;
	ctx->pids[ctx->n_pids++] = pid;
	ctx->node_flags[i] |= LUANET_NODE_CAPTURED;
	json_array_append_new(ctx->pcaps, json_string(rel));
	return 0;
}

struct emu_node *luanet_node_find(struct luanet_ctx *ctx, const char *name)
{
	for (unsigned i = 0; i < ctx->n_nodes; i++)
		if (strcmp(emu_node_name(ctx->nodes[i]), name) == 0)
			return ctx->nodes[i];
	return NULL;
}

/* ---- JSON <-> Lua ---- */

void luanet_push_json(lua_State *L, const json_t *j)
{
	size_t i;
	const char *k;
	json_t *v;

	luaL_checkstack(L, 4, "JSON nesting");
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_foreach((json_t *)j, k, v)
		{
			luanet_push_json(L, v);
			lua_setfield(L, -2, k);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(j), 0);
		json_array_foreach(j, i, v)
		{
			luanet_push_json(L, v);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		/* An empty Lua table reads back as an object; the marker keeps
		 * an empty array an array on its way back (an agent's empty
		 * "candidates" relayed as a "remote" command must stay []). */
		if (json_array_size(j) == 0) {
			luaL_newmetatable(L, JSON_ARRAY_MT);
			lua_setmetatable(L, -2);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	default:
		lua_pushnil(L);
	}
}

json_t *luanet_to_json(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		return json_real(lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		return json_stringn(s, n);
	}
	case LUA_TTABLE: {
		lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
		json_t *out;

		luaL_checkstack(L, 4, "table nesting");
		if (n > 0) {
			out = json_array();
			for (lua_Integer i = 1; i <= n; i++) {
				lua_rawgeti(L, idx, i);
				json_array_append_new(out, luanet_to_json(L, -1));
				lua_pop(L, 1);
			}
			return out;
		}
		if (lua_getmetatable(L, idx)) {
			int is_array;
			luaL_getmetatable(L, JSON_ARRAY_MT);
			is_array = lua_rawequal(L, -1, -2);
			lua_pop(L, 2);
			if (is_array)
				return json_array();
		}
		out = json_object();
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			if (lua_type(L, -2) == LUA_TSTRING) {
				json_t *v = luanet_to_json(L, -1);
				if (v)
					json_object_set_new(out, lua_tostring(L, -2), v);
			}
			lua_pop(L, 1);
		}
		return out;
	}
	case LUA_TLIGHTUSERDATA:
		/* natlab.null: a JSON null kept in a table (nil would drop the key) */
		if (lua_touserdata(L, idx) == NULL)
			return json_null();
		return NULL;
	default:
		return NULL;
	}
}

/* ---- nodes and links ---- */

struct emu_node *luanet_check_node(lua_State *L, int idx)
{
	struct node_ref *r = luaL_checkudata(L, idx, NODE_MT);

	return r->n;
}

static void push_node(lua_State *L, struct emu_node *n)
{
	struct node_ref *r = lua_newuserdatauv(L, sizeof(*r), 0);

	r->n = n;
	luaL_setmetatable(L, NODE_MT);
}

void luanet_push_node(lua_State *L, struct emu_node *n)
{
	push_node(L, n);
}

static int fail(lua_State *L, const char *what, const struct natlab_err *e)
{
	return luaL_error(L, "%s: %s", what, e->msg);
}

/* natlab.node(name) -> node: a new network namespace. */
static int l_node(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	const char *name = luaL_checkstring(L, 1);
	struct natlab_err e = {""};
	struct emu_node *n;

	if (luanet_node_find(ctx, name))
		return luaL_error(L, "natlab.node: a node called '%s' exists already", name);
	if (ctx->n_nodes >= LUANET_NODES_MAX)
		return luaL_error(L, "natlab.node: at most %d nodes per lab", LUANET_NODES_MAX);
	if (emu_node_new(name, &n, &e) < 0)
		return fail(L, "natlab.node", &e);
	ctx->node_flags[ctx->n_nodes] = 0;
	ctx->nodes[ctx->n_nodes++] = n;
	/* natlab exec/shell have nowhere to write: their labs never capture */
	if (ctx->capdir[0] && luanet_capture_wanted(L, ctx, name, 1)) {
		char abs[4400], rel[4200];

		if (node_capture(ctx, ctx->n_nodes - 1, abs, sizeof(abs), rel, sizeof(rel), &e) < 0)
			return fail(L, "natlab.node: capture", &e);
	}
	push_node(L, n);
	return 1;
}

/* natlab.capture(node) -> path, abs_path | nil, why: capture every
 * interface of @node from now on (pcap/<cell>/<node>.pcap); the path is
 * relative to the run directory, abs_path is where the file is now (a
 * scenario may read it while the capture runs: each packet is written as
 * it is seen). nil when this run writes no results (natlab exec). */
static int l_capture(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	int i = node_index(ctx, luanet_check_node(L, 1));
	struct natlab_err e = {""};
	char rel[4200], abs[4400];
	int ret;

	if (i < 0)
		return luaL_error(L, "natlab.capture: not a node of this cell");
	ret = node_capture(ctx, (unsigned)i, abs, sizeof(abs), rel, sizeof(rel), &e);
	if (ret == -ENOTSUP) {
		lua_pushnil(L);
		lua_pushstring(L, e.msg);
		return 2;
	}
	if (ret < 0)
		return fail(L, "natlab.capture", &e);
	lua_pushstring(L, rel);
	lua_pushstring(L, abs);
	return 2;
}

/* natlab.cell_dir() -> path | nil: the cell's log directory
 * (logs/<cell>.t<trial>, where spawned programs' stderr goes), for files a
 * scenario generates per cell (configurations); nil under natlab
 * exec/shell, which keep no logs. */
static int l_cell_dir(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);

	if (!ctx->logdir[0])
		return 0;
	lua_pushstring(L, ctx->logdir);
	return 1;
}

/* natlab.find(name) -> node or nil */
static int l_find(lua_State *L)
{
	struct emu_node *n = luanet_node_find(ctx_of(L), luaL_checkstring(L, 1));

	if (!n)
		return 0;
	push_node(L, n);
	return 1;
}

/* natlab.link(a, "eth0", b, "eth1"): a veth pair, both ends up. */
static int l_link(lua_State *L)
{
	struct emu_node *a = luanet_check_node(L, 1);
	const char *ia = luaL_checkstring(L, 2);
	struct emu_node *b = luanet_check_node(L, 3);
	const char *ib = luaL_checkstring(L, 4);
	struct natlab_err e = {""};

	if (emu_link_veth(a, ia, b, ib, &e) < 0)
		return fail(L, "natlab.link", &e);
	return 0;
}

static int n_name(lua_State *L)
{
	lua_pushstring(L, emu_node_name(luanet_check_node(L, 1)));
	return 1;
}

static int n_addr(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_addr_add(luanet_check_node(L, 1), luaL_checkstring(L, 2),
			      luaL_checkstring(L, 3), &e) < 0)
		return fail(L, "node:addr", &e);
	return 0;
}

/* node:link_up(ifname, up): a fault, recorded (iface-down / iface-up). */
static int n_up(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct natlab_err e = {""};
	int ret;

	luaL_checktype(L, 3, LUA_TBOOLEAN);
	ret = emu_fault_iface_set(ctx->faults, luanet_check_node(L, 1), luaL_checkstring(L, 2),
				  lua_toboolean(L, 3), &e);
	luanet_fault_sync(ctx);
	if (ret < 0)
		return fail(L, "node:link_up", &e);
	return 0;
}

static const char *field_str(lua_State *L, int t, const char *k, int required, const char *what)
{
	const char *s;

	lua_getfield(L, t, k);
	if (lua_isnil(L, -1) && !required) {
		lua_pop(L, 1);
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "%s: field '%s' must be a string", what, k);
	s = lua_tostring(L, -1);
	lua_pop(L, 1); /* still referenced by the table */
	return s;
}

/* node:roam{ifname=, new=, old=, gateway=, leave=}: the host moves to
 * another network in one call (emu_fault_roam): @leave (an interface)
 * goes down first, @new is added on @ifname, @old removed from it, the
 * default route of the gateway's family replaced. Recorded as iface-down
 * (with leave) and roam. */
static int n_roam(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct emu_node *n = luanet_check_node(L, 1);
	struct natlab_err e = {""};
	const char *ifname, *new_cidr, *old_cidr, *gw, *leave;
	int ret = 0;

	luaL_checktype(L, 2, LUA_TTABLE);
	ifname = field_str(L, 2, "ifname", 1, "node:roam");
	new_cidr = field_str(L, 2, "new", 1, "node:roam");
	old_cidr = field_str(L, 2, "old", 0, "node:roam");
	gw = field_str(L, 2, "gateway", 0, "node:roam");
	leave = field_str(L, 2, "leave", 0, "node:roam");
	if (leave)
		ret = emu_fault_iface_set(ctx->faults, n, leave, false, &e);
	if (ret == 0)
		ret = emu_fault_roam(ctx->faults, n, ifname, old_cidr, new_cidr, gw, &e);
	luanet_fault_sync(ctx);
	if (ret < 0)
		return fail(L, "node:roam", &e);
	return 0;
}

/* node:mtu(ifname, bytes) */
static int n_mtu(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_set_mtu(luanet_check_node(L, 1), luaL_checkstring(L, 2),
			     (unsigned)luaL_checkinteger(L, 3), &e) < 0)
		return fail(L, "node:mtu", &e);
	return 0;
}

/* node:bridge(name): a LAN switch inside the node */
static int n_bridge(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_bridge_add(luanet_check_node(L, 1), luaL_checkstring(L, 2), &e) < 0)
		return fail(L, "node:bridge", &e);
	return 0;
}

/* node:bridge_attach(bridge, ifname) */
static int n_bridge_attach(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_bridge_attach(luanet_check_node(L, 1), luaL_checkstring(L, 2),
				   luaL_checkstring(L, 3), &e) < 0)
		return fail(L, "node:bridge_attach", &e);
	return 0;
}

static int n_sysctl(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_node_sysctl_set(luanet_check_node(L, 1), luaL_checkstring(L, 2),
				luaL_checkstring(L, 3), &e) < 0)
		return fail(L, "node:sysctl", &e);
	return 0;
}

static int n_route(lua_State *L)
{
#ifdef NATLAB_HAVE_EMU_ROUTE
	struct natlab_err e = {""};

	if (emu_route_add(luanet_check_node(L, 1), luaL_checkstring(L, 2),
			  luaL_optstring(L, 3, NULL), luaL_optstring(L, 4, NULL), &e) < 0)
		return fail(L, "node:route", &e);
	return 0;
#else
	return luaL_error(L, "node:route: this natlab was built without emu routes (emu/route.c)");
#endif
}

static int n_forwarding(lua_State *L)
{
	struct emu_node *n = luanet_check_node(L, 1);
	int on = lua_isnone(L, 2) ? 1 : lua_toboolean(L, 2);
	struct natlab_err e = {""};

#ifdef NATLAB_HAVE_EMU_ROUTE
	if (emu_route_forwarding(n, on, &e) < 0)
		return fail(L, "node:forwarding", &e);
#else
	if (emu_node_sysctl_set(n, "net/ipv4/ip_forward", on ? "1" : "0", &e) < 0 ||
	    emu_node_sysctl_set(n, "net/ipv6/conf/all/forwarding", on ? "1" : "0", &e) < 0)
		return fail(L, "node:forwarding", &e);
#endif
	return 0;
}

#ifdef NATLAB_HAVE_EMU_NAT
static const char *opt_str(lua_State *L, int t, const char *k)
{
	const char *s;

	lua_getfield(L, t, k);
	s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
	lua_pop(L, 1);
	return s;
}

static int opt_bool(lua_State *L, int t, const char *k, bool *out)
{
	int present;

	lua_getfield(L, t, k);
	present = !lua_isnil(L, -1);
	if (present)
		*out = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return present;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer dflt)
{
	lua_Integer v;

	lua_getfield(L, t, k);
	v = lua_isnil(L, -1) ? dflt : luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	return v;
}
#endif

/* The evidence of node @i, a NAT since now (or again, with new knobs):
 * its drop log and drops pcap start on the first apply. A node whose
 * evidence cannot be gathered (no nfnetlink_log) still works as a NAT; the
 * record says why its evidence is missing. */
static void nat_evidence_begin(struct luanet_ctx *ctx, unsigned i, const struct emu_nat_config *cfg,
			       const char *preset)
{
	char file[300], abs[4400], rel[700];
	struct natlab_err e = {""};
	bool pcap;

	if (ctx->evidence[i]) {
		evidence_nat_reapplied(ctx->evidence[i], cfg, preset);
		return;
	}
	snprintf(file, sizeof(file), "drops-%s.pcap", emu_node_name(ctx->nodes[i]));
	/* the path only: the drop log makes the file (and folder) on the
	 * first drop */
	pcap = ctx->capdir[0] &&
	       (size_t)snprintf(abs, sizeof(abs), "%s/%s", ctx->capdir, file) < sizeof(abs) &&
	       (size_t)snprintf(rel, sizeof(rel), "%s%s", ctx->pcap_prefix, file) < sizeof(rel);
	if (evidence_nat_start(ctx->nodes[i], cfg, preset, pcap ? abs : NULL, rel,
			       &ctx->evidence[i], &e) < 0) {
		fprintf(stderr, "natlab: no NAT evidence for %s: %s\n",
			emu_node_name(ctx->nodes[i]), e.msg);
		if (!ctx->evidence_errors)
			ctx->evidence_errors = json_object();
		json_object_set_new(ctx->evidence_errors, emu_node_name(ctx->nodes[i]),
				    json_pack("{s:s}", "error", e.msg));
	}
}

json_t *luanet_evidence_collect(struct luanet_ctx *ctx, bool conntrack)
{
	json_t *all = ctx->evidence_errors ? json_deep_copy(ctx->evidence_errors) : NULL;

	for (unsigned i = 0; i < ctx->n_nodes; i++) {
		struct natlab_err e = {""};
		json_t *j;
		if (!ctx->evidence[i])
			continue;
		j = evidence_nat_json(ctx->evidence[i], ctx->nodes[i], ctx->start_ms, true,
				      conntrack, &e);
		if (!all)
			all = json_object();
		json_object_set_new(all, emu_node_name(ctx->nodes[i]),
				    j ? j : json_pack("{s:s}", "error", e.msg));
	}
	return all;
}

/* node:nat_evidence() -> {counters=, live_mappings_udp=, drops=, ...}: what
 * this NAT did so far (the record's evidence, docs/lua-api.md). */
static int n_nat_evidence(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct emu_node *n = luanet_check_node(L, 1);
	int i = node_index(ctx, n);
	struct natlab_err e = {""};
	json_t *j;

	if (i < 0 || !ctx->evidence[i]) {
		const char *why = json_string_value(json_object_get(
		    json_object_get(ctx->evidence_errors, emu_node_name(n)), "error"));
		if (why)
			return luaL_error(L, "node:nat_evidence: %s has no evidence: %s",
					  emu_node_name(n), why);
		return luaL_error(L, "node:nat_evidence: %s is not a NAT (call node:nat{} first)",
				  emu_node_name(n));
	}
	j = evidence_nat_json(ctx->evidence[i], n, ctx->start_ms, false, false, &e);
	if (!j)
		return fail(L, "node:nat_evidence", &e);
	luanet_push_json(L, j);
	json_decref(j);
	return 1;
}

/* node:nat{preset=..., outside=..., public={...}, knobs...} */
static int n_nat(lua_State *L)
{
#ifdef NATLAB_HAVE_EMU_NAT
	struct emu_node *n = luanet_check_node(L, 1);
	struct emu_nat_config cfg;
	struct natlab_err e = {""};
	const char *s;
	char preset[64];

	luaL_checktype(L, 2, LUA_TTABLE);
	memset(&cfg, 0, sizeof(cfg));
	s = opt_str(L, 2, "preset");
	snprintf(preset, sizeof(preset), "%s", s ? s : "easy");
	if (emu_nat_preset(preset, &cfg, &e) < 0)
		return fail(L, "node:nat", &e);
	if ((s = opt_str(L, 2, "mapping")) && emu_nat_mapping_parse(s, &cfg.mapping, &e) < 0)
		return fail(L, "node:nat", &e);
	if ((s = opt_str(L, 2, "filtering")) && emu_nat_filtering_parse(s, &cfg.filtering, &e) < 0)
		return fail(L, "node:nat", &e);
	if ((s = opt_str(L, 2, "ports")) && emu_nat_ports_parse(s, &cfg.ports, &e) < 0)
		return fail(L, "node:nat", &e);
	opt_bool(L, 2, "translate", &cfg.translate);
	opt_bool(L, 2, "hairpin", &cfg.hairpin);
	opt_bool(L, 2, "udp_blocked", &cfg.udp_blocked);
	opt_bool(L, 2, "tcp_in_blocked", &cfg.tcp_in_blocked);
	opt_bool(L, 2, "inbound_refreshes", &cfg.inbound_refreshes);
	opt_bool(L, 2, "paired_pooling", &cfg.paired_pooling);
	opt_bool(L, 2, "sip_alg", &cfg.sip_alg);
	/* portmap: "upnp,pcp" or {"upnp", "pcp"} (the server is the
	 * prelude's: natlab.portmap) */
	lua_getfield(L, 2, "portmap");
	if (lua_istable(L, -1)) {
		for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
			lua_rawgeti(L, -1, i);
			if (emu_nat_portmap_parse(luaL_checkstring(L, -1), &cfg.portmap, &e) < 0)
				return fail(L, "node:nat", &e);
			lua_pop(L, 1);
		}
	} else if (!lua_isnil(L, -1) &&
		   emu_nat_portmap_parse(luaL_checkstring(L, -1), &cfg.portmap, &e) < 0) {
		return fail(L, "node:nat", &e);
	}
	lua_pop(L, 1);
	cfg.port_min = (uint16_t)opt_int(L, 2, "port_min", cfg.port_min);
	cfg.port_max = (uint16_t)opt_int(L, 2, "port_max", cfg.port_max);
	cfg.udp_timeout_s = (unsigned)opt_int(L, 2, "udp_timeout_s", cfg.udp_timeout_s);
	if ((s = opt_str(L, 2, "outside")))
		snprintf(cfg.outside_ifname, sizeof(cfg.outside_ifname), "%s", s);
	if ((s = opt_str(L, 2, "inside")))
		snprintf(cfg.inside_ifname, sizeof(cfg.inside_ifname), "%s", s);
	lua_getfield(L, 2, "public");
	if (lua_istable(L, -1)) {
		for (lua_Integer i = 1;
		     i <= (lua_Integer)lua_rawlen(L, -1) && cfg.n_public_addrs < EMU_NAT_ADDRS_MAX;
		     i++) {
			lua_rawgeti(L, -1, i);
			snprintf(cfg.public_addrs[cfg.n_public_addrs++], EMU_NAT_ADDR_STR_MAX, "%s",
				 luaL_checkstring(L, -1));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	lua_getfield(L, 2, "tcp_out_ports");
	if (lua_istable(L, -1)) {
		for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1) &&
					cfg.n_tcp_out_ports < EMU_NAT_TCP_PORTS_MAX;
		     i++) {
			lua_rawgeti(L, -1, i);
			cfg.tcp_out_ports[cfg.n_tcp_out_ports++] =
			    (uint16_t)luaL_checkinteger(L, -1);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	{
		/* The first node:nat{} builds the NAT; any later one changes its
		 * behaviour mid-run, a fault recorded with what was asked. */
		struct luanet_ctx *ctx = ctx_of(L);
		int i = node_index(ctx, n);
		int again = i >= 0 && (ctx->node_flags[i] & LUANET_NODE_NAT);
		int ret = emu_nat_config_check(&cfg, &e);

		if (ret == 0 && again)
			evidence_nat_before_reapply(ctx->evidence[i], n);
		if (ret == 0)
			ret = emu_nat_apply(n, &cfg, &e);
		if (ret == 0 && i >= 0)
			nat_evidence_begin(ctx, (unsigned)i, &cfg, preset);
		if (again) {
			json_t *asked = luanet_to_json(L, 2);
			char *text =
			    asked ? json_dumps(asked, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

			emu_fault_log_record(ctx->faults, "nat-reapply", emu_node_name(n), ret,
					     "%s%s%s", text ? text : "", ret < 0 ? ": " : "",
					     ret < 0 ? e.msg : "");
			free(text);
			json_decref(asked);
			luanet_fault_sync(ctx);
		}
		if (ret < 0)
			return fail(L, "node:nat", &e);
		if (i >= 0)
			ctx->node_flags[i] |= LUANET_NODE_NAT;
	}
	return 0;
#else
	return luaL_error(L,
			  "node:nat: this natlab was built without the emu NAT engine (emu/nat.c)");
#endif
}

/* node:portmap_rules(op): op "forget" | "hollow" | "restore" on the
 * port-mapping server's rules (emu_nat_portmap_rules). The prelude's
 * natlab.portmap_fault records the fault; this only acts. */
static int n_portmap_rules(lua_State *L)
{
#ifdef NATLAB_HAVE_EMU_NAT
	static const char *const ops[] = {"forget", "hollow", "restore", NULL};
	struct emu_node *n = luanet_check_node(L, 1);
	int op = luaL_checkoption(L, 2, NULL, ops);
	struct natlab_err e = {""};

	if (emu_nat_portmap_rules(n, (enum emu_nat_portmap_op)op, &e) < 0)
		return fail(L, "node:portmap_rules", &e);
	return 0;
#else
	return luaL_error(
	    L, "node:portmap_rules: this natlab was built without the emu NAT engine (emu/nat.c)");
#endif
}

/* node:nat_flush(): a fault, recorded (nat-flush). */
static int n_nat_flush(lua_State *L)
{
#ifdef NATLAB_HAVE_EMU_NAT
	struct luanet_ctx *ctx = ctx_of(L);
	struct emu_node *n = luanet_check_node(L, 1);
	struct natlab_err e = {""};
	int i = node_index(ctx, n), ret;

	if (i >= 0)
		evidence_nat_before_flush(ctx->evidence[i], n);
	ret = emu_nat_flush(n, &e);
	if (ret == 0 && i >= 0)
		evidence_nat_changed(ctx->evidence[i]);
	emu_fault_log_record(ctx->faults, "nat-flush", emu_node_name(n), ret, "%s",
			     ret < 0 ? e.msg : "every mapping dropped, rules kept");
	luanet_fault_sync(ctx);
	if (ret < 0)
		return fail(L, "node:nat_flush", &e);
	return 0;
#else
	return luaL_error(
	    L, "node:nat_flush: this natlab was built without the emu NAT engine (emu/nat.c)");
#endif
}

/* node:conntrack() -> {{osrc=, osport=, odst=, odport=, rsrc=, rsport=,
 * rdst=, rdport=, timeout_s=}, ...}: the node's live IPv4 UDP flows (a
 * NAT's mappings: rdst:rdport is the public side). Raises on error. */
static int n_conntrack(lua_State *L)
{
	struct natlab_err e = {""};
	struct emu_ct_udp *v;
	size_t max = 4096, n = 0;

	v = lua_newuserdatauv(L, max * sizeof(*v), 0); /* freed by the GC */
	if (emu_conntrack_udp4(luanet_check_node(L, 1), v, max, &n, &e) < 0)
		return fail(L, "node:conntrack", &e);
	if (n > max)
		n = max;
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		/* the original tuple, then the reply tuple (o = original, r = reply) */
		const char *addr[4] = {v[i].osrc, v[i].odst, v[i].rsrc, v[i].rdst};
		const lua_Integer port[4] = {v[i].osport, v[i].odport, v[i].rsport, v[i].rdport};
		static const char *const akey[4] = {"osrc", "odst", "rsrc", "rdst"};
		static const char *const pkey[4] = {"osport", "odport", "rsport", "rdport"};
		lua_createtable(L, 0, 9);
		for (int k = 0; k < 4; k++) {
			lua_pushstring(L, addr[k]);
			lua_setfield(L, -2, akey[k]);
			lua_pushinteger(L, port[k]);
			lua_setfield(L, -2, pkey[k]);
		}
		lua_pushinteger(L, v[i].timeout_s);
		lua_setfield(L, -2, "timeout_s");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* The families a flow watch counts: IPv4, and IPv6 too when the table at
 * @idx (opts, or a {node, ifname, ipv6 = true} entry) says ipv6 = true. */
static unsigned flow_families(lua_State *L, int idx)
{
	unsigned f = EMU_FLOW_IPV4;

	if (lua_istable(L, idx)) {
		lua_getfield(L, idx, "ipv6");
		if (lua_toboolean(L, -1))
			f |= EMU_FLOW_IPV6;
		lua_pop(L, 1);
	}
	return f;
}

/* node:flow_watch([ifname][, {ipv6 = true}]): count the node's UDP/TCP
 * packets per 5-tuple and direction from now on (emu_flow_watch), only
 * through @ifname when given; IPv4, and IPv6 too with ipv6 = true. Raises
 * on error. */
static int n_flow_watch(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_flow_watch(luanet_check_node(L, 1), luaL_optstring(L, 2, NULL),
			   flow_families(L, 3), &e) < 0)
		return fail(L, "node:flow_watch", &e);
	return 0;
}

/* natlab.flow_watch_all({{node, ifname[, ipv6 = true]}, ...}):
 * node:flow_watch on every node at once (emu_flow_watch_all). Raises on
 * error. */
static int l_flow_watch_all(lua_State *L)
{
	struct natlab_err e = {""};
	struct emu_node **nodes;
	const char **ifnames;
	unsigned *fams;
	lua_Integer n;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = (lua_Integer)lua_rawlen(L, 1);
	nodes = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(*nodes), 0);
	ifnames = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(*ifnames), 0);
	fams = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(*fams), 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, i);
		luaL_argcheck(L, lua_istable(L, -1), 1, "a list of {node, ifname}");
		fams[i - 1] = flow_families(L, -1);
		lua_rawgeti(L, -1, 1);
		nodes[i - 1] = luanet_check_node(L, -1);
		lua_rawgeti(L, -2, 2);
		/* the strings stay alive: they are held by the argument table */
		ifnames[i - 1] = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
		lua_pop(L, 3);
	}
	if (emu_flow_watch_all(nodes, ifnames, fams, (size_t)n, &e) < 0)
		return fail(L, "natlab.flow_watch_all", &e);
	return 0;
}

/* node:flows() -> {{proto="udp"|"tcp", dir="in"|"out", src=, sport=, dst=,
 * dport=, pkts=, bytes=, first_ms=, last_ms=}, ...}: what flow_watch
 * counted (emu_flow_dump); first_ms/last_ms on natlab.now_ms()'s clock.
 * Raises on error. */
static int n_flows(lua_State *L)
{
	struct natlab_err e = {""};
	struct emu_flow *v;
	size_t max = 2048, n = 0; /* a call's point holds tens of flows */
	int64_t now_cell = luanet_now_ms() - ctx_of(L)->start_ms;

	v = lua_newuserdatauv(L, max * sizeof(*v), 0); /* freed by the GC */
	if (emu_flow_dump(luanet_check_node(L, 1), v, max, &n, &e) < 0)
		return fail(L, "node:flows", &e);
	if (n > max)
		n = max;
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 10);
		lua_pushstring(L, v[i].proto == IPPROTO_TCP ? "tcp" : "udp");
		lua_setfield(L, -2, "proto");
		lua_pushstring(L, v[i].ipv6 ? "ipv6" : "ipv4");
		lua_setfield(L, -2, "family");
		lua_pushstring(L, v[i].out ? "out" : "in");
		lua_setfield(L, -2, "dir");
		lua_pushstring(L, v[i].src);
		lua_setfield(L, -2, "src");
		lua_pushinteger(L, v[i].sport);
		lua_setfield(L, -2, "sport");
		lua_pushstring(L, v[i].dst);
		lua_setfield(L, -2, "dst");
		lua_pushinteger(L, v[i].dport);
		lua_setfield(L, -2, "dport");
		lua_pushinteger(L, (lua_Integer)v[i].pkts);
		lua_setfield(L, -2, "pkts");
		lua_pushinteger(L, (lua_Integer)v[i].bytes);
		lua_setfield(L, -2, "bytes");
		if (v[i].first_ago_ms != UINT64_MAX) {
			lua_pushinteger(L, (lua_Integer)(now_cell - (int64_t)v[i].first_ago_ms));
			lua_setfield(L, -2, "first_ms");
		}
		if (v[i].last_ago_ms != UINT64_MAX) {
			lua_pushinteger(L, (lua_Integer)(now_cell - (int64_t)v[i].last_ago_ms));
			lua_setfield(L, -2, "last_ms");
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* node:stun_binding(server, port[, timeout_ms]) -> "ip:port" | nil, err */
static int n_stun_binding(lua_State *L)
{
	struct natlab_err e = {""};
	char out[64];

	if (stunprobe_binding(luanet_check_node(L, 1), luaL_checkstring(L, 2),
			      (unsigned)luaL_checkinteger(L, 3), (int)luaL_optinteger(L, 4, 3000),
			      out, sizeof(out), &e) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, e.msg);
		return 2;
	}
	lua_pushstring(L, out);
	return 1;
}

/* natlab.nat_presets() -> {name=description, ...} */
static int l_nat_presets(lua_State *L)
{
	lua_newtable(L);
#ifdef NATLAB_HAVE_EMU_NAT
	for (const char *const *p = emu_nat_preset_names(); *p; p++) {
		const char *d = emu_nat_preset_describe(*p);
		lua_pushstring(L, d ? d : "");
		lua_setfield(L, -2, *p);
	}
#endif
	return 1;
}

/* natlab.nat_preset_check(name) -> nil when @name is a preset, else the
 * message naming it and the known presets (emu_nat_preset's own words):
 * the prelude checks a param of kind "nat_preset" with it when it expands
 * cells. */
static int l_nat_preset_check(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
#ifdef NATLAB_HAVE_EMU_NAT
	struct emu_nat_config cfg;
	struct natlab_err e = {""};

	if (emu_nat_preset(name, &cfg, &e) == 0)
		lua_pushnil(L);
	else
		lua_pushstring(L, e.msg);
#else
	lua_pushfstring(L, "unknown NAT preset \"%s\" (this natlab has no NAT support)", name);
#endif
	return 1;
}

/* ---- recording ---- */

static int l_now_ms(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)(luanet_now_ms() - ctx_of(L)->start_ms));
	return 1;
}

static int l_sleep_ms(lua_State *L)
{
	lua_Integer want = luaL_checkinteger(L, 1);
	lua_Integer ms = (lua_Integer)cell_deadline_cap(want < 0 ? 0 : want);
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (ms < want)
		cell_deadline_check(L);
	return 0;
}

static int l_log(lua_State *L)
{
	fprintf(stderr, "[%lld ms] %s\n", (long long)(luanet_now_ms() - ctx_of(L)->start_ms),
		luaL_checkstring(L, 1));
	return 0;
}

/* natlab.observe(key, value) */
static int l_observe(lua_State *L)
{
	json_t *v = luanet_to_json(L, 2);

	if (!v)
		return luaL_error(L, "natlab.observe: '%s' cannot be recorded as JSON",
				  luaL_checkstring(L, 1));
	json_object_set_new(ctx_of(L)->observations, luaL_checkstring(L, 1), v);
	return 0;
}

/* natlab.result{path=, connect_ms=, selected=, candidates=, outcome=,
 * message=, data=}: merged into the cell's result. */
static int l_result(lua_State *L)
{
	json_t *v;

	luaL_checktype(L, 1, LUA_TTABLE);
	v = luanet_to_json(L, 1);
	if (json_is_object(v))
		json_object_update(ctx_of(L)->result, v);
	json_decref(v);
	return 0;
}

/* natlab.event(src, ev[, fields]): a harness-side event on the timeline. */
static int l_event(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	json_t *ev =
	    json_pack("{s:I,s:s,s:s}", "t_ms", (json_int_t)(luanet_now_ms() - ctx->start_ms), "src",
		      luaL_checkstring(L, 1), "ev", luaL_checkstring(L, 2));

	if (json_array_size(ctx->events) < 2000)
		json_array_append_new(ctx->events, ev);
	else
		json_decref(ev);
	return 0;
}

static int l_json_encode(lua_State *L)
{
	json_t *j = luanet_to_json(L, 1);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	if (!s)
		return luaL_error(L, "natlab.json_encode: value cannot be JSON");
	lua_pushstring(L, s);
	free(s);
	return 1;
}

static int l_json_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	json_error_t je;
	json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &je);

	if (!j) {
		lua_pushnil(L);
		lua_pushstring(L, je.text);
		return 2;
	}
	luanet_push_json(L, j);
	json_decref(j);
	return 1;
}

/* natlab.dataplane_choose(ready_a, ready_b[, want]) -> plane | nil,
 * offer_a, offer_b: the data plane of two agents from their ready events
 * (tables, or nil: datagram only) and the plane a scenario asks for
 * (harness/planechoice.h); nil when they have none in common. offer_a and
 * offer_b say what each offers ("datagram, datachannel"), for messages. */
static int l_dataplane_choose(lua_State *L)
{
	json_t *r[2];
	unsigned offer[2];
	char text[2][64];
	enum planechoice_plane p;

	for (int i = 0; i < 2; i++) {
		r[i] = lua_istable(L, i + 1) ? luanet_to_json(L, i + 1) : NULL;
		offer[i] = planechoice_offer(r[i]);
		json_decref(r[i]);
		planechoice_describe(offer[i], text[i], sizeof(text[i]));
	}
	p = planechoice_pick(offer[0], offer[1], luaL_optstring(L, 3, NULL));
	if (p == PLANECHOICE_NONE)
		lua_pushnil(L);
	else
		lua_pushstring(L, planechoice_name(p));
	lua_pushstring(L, text[0]);
	lua_pushstring(L, text[1]);
	return 3;
}

void luanet_open(lua_State *L, struct luanet_ctx *ctx)
{
	static const luaL_Reg node_m[] = {
	    {"name", n_name},
	    {"addr", n_addr},
	    {"link_up", n_up},
	    {"roam", n_roam},
	    {"sysctl", n_sysctl},
	    {"route", n_route},
	    {"forwarding", n_forwarding},
	    {"nat", n_nat},
	    {"nat_flush", n_nat_flush},
	    {"portmap_rules", n_portmap_rules},
	    {"nat_evidence", n_nat_evidence},
	    {"spawn", luaproc_spawn},
	    {"mtu", n_mtu},
	    {"bridge", n_bridge},
	    {"bridge_attach", n_bridge_attach},
	    {"stun_binding", n_stun_binding},
	    {"conntrack", n_conntrack},
	    {"flow_watch", n_flow_watch},
	    {"flows", n_flows},
	    {NULL, NULL},
	};
	static const luaL_Reg lib[] = {
	    {"node", l_node},
	    {"find", l_find},
	    {"link", l_link},
	    {"capture", l_capture},
	    {"cell_dir", l_cell_dir},
	    {"nat_presets", l_nat_presets},
	    {"nat_preset_check", l_nat_preset_check},
	    {"now_ms", l_now_ms},
	    {"sleep_ms", l_sleep_ms},
	    {"log", l_log},
	    {"observe", l_observe},
	    {"result", l_result},
	    {"event", l_event},
	    {"json_encode", l_json_encode},
	    {"flow_watch_all", l_flow_watch_all},
	    {"json_decode", l_json_decode},
	    {"dataplane_choose", l_dataplane_choose},
	    {NULL, NULL},
	};

	luaL_newmetatable(L, NODE_MT);
	lua_newtable(L);
	lua_pushlightuserdata(L, ctx);
	luaL_setfuncs(L, node_m, 1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	lua_getglobal(L, "natlab");
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setglobal(L, "natlab");
	}
	lua_pushlightuserdata(L, ctx);
	luaL_setfuncs(L, lib, 1);
	luaproc_open(L, ctx);
	luaimpair_open(L, ctx);
	/* natlab.features: which emu modules this build has */
	lua_newtable(L);
#ifdef NATLAB_HAVE_EMU_ROUTE
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "route");
#endif
#ifdef NATLAB_HAVE_EMU_NAT
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "nat");
#endif
	lua_setfield(L, -2, "features");
	/* natlab.null: recorded as JSON null (docs/lua-api.md) */
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	lua_pop(L, 1);
}
