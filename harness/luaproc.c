/* luaproc.c - programs and agents started in lab nodes, from Lua: spawn,
 * JSON-line events (docs/agent-protocol.md), commands, waits, kills. */
#include "harness/luaproc.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu/node.h"
#include "harness/celldeadline.h"

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

static struct luanet_ctx *ctx_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

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

/* Whether @rel is in the cell's log list already. */
static bool log_listed(const struct luanet_ctx *ctx, const char *rel)
{
	size_t i;
	json_t *v;

	json_array_foreach(ctx->logs, i, v)
		if (strcmp(json_string_value(v) ? json_string_value(v) : "", rel) == 0)
			return true;
	return false;
}

/* node:spawn({argv...}, {name=, stdio="pipe"|"inherit"|"null",
 * private_tmp=bool}) -> proc */
int luaproc_spawn(lua_State *L)
{
	struct luanet_ctx *ctx = ctx_of(L);
	struct emu_node *n = luanet_check_node(L, 1);
	const char *stdio = "pipe";
	const char *name = NULL;
	struct emu_spawn_opts o = {-1, -1, -1, NULL, NULL, false};
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
		lua_getfield(L, 3, "private_tmp");
		o.private_tmp = lua_toboolean(L, -1);
		lua_pop(L, 3);
	}
	if (ctx->n_pids >= LUANET_PROCS_MAX)
		return luaL_error(L, "node:spawn: at most %d processes per lab", LUANET_PROCS_MAX);
	p = lua_newuserdatauv(L, sizeof(*p), 0);
	/* buf need not be cleared, but len and eof (after it) must: Lua's fresh
	 * userdata is not zeroed, and a stale len sends memchr off the end. */
	memset(p, 0, offsetof(struct proc, buf));
	p->len = 0;
	p->eof = 0;
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
			/* a second program of the same name appends to the
			 * same log: listed once */
			if (!log_listed(ctx, rel))
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
	lua_Integer want = luaL_optinteger(L, 2, 5000);
	int r = proc_line(p, (int)cell_deadline_cap(want < 0 ? 0 : want), &llen);

	if (r == 0)
		cell_deadline_check(L);
	if (r <= 0) {
		lua_pushnil(L);
		lua_pushstring(L, r == 0 ? "timeout" : "eof");
		return 2;
	}
	lua_pushlstring(L, p->buf, llen);
	proc_consume(p, llen);
	return 1;
}

/* What an agent said is kept on the timeline with its own fields (a
 * failure's reason, an error's text, a state, a selected pair), bounded so
 * a chatty agent cannot grow a cell record without limit: a field whose
 * JSON is larger than EVENT_FIELD_MAX bytes, or that would take the cell
 * past EVENT_FIELDS_CELL_MAX bytes of such fields, or that holds a NUL
 * character, is left out and named in the event's "elided" list. The agent's own t_ms (its clock) becomes
 * agent_t_ms; t_ms, src and ev are the harness's. */
#define EVENT_FIELD_MAX	      4096
#define EVENT_FIELDS_CELL_MAX (256 * 1024)

static void event_keep_fields(struct luanet_ctx *ctx, json_t *ev, json_t *j)
{
	json_t *elided = NULL;
	const char *key;
	json_t *val;

	json_object_foreach(j, key, val) {
		char *s;
		size_t n;

		if (!strcmp(key, "ev") || !strcmp(key, "src") || !strcmp(key, "elided"))
			continue;
		s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
		n = s ? strlen(s) + strlen(key) + 4 : SIZE_MAX;
		/* a string holding NUL (an agent may print "\u0000") could not be
		 * read back from cells.jsonl (jansson refuses it): left out */
		if (s && strstr(s, "\\u0000"))
			n = SIZE_MAX;
		free(s);
		if (n <= EVENT_FIELD_MAX && ctx->event_field_bytes + n <= EVENT_FIELDS_CELL_MAX) {
			ctx->event_field_bytes += n;
			json_object_set(ev, strcmp(key, "t_ms") ? key : "agent_t_ms", val);
			continue;
		}
		if (!elided)
			elided = json_array();
		json_array_append_new(elided, json_string(key));
	}
	if (elided)
		json_object_set_new(ev, "elided", elided);
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
		if (ev) {
			event_keep_fields(ctx, ev, j);
			json_array_append_new(ctx->events, ev);
		}
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
	lua_Integer want = luaL_optinteger(L, 2, 5000);
	int r = proc_line(p, (int)cell_deadline_cap(want < 0 ? 0 : want), &llen);

	if (r == 0)
		cell_deadline_check(L);
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
		left = cell_deadline_cap(left < 0 ? 0 : left);
		if (open && left <= 0)
			cell_deadline_check(L);
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

/* A reaped process gives its slot back (the last one moves into it): a
 * scenario that starts short-lived programs in a loop (a readiness probe)
 * is limited by how many run at once, not by how many it ever started. */
static void forget_pid(struct luanet_ctx *ctx, pid_t pid)
{
	for (unsigned i = 0; i < ctx->n_pids; i++) {
		if (ctx->pids[i] == pid) {
			ctx->pids[i] = ctx->pids[--ctx->n_pids];
			return;
		}
	}
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
		cell_deadline_check(L);
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

void luaproc_open(lua_State *L, struct luanet_ctx *ctx)
{
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
	    {"poll", l_poll},
	    {"bin", l_bin},
	    {NULL, NULL},
	};

	luaL_newmetatable(L, PROC_MT);
	lua_newtable(L);
	lua_pushlightuserdata(L, ctx);
	luaL_setfuncs(L, proc_m, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, p_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_pushlightuserdata(L, ctx);
	luaL_setfuncs(L, lib, 1);
	lua_pushinteger(L, NATLAB_STOP_GRACE_MS);
	lua_setfield(L, -2, "stop_grace_ms");
}
