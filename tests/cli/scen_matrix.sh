#!/usr/bin/env bash
# A slice of the default run (scenarios/matrix.lua): rows port-restricted-
# cone, symmetric and udp-blocked against port-restricted-cone and open.
# Each cell must pass with the exact path its expected class allows:
# port-restricted x port-restricted direct (srflx), symmetric x
# port-restricted through a UDP relay, udp-blocked x open through a relay
# reached over TCP or TLS; data must have flowed both ways in every cell.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for p in natlab-ice natlab-stun-server natlab-turn-server; do
  [ -x "$NATLAB_BIN_DIR/$p" ] || { echo "$p not built: skipped"; exit 77; }
done
"$bin" run "$src/scenarios/matrix.lua" -p left=port-restricted-cone,symmetric,udp-blocked \
  -p right=port-restricted-cone,open --out "$out" >"$out/log" 2>&1
rc=$?
if grep -q "run natlab as root\|user namespace" "$out/latest/cells.jsonl" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$out/log")"
grep -q "wall time" "$out/log" || fail "no wall time in the summary: $(tail -3 "$out/log")"
python3 - "$out/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
cells = {(c["params"]["left"], c["params"]["right"]): c
         for c in map(json.loads, open(sys.argv[1]))}
assert len(cells) == 6, sorted(cells)
want = {
    ("port-restricted-cone", "port-restricted-cone"): {"srflx"},
    ("port-restricted-cone", "open"): {"srflx"},
    ("symmetric", "port-restricted-cone"): {"relay-udp"},
    ("symmetric", "open"): {"prflx"},
    ("udp-blocked", "port-restricted-cone"): {"relay-tcp", "relay-tls"},
    ("udp-blocked", "open"): {"relay-tcp", "relay-tls"},
}
for k, paths in want.items():
    c = cells[k]
    assert c["outcome"] == "pass", (k, c.get("message"))
    assert c["path"] in paths, (k, c["path"])
    assert c["expected_path"] == c["path"], (k, c["expected_path"])
    tw = c["observations"]["two_way"]
    assert tw["a_rx"] > 0 and tw["b_rx"] > 0, (k, tw)
    assert c["connect_ms"] > 0, k
    # each side's check list (natlab-ice's "checks" event): the nominated
    # pair is a succeeded one, and it is the pair the cell reports
    for side in ("left", "right"):
        ps = c["pairs"][side]
        nom = [p for p in ps if p["nominated"]]
        assert nom and all(p["state"] == "succeeded" for p in nom), (k, side, ps)
    sel = c["selected"]
    assert any(p["local"]["address"] == sel["local"]["address"] and
               p["local"]["port"] == sel["local"]["port"] and p["nominated"]
               for p in c["pairs"]["left"]), (k, sel, c["pairs"]["left"])
print("ok")
PY
