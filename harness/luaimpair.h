/* luaimpair.h - the Lua binding of impaired links (emu/impair.h). */
#ifndef NATLAB_HARNESS_LUAIMPAIR_H
#define NATLAB_HARNESS_LUAIMPAIR_H

#include <lua.h>

/* luaimpair_open - register natlab.impair and the link metatable; the
 * `natlab` table must be on top of the stack (it stays there). A link is
 * freed (thread stopped, wire namespace gone) when Lua collects it or
 * closes the state, which the harness does before freeing the nodes. */
void luaimpair_open(lua_State *L);

#endif
