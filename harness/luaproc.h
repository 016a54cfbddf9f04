/* luaproc.h - the process half of the Lua binding (luanet.h): node:spawn,
 * the natlab.proc methods (line, event, send, wait, kill, pid,
 * close_stdin), natlab.poll and natlab.bin. */
#ifndef NATLAB_HARNESS_LUAPROC_H
#define NATLAB_HARNESS_LUAPROC_H

#include <lua.h>

#include "harness/luanet.h"

/* How long an agent has to exit after `stop` (or the end of its stdin)
 * before the harness kills its process group: scen.stop(), adapter-check
 * and the other helpers that stop agents wait this long, and say it as
 * natlab.stop_grace_ms. A browser closing its pages, its GPU and network
 * processes and its profile takes 0.3-2 s on a loaded host; 5 s leaves room
 * without making a hung agent cost much. A killed agent leaves nothing
 * either way: its /tmp is private (node:spawn's private_tmp). */
#define NATLAB_STOP_GRACE_MS 5000

/* luaproc_open - register the proc metatable, and natlab.poll and
 * natlab.bin into the table on top of @L's stack, bound to @ctx. */
void luaproc_open(lua_State *L, struct luanet_ctx *ctx);

/* luaproc_spawn - node:spawn(argv[, opts]); a node method (upvalue 1 is
 * the context). */
int luaproc_spawn(lua_State *L);

#endif
