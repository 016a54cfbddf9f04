#!/usr/bin/env bash
# The harness chooses the data plane (docs/agent-protocol.md, "The data
# plane") from both agents' ready.dataplanes, with no -p dataplane:
#  - natlab-ice against natlab-ice declaring only ["datachannel"]
#    (--offer-dataplanes, its test double of a WebRTC stack): the cell
#    uses the data channel (gather says so; natlab-ice sets it up without
#    --dataplane), data crosses over DTLS both ways, cells.jsonl records
#    dataplane=datachannel;
#  - two default natlab-ice: datagram, as before;
#  - datachannel-only against datagram-only: no plane in common, the cell
#    is judged on the consent checks on the wire and says so.
set -u
natlab=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for p in natlab-ice natlab-stun-server natlab-turn-server; do
  [ -x "$NATLAB_BIN_DIR/$p" ] || { echo "$p not built: skipped"; exit 77; }
done
echo '{"cmd":"stop"}' | "$NATLAB_BIN_DIR/natlab-ice" --interface lo | grep -q '"datachannel"' ||
  { echo "natlab-ice built without libusrsctp: skipped"; exit 77; }

cell() { # name, extra args...
  local name=$1
  shift
  "$natlab" run "$src/scenarios/matrix.lua" -p left=port-restricted-cone -p right=port-restricted-cone \
    "$@" --out "$out/$name" >"$out/$name.log" 2>&1
  echo $?
}

rc=$(cell dc -p "right_args=--offer-dataplanes datachannel")
if grep -q "run natlab as root\|user namespace" "$out/dc.log"; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "datachannel-only peer: exit $rc, want 0: $(cat "$out/dc.log")"
rc=$(cell dg)
[ "$rc" = 0 ] || fail "default agents: exit $rc, want 0: $(cat "$out/dg.log")"
rc=$(cell none -p right=symmetric -p "left_args=--offer-dataplanes datachannel" \
  -p "right_args=--offer-dataplanes datagram" -p "agent_args=--keepalive-ms 200" -p consent_ms=1000)
[ "$rc" = 0 ] || fail "no plane in common: exit $rc, want 0: $(cat "$out/none.log")"
python3 - "$out" <<'PY' || exit 1
import json, sys
out = sys.argv[1]
def cell(name):
    cells = [json.loads(l) for l in open(f"{out}/{name}/latest/cells.jsonl")]
    assert len(cells) == 1, (name, len(cells))
    return cells[0]
def logs(c, side, text):
    return [e for e in c["events"] if e.get("src") == side and e.get("ev") == "log" and text in str(e.get("msg"))]

c = cell("dc")
assert c["outcome"] == "pass", (c["outcome"], c.get("message"))
assert c["dataplane"] == "datachannel", c.get("dataplane")
ready = [e for e in c["events"] if e.get("src") == "right" and e.get("ev") == "ready"][0]
assert ready["dataplanes"] == ["datachannel"], ready
for side in ("left", "right"):
    assert logs(c, side, "DTLS 1.2 handshake done"), f"{side}: no DTLS handshake"
    assert logs(c, side, 'data channel "natlab" open'), f"{side}: no data channel"
assert c["data"]["received"] > 0 and c["data"]["peer_received"] > 0, c["data"]
assert c["wire"]["settled"]["basis"] == "data", c["wire"]["settled"]

c = cell("dg")
assert c["outcome"] == "pass" and c["dataplane"] == "datagram", (c["outcome"], c.get("dataplane"))
assert not logs(c, "left", "DTLS"), "a data channel between two default agents"

c = cell("none")
assert c["outcome"] == "pass", (c["outcome"], c.get("message"))
assert c["dataplane"] == "none", c.get("dataplane")
want = "no data plane in common (left: datachannel; right: datagram): judged on consent checks"
assert c.get("message") == want, c.get("message")
assert c["observations"]["no_dataplane"] == want, c["observations"]
s = c["wire"]["settled"]
assert s["basis"] == "consent" and s["class"] == "relay", s
assert "data" not in c, c.get("data")
PY
echo "ok: datachannel chosen for a datachannel-only peer, datagram by default, consent checks with none in common"
