#!/usr/bin/env bash
# A symmetric x port-restricted-cone cell of scenarios/matrix.lua records
# each NAT's evidence without the scenario asking for it: the left
# (symmetric) NAT's new mappings, and at the right (port-restricted-cone,
# APDF) NAT the left side's ICE checks refused by the filtering rule - its
# drop_filtering counter, a drops entry naming the flow, and a drops pcap
# that tshark reads and that holds those very packets.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v tshark >/dev/null || { echo "tshark not installed: skipped"; exit 77; }

"$bin" run "$src/scenarios/matrix.lua" -p left=symmetric -p right=port-restricted-cone \
  --out "$out/r" --timeout 120 >"$out/log" 2>&1
rc=$?
cells=$out/r/latest/cells.jsonl
if grep -q "cannot enter\|run natlab as root\|user namespace" "$cells" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "exit $rc; $(cat "$out/log"); $(cat "$cells" 2>/dev/null)"
python3 - "$cells" "$out/r/latest" "$out/expect" <<'PY' || exit 1
import json, os, sys
c = json.loads(open(sys.argv[1]).readline())
ev = c.get("evidence")
assert ev and set(ev) == {"left-nat", "right-nat"}, ev
left, right = ev["left-nat"], ev["right-nat"]
assert right["nat"]["filtering"] == "apd" and left["nat"]["mapping"] == "apd", ev
# the symmetric NAT made mappings (one per destination), the right one too
assert left["counters"]["mappings_udp"] >= 2, left["counters"]
assert right["counters"]["mappings_udp"] >= 1, right["counters"]
# APDF: the left side's checks to the right's srflx endpoint, from a
# mapping the right side never sent to, are refused by the filtering rule
n = right["counters"]["drop_filtering"]
assert n > 0, right["counters"]
flt = [d for d in right["drops"] if d["rule"] == "filtering" and d["proto"] == "udp"]
assert flt, right["drops"]
# every logged packet is in the aggregate (or counted past its bound), and
# every packet the drop counters counted was logged, or is counted unlogged
for ev_ in (left, right):
    log = ev_["drop_log"]
    assert sum(d["pkts"] for d in ev_["drops"]) + log["other_pkts"] + log["unparsed"] == log["logged"], ev_
    dropped = sum(v for k, v in ev_["counters"].items() if k.startswith("drop_"))
    assert dropped == log["logged"] + log["unlogged"], ev_
    if log["overruns"] == 0:
        assert log["unlogged"] == 0, ev_
# the flow is named: from a public address of the left NAT (203.0.113.2,
# the left NAT's outside) to the right NAT's public address
lpub = [d for d in flt if d["src"].startswith("203.0.113.2:")]
assert lpub and all(d["dst"].startswith("203.0.113.6:") for d in lpub), flt
for d in right["drops"]:
    assert 0 <= d["first_ms"] <= d["last_ms"] <= c["duration_ms"] if "duration_ms" in c else True, d
assert right["pcap"] == "pcap/%s.t0/drops-right-nat.pcap" % c["id"].replace("/", "_"), right["pcap"]
assert os.path.getsize(os.path.join(sys.argv[2], right["pcap"])) == right["drop_log"]["pcap_bytes"]
# a passing cell carries no conntrack snapshot
assert "conntrack" not in right, right.keys()
d = max(lpub, key=lambda d: d["pkts"])
sa, sp = d["src"].rsplit(":", 1)
da, dp = d["dst"].rsplit(":", 1)
open(sys.argv[3], "w").write("%s %s %s %s %d %s\n" % (sa, sp, da, dp, d["pkts"], right["drop_log"]["pcap_packets"]))
PY
read -r sa sp da dp pkts total <"$out/expect"
pcap=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["evidence"]["right-nat"]["pcap"])' "$cells")
tshark -r "$out/r/latest/$pcap" -T fields -E separator=' ' -e ip.src -e udp.srcport -e ip.dst \
  -e udp.dstport >"$out/drops.txt" 2>"$out/tshark.err" || fail "tshark cannot read $pcap: $(cat "$out/tshark.err")"
[ "$(wc -l <"$out/drops.txt")" = "$total" ] || fail "pcap has $(wc -l <"$out/drops.txt") packets, the record says $total"
got=$(grep -c "^$sa $sp $da $dp\$" "$out/drops.txt")
[ "$got" = "$pkts" ] || fail "pcap has $got packets of $sa:$sp -> $da:$dp, the drops entry $pkts: $(cat "$out/drops.txt")"
echo "ok: right-nat dropped $pkts packets of $sa:$sp -> $da:$dp (APDF), $total in its drops pcap"

# The same cell, failed (the agents get 250 ms to select a pair): a
# conntrack snapshot of each NAT is recorded, and the failure message
# keeps the verdict's text first and quotes the drops after it.
"$bin" run "$src/scenarios/matrix.lua" -p left=symmetric -p right=port-restricted-cone \
  -p timeout_ms=250 --out "$out/f" --timeout 120 >"$out/flog" 2>&1
[ "$?" = 1 ] || fail "the cell did not fail: $(cat "$out/flog")"
python3 - "$out/f/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
c = json.loads(open(sys.argv[1]).readline())
assert c["outcome"] == "fail", c
ev = c["evidence"]
msg = c["message"]
assert msg.startswith("expected path relay"), msg
for node, pub in (("left-nat", "203.0.113.2:"), ("right-nat", "203.0.113.6:")):
    ct = ev[node]["conntrack"]
    assert isinstance(ct, list) and ct, ev[node]
    # the NAT's own flows: inside source, its public address on the reply side
    assert all(e["reply_dst"].startswith(pub) for e in ct), ct
    assert any(e["proto"] == "udp" for e in ct), ct
    # TCP flows (the agents' TURN-over-TCP/TLS attempts) carry their state
    assert all(e["proto"] == "udp" or (e["proto"] == "tcp" and e["state"]) for e in ct), ct
drops = [(n, d) for n in ev for d in ev[n]["drops"]]
if drops:
    n, d = max(drops, key=lambda x: x[1]["pkts"])
    want = "; evidence: %s (" % n
    assert want in msg and ("from %s to %s" % (d["src"], d["dst"])) in msg, (msg, drops)
    assert msg.index("expected path") < msg.index("; evidence: "), msg
else:
    assert "evidence:" not in msg, msg
print("ok: failed cell:", msg)
PY
