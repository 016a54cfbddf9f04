# Conventions shared by every folder, so that parallel work on different
# modules never edits the same build file:
#  - every .c file in a library folder (and its sub-folders) is part of that
#    folder's library, except those under bin/, fuzz/ or node_modules/ (npm
#    packages of the Node adapters ship C sources of their own) and files
#    ending in _main.c;
#  - every <dir>/fuzz/<name>.c becomes a libFuzzer target (natlab_fuzzers);
#  - every <dir>/bin/<name>.c becomes an executable called <name>;
#  - every tests/<label>/<name>.c becomes one test executable and one CTest
#    test labelled <label>.

# natlab_library(NAME DIR DEPS...)
function(natlab_library name dir)
  # Filter on the path inside @dir: a checkout whose own path contains
  # "/fuzz/" or "/bin/" (a worktree named fuzz) must not lose every file.
  file(GLOB_RECURSE rel RELATIVE ${dir} CONFIGURE_DEPENDS ${dir}/*.c)
  # node_modules: npm packages of the Node adapters may ship C sources
  list(FILTER rel EXCLUDE REGEX "(^|/)bin/|_main\\.c$|(^|/)fuzz/|(^|/)node_modules/")
  list(TRANSFORM rel PREPEND ${dir}/ OUTPUT_VARIABLE srcs)
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
    target_link_libraries(${name} PUBLIC ${ARGN})
  else() # a folder with no code yet
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
    target_link_libraries(${name} INTERFACE ${ARGN})
  endif()
endfunction()

# natlab_binaries(DIR DEPS...): one executable per DIR/bin/*.c
function(natlab_binaries dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/bin/*.c)
  foreach(src ${srcs})
    get_filename_component(exe ${src} NAME_WE)
    add_executable(${exe} ${src})
    target_link_libraries(${exe} PRIVATE ${ARGN})
    set_target_properties(${exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
    install(TARGETS ${exe} RUNTIME DESTINATION bin)
  endforeach()
endfunction()

# natlab_fuzzers(DIR DEPS...): one libFuzzer target per DIR/fuzz/*.c, built
# only with -DNATLAB_FUZZ=ON and clang. Each target also gets a CTest test
# (label "fuzz") that runs it over its committed corpus for a bounded time.
function(natlab_fuzzers dir)
  if(NOT NATLAB_FUZZ)
    return()
  endif()
  file(GLOB srcs CONFIGURE_DEPENDS ${dir}/fuzz/*.c)
  foreach(src ${srcs})
    get_filename_component(n ${src} NAME_WE)
    add_executable(fuzz_${n} ${src})
    target_compile_options(fuzz_${n} PRIVATE -fsanitize=fuzzer,${NATLAB_FUZZ_SANITIZERS})
    target_link_options(fuzz_${n} PRIVATE -fsanitize=fuzzer,${NATLAB_FUZZ_SANITIZERS})
    target_link_libraries(fuzz_${n} PRIVATE ${ARGN})
    set_target_properties(fuzz_${n} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    set(corpus ${dir}/fuzz/corpus/${n})
    # libFuzzer writes what it finds into the first corpus folder: give it a
    # scratch one, so the committed seeds are only read.
    set(scratch ${CMAKE_BINARY_DIR}/fuzz/corpus-${n})
    file(MAKE_DIRECTORY ${scratch})
    add_test(NAME fuzz.${n} COMMAND fuzz_${n} -max_total_time=${NATLAB_FUZZ_SECONDS} -timeout=5
      -artifact_prefix=${CMAKE_BINARY_DIR}/fuzz/ ${scratch} ${corpus})
    set_tests_properties(fuzz.${n} PROPERTIES LABELS fuzz)
  endforeach()
endfunction()
