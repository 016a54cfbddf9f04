#!/usr/bin/env bash
# natlab's error paths: each names the problem and the fix, with exit 2.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() { # expect STATUS PATTERN -- CMD...
  local want=$1 pat=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want; output: $out"
  grep -qE -- "$pat" <<<"$out" || fail "'$*' said '$out', want /$pat/"
}

expect 2 "unknown command 'frobnicate'.*natlab help" -- "$bin" frobnicate
expect 2 "no scenario 'no-such-scenario'.*natlab list" -- "$bin" run no-such-scenario
expect 2 "harness_syntax_error.lua:4:.*near 'then'" -- "$bin" run "$src/tests/cli/fixtures/harness_syntax_error.lua"
expect 2 "no scenario given" -- "$bin" run
expect 2 "unknown option '--bogus'" -- "$bin" run --bogus smoke
expect 2 "--shard: '3/2' is not K/N" -- "$bin" run --shard 3/2 smoke
expect 2 "has no param 'colour'.*it has: case" -- "$bin" run -p colour=red "$src/tests/cli/fixtures/harness_fixture.lua"
expect 2 "not a natlab result directory" -- "$bin" report /nonexistent
expect 2 "give the command after '--'" -- "$bin" exec smoke client
expect 2 "with --out DIR" -- "$bin" merge a b
for c in run list exec shell report merge compare doctor; do
  expect 0 "usage: natlab $c" -- "$bin" "$c" --help
done
# the wrong number of arguments: the usage goes to stderr, not stdout
for args in "list a b" "report" "compare one"; do
  set -- $args
  out=$("$bin" "$@" 2>/dev/null); rc=$?
  [ "$rc" = 2 ] && [ -z "$out" ] || fail "'natlab $args': exit $rc, stdout '$out' (want 2 and nothing)"
  expect 2 "usage: natlab $1" -- "$bin" "$@"
done
echo ok
