/* luaproc.h - the process half of the Lua binding (luanet.h): node:spawn,
 * the natlab.proc methods (line, event, send, wait, kill, pid,
 * close_stdin), natlab.poll and natlab.bin. */
#ifndef NATLAB_HARNESS_LUAPROC_H
#define NATLAB_HARNESS_LUAPROC_H

#include <lua.h>

#include "harness/luanet.h"

/* luaproc_open - register the proc metatable, and natlab.poll and
 * natlab.bin into the table on top of @L's stack, bound to @ctx. */
void luaproc_open(lua_State *L, struct luanet_ctx *ctx);

/* luaproc_spawn - node:spawn(argv[, opts]); a node method (upvalue 1 is
 * the context). */
int luaproc_spawn(lua_State *L);

#endif
