#!/usr/bin/env bash
# Fast shipped scenarios, outcomes checked from cells.jsonl:
# - hairpin on a port-restricted NAT: on -> direct through the public
#   address, off -> relay (agents offer no host candidates);
# - turn-security: 401, 401, 403, 486 and nothing relayed, the control relays;
# - dual-stack v4-only: srflx over IPv4.
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
run dual "$src/scenarios/dual-stack.lua" -p stack=v4-only
run icetcp "$src/scenarios/relay-fallback.lua" -p reason=udp-blocked-ice-tcp,udp-blocked
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
h = {c["params"]["hairpin"]: c for c in cells("hairpin")}
assert set(h) == {True, False}, h.keys()
assert h[True]["path"] in ("srflx", "prflx") and h[True]["outcome"] == "pass", h[True].get("message")
assert h[False]["path"] == "relay-udp" and h[False]["outcome"] == "pass", h[False].get("message")
t = {c["params"]["case"]: c for c in cells("turn")}
want = {"unauthenticated": "401", "wrong-password": "401", "denied-peer": "403", "quota": "486"}
for case, code in want.items():
    c = t[case]
    assert c["outcome"] == "pass", (case, c.get("message"))
    assert any(x.endswith(":" + code) for x in c["observations"]["codes"]), (case, c["observations"])
    if case != "quota":
        assert c["observations"]["pkts_to_peer"] == 0, (case, c["observations"])
assert t["ok"]["observations"]["pkts_to_peer"] > 0, t["ok"]["observations"]
d = cells("dual")
assert len(d) == 1 and d[0]["path"] == "srflx" and d[0]["observations"]["family"] == "ipv4", d
print("ok")
PY
