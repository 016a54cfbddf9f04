#!/usr/bin/env bash
# Faults a scenario injects are on the cell's timeline without the scenario
# recording them: one-way blackhole, impaired link down/up, interface
# down/up, NAT flush, NAT behaviour re-applied, roaming. Each event has its
# time (t_ms from the cell's start, t_real_us wall clock), and each fault
# had its effect (the fixture checks and records it; asserted here too).
# Also: Gilbert-Elliott burst loss set from Lua has its effect.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
fx=$src/tests/cli/fixtures/luafault.lua
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# the fixture must not record its faults itself
grep -q "natlab\.event *(" "$fx" && fail "the fixture calls natlab.event"
"$bin" run "$fx" --out "$out/r" --filter 'luafault/case=[fb]*' --jobs 2 --timeout 60 >"$out/log" 2>&1
rc=$?
cells=$out/r/latest/cells.jsonl
if grep -q "cannot enter\|run natlab as root\|user namespace" "$cells" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
if grep -q '"outcome":"skipped"' "$cells" 2>/dev/null; then
  echo "fixture skipped: $(cat "$cells")"; exit 77
fi
[ "$rc" = 0 ] || fail "exit $rc; $(cat "$out/log"); $(cat "$cells" 2>/dev/null)"
python3 - "$cells" "$out/r/latest" <<'PY' || exit 1
import json, sys
cells = {c["params"]["case"]: c for c in map(json.loads, open(sys.argv[1]))}
# burst loss set from Lua reached the emulator's Gilbert-Elliott stage
b = cells["burst"]
assert b["outcome"] == "pass", b
burst = b["observations"]["burst"]
assert burst["drop_loss"] == 0 and 0.3 <= burst["drop_burst"] / burst["rx"] <= 0.5, burst
c = cells["faults"]
assert c["outcome"] == "pass", c
faults = [e for e in c["events"] if e["src"] == "fault"]
want = [("blackhole-on", "access"), ("blackhole-off", "access"),
        ("link-down", "access"), ("link-up", "access"),
        ("iface-down", "m:eth0"), ("iface-up", "m:eth0"),
        ("nat-flush", "nat"), ("nat-reapply", "nat"),
        ("iface-down", "m:eth0"), ("roam", "m:eth1")]
got = [(e["ev"], e["target"]) for e in faults]
assert got == want, f"fault events {got}, want {want}"
prev = -1
for e in faults:
    assert isinstance(e["t_ms"], int) and 0 <= e["t_ms"] <= c["duration_ms"], e
    assert e["t_ms"] >= prev, f"events out of order: {faults}"
    prev = e["t_ms"]
    assert e["result"] == 0, e
    assert isinstance(e["t_real_us"], int) and e["t_real_us"] > 1.6e15, e
# a fault sits on the timeline where it happened: the blackhole lasted
# while two bindings timed out (400 ms each), the link was down for one
span = faults[1]["t_ms"] - faults[0]["t_ms"]
assert 700 <= span <= 5000, f"blackhole lasted {span} ms"
real_span = (faults[1]["t_real_us"] - faults[0]["t_real_us"]) / 1000
assert abs(real_span - span) <= 2, (real_span, span)
assert "a->b" in faults[0]["detail"], faults[0]
assert '"preset":"symmetric"' in faults[7]["detail"], faults[7]
assert "-> 10.2.0.2/24 via 10.2.0.1" in faults[9]["detail"], faults[9]
# the effects: one way only, and a new public address after roaming
bh = c["observations"]["blackhole"]
assert bh["a2b"]["tx"] == 0 and bh["a2b"]["drop_fault"] >= 2, bh
assert bh["b2a"]["tx"] >= 1 and bh["b2a"]["drop_fault"] == 0, bh
roam = c["observations"]["roam"]
assert roam["before"].split(":")[0] != roam["after"].split(":")[0], roam
assert roam["old_addr"] != roam["new_addr"], roam
# the NAT's evidence covers the whole cell: node:nat_evidence() before the
# flush, the record's after it, the re-apply (new table, new counters) and
# the bindings that followed (each from a new socket: a new mapping)
before = c["observations"]["evidence_before_flush"]
assert before["preset"] == "easy" and before["made"] >= 1 and before["live"] >= 1, before
assert "is not a NAT" in before["not_a_nat"], before
ev = c["evidence"]["nat"]
assert ev["nat"]["preset"] == "symmetric", ev["nat"]
assert ev["counters"]["mappings_udp"] >= before["made"] + 2, (before, ev["counters"])
# what the flush and the re-apply dropped is not counted as expired
assert ev["forgotten_mappings"] >= before["live"], (before, ev)
assert ev["counters"]["expired"] + ev["live_mappings_udp"] + ev["forgotten_mappings"] == \
    ev["counters"]["mappings_udp"], ev
assert set(c["evidence"]) == {"nat", "nat2"}, c["evidence"].keys()  # every NAT node, no other
assert "conntrack" not in ev, "a passing cell has no conntrack snapshot"
PY
# the report draws them on the cell's timeline (in its details, report/cells-K.js)
grep -q "fault blackhole-on" "$out"/r/latest/report/cells-*.js || fail "no fault on the report's timeline"
echo "ok"
