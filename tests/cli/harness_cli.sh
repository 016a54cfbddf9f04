#!/usr/bin/env bash
# The natlab command as a user meets it: `natlab list` (data files left
# out, broken files named, sorted), `natlab compare` on real regressions
# and on noise, `natlab shell` with its input piped, the live progress line
# on a terminal (under script(1)) and the one-line-per-cell format in CI.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
fx=$src/tests/cli/fixtures/harness_fixture.lua
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- list: a data file is not a broken scenario; the list is sorted ----
mkdir "$out/scen"
echo 'return { left = { right = "direct" } }' >"$out/scen/data_table.lua"
printf 'scenario {\n  name = "x",\n  run = function( end,\n}\n' >"$out/scen/broken.lua"
printf 'scenario { name = "aaa-first", description = "sorts first", run = function() end }\n' \
  >"$out/scen/zzz.lua"
NATLAB_SCENARIO_PATH=$out/scen "$bin" list >"$out/list" 2>&1 || fail "list exited $?: $(cat "$out/list")"
grep -q "data_table\|matrix_expected" "$out/list" && fail "a data file is listed: $(cat "$out/list")"
grep -q "^broken.lua *cannot load: .*broken.lua:3:" "$out/list" || fail "the broken file is not named: $(cat "$out/list")"
[ "$(grep -c 'cannot load' "$out/list")" = 1 ] || fail "more than one broken file: $(cat "$out/list")"
grep -q "^matrix " "$out/list" || fail "matrix not listed: $(cat "$out/list")"
names=$(grep -v '^ ' "$out/list" | awk '{print $1}')
[ "$(head -1 <<<"$names")" = aaa-first ] || fail "not sorted: $names"
[ "$names" = "$(LC_ALL=C sort <<<"$names")" ] || fail "not sorted: $names"
# matrix axes in name order
"$bin" list matrix | sed -n '/^matrix:$/,/^$/p' | awk 'NR>1 && NF {print $1}' >"$out/axes"
[ "$(tr '\n' ' ' <"$out/axes")" = "left right " ] || fail "matrix axes $(cat "$out/axes")"

# ---- compare on hand-made runs: success rates with noise in mind ----
mkrun() { # mkrun DIR PASSED TRIALS
  mkdir -p "$1"
  echo '{"run_id": "r", "seed": 1}' >"$1/run.json"
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
d, passed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(d + "/cells.jsonl", "w") as f:
    for t in range(n):
        ok = t < passed
        f.write(json.dumps({"id": "ice/left=a,right=b", "trial": t, "outcome": "pass" if ok else "fail",
                            "path": "srflx" if ok else "failed", "connect_ms": 100}) + "\n")
PY
}
mkrun "$out/c10" 10 10; mkrun "$out/c9" 9 10; mkrun "$out/c1" 1 10
"$bin" compare "$out/c10" "$out/c9" >"$out/cmp" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "10/10 -> 9/10 exited $rc (one flake is noise): $(cat "$out/cmp")"
grep -q "^noise .*10/10 passed, now 9/10 (p=0.5, within noise)" "$out/cmp" || fail "no noise line: $(cat "$out/cmp")"
"$bin" compare "$out/c9" "$out/c1" >"$out/cmp" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "9/10 -> 1/10 exited $rc, want 1: $(cat "$out/cmp")"
grep -q "^REGRESSED ice/left=a,right=b: 9/10 passed, now 1/10 (p=0.00055; path srflx -> failed)" "$out/cmp" ||
  fail "no REGRESSED line: $(cat "$out/cmp")"
grep -q "1 regressed" "$out/cmp" || fail "summary line: $(cat "$out/cmp")"

# ---- from here the lab runs: a sandbox is needed ----
"$bin" run "$fx" -p case=pass,fail --jobs 1 --seed 3 --out "$out/plain" >"$out/plain.log" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "sandbox\|run natlab as root\|user namespace" "$out/plain.log"; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 1 ] || fail "plain run exited $rc, want 1: $(cat "$out/plain.log")"
# no TTY: one plain line per finished cell, the format docs/cli.md shows
grep -qE '^pass    fixture/case=pass #0  host 12 ms  \[[12]/2\]$' "$out/plain.log" ||
  fail "no pass line: $(cat "$out/plain.log")"
grep -qE '^fail    fixture/case=fail #0  relay-udp 40 ms  \(expected path host, observed relay-udp\)  \[[12]/2\]$' \
  "$out/plain.log" || fail "no fail line: $(cat "$out/plain.log")"
grep -q $'\r' "$out/plain.log" && fail "a live line (\\r) without a terminal"
grep -q "^2 cells: 1 passed, 1 failed" "$out/plain.log" || fail "no totals: $(cat "$out/plain.log")"

# a terminal (script(1) gives the run a pty): the live line, and only the
# cells that did not pass printed above it
if command -v script >/dev/null; then
  script -qefc "'$bin' run '$fx' -p case=pass,fail --jobs 1 --seed 3 --out '$out/tty'" /dev/null \
    >"$out/tty.log" 2>&1 </dev/null
  rc=$?
  [ "$rc" = 1 ] || fail "run under script exited $rc, want 1: $(cat -v "$out/tty.log")"
  grep -qaE $'\r\033\\[K\\[2/2\\] 1 passed, 1 failed, 0 errors, 0 skipped  [0-9]+\\.[0-9] cells/s  elapsed [0-9]+s  ~0s left  0 in flight' \
    "$out/tty.log" || fail "no live progress line: $(cat -v "$out/tty.log")"
  grep -qaE $'\r\033\\[Kfail    fixture/case=fail #0  relay-udp 40 ms' "$out/tty.log" ||
    fail "the failed cell is not printed above the live line: $(cat -v "$out/tty.log")"
  grep -qa "^pass    fixture/case=pass" "$out/tty.log" && fail "a passed cell got a line of its own on a terminal"
else
  echo "script(1) not installed: the terminal progress line is not checked"
fi

# ---- compare two real runs: the same cell, 3/3 then 0/3 ----
"$bin" run "$fx" -p case=pass --trials 3 --seed 5 --out "$out/base" >/dev/null 2>&1 || fail "base run"
"$bin" run "$fx" -p case=pass -p pass_path=relay-udp --trials 3 --seed 5 --out "$out/new" >/dev/null 2>&1
[ "$?" = 1 ] || fail "the new run should fail"
"$bin" compare "$out/base/latest" "$out/new/latest" >"$out/cmp" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "compare of a real regression exited $rc, want 1: $(cat "$out/cmp")"
grep -q "^REGRESSED fixture/case=pass: 3/3 passed, now 0/3 (every trial passed before, none now; path host -> relay-udp)" \
  "$out/cmp" || fail "no REGRESSED line: $(cat "$out/cmp")"
"$bin" compare "$out/new/latest" "$out/base/latest" >"$out/cmp" 2>&1 || fail "the way back is a fix, exit 0: $(cat "$out/cmp")"
grep -q "^fixed     fixture/case=pass: 0/3 passed, now 3/3" "$out/cmp" || fail "no fixed line: $(cat "$out/cmp")"
# the summary grid of a run with trials: path, trials passed, median
"$bin" run "$fx" -p case=pass --trials 3 --seed 5 --out "$out/base2" >"$out/base2.log" 2>&1 || fail "trials run"
grep -qE "^pass +host 3/3 12ms" "$out/base2.log" || fail "summary square: $(cat "$out/base2.log")"

# ---- shell: the piped commands run inside the node; the exit status returns ----
printf 'echo inside=$(grep -c "eth0:" /proc/net/dev)\nexit 7\n' |
  SHELL=/bin/sh "$bin" shell "$fx" -p case=pass a >"$out/shell.log" 2>&1
rc=$?
[ "$rc" = 7 ] || fail "shell exited $rc, want 7: $(cat "$out/shell.log")"
grep -q "inside=1" "$out/shell.log" || fail "the shell did not run in node a: $(cat "$out/shell.log")"
"$bin" shell "$fx" -p case=pass nosuchnode </dev/null >"$out/shell.log" 2>&1
[ "$?" = 2 ] || fail "shell with an unknown node"
grep -q "has no node 'nosuchnode'; it has: a b" "$out/shell.log" || fail "unknown node message: $(cat "$out/shell.log")"
echo ok
