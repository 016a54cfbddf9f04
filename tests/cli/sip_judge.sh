#!/usr/bin/env bash
# natlab.sip's wire reading (scenarios/prelude/50_sip.lua) on hand-made
# captures (tests/cli/fixtures/sip_judge.lua): the pcap reader keeps whole
# records only (also when it reads a growing file a piece at a time), finds SIP in UDP and TCP, counts RTP (and RTP inside TURN
# ChannelData, not STUN) once per interface, and the judge classes the call
# one-way right->left and names the cause of the dead direction: the
# private address in right's SDP, no route at the core; keep-alives are
# counted by kind, and kamailio's sipdump (SIP over TLS) is read a piece at
# a time and turned into one side's view. No SIP program needed.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" run "$src/tests/cli/fixtures/sip_judge.lua" --out "$out" >"$out/log" 2>&1
rc=$?
if grep -q "run natlab as root\|user namespace" "$out/latest/cells.jsonl" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$out/log")"
python3 - "$out/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
(c,) = [json.loads(l) for l in open(sys.argv[1])]
assert c["outcome"] == "pass", c
o = c["observations"]
v = o["sip"]
# 2 SIP (UDP, TCP) + 20 RTP out + 20 RTP in + ChannelData + STUN; the cut record is left out
assert o["counts"] == {"left": 44, "sip": 2}, o["counts"]
# read while written (sip.capture): half the file, then the rest; a record
# cut at the half waits for the second read, and nothing is read twice
g = o["growing"]
assert 0 < g["first"] < 44 and g["after"] == 44 and g["same"], g
assert g["bytes"][0] + g["bytes"][1] == g["size"] and g["bytes"][2] == 0, g
assert v["registered"] == {"left": True, "right": True}, v["registered"]
assert v["answered"] and v["invite_reached_callee"], v
assert v["class"] == "one-way:right->left", v["class"]
lr, rl = v["rtp"]["left->right"], v["rtp"]["right->left"]
assert lr["sent"] == 20 and lr["received"] == 0, lr
assert rl["sent"] == 20 and rl["received"] == 21, rl  # 20 direct + 1 through TURN
assert lr["to"] == "10.2.0.2:10002" and lr["told"] == "10.2.0.2:10002", lr
assert lr["hops"]["internet"] == {"arrived": 20, "forwarded": 0}, lr["hops"]
assert lr["hops"]["left-nat"] == {"from_inside": 20, "sent_out": 20}, lr["hops"]
# right-nat saw right's packets on two interfaces: counted once
assert rl["hops"]["right-nat"]["from_inside"] == 20, rl["hops"]
assert rl["hops"]["left-nat"] == {"from_outside": 20, "to_inside": 20}, rl["hops"]
assert lr["cause"] == ("left\u2192right RTP sent to 10.2.0.2:10002, the private address in right's SDP, "
                       "dropped: no route (the internet core got 20, forwarded 0)"), lr["cause"]
assert "cause" not in rl, rl
assert v["sdp"]["right_got"] == {"addr": "203.0.113.2", "port": 10000}, v["sdp"]
assert v["sdp"]["left_got"] == {"addr": "10.2.0.2", "port": 10002}, v["sdp"]
assert v["path"] == "direct", v["path"]
# keep-alives at the registrar before t_max: 1 OPTIONS out, 1 STUN Binding
# request in (the answer and the late one not), CRLFCRLF over UDP and TCP
ka = o["keepalives"]
assert (ka["options"], ka["stun"], ka["crlf"]) == (1, 1, 2), ka
# sipdump: the cut record waits for the second read; tags, proto, time
d = o["sipdump"]
assert d["first"] == 2 and d["after"] == 3, d
assert d["registered"] and d["proto"] == "tls" and d["out"] == [False, True, True], d
assert abs(d["time"] - 1.6) < 1e-6 and d["dport"] == 5061, d
# as right saw it: the REGISTER it sent (out), the 200 it got (in); the
# INVITE to a private address is not right's
assert d["seen"] == 2 and d["seen_out"] == [True, False], d
print("ok")
PY
