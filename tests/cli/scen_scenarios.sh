#!/usr/bin/env bash
# Fast shipped scenarios, outcomes checked from cells.jsonl:
# - hairpin on a port-restricted NAT: on -> direct through the public
#   address, off -> relay (agents offer no host candidates), as the wire
#   on the two hosts saw it; two homes behind one carrier NAT likewise;
# - turn-security: 401, 401, 403, 486 and nothing relayed, the control relays;
# - dual-stack: every pair of dual/v6-only/v4-only stacks, v6-only <-> v4-only
#   through a relay across families, two-way data everywhere, the path as
#   the wire saw it (IPv6 flows counted too);
# - keepalive: the break is observed (the NAT flow leaves conntrack about
#   nat_timeout_s after the last data), keepalives keep both flows;
# - relay-fallback: the added RTT against the in-cell direct baseline, and
#   the selected relay's own allocation counted the data (natlab-ice
#   deletes its allocations as it stops).
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for p in natlab-ice natlab-stun-server natlab-turn-server natlab-turn-client; do
  [ -x "$NATLAB_BIN_DIR/$p" ] || { echo "$p not built: skipped"; exit 77; }
done
run() { # name out-subdir args...
  local d=$out/$1; shift
  "$bin" run "$@" --out "$d" >"$d.log" 2>&1
  local rc=$?
  if grep -q "run natlab as root\|user namespace" "$d/latest/cells.jsonl" 2>/dev/null; then
    echo "no sandbox here: skipped"; exit 77
  fi
  [ "$rc" = 0 ] || fail "natlab run $* exit $rc: $(tail -20 "$d.log")"
}
run hairpin "$src/scenarios/hairpin.lua" -p nat=port-restricted-cone
run turn "$src/scenarios/turn-security.lua"
run dual "$src/scenarios/dual-stack.lua"
run icetcp "$src/scenarios/relay-fallback.lua" -p reason=udp-blocked-ice-tcp,udp-blocked,apd-filter
run keep "$src/scenarios/keepalive.lua" -p idle_ms=3000
run cgnat "$src/scenarios/cgnat.lua" -p peer=same-carrier
python3 - "$out" <<'PY' || exit 1
import json, sys
def cells(name):
    return [json.loads(l) for l in open(f"{sys.argv[1]}/{name}/latest/cells.jsonl")]
# ICE-TCP: without UDP, a direct TCP pair where ICE-TCP is on, a TURN/TCP
# relay where it is not
r = {c["params"]["reason"]: c for c in cells("icetcp")}
assert r["udp-blocked-ice-tcp"]["observations"]["transport"] == "tcp", r["udp-blocked-ice-tcp"]
assert r["udp-blocked-ice-tcp"]["observations"]["class"] == "direct"
assert r["udp-blocked"]["observations"]["class"] == "relay-tcp", r["udp-blocked"]
# the cost: an added RTT against the direct baseline of the same cell, and
# the data counted through the selected relay's allocation
for reason in ("udp-blocked", "apd-filter"):
    o = r[reason]["observations"]
    assert r[reason]["outcome"] == "pass", (reason, r[reason].get("message"))
    assert o["baseline_path"] in ("srflx", "prflx"), o
    assert o["baseline_rtt_ms_median"] > 0 and "added_rtt_ms_median" in o, o
    assert abs(o["rtt_ms_median"] - o["baseline_rtt_ms_median"] - o["added_rtt_ms_median"]) < 0.002, o
    assert o["relay_bytes_selected"] >= 50 * 200, o
    assert o["relay_allocations_ended"] >= 2, o
h = {c["params"]["hairpin"]: c for c in cells("hairpin")}
assert set(h) == {True, False}, h.keys()
assert h[True]["path"] in ("srflx", "prflx") and h[True]["outcome"] == "pass", h[True].get("message")
assert h[False]["path"] == "relay-udp" and h[False]["outcome"] == "pass", h[False].get("message")
for c in h.values():
    assert c["observations"]["two_way"]["ok"], c["observations"]
# the verdict is the wire's, watched on the hosts: the hairpinned data went
# to the other host's mapping on the NAT's public address, the relayed data
# to a relayed address of the TURN server
w = h[True]["wire"]
assert w["settled"]["class"] == "direct", w["settled"]
for d in w["directions"].values():
    assert d["class"] == "direct" and d["to"].startswith("203.0.113."), w["directions"]
assert h[True]["observations"]["class"] == "direct", h[True]["observations"]
w = h[False]["wire"]
assert w["settled"]["class"] == "relay" and w["settled"]["relay"], w["settled"]
# two homes on one carrier: they meet by hairpin inside the carrier NAT
# when it hairpins (the wire on the hosts saw data to the carrier's public
# address), through TURN when it does not
g = {c["params"]["carrier_hairpin"]: c for c in cells("cgnat")}
for hp, want in ((True, "direct"), (False, "relay")):
    c = g[hp]
    assert c["outcome"] == "pass", (hp, c.get("message"))
    assert c["wire"]["settled"]["class"] == want, (hp, c["wire"]["settled"])
    assert sorted(c["wire"]["points"]) == ["left", "right", "turn"], c["wire"]["points"]
t = {c["params"]["case"]: c for c in cells("turn")}
want = {"unauthenticated": "401", "wrong-password": "401", "denied-peer": "403", "quota": "486"}
for case, code in want.items():
    c = t[case]
    assert c["outcome"] == "pass", (case, c.get("message"))
    assert any(x.endswith(":" + code) for x in c["observations"]["codes"]), (case, c["observations"])
    if case != "quota":
        assert c["observations"]["pkts_to_peer"] == 0, (case, c["observations"])
assert t["ok"]["observations"]["pkts_to_peer"] > 0, t["ok"]["observations"]
d = {(c["params"]["left"], c["params"]["right"]): c for c in cells("dual")}
assert len(d) == 9, d.keys()
for (a, b), c in d.items():
    o = c["observations"]
    assert c["outcome"] == "pass", (a, b, c.get("message"))
    assert o["two_way"]["a_rx"] > 0 and o["two_way"]["b_rx"] > 0, (a, b, o)
    if {a, b} == {"v6-only", "v4-only"}:
        # no family in common: a relay of the other family saves the call
        assert c["path"] == "relay-udp", (a, b, c["path"])
        assert "relay" in o and ("allocated over ipv4" in o["relay"] and "ipv6 relay" in o["relay"]
                                 or "allocated over ipv6" in o["relay"] and "ipv4 relay" in o["relay"]), o
    elif "v4-only" in (a, b):
        # a check that arrives before the peer's candidate is signalled makes
        # the pair peer-reflexive (RFC 8445 7.3.1.3): the same NAT mapping
        assert c["path"] in ("srflx", "prflx") and o["family"] == "ipv4", (a, b, c["path"], o)
    else:
        assert c["path"] == "host" and o["family"] == "ipv6", (a, b, c["path"], o)
    # judged on the wire, IPv6 flows too: a shared IPv6 stack's data went
    # host to host over IPv6 (no NAT66), an IPv4 one through the NATs, and
    # no shared family through a relay
    w = c["wire"]
    want = "relay" if {a, b} == {"v6-only", "v4-only"} else "direct"
    assert w["settled"]["class"] == want, (a, b, w["settled"])
    if want == "direct":
        v6 = "v4-only" not in (a, b)
        for d in w["directions"].values():
            assert d["to"].startswith("[2001:db8:") == v6, (a, b, w["directions"])
k = {c["params"]["keepalive"]: c for c in cells("keep")}
assert k[True]["outcome"] == "pass" and "broke_at_ms" not in k[True]["observations"], k[True]
# after the silence, on the wire: with keepalives data and acks crossed the
# NATs; without, the right side's data left its NAT and nothing came back
assert k[True]["wire"]["settled"]["class"] == "direct", k[True]["wire"]["settled"]
wd = k[False]["wire"]["directions"]
assert wd["right->left"]["class"] == "direct" and wd["left->right"]["class"] == "none", wd
o = k[False]["observations"]
assert k[False]["outcome"] == "pass", k[False].get("message")
# observed, not computed: the flow left conntrack about 2 s after the data
# (the acks lag a little; the watch polls every 50 ms)
for side in ("left", "right"):
    assert 1900 <= o[side + "_mapping_lived_ms"] <= 3000, o
assert o["broke_at_ms"] == min(o["left_mapping_gone_ms"], o["right_mapping_gone_ms"]), o
assert o["first_lost_ms"] > o["broke_at_ms"], o
print("ok")
PY
