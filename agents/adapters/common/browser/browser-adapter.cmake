# browser-adapter.cmake - natlab_browser_adapter(NAME EXECUTABLE): link
# build/bin/natlab-NAME (agents/adapters/NAME/natlab-NAME) only when the
# browser EXECUTABLE is installed and `npm ci` put puppeteer-core into
# agents/adapters/node_modules (scripts/install-deps --browsers); otherwise
# remove a stale link, and natlab.agent skips the cells that name it.
include(${CMAKE_CURRENT_LIST_DIR}/../node/node-adapter.cmake)

function(natlab_browser_adapter name executable)
  # node-adapter.cmake is included once (include_guard): its directory
  # variable is not set in the scope of a second adapter
  get_filename_component(NATLAB_NODE_ADAPTERS ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../.. ABSOLUTE)
  if(EXISTS ${executable})
    natlab_node_adapter(${name} puppeteer-core)
  else()
    file(REMOVE ${CMAKE_BINARY_DIR}/bin/natlab-${name})
    message(STATUS "natlab-${name} is not installed: needs ${executable} "
                   "(scripts/install-deps --browsers, then rebuild)")
  endif()
endfunction()
