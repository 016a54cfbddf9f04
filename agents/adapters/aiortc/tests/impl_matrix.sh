#!/usr/bin/env bash
# impl.aiortc (labels impl, ns): natlab-aiortc (aioice) against natlab-ice
# on four cells of the default matrix, both roles: direct paths, symmetric
# NATs (a relay over UDP) and a UDP-blocking firewall (a relay over TCP),
# judged by the wire as scenarios/matrix.lua judges every cell.
# Skipped (77) when natlab-aiortc is not in build/bin (aioice missing at
# configure time) or when no sandbox can be made here.
set -uo pipefail
bin=${NATLAB_BIN_DIR:?}
src=${NATLAB_SOURCE_DIR:?}
if [ ! -x "$bin/natlab-aiortc" ]; then
  echo "SKIP: natlab-aiortc is not built (scripts/install-deps --impls, then rebuild)"; exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0

run() { # label cells-expected natlab-run-args...
  local label=$1 want=$2
  shift 2
  "$bin/natlab" run "$src/scenarios/matrix.lua" --out "$out/$label" "$@" >"$out/$label.log" 2>&1
  local st=$?
  if [ "$st" = 2 ] && grep -q "namespace\|sandbox" "$out/$label.log"; then
    echo "SKIP: no sandbox here"; cat "$out/$label.log"; exit 77
  fi
  local passed
  passed=$(grep -c "^pass " "$out/$label.log")
  if [ "$st" != 0 ] || [ "$passed" != "$want" ]; then
    echo "FAIL $label: exit $st, $passed of $want cells passed"; cat "$out/$label.log"; fail=1
  else
    echo "ok   $label: $passed of $want cells passed"
  fi
}

# One cell per class, on the cells where aioice's choice is settled. As
# the controlling side it nominates every pair it checks and completes on
# the first that succeeds (aggressive nomination): where a filtered direct
# check races a relay check, or the peer settles on another nominated
# pair, the outcome varies from run to run (docs/implementations.md,
# "aiortc"), so those cells are left to the full matrix. As the controlled
# side aioice follows natlab-ice's regular nomination: every cell of that
# role passed in four full runs.
# aioice controlling: nothing filtered, the host pair succeeds first
run ctl-direct 1 -p left_impl=aiortc -p right_impl=natlab-ice -p left=open -p right=open
# aioice controlled: a direct path through two port-restricted NATs,
# relays over UDP (two symmetric NATs), its relay over TCP behind a
# UDP-blocking firewall (the TURN server it picks among the three offered)
run ctd-direct 1 -p left_impl=natlab-ice -p right_impl=aiortc -p left=port-restricted-cone -p right=port-restricted-cone
run ctd-relay 1 -p left_impl=natlab-ice -p right_impl=aiortc -p left=symmetric -p right=symmetric
run ctd-relay-tcp 1 -p left_impl=natlab-ice -p right_impl=aiortc -p left=symmetric -p right=udp-blocked
exit $fail
