#!/usr/bin/env bash
# Offer/answer order (docs/agent-protocol.md, "Sequences"): an agent that
# declares "answerer": true and gives no local before it has the peer's
# remote (tests/cli/fixtures/answerer.py, natlab-ice held back as a WebRTC
# answerer would be) connects in a matrix cell, trickling and not: the
# harness relays the offerer's local at once and never waits for the
# answerer's (a harness that waited for both locals deadlocks here and the
# cell times out). Two answerers fail the cell at once, saying there is no
# offerer.
set -u
natlab=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for p in natlab-ice natlab-stun-server natlab-turn-server; do
  [ -x "$NATLAB_BIN_DIR/$p" ] || { echo "$p not built: skipped"; exit 77; }
done
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
for m in controlled always; do
  printf '#!/bin/sh\nNATLAB_BIN_DIR=%s exec python3 %s %s "$@"\n' \
    "$NATLAB_BIN_DIR" "$src/tests/cli/fixtures/answerer.py" "$m" >"$out/answerer-$m"
  chmod +x "$out/answerer-$m"
done

cell() { # name, extra args...
  local name=$1
  shift
  "$natlab" run "$src/scenarios/matrix.lua" -p left=port-restricted-cone -p right=port-restricted-cone \
    -p timeout_ms=5000 "$@" --out "$out/$name" >"$out/$name.log" 2>&1
  echo $?
}

rc=$(cell trickle -p right_impl="$out/answerer-controlled")
if grep -q "run natlab as root\|user namespace" "$out/trickle.log"; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "an answerer (controlled), trickling: exit $rc, want 0: $(cat "$out/trickle.log")"
rc=$(cell full -p right_impl="$out/answerer-controlled" -p trickle=false)
[ "$rc" = 0 ] || fail "an answerer (controlled), full gathering: exit $rc, want 0: $(cat "$out/full.log")"
t0=$(date +%s%N)
rc=$(cell two -p left_impl="$out/answerer-always" -p right_impl="$out/answerer-always")
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 1 ] || fail "two answerers: exit $rc, want 1 (a failed cell): $(cat "$out/two.log")"
python3 - "$out" "$ms" <<'PY' || exit 1
import json, sys
out, ms = sys.argv[1], int(sys.argv[2])
def cell(name):
    cells = [json.loads(l) for l in open(f"{out}/{name}/latest/cells.jsonl")]
    assert len(cells) == 1, (name, len(cells))
    return cells[0]
for name in ("trickle", "full"):
    c = cell(name)
    assert c["outcome"] == "pass", (name, c["outcome"], c.get("message"))
    # the answerer's ready said so, and its local came after the offerer's
    evs = c["events"]
    ready = [e for e in evs if e.get("src") == "right" and e.get("ev") == "ready"]
    assert ready and ready[0].get("answerer") is True, ready
    first = {s: min(e["t_ms"] for e in evs if e.get("src") == s and e.get("ev") == "local") for s in ("left", "right")}
    assert first["left"] <= first["right"], first
c = cell("two")
m = c.get("message", "")
assert c["outcome"] == "fail", c["outcome"]
assert "both agents declare \"answerer\": true" in m and "no offerer" in m, m
# at once: not after the cell's 5 s connect timeout
assert ms < 5000, f"two answerers took {ms} ms to fail"
PY
echo "ok: an answerer connects (trickle and full), two answerers fail at once"
