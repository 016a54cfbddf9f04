#!/usr/bin/env bash
# natlab adapter-check: the shipped agents (natlab-ice, and natlab-nice when
# libnice was found at build time) conform; a deliberately broken wrapper
# (tests/cli/fixtures/tp_broken_adapter.sh) is rejected, each fault with a
# reason that names it.
set -uo pipefail
natlab=${NATLAB_BIN_DIR:?}/natlab
fixture=${NATLAB_SOURCE_DIR:?}/tests/cli/fixtures/tp_broken_adapter.sh
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0

check() { # expected-status label command...
  local want=$1 label=$2
  shift 2
  "$@" >"$out" 2>&1
  local st=$?
  if [ "$st" = 2 ] && grep -q "namespace\|sandbox" "$out"; then
    echo "SKIP: no sandbox here"; cat "$out"; exit 77
  fi
  if [ "$st" != "$want" ]; then
    echo "FAIL $label: exit $st, expected $want"; cat "$out"; fail=1
  else
    echo "ok   $label (exit $st)"
  fi
}
expect_line() { # label pattern
  if ! grep -q -- "$2" "$out"; then
    echo "FAIL $1: no line matching '$2' in:"; cat "$out"; fail=1
  fi
}

check 0 "natlab-ice conforms" "$natlab" adapter-check natlab-ice
expect_line "natlab-ice" "^ok    stop: exited with status 0"
expect_line "natlab-ice" "^ok    controlled: connects"
if [ -x "$NATLAB_BIN_DIR/natlab-nice" ]; then
  check 0 "natlab-nice conforms" "$natlab" adapter-check nice
  expect_line "natlab-nice" 'ready: impl "natlab-nice"'
else
  echo "note: natlab-nice not built (libnice-dev missing): not checked"
fi

export NATLAB_BIN_DIR
TP_BREAK=candidates check 1 "broken candidate lines rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "candidates" 'FAIL  gather: local: candidate 1 .*typ hots" is not RFC 8839 syntax'
TP_BREAK=t_ms check 1 "missing t_ms rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "t_ms" 'FAIL  candidate: event "ready" has no integer "t_ms"'
TP_BREAK=errors check 1 "unanswered bad input rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "errors" 'FAIL  malformed: a line that is not JSON was not answered with an "error" event'

check 2 "a missing program is a usage error" "$natlab" adapter-check /nonexistent/agent
expect_line "missing" "not an executable file"
exit $fail
