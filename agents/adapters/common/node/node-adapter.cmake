# node-adapter.cmake - the Node adapters' build rules (included by each
# agents/adapters/<name>/CMakeLists.txt written in Node):
#  - natlab_node_adapter(NAME PACKAGE): build/bin/natlab-NAME, a symlink to
#    agents/adapters/NAME/natlab-NAME, made only when node is found and npm
#    package PACKAGE is installed in agents/adapters/node_modules
#    (scripts/install-deps --impls runs `npm ci` there); otherwise a stale
#    link is removed and natlab.agent skips the cells, naming the install
#    command (scenarios/prelude/40_impls.lua).
#  - once: the unit tests of the shared helper (agents/adapters/common/node)
#    with node's built-in test runner, label `unit`; they need node only.
include_guard(GLOBAL)

find_program(NATLAB_NODE node)
set(NATLAB_NODE_ADAPTERS ${CMAKE_CURRENT_LIST_DIR}/../..)
get_filename_component(NATLAB_NODE_ADAPTERS ${NATLAB_NODE_ADAPTERS} ABSOLUTE)

if(NATLAB_NODE)
  # node:test exits non-zero on a failed test; without node the test is
  # not registered at all (the unit label needs nothing else).
  add_test(NAME unit.node_adapters_common
    COMMAND ${NATLAB_NODE} --test ${NATLAB_NODE_ADAPTERS}/common/node/test/)
  set_tests_properties(unit.node_adapters_common PROPERTIES LABELS unit TIMEOUT 60)
else()
  message(STATUS "node not found: the Node adapters (libwebrtc, libdatachannel) and their unit tests are left out")
endif()

function(natlab_node_adapter name package)
  set(src ${NATLAB_NODE_ADAPTERS}/${name}/natlab-${name})
  set(dst ${CMAKE_BINARY_DIR}/bin/natlab-${name})
  if(NATLAB_NODE AND EXISTS ${NATLAB_NODE_ADAPTERS}/node_modules/${package}/package.json)
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
    file(CREATE_LINK ${src} ${dst} SYMBOLIC)
    install(PROGRAMS ${src} DESTINATION bin)
    set(NATLAB_HAVE_${name} TRUE PARENT_SCOPE)
  else()
    file(REMOVE ${dst})
    message(STATUS "natlab-${name} is not installed: needs node and the npm package ${package} "
                   "(scripts/install-deps --impls, then rebuild)")
    set(NATLAB_HAVE_${name} FALSE PARENT_SCOPE)
  endif()
endfunction()
