#!/usr/bin/env bash
# The harness's side of agent protocol 2 (docs/agent-protocol.md), in
# matrix cells:
# Offer/answer order ("Sequences"): an agent that declares "answerer":
# true and gives no local before it has the peer's remote
# (tests/cli/fixtures/answerer.py, natlab-ice held back as a WebRTC
# answerer would be) connects, trickling and not: the harness relays the
# offerer's local at once and never waits for the answerer's (a harness
# that waited for both locals deadlocks here and the cell times out). Two
# answerers fail the cell at once, saying there is no offerer.
# The data plane ("The data plane"), chosen by the harness from both
# agents' ready.dataplanes, with no -p dataplane:
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
    "$@" --out "$out/$name" >"$out/$name.log" 2>&1
  echo $?
}

rc=$(cell trickle -p timeout_ms=5000 -p right_impl="$out/answerer-controlled")
if grep -q "run natlab as root\|user namespace" "$out/trickle.log"; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "an answerer (controlled), trickling: exit $rc, want 0: $(cat "$out/trickle.log")"
rc=$(cell full -p timeout_ms=5000 -p right_impl="$out/answerer-controlled" -p trickle=false)
[ "$rc" = 0 ] || fail "an answerer (controlled), full gathering: exit $rc, want 0: $(cat "$out/full.log")"
t0=$(date +%s%N)
rc=$(cell two -p timeout_ms=5000 -p left_impl="$out/answerer-always" -p right_impl="$out/answerer-always")
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

if ! echo '{"cmd":"stop"}' | "$NATLAB_BIN_DIR/natlab-ice" --interface lo | grep -q '"datachannel"'; then
  echo "natlab-ice built without libusrsctp: the data plane choice is not checked"
  exit 0
fi
rc=$(cell dc -p "right_args=--offer-dataplanes datachannel")
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
# each side judged by its own consent requests (every 200 ms in a 1 s
# window), read from a capture of its point that the cell keeps
for side in ("left", "right"):
    n = c["wire"]["sides"][side].get("requests")
    assert isinstance(n, int) and n >= 2, (side, c["wire"]["sides"][side])
assert any(p.endswith("-nat.pcap") for p in c.get("pcaps", [])), c.get("pcaps")
PY
echo "ok: datachannel chosen for a datachannel-only peer, datagram by default, consent checks with none in common"
