#!/usr/bin/env bash
# badinput_agent - malformed agent-protocol lines (not JSON, wrong types, a
# line cut by the agent's exit) reaching natlab.ice_connect: the harness
# does not crash, each cell fails with a reason naming the agent and
# quoting what it sent (tests/cli/fault_agents.sh covers floods, crashes
# and hangs).
set -u
bin=${NATLAB_BIN_DIR:?}
src=${NATLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin/natlab" doctor >/dev/null 2>&1 || { echo "skip: this machine cannot run a lab"; exit 77; }
work=$(mktemp -d /tmp/natlab-badagent.XXXXXX)
trap 'rm -rf "$work"' EXIT
out=$(cd "$work" && "$bin/natlab" run "$src/tests/cli/fixtures/badinput_agent.lua" --out "$work/r" 2>&1)
rc=$?
echo "$out" | grep -E '^(pass|fail|error|timeout) '
[ "$rc" = 1 ] || fail "natlab exited $rc, want 1 (cells failed, harness fine): $out"
want() { grep -qF -- "$1" <<<"$out" || fail "no '$1' in: $out"; }
want "case=nonjson #0  failed  (expected path host, observed failed: timed out after 1500 ms (bad sent a line that is not JSON: 'this is not json'))"
want "case=badtypes #0  failed  (expected path host, observed failed: timed out after 1500 ms (bad sent a 'local' event whose candidates is a number, not a list))"
want "case=truncated #0  failed  (expected path host, observed failed: timed out after 1500 ms (bad sent a line that is not JSON: '{\"ev\":\"selected\",\"local\":{\"type\":\"ho'))"
echo ok
