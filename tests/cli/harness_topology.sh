#!/usr/bin/env bash
# The prelude's topology (NAT behind NAT, a shared LAN, dual stack) seen
# from a server on the internet; and `natlab exec` running a command in a
# node of it with its exit status passed through.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
fx=$src/tests/cli/fixtures/harness_topology.lua
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }

"$bin" run "$fx" --out "$out" >"$out/log" 2>&1
rc=$?
if grep -q "run natlab as root\|user namespace" "$out/latest/cells.jsonl" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$out/log") $(cat "$out/latest/cells.jsonl")"
got=$("$bin" exec "$fx" c2 -- sh -c 'cat /proc/net/if_inet6 | grep -c 20010db8; exit 7' 2>/dev/null)
rc=$?
[ "$rc" = 7 ] || fail "exec passed status $rc, want 7"
[ "$got" = 1 ] || fail "c2 has $got 2001:db8 addresses, want 1"
# without a cell's log directory natlab.scen.work_dir is a temporary one:
# there while the command runs, gone with the lab
"$bin" exec "$fx" -p work="$out/work" c2 -- sh -c 'test -d "$(cat "$1")"' sh "$out/work" \
  || fail "exec: the work directory was not there while the command ran"
wd=$(cat "$out/work")
case $wd in /tmp/*/t) ;; *) fail "exec: work directory '$wd', want one under /tmp" ;; esac
[ ! -e "${wd%/t}" ] || fail "exec left its work directory ${wd%/t} behind"
echo ok
