#!/usr/bin/env bash
# The wire verdict (issue 16, docs/expected-matrix.md "Verdicts"), with
# dishonest agents (tests/cli/fixtures/wire_liar.py) in a cell of the
# default matrix where a direct path is expected (port-restricted-cone on
# both sides):
#  - relay-only traffic claimed as srflx fails, naming the relay the data
#    went through;
#  - direct traffic claimed as a relay fails, naming where the data went;
#  - with -p wire=false the cell is judged on claims alone: no wire record,
#    and no message about the wire;
#  - natlab-ice --nominate-relay-first selects a relay, switches to a
#    direct pair, and passes; the record and the report (a cell detail file) show the switch;
#  - with no data sent (-p send_data=false, consent checks every 200 ms)
#    the consent checks seen both ways settle the path: symmetric x
#    port-restricted-cone through the relay.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for p in natlab-ice natlab-stun-server natlab-turn-server; do
  [ -x "$NATLAB_BIN_DIR/$p" ] || { echo "$p not built: skipped"; exit 77; }
done
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
for m in claims-srflx claims-relay; do
  printf '#!/bin/sh\nNATLAB_BIN_DIR=%s exec python3 %s %s "$@"\n' \
    "$NATLAB_BIN_DIR" "$src/tests/cli/fixtures/wire_liar.py" "$m" >"$out/$m"
  chmod +x "$out/$m"
done

cell() { # name, extra args...
  local name=$1
  shift
  "$bin" run "$src/scenarios/matrix.lua" -p left=port-restricted-cone -p right=port-restricted-cone \
    "$@" --out "$out/$name" >"$out/$name.log" 2>&1
  echo $?
}

rc=$(cell srflx -p left_impl="$out/claims-srflx")
if grep -q "run natlab as root\|user namespace" "$out/srflx/latest/cells.jsonl" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 1 ] || fail "a relayed cell claimed as srflx: exit $rc, want 1 (a failed cell): $(cat "$out/srflx.log")"
rc=$(cell relay -p left_impl="$out/claims-relay")
[ "$rc" = 1 ] || fail "a direct cell claimed as relay: exit $rc, want 1: $(cat "$out/relay.log")"
rc=$(cell blind -p left_impl="$out/claims-srflx" -p wire=false)
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "wire=false: exit $rc: $(cat "$out/blind.log")"
rc=$(cell switch -p agent_args=--nominate-relay-first -p settle_ms=800)
[ "$rc" = 0 ] || fail "--nominate-relay-first in a direct cell: exit $rc, want 0: $(cat "$out/switch.log")"
"$bin" run "$src/scenarios/matrix.lua" -p left=symmetric -p right=port-restricted-cone -p send_data=false \
  -p "agent_args=--keepalive-ms 200" --out "$out/consent" >"$out/consent.log" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "no data plane, consent checks: exit $rc, want 0: $(cat "$out/consent.log")"

python3 - "$out" <<'PY' || exit 1
import json, re, sys
out = sys.argv[1]
def cell(name):
    cells = [json.loads(l) for l in open(f"{out}/{name}/latest/cells.jsonl")]
    assert len(cells) == 1, (name, len(cells))
    return cells[0]

c = cell("srflx")
m = c.get("message", "")
assert c["outcome"] == "fail", c["outcome"]
# the honest right side names the relay, so the claim-derived path is relay-udp;
# the failure is the left side's claim, judged against the wire
assert c["wire"]["settled"]["class"] == "relay", c["wire"]["settled"]
relay = c["wire"]["settled"]["relay"]
assert relay and relay.startswith("203.0.113."), c["wire"]["settled"]
assert re.search(r"left claims srflx 203\.0\.113\.\d+:\d+; its data went through the relay "
                 + re.escape(relay) + " over UDP", m), m
assert c["wire"]["sides"]["left"]["kind"] == "turn-udp", c["wire"]["sides"]
assert c["wire"]["directions"]["right->left"]["relay"] == relay, c["wire"]["directions"]

c = cell("relay")
m = c.get("message", "")
assert c["outcome"] == "fail", c["outcome"]
assert c["wire"]["settled"]["class"] == "direct", c["wire"]["settled"]
d = c["wire"]["directions"]["left->right"]
assert d["class"] == "direct", d
assert re.search(r"left claims relay 203\.0\.113\.\d+:\d+ over UDP; its data went directly to "
                 + re.escape(d["to"]), m), m

c = cell("blind")
assert "wire" not in c and "its data went" not in c.get("message", ""), c

c = cell("switch")
assert c["outcome"] == "pass", (c["outcome"], c.get("message"))
assert c["wire"]["settled"]["class"] == "direct", c["wire"]["settled"]
assert c.get("switch") == "relay->direct", c.get("switch")
sw = c["switches"]
assert {s["side"] for s in sw} == {"left", "right"}, sw
assert all(s["from"] == "relay-udp" and s["to"] in ("srflx", "prflx") for s in sw), sw
assert c["settled_ms"] >= c["select_ms"], (c["settled_ms"], c["select_ms"])
# report.html is an index; a cell's details (the switch among them) are in
# the report/cells-*.js files it loads on demand
import glob
html = open(f"{out}/switch/latest/report.html").read()
for js in glob.glob(f"{out}/switch/latest/report/cells-*.js"):
    html += open(js).read()
assert "relay&rarr;direct" in html, "the report does not show the switch"
c = cell("consent")
assert c["outcome"] == "pass", (c["outcome"], c.get("message"))
s = c["wire"]["settled"]
assert s["basis"] == "consent" and s["class"] == "relay" and s["relay"], s
assert "data" not in c, c.get("data")
print("ok")
PY
