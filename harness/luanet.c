/* luanet.c - the Lua binding of a lab (nodes, links, processes, events). */
#include "harness/luanet.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu/link.h"
#include "emu/node.h"
#include "harness/stunprobe.h"
#ifdef NATLAB_HAVE_EMU_ROUTE
#include "emu/route.h"
#endif
#ifdef NATLAB_HAVE_EMU_NAT
#include "emu/nat.h"
#endif

#define NODE_MT	       "natlab.node"
#define PROC_MT	       "natlab.proc"
#define LINE_MAX_BYTES 65536 /* one agent event line */

struct proc {
	pid_t pid;
	int in_fd;  /* its stdin, -1 when not a pipe */
	int out_fd; /* its stdout, -1 when not a pipe */
	int status; /* wait status once exited */
	int exited;
	char name[64];
	char buf[LINE_MAX_BYTES];
	size_t len;
	int eof;
};

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
}

void luanet_ctx_teardown(struct luanet_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->n_pids; i++) {
		if (ctx->pids[i] > 0) {
			kill(-ctx->pids[i], SIGKILL);
			waitpid(ctx->pids[i], NULL, 0);
			ctx->pids[i] = 0;
		}
	}
	for (unsigned i = 0; i < ctx->n_nodes; i++)
		emu_node_free(ctx->nodes[i]);
	ctx->n_nodes = 0;
	json_decref(ctx->result);
	json_decref(ctx->events);
	json_decref(ctx->observations);
	json_decref(ctx->logs);
	ctx->result = ctx->events = ctx->observations = ctx->logs = NULL;
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
	default:
		return NULL;
	}
}

/* ---- nodes and links ---- */

static struct emu_node *check_node(lua_State *L, int idx)
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
	ctx->nodes[ctx->n_nodes++] = n;
	push_node(L, n);
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
	struct emu_node *a = check_node(L, 1);
	const char *ia = luaL_checkstring(L, 2);
	struct emu_node *b = check_node(L, 3);
	const char *ib = luaL_checkstring(L, 4);
	struct natlab_err e = {""};

	if (emu_link_veth(a, ia, b, ib, &e) < 0)
		return fail(L, "natlab.link", &e);
	return 0;
}

static int n_name(lua_State *L)
{
	lua_pushstring(L, emu_node_name(check_node(L, 1)));
	return 1;
}

static int n_addr(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_addr_add(check_node(L, 1), luaL_checkstring(L, 2), luaL_checkstring(L, 3),
			      &e) < 0)
		return fail(L, "node:addr", &e);
	return 0;
}

static int n_up(lua_State *L)
{
	struct natlab_err e = {""};

	luaL_checktype(L, 3, LUA_TBOOLEAN);
	if (emu_link_set_up(check_node(L, 1), luaL_checkstring(L, 2), lua_toboolean(L, 3), &e) < 0)
		return fail(L, "node:link_up", &e);
	return 0;
}

/* node:mtu(ifname, bytes) */
static int n_mtu(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_set_mtu(check_node(L, 1), luaL_checkstring(L, 2),
			     (unsigned)luaL_checkinteger(L, 3), &e) < 0)
		return fail(L, "node:mtu", &e);
	return 0;
}

/* node:bridge(name): a LAN switch inside the node */
static int n_bridge(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_bridge_add(check_node(L, 1), luaL_checkstring(L, 2), &e) < 0)
		return fail(L, "node:bridge", &e);
	return 0;
}

/* node:bridge_attach(bridge, ifname) */
static int n_bridge_attach(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_link_bridge_attach(check_node(L, 1), luaL_checkstring(L, 2), luaL_checkstring(L, 3),
				   &e) < 0)
		return fail(L, "node:bridge_attach", &e);
	return 0;
}

static int n_sysctl(lua_State *L)
{
	struct natlab_err e = {""};

	if (emu_node_sysctl_set(check_node(L, 1), luaL_checkstring(L, 2), luaL_checkstring(L, 3),
				&e) < 0)
		return fail(L, "node:sysctl", &e);
	return 0;
}

static int n_route(lua_State *L)
{
#ifdef NATLAB_HAVE_EMU_ROUTE
	struct natlab_err e = {""};

	if (emu_route_add(check_node(L, 1), luaL_checkstring(L, 2), luaL_optstring(L, 3, NULL),
			  luaL_optstring(L, 4, NULL), &e) < 0)
		return fail(L, "node:route", &e);
	return 0;
#else
	return luaL_error(L, "node:route: this natlab was built without emu routes (emu/route.c)");
#endif
}

static int n_forwarding(lua_State *L)
{
	struct emu_node *n = check_node(L, 1);
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

/* node:nat{preset=..., outside=..., public={...}, knobs...} */
static int n_nat(lua_State *L)
{
#ifdef NATLAB_HAVE_EMU_NAT
	struct emu_node *n = check_node(L, 1);
	struct emu_nat_config cfg;
	struct natlab_err e = {""};
	const char *s;

	luaL_checktype(L, 2, LUA_TTABLE);
	memset(&cfg, 0, sizeof(cfg));
	s = opt_str(L, 2, "preset");
	if (emu_nat_preset(s ? s : "easy", &cfg, &e) < 0)
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
	if (emu_nat_config_check(&cfg, &e) < 0 || emu_nat_apply(n, &cfg, &e) < 0)
		return fail(L, "node:nat", &e);
	return 0;
#else
	return luaL_error(L,
			  "node:nat: this natlab was built without the emu NAT engine (emu/nat.c)");
#endif
}

static int n_nat_flush(lua_State *L)
{
#ifdef NATLAB_HAVE_EMU_NAT
	struct natlab_err e = {""};

	if (emu_nat_flush(check_node(L, 1), &e) < 0)
		return fail(L, "node:nat_flush", &e);
	return 0;
#else
	return luaL_error(
	    L, "node:nat_flush: this natlab was built without the emu NAT engine (emu/nat.c)");
#endif
}

/* node:stun_binding(server, port[, timeout_ms]) -> "ip:port" | nil, err */
static int n_stun_binding(lua_State *L)
{
	struct natlab_err e = {""};
	char out[64];

	if (stunprobe_binding(check_node(L, 1), luaL_checkstring(L, 2),
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

/* ---- processes ---- */

int luanet_bin_path(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *path = getenv("PATH");

	if (strchr(name, '/')) {
		snprintf(buf, len, "%s", name);
		return access(buf, X_OK) == 0 ? 0 : -ENOENT;
	}
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/%s", self, name);
			if (access(buf, X_OK) == 0)
				return 0;
		}
	}
	const char *bindir = getenv("NATLAB_BIN_DIR");
	if (bindir) {
		snprintf(buf, len, "%s/%s", bindir, name);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t l = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(buf, len, "%.*s/%s", (int)l, path, name);
		if (access(buf, X_OK) == 0)
			return 0;
		path += l + (colon ? 1 : 0);
	}
	return -ENOENT;
}

/* natlab.bin(name) -> path or nil */
static int l_bin(lua_State *L)
{
	char buf[PATH_MAX];

	if (luanet_bin_path(luaL_checkstring(L, 1), buf, sizeof(buf)) < 0)
		return 0;
	lua_pushstring(L, buf);
	return 1;
}

static struct proc *check_proc(lua_State *L)
{
	return luaL_checkudata(L, 1, PROC_MT);
}

/* node:spawn({argv...}, {name=, stdio="pipe"|"inherit"|"null"}) -> proc */
static int n_spawn(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct emu_node *n = check_node(L, 1);
	const char *stdio = "pipe";
	const char *name = NULL;
	struct emu_spawn_opts o = {-1, -1, -1, NULL, NULL};
	char *argv[65];
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	int errfd = -1;
	struct natlab_err e = {""};
	struct proc *p;
	lua_Integer argc;
	int ret;

	luaL_checktype(L, 2, LUA_TTABLE);
	argc = (lua_Integer)lua_rawlen(L, 2);
	if (argc < 1 || argc > 64)
		return luaL_error(L, "node:spawn: argv must have 1 to 64 words");
	for (lua_Integer i = 1; i <= argc; i++) {
		lua_rawgeti(L, 2, i);
		argv[i - 1] = (char *)luaL_checkstring(L, -1);
		lua_pop(L, 1); /* the string stays referenced by the table */
	}
	argv[argc] = NULL;
	if (lua_istable(L, 3)) {
		lua_getfield(L, 3, "stdio");
		if (!lua_isnil(L, -1))
			stdio = luaL_checkstring(L, -1);
		lua_getfield(L, 3, "name");
		if (!lua_isnil(L, -1))
			name = luaL_checkstring(L, -1);
		lua_pop(L, 2);
	}
	if (ctx->n_pids >= LUANET_PROCS_MAX)
		return luaL_error(L, "node:spawn: at most %d processes per lab", LUANET_PROCS_MAX);
	p = lua_newuserdatauv(L, sizeof(*p), 0);
	memset(p, 0, offsetof(struct proc, buf));
	p->in_fd = p->out_fd = -1;
	luaL_setmetatable(L, PROC_MT);
	snprintf(p->name, sizeof(p->name), "%s", name ? name : emu_node_name(n));
	if (strcmp(stdio, "inherit") == 0) {
		o.stdin_fd = 0;
		o.stdout_fd = 1;
		o.stderr_fd = 2;
	} else if (strcmp(stdio, "pipe") == 0) {
		if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
			ret = natlab_err_set(&e, errno, "pipe");
			goto fail;
		}
		o.stdin_fd = in[0];
		o.stdout_fd = out[1];
	} else if (strcmp(stdio, "null") != 0) {
		return luaL_error(
		    L, "node:spawn: stdio must be \"pipe\", \"inherit\" or \"null\", not \"%s\"",
		    stdio);
	}
	if (o.stderr_fd < 0 && ctx->logdir[0]) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s.log", ctx->logdir, p->name);
		errfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (errfd >= 0) {
			char rel[4200];
			o.stderr_fd = errfd;
			snprintf(rel, sizeof(rel), "%s%s.log", ctx->log_prefix, p->name);
			json_array_append_new(ctx->logs, json_string(rel));
		}
	}
	ret = emu_node_spawn(n, argv, &o, &p->pid, &e);
	if (ret < 0)
		goto fail;
	ctx->pids[ctx->n_pids++] = p->pid;
	if (in[0] >= 0) {
		close(in[0]);
		close(out[1]);
		p->in_fd = in[1];
		p->out_fd = out[0];
		fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	}
	if (errfd >= 0)
		close(errfd);
	return 1;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (errfd >= 0)
		close(errfd);
	return luaL_error(L, "node:spawn %s: %s", argv[0], e.msg);
}

/* Read one line within @timeout_ms. 1: line in p->buf (NUL-terminated,
 * newline removed) of *@llen bytes; 0: timeout; -1: end of file. */
static int proc_line(struct proc *p, int timeout_ms, size_t *llen)
{
	int64_t deadline = luanet_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		struct pollfd pfd = {p->out_fd, POLLIN, 0};
		int64_t left;
		ssize_t r;

		if (nl) {
			*nl = '\0';
			*llen = (size_t)(nl - p->buf);
			return 1;
		}
		if (p->eof || p->out_fd < 0)
			return -1;
		if (p->len == sizeof(p->buf) - 1) { /* overlong line: hand it over cut */
			p->buf[p->len] = '\n';
			p->len++;
			continue;
		}
		r = read(p->out_fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
		if (r > 0) {
			p->len += (size_t)r;
			continue;
		}
		if (r == 0) {
			p->eof = 1;
			if (p->len) { /* last line without a newline */
				p->buf[p->len] = '\n';
				p->len++;
				p->eof = 0;
				continue;
			}
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		left = deadline - luanet_now_ms();
		if (left <= 0)
			return 0;
		poll(&pfd, 1, (int)left);
	}
}

static void proc_consume(struct proc *p, size_t llen)
{
	memmove(p->buf, p->buf + llen + 1, p->len - llen - 1);
	p->len -= llen + 1;
}

/* proc:line(timeout_ms) -> string | nil, "timeout"|"eof" */
static int p_line(lua_State *L)
{
	struct proc *p = check_proc(L);
	size_t llen;
	int r = proc_line(p, (int)luaL_optinteger(L, 2, 5000), &llen);

	if (r <= 0) {
		lua_pushnil(L);
		lua_pushstring(L, r == 0 ? "timeout" : "eof");
		return 2;
	}
	lua_pushlstring(L, p->buf, llen);
	proc_consume(p, llen);
	return 1;
}

/* Decode the line of @llen bytes waiting in @p, record it on the
 * timeline, push it as a table. */
static void push_event(lua_State *L, struct luanet_ctx *ctx, struct proc *p, size_t llen)
{
	json_error_t je;
	json_t *j;

	j = json_loadb(p->buf, llen, 0, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		j = json_pack("{s:s,s:s%}", "ev", "nonjson", "line", p->buf, llen);
	}
	proc_consume(p, llen);
	if (ctx->events && json_array_size(ctx->events) < 2000) {
		json_t *ev = json_pack("{s:I,s:s,s:O?}", "t_ms",
				       (json_int_t)(luanet_now_ms() - ctx->start_ms), "src",
				       p->name, "ev", json_object_get(j, "ev"));
		if (ev)
			json_array_append_new(ctx->events, ev);
	}
	luanet_push_json(L, j);
	json_decref(j);
}

/* proc:event(timeout_ms) -> table | nil, "timeout"|"eof"; a line that is
 * not JSON comes back as {ev="nonjson", line=...}. Every event is added to
 * the cell's timeline with the process's name as its source. */
static int p_event(lua_State *L)
{
	struct proc *p = check_proc(L);
	size_t llen;
	int r = proc_line(p, (int)luaL_optinteger(L, 2, 5000), &llen);

	if (r <= 0) {
		lua_pushnil(L);
		lua_pushstring(L, r == 0 ? "timeout" : "eof");
		return 2;
	}
	push_event(L, ctx_of(L), p, llen);
	return 1;
}

/* natlab.poll({proc, ...}, timeout_ms) -> i, event | nil, "timeout"|"eof":
 * the next event from whichever process speaks first (i: its index). "eof"
 * when every process has closed its stdout. */
static int l_poll(lua_State *L)
{
	struct proc *ps[32];
	struct pollfd pfd[32];
	lua_Integer n;
	int64_t deadline;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = (lua_Integer)lua_rawlen(L, 1);
	if (n < 1 || n > 32)
		return luaL_error(L, "natlab.poll: give 1 to 32 processes");
	deadline = luanet_now_ms() + luaL_optinteger(L, 2, 5000);
	for (lua_Integer i = 0; i < n; i++) {
		lua_rawgeti(L, 1, i + 1);
		ps[i] = luaL_checkudata(L, -1, PROC_MT);
		lua_pop(L, 1);
	}
	for (;;) {
		int open = 0;
		int64_t left;

		for (lua_Integer i = 0; i < n; i++) {
			size_t llen;
			int r = proc_line(ps[i], 0, &llen);
			if (r > 0) {
				lua_pushinteger(L, i + 1);
				push_event(L, ctx_of(L), ps[i], llen);
				return 2;
			}
			pfd[i].fd = r < 0 ? -1 : ps[i]->out_fd;
			pfd[i].events = POLLIN;
			open += r == 0;
		}
		left = deadline - luanet_now_ms();
		if (!open || left <= 0) {
			lua_pushnil(L);
			lua_pushstring(L, open ? "timeout" : "eof");
			return 2;
		}
		poll(pfd, (nfds_t)n, (int)left);
	}
}

/* proc:send(table | string): one line on the process's stdin. */
static int p_send(lua_State *L)
{
	struct proc *p = check_proc(L);
	char *line;
	size_t len;

	if (p->in_fd < 0)
		return luaL_error(
		    L, "proc:send: %s was not started with stdio=\"pipe\" or has closed", p->name);
	if (lua_type(L, 2) == LUA_TSTRING) {
		const char *s = lua_tolstring(L, 2, &len);
		line = malloc(len + 2);
		memcpy(line, s, len);
	} else {
		json_t *j = luanet_to_json(L, 2);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (!s)
			return luaL_error(L, "proc:send: value cannot be sent as JSON");
		len = strlen(s);
		line = realloc(s, len + 2);
	}
	line[len++] = '\n';
	for (size_t off = 0; off < len;) {
		ssize_t w = write(p->in_fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			free(line);
			lua_pushnil(L);
			lua_pushstring(L, strerror(errno));
			return 2;
		}
		off += (size_t)w;
	}
	free(line);
	lua_pushboolean(L, 1);
	return 1;
}

static void forget_pid(struct luanet_ctx *ctx, pid_t pid)
{
	for (unsigned i = 0; i < ctx->n_pids; i++)
		if (ctx->pids[i] == pid)
			ctx->pids[i] = 0;
}

static void push_status(lua_State *L, int status)
{
	if (WIFEXITED(status))
		lua_pushinteger(L, WEXITSTATUS(status));
	else
		lua_pushinteger(L, 128 + WTERMSIG(status));
}

/* proc:wait(timeout_ms) -> exit status (128+signal when killed) | nil */
static int p_wait(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct proc *p = check_proc(L);
	int64_t deadline = luanet_now_ms() + luaL_optinteger(L, 2, -1);
	int forever = luaL_optinteger(L, 2, -1) < 0;

	while (!p->exited) {
		pid_t r = waitpid(p->pid, &p->status, WNOHANG);
		if (r == p->pid) {
			p->exited = 1;
			forget_pid(ctx, p->pid);
			break;
		}
		if (r < 0 && errno != EINTR)
			return luaL_error(L, "proc:wait %s: %s", p->name, strerror(errno));
		if (!forever && luanet_now_ms() >= deadline)
			return 0;
		usleep(5000); /* children are few; a 5 ms poll keeps this simple */
	}
	push_status(L, p->status);
	return 1;
}

/* proc:kill(): SIGKILL its process group and reap it. */
static int p_kill(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct proc *p = check_proc(L);

	if (!p->exited) {
		kill(-p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->exited = 1;
		forget_pid(ctx, p->pid);
	}
	push_status(L, p->status);
	return 1;
}

/* proc:close_stdin(): end of input for the process. */
static int p_close_stdin(lua_State *L)
{
	struct proc *p = check_proc(L);

	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
	return 0;
}

static int p_pid(lua_State *L)
{
	lua_pushinteger(L, check_proc(L)->pid);
	return 1;
}

static int p_gc(lua_State *L)
{
	struct proc *p = luaL_checkudata(L, 1, PROC_MT);

	if (p->in_fd >= 0)
		close(p->in_fd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->in_fd = p->out_fd = -1;
	return 0;
}

/* ---- recording ---- */

static int l_now_ms(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)(luanet_now_ms() - ctx_of(L)->start_ms));
	return 1;
}

static int l_sleep_ms(lua_State *L)
{
	lua_Integer ms = luaL_checkinteger(L, 1);
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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

void luanet_open(lua_State *L, struct luanet_ctx *ctx)
{
	static const luaL_Reg node_m[] = {
	    {"name", n_name},
	    {"addr", n_addr},
	    {"link_up", n_up},
	    {"sysctl", n_sysctl},
	    {"route", n_route},
	    {"forwarding", n_forwarding},
	    {"nat", n_nat},
	    {"nat_flush", n_nat_flush},
	    {"spawn", n_spawn},
	    {"mtu", n_mtu},
	    {"bridge", n_bridge},
	    {"bridge_attach", n_bridge_attach},
	    {"stun_binding", n_stun_binding},
	    {NULL, NULL},
	};
	static const luaL_Reg proc_m[] = {
	    {"line", p_line},
	    {"event", p_event},
	    {"send", p_send},
	    {"wait", p_wait},
	    {"kill", p_kill},
	    {"pid", p_pid},
	    {"close_stdin", p_close_stdin},
	    {NULL, NULL},
	};
	static const luaL_Reg lib[] = {
	    {"node", l_node},
	    {"find", l_find},
	    {"poll", l_poll},
	    {"link", l_link},
	    {"bin", l_bin},
	    {"nat_presets", l_nat_presets},
	    {"now_ms", l_now_ms},
	    {"sleep_ms", l_sleep_ms},
	    {"log", l_log},
	    {"observe", l_observe},
	    {"result", l_result},
	    {"event", l_event},
	    {"json_encode", l_json_encode},
	    {"json_decode", l_json_decode},
	    {NULL, NULL},
	};

	luaL_newmetatable(L, NODE_MT);
	lua_newtable(L);
	lua_pushlightuserdata(L, ctx);
	luaL_setfuncs(L, node_m, 1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	luaL_newmetatable(L, PROC_MT);
	lua_newtable(L);
	lua_pushlightuserdata(L, ctx);
	luaL_setfuncs(L, proc_m, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, p_gc);
	lua_setfield(L, -2, "__gc");
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
	lua_pop(L, 1);
}
