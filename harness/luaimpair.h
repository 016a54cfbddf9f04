/* luaimpair.h - the Lua binding of impaired links (emu/impair.h). */
#ifndef NATLAB_HARNESS_LUAIMPAIR_H
#define NATLAB_HARNESS_LUAIMPAIR_H

#include <lua.h>

struct luanet_ctx;

/* luaimpair_open - register natlab.impair and the link metatable; the
 * `natlab` table must be on top of the stack (it stays there). A link is
 * freed (thread stopped, wire namespace gone, capture flushed) when Lua
 * collects it or closes the state, which the harness does before freeing
 * the nodes. Faults (link:up, link:blackhole) are recorded in @ctx's fault
 * log and timeline; captures go to @ctx's capture directory. @ctx is
 * borrowed and must outlive @L. */
void luaimpair_open(lua_State *L, struct luanet_ctx *ctx);

#endif
