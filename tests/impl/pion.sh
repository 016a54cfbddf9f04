#!/usr/bin/env bash
# pion/ice v2 (natlab-pion, agents/adapters/pion) against natlab-ice on a
# corner of the default matrix, in both roles (issue #23): 2 x 6 cells
#   rows  port-restricted-cone, symmetric, udp-blocked
#   cols  open, udp-blocked
# i.e. direct pairs (srflx, and prflx from behind the symmetric NAT) and
# relays over TCP/TLS (udp-blocked). Cells that expect a relay over UDP
# are left out: pion gives its UDP, TCP and TLS relays one priority and
# picks among them by check-list order, so those cells are a documented
# finding (docs/implementations.md, "pion"), not a stable check. Every
# cell must pass as
# scenarios/matrix_expected.lua says (path class on the wire, data both
# ways). Then the same with a WebRTC data channel (pion's DTLS, SCTP and
# DCEP against natlab-ice's OpenSSL + usrsctp) for the pion-controlling
# half (-p dataplane=datachannel). Skipped (77) when natlab-pion was not
# built (no Go or no pion sources: scripts/install-deps --impls) or
# namespaces are unavailable.
# The whole 9 x 9 grids are a documented command (docs/implementations.md).
set -uo pipefail
natlab=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
if [ ! -x "$NATLAB_BIN_DIR/natlab-pion" ]; then
  echo "SKIP: natlab-pion not built (scripts/install-deps --impls, then rebuild)"; exit 77
fi
if ! unshare -Urn true 2>/dev/null && [ "$(id -u)" != 0 ]; then
  echo "SKIP: no user namespaces and not root"; exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
# settle_ms: the judged data window opens 300 ms after the selection.
# pion checks every pair once per check interval until it selects, and
# the answers to its last checks still cross the relay legs right after
# (TURN over TLS hides check from data), so the default 80 ms window
# sometimes weighs those more than the data (docs/implementations.md)
corner=(-p left=port-restricted-cone,symmetric,udp-blocked -p right=open,udp-blocked -p settle_ms=300)

run() { # label left_impl right_impl [more natlab run words]
  local label=$1 left=$2 right=$3 t0=$SECONDS
  shift 3
  "$natlab" run "$src/scenarios/matrix.lua" --out "$out/$label" -p left_impl="$left" -p right_impl="$right" \
    "${corner[@]}" "$@" >"$out/$label.txt" 2>&1
  local st=$? cells="$out/$label/latest/cells.jsonl"
  echo "$label: natlab run exited $st after $((SECONDS - t0)) s"
  if [ ! -s "$cells" ]; then
    echo "FAIL $label: no results"; cat "$out/$label.txt"; fail=1; return
  fi
  python3 - "$cells" "$label" <<'PY' || fail=1
import json, sys
cells = [json.loads(l) for l in open(sys.argv[1])]
bad = [c for c in cells if c.get("outcome") != "pass"]
for c in bad:
    print(f"FAIL {c['id']}: {c.get('outcome')} {c.get('path')} (expected {c.get('expected_path')}): {c.get('message')}")
print(f"{sys.argv[2]}: {len(cells)} cells, {len(cells) - len(bad)} passed")
sys.exit(1 if bad or len(cells) != 6 else 0)
PY
}
run pion-controlling pion natlab-ice
run pion-controlled natlab-ice pion
if "$NATLAB_BIN_DIR/natlab-ice" --dataplane datachannel </dev/null >/dev/null 2>&1; then
  run pion-datachannel pion natlab-ice -p dataplane=datachannel
else
  echo "datachannel: natlab-ice was built without libusrsctp: not run"
fi
exit $fail
