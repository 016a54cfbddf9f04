#!/usr/bin/env bash
# The shipped scenarios that inject faults and impairments, run small:
# rebinding (flush, reboot, roam through net:roam) recovers, its data after
# the restart on the wire from the left side's new outside, and each cell's
# timeline carries the fault the harness recorded (nat-flush, nat-reapply,
# iface-down + roam) at the time the scenario says it struck; impaired runs
# its Gilbert-Elliott profile (burst10) and a random-loss one, and the link
# counters show any loss came from the stage each profile names (a cell
# sends only ~40 frames a way, so burst10 may lose none: the size of the
# effect is checked on 2000 frames by luafault_faults.sh).
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for p in natlab-ice natlab-stun-server natlab-turn-server; do
  [ -x "$NATLAB_BIN_DIR/$p" ] || { echo "$p not built: skipped"; exit 77; }
done
run() { # name ok-exits args...: ok-exits "0" or "0 1" (1: some cell failed)
  local d=$out/$1 ok=$2; shift 2
  "$bin" run "$@" --out "$d" --jobs 3 >"$d.log" 2>&1
  local rc=$?
  if grep -q "run natlab as root\|user namespace" "$d/latest/cells.jsonl" 2>/dev/null; then
    echo "no sandbox here: skipped"; exit 77
  fi
  case " $ok " in *" $rc "*) ;; *)
    fail "natlab run $* exit $rc: $(tail -20 "$d.log"); $(cat "$d/latest/cells.jsonl")" ;;
  esac
}
run rebinding "0" "$src/scenarios/rebinding.lua"
# a burst that swallows a side's STUN and TURN requests while it gathers
# leaves it a host candidate only, and the call fails: an outcome the
# impaired scenario exists to count, so a failed cell is accepted here
run impaired "0 1" "$src/scenarios/impaired.lua" -p profile=burst10,loss10
python3 - "$out" <<'PY' || exit 1
import json, sys
def cells(name, key):
    return {c["params"][key]: c for c in map(json.loads, open(f"{sys.argv[1]}/{name}/latest/cells.jsonl"))}
want = {"flush": [("nat-flush", "left-nat")],
        "reboot": [("nat-reapply", "left-nat")],
        "roam": [("iface-down", "left:eth0"), ("roam", "left:eth1")]}
for fault, c in cells("rebinding", "fault").items():
    assert c["outcome"] == "pass", c
    evs = [e for e in c["events"] if e["src"] == "fault"]
    assert [(e["ev"], e["target"]) for e in evs] == want[fault], (fault, evs)
    # the fault struck after the call was up (selected) and before the
    # restart's consent-lost or selected events
    sel = [e["t_ms"] for e in c["events"] if e["ev"] == "selected"]
    assert sel and sel[0] <= evs[0]["t_ms"] <= c["duration_ms"], (fault, c["events"])
    if fault == "reboot":
        assert "198.51.100.77" in evs[0]["detail"], evs
    # the data after the restart, as the wire saw it: directly, the left
    # side leaving from the NAT's new address (reboot) or from the NAT it
    # roamed behind, never from the address it had before the fault
    w = c["wire"]
    assert w["settled"]["class"] == "direct", (fault, w["settled"])
    left_out = w["directions"]["left->right"]["from"]
    assert w["points"][0] == ("roam-nat" if fault == "roam" else "left-nat"), w["points"]
    if fault == "reboot":
        assert left_out.startswith("198.51.100.77:"), (fault, left_out)
imp = cells("impaired", "profile")
for prof, c in imp.items():
    # pass, or fail (a trial the loss defeated); never a script error
    assert c["outcome"] in ("pass", "fail"), c
    link = c["observations"]["link"]
    for d in ("a2b", "b2a"):
        s = link[d]
        if prof == "burst10":
            assert s["drop_loss"] == 0, (prof, d, s)
        else:
            assert s["drop_burst"] == 0, (prof, d, s)
PY
echo "ok"
