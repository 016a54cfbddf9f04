#!/usr/bin/env bash
# natlab-ice's datachannel data plane (--dataplane datachannel):
#  1. the protocol: "ready" declares the data planes, "local" carries a
#     session (RFC 8122 fingerprint, RFC 8842 setup, SCTP port, max message
#     size) only when asked for datachannel, bad options and bad sessions
#     get clear errors;
#  2. on loopback: two natlab-ice open a data channel (DTLS + SCTP + DCEP)
#     and exchange numbered messages both ways; against a peer that sends
#     no session (a datagram-only adapter) it falls back to datagrams; a
#     fingerprint altered in the signalling fails the DTLS handshake;
#  3. natlab adapter-check of natlab-ice --dataplane datachannel against
#     itself passes, every round over an open data channel;
#  4. through NATs (natlab run scenarios/matrix.lua -p dataplane=datachannel
#     --capture): a direct and a relayed cell pass, and tshark sees DTLS
#     application data on the selected pair and no raw 0xE1 datagram; the
#     same check fails a datagram-plane cell (the check can fail).
set -euo pipefail
bin=${NATLAB_BIN_DIR:?}
src=${NATLAB_SOURCE_DIR:?}
ice=$bin/natlab-ice
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# the whole output, then its first line: `| head -n1` would SIGPIPE the agent
out=$(printf '{"cmd":"stop"}\n' | timeout 10 "$ice" --interface lo) || fail "natlab-ice exited non-zero"
ready=$(head -n1 <<<"$out")
if ! grep -q '"datachannel"' <<<"$ready"; then
  # built without libusrsctp: asking for the plane must say so
  if "$ice" --dataplane datachannel </dev/null >/dev/null 2>"$dir/err"; then
    fail "--dataplane datachannel accepted without libusrsctp"
  fi
  grep -q libusrsctp "$dir/err" || fail "no libusrsctp hint: $(cat "$dir/err")"
  echo "natlab-ice built without libusrsctp: datachannel skipped"; exit 77
fi
grep -q '"dataplanes":\["datagram","datachannel"\]' <<<"$ready" || fail "ready: $ready"

# --- 1. protocol --------------------------------------------------------------
if "$ice" --dataplane carrier-pigeon </dev/null >/dev/null 2>"$dir/err"; then
  fail "a bad --dataplane was accepted"
fi
grep -q -- "--dataplane: bad value 'carrier-pigeon'" "$dir/err" || fail "bad --dataplane: $(cat "$dir/err")"
out=$(printf '%s\n' '{"cmd":"gather"}' | timeout 10 "$ice" --interface lo --dataplane datachannel)
local_line=$(grep '"ev":"local"' <<<"$out") || fail "no local event: $out"
grep -Eq '"session":\{"fingerprint":"sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}","setup":"actpass","sctp_port":5000,"max_message_size":262144\}' \
  <<<"$local_line" || fail "controlling session: $local_line"
out=$(printf '%s\n' '{"cmd":"gather"}' | timeout 10 "$ice" --interface lo --dataplane datachannel --role controlled)
grep -q '"setup":"active"' <<<"$out" || fail "controlled side is not setup active: $out"
# the default plane announces no session: today's adapters see today's events
out=$(printf '%s\n' '{"cmd":"gather"}' | timeout 10 "$ice" --interface lo)
if grep -q '"session"' <<<"$out"; then fail "datagram plane announced a session: $out"; fi
out=$(printf '%s\n' \
  '{"cmd":"remote","ufrag":"abcd","pwd":"abcdefghijklmnopqrstuv","candidates":[],"session":"x"}' \
  '{"cmd":"remote","ufrag":"abcd","pwd":"abcdefghijklmnopqrstuv","candidates":[],"session":{"fingerprint":"sha-256 12:34"}}' \
  '{"cmd":"remote","ufrag":"abcd","pwd":"abcdefghijklmnopqrstuv","candidates":[],"session":{"setup":"sideways"}}' |
  timeout 10 "$ice" --interface lo --dataplane datachannel)
grep -q '"session\\" must be an object' <<<"$out" || fail "session not an object: $out"
grep -q 'session.fingerprint \\"sha-256 12:34\\" is not an RFC 8122 fingerprint' <<<"$out" ||
  fail "short fingerprint: $out"
grep -q 'session.setup \\"sideways\\"' <<<"$out" || fail "bad setup: $out"
echo "ok: protocol"

# --- 2. loopback ----------------------------------------------------------------
pair=$src/tests/cli/fixtures/ice_pair.py
python3 "$pair" "$ice" "--dataplane datachannel" "$ice" "--dataplane datachannel" 20 >"$dir/pair.json"
python3 - "$dir/pair.json" <<'PY' || exit 1
import json, sys
a, b = json.load(open(sys.argv[1]))
def check(me, o):
    d = o["data"]
    assert d, f"{me}: no data report: {o}"
    assert o["rx"] == 20 and d["sent"] == 20 and d["acked"] == 20, f"{me}: {d}, rx {o['rx']}"
    assert not o["errors"], f"{me}: errors {o['errors']}"
    opened = [m for m in o["logs"] if m.startswith("data channel \"natlab\" open")]
    assert opened, f"{me}: no channel opened: {o['logs']}"
    return opened[0]
print("  left: ", check("controlling", a))
print("  right:", check("controlled", b))
assert any("as DTLS server" in m for m in a["logs"]), a["logs"]  # actpass vs active
assert any("as DTLS client" in m for m in b["logs"]), b["logs"]
PY
python3 "$pair" "$ice" "--dataplane datachannel" "$ice" "" 5 >"$dir/mixed.json"
python3 - "$dir/mixed.json" <<'PY' || exit 1
import json, sys
a, b = json.load(open(sys.argv[1]))
assert a["data"] and a["data"]["acked"] == 5 and b["rx"] == 5, (a, b)
assert any("using the datagram plane" in m for m in a["logs"]), a["logs"]
PY
# a fingerprint changed on the way (RFC 8122: the certificate must match
# what was signalled) fails the handshake on both sides, and "send" says so
python3 "$pair" "$ice" "--dataplane datachannel" "$ice" "--dataplane datachannel" 5 tamper >"$dir/tamper.json"
python3 - "$dir/tamper.json" <<'PY' || exit 1
import json, sys
a, b = json.load(open(sys.argv[1]))
assert a["rx"] == 0 and b["rx"] == 0, (a, b)
assert any("does not match its signalled fingerprint" in m for m in b["logs"]), b["logs"]
assert any(m.startswith("datachannel: DTLS handshake") for m in a["logs"]), a["logs"]
# the send came after the failure, or waited for the channel and got it
for o in (a, b):
    assert len(o["errors"]) == 1 and o["errors"][0].startswith("send: the data channel failed"), o["errors"]
PY
echo "ok: loopback"

# --- 3. adapter-check: natlab-ice with datachannel against itself ------------------
printf '#!/bin/sh\nexec "%s" --dataplane datachannel "$@"\n' "$ice" >"$dir/ice-dc"
chmod +x "$dir/ice-dc"
rc=0
"$bin/natlab" adapter-check -v --peer "$dir/ice-dc" "$ice" --dataplane datachannel >"$dir/ac.log" 2>&1 || rc=$?
if grep -q "cannot enter\|run natlab as root\|user namespace" "$dir/ac.log"; then
  echo "no sandbox here: adapter-check and lab part skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "adapter-check exit $rc: $(grep -v '^ *<-\|^ *->' "$dir/ac.log" | tail -20)"
# every round ran over a data channel, none fell back to datagrams
[ "$(grep -c 'data channel \\"natlab\\" open' "$dir/ac.log")" -ge 6 ] ||
  fail "adapter-check rounds without an open data channel: $(grep -c 'data channel' "$dir/ac.log")"
if grep -q "using the datagram plane" "$dir/ac.log"; then fail "adapter-check fell back to datagrams"; fi
echo "ok: adapter-check"

# --- 4. through NATs, checked on the wire ---------------------------------------
command -v tshark >/dev/null || { echo "tshark not installed: lab part skipped"; exit 77; }
run() { # run OUT DATAPLANE CELLS...
  local o=$1 plane=$2; shift 2
  "$bin/natlab" run "$src/scenarios/matrix.lua" -p dataplane="$plane" "$@" --capture --jobs 1 \
    --timeout 120 --out "$o" >"$o.log" 2>&1 || true
}
run "$dir/dc" datachannel -p left=symmetric,port-restricted-cone -p right=port-restricted-cone
cells=$dir/dc/latest/cells.jsonl
if grep -q "cannot enter\|run natlab as root\|user namespace" "$cells" 2>/dev/null; then
  echo "no sandbox here: lab part skipped"; exit 77
fi
[ "$(grep -c '"outcome":"pass"' "$cells")" = 2 ] || fail "datachannel cells: $(cat "$dir/dc.log")"
python3 "$src/tests/cli/fixtures/dc_wire.py" "$dir/dc/latest" || fail "wire check"
run "$dir/dg" datagram -p left=port-restricted-cone -p right=port-restricted-cone
if python3 "$src/tests/cli/fixtures/dc_wire.py" "$dir/dg/latest" >"$dir/dg.wire"; then
  fail "the wire check passed a datagram-plane cell: $(cat "$dir/dg.wire")"
fi
grep -q "raw 0xE1 datagrams in all captures: [1-9]" "$dir/dg.wire" || fail "control: $(cat "$dir/dg.wire")"
echo ok
