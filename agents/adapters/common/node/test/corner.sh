#!/usr/bin/env bash
# corner.sh IMPL WANT... - a Node adapter's stack against natlab-ice on a
# corner of the default matrix (scenarios/matrix.lua, data on a WebRTC data
# channel): natlab-ice on the left (open, symmetric), IMPL on the right
# (port-restricted-cone, udp-blocked), four cells. Each WANT is
# LEFT:RIGHT=OUTCOME (pass, unsupported, fail) for one cell: what a user of
# that stack sees in the grid (docs/implementations.md says why each cell
# is what it is); or LEFT:RIGHT=path:CLASS, the path class the cell's
# agents settled on (direct, relay, relay-tcp), for cells whose data is
# not asserted (docs/implementations.md names the reason). Skips (77) when natlab-IMPL is not installed
# (scripts/install-deps --impls, then rebuild) or no sandbox can be made.
set -uo pipefail
impl=${1:?usage: corner.sh IMPL LEFT:RIGHT=OUTCOME...}
shift
bin=${NATLAB_BIN_DIR:?}
if [ ! -x "$bin/natlab-$impl" ]; then
  echo "SKIP: natlab-$impl is not installed (scripts/install-deps --impls, then rebuild)"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$bin/natlab" run "${NATLAB_SOURCE_DIR:?}/scenarios/matrix.lua" --out "$out" \
  -p left_impl=natlab-ice -p right_impl="$impl" -p dataplane=datachannel \
  -p left=open,symmetric -p right=port-restricted-cone,udp-blocked >"$out/run.txt" 2>&1
st=$?
if [ "$st" = 2 ]; then
  if grep -q "namespace\|sandbox" "$out/run.txt"; then
    echo "SKIP: no sandbox here"; cat "$out/run.txt"; exit 77
  fi
  echo "FAIL: natlab run could not run (exit 2)"; cat "$out/run.txt"; exit 1
fi
cells=$(ls "$out"/*/cells.jsonl 2>/dev/null | head -n 1)
if [ -z "$cells" ]; then
  echo "FAIL: no cells.jsonl"; cat "$out/run.txt"; exit 1
fi

# cells.jsonl, one JSON object per cell (results/README.md)
/usr/bin/python3 - "$cells" "$impl" "$@" <<'PY'
import json, sys
cells, impl, wants = sys.argv[1], sys.argv[2], sys.argv[3:]
by = {}
for line in open(cells):
    c = json.loads(line)
    by[(c["params"]["left"], c["params"]["right"])] = c
fail = 0
for w in wants:
    pair, want = w.split("=", 1)
    left, right = pair.split(":", 1)
    field = "outcome"
    if want.startswith("path:"):
        field, want = "path", want[5:]
    c = by.get((left, right))
    got = c.get(field) if c else None
    # the exact path (srflx, relay-udp, ...) as its class
    if field == "path" and got:
        got = {"relay-udp": "relay", "relay-tls": "relay-tcp"}.get(got, got)
        if got in ("host", "srflx", "prflx"):
            got = "direct"
    what = f"natlab-ice {left} x {impl} {right}: {field} {got}"
    if got == want:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}, expected {want}")
        if c:
            print(f"     {c.get('message')}")
        fail = 1
sys.exit(fail)
PY
fail=$?
[ "$fail" = 0 ] || { echo "--- the run:"; cat "$out/run.txt"; }
exit "$fail"
