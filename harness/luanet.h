/* luanet.h - the thin Lua binding of a lab: the `natlab` table's C
 * functions (nodes, links, addresses, routes, NATs, processes, agent
 * events, observations). Argument checks and conversion only; helpers that
 * are easier in Lua live in scenarios/prelude/. One context per cell. */
#ifndef NATLAB_HARNESS_LUANET_H
#define NATLAB_HARNESS_LUANET_H

#include <jansson.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/err.h"

#define LUANET_NODES_MAX 64
#define LUANET_PROCS_MAX 128

struct emu_node;
struct emu_fault_log;
struct evidence_nat;

/* Per-node flags in luanet_ctx.node_flags */
#define LUANET_NODE_NAT	     1u /* node:nat{} applied once: the next is a fault */
#define LUANET_NODE_CAPTURED 2u /* a capture of this node runs */

/* What one cell builds and records. The binding owns the nodes and the
 * processes; luanet_ctx_teardown() kills every process and frees every node. */
struct luanet_ctx {
	int64_t start_ms;	/* monotonic time the cell began */
	char logdir[4096];	/* where agent stderr goes ("" = /dev/null) */
	json_t *result;		/* the cell's result object, filled by natlab.result() */
	json_t *events;		/* timeline: {t_ms, src, ev, ...} */
	json_t *observations;	/* natlab.observe(k, v) */
	json_t *logs;		/* log file paths, relative to the run directory */
	const char *log_prefix; /* relative path prefix for logs */
	struct emu_node *nodes[LUANET_NODES_MAX];
	unsigned n_nodes;
	int pids[LUANET_PROCS_MAX]; /* process groups started, 0 once reaped */
	unsigned n_pids;
	unsigned char node_flags[LUANET_NODES_MAX]; /* LUANET_NODE_*, by index in nodes[] */
	int interactive_stdio;	      /* exec/shell: let a spawn inherit the terminal */
	char capdir[4096];	      /* where this cell's captures go, made on first use
				       * ("" = capture impossible, e.g. natlab exec) */
	int capture_all;	      /* natlab run --capture: capture every node */
	const char *pcap_prefix;      /* relative path prefix for captures */
	json_t *pcaps;		      /* capture file paths, relative to the run directory */
	struct emu_fault_log *faults; /* every fault the scenario triggered (owned) */
	size_t faults_seen;	      /* how many of them are already in events */
	size_t event_field_bytes;     /* agents' own event fields kept so far (luaproc.c) */
	/* each NAT node's evidence (harness/evidence.h), by index in nodes[] */
	struct evidence_nat *evidence[LUANET_NODES_MAX];
	json_t *evidence_errors; /* node name -> why it has no evidence */
};

/* luanet_open - install the C functions into the `natlab` global table of
 * @L, bound to @ctx (borrowed; must outlive @L's use of it). */
void luanet_open(lua_State *L, struct luanet_ctx *ctx);

/* luanet_ctx_init / luanet_ctx_teardown - set up and tear down a context. */
void luanet_ctx_init(struct luanet_ctx *ctx);
void luanet_ctx_teardown(struct luanet_ctx *ctx);

/* luanet_fault_sync - append the fault-log entries not yet on the
 * timeline to ctx->events as {t_ms, t_real_us, src:"fault", ev:kind,
 * target, detail, result} (results/README.md). Every Lua call that injects
 * a fault calls it right after the fault, before it may raise an error. */
void luanet_fault_sync(struct luanet_ctx *ctx);

/* luanet_evidence_collect - the cell record's `evidence`: each NAT node's
 * counters, drops (the drop logs stop here) and, with @conntrack, a
 * conntrack snapshot; NULL when the cell has no NAT. Caller owns it. */
json_t *luanet_evidence_collect(struct luanet_ctx *ctx, bool conntrack);

/* luanet_capture_wanted - whether the scenario asked for a capture of the
 * node or impaired link called @name: `capture = true` in its declaration
 * (nodes only), or @name in its `capture = {...}` list; nodes also with
 * --capture. Raises a Lua error for a malformed `capture` field. */
int luanet_capture_wanted(lua_State *L, struct luanet_ctx *ctx, const char *name, int is_node);

/* luanet_capture_path - the file for capture @file (a file name) of this
 * cell: absolute path into @abs, run-relative path into @rel; makes the
 * cell's capture directory. -ENOTSUP (message in @e) when this context
 * cannot capture (natlab exec/shell), or a mkdir error. */
int luanet_capture_path(struct luanet_ctx *ctx, const char *file, char *abs, size_t abs_len,
			char *rel, size_t rel_len, struct natlab_err *e);

/* luanet_push_node - push @n (not owned: the caller frees it, after the
 * Lua state is closed) as a node object, as natlab.node returns one. */
void luanet_push_node(lua_State *L, struct emu_node *n);

/* luanet_check_node - the node at @idx of the Lua stack, or a Lua error. */
struct emu_node *luanet_check_node(lua_State *L, int idx);

/* luanet_node_find - the node called @name in @ctx, or NULL. */
struct emu_node *luanet_node_find(struct luanet_ctx *ctx, const char *name);

/* luanet_now_ms - monotonic milliseconds. */
int64_t luanet_now_ms(void);

/* Conversions between Lua values and JSON (tables with 1..n keys become
 * arrays). json_to_lua pushes one value. lua_to_json returns a new ref or
 * NULL for values JSON cannot hold (functions, userdata). */
void luanet_push_json(lua_State *L, const json_t *j);
json_t *luanet_to_json(lua_State *L, int idx);

/* luanet_bin_path - the path of program @name: next to the natlab
 * executable first (build/bin), then PATH. 0 and the path in @buf, or
 * -ENOENT. */
int luanet_bin_path(const char *name, char *buf, size_t len);

#endif
