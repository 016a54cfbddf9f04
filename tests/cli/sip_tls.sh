#!/usr/bin/env bash
# SIP over TLS (scenarios/sip.lua -p transport=tls, docs/sip.md "TLS"):
# kamailio's tls module on 5061 with a certificate made for the cell,
# baresip trusting it; both NATs port-restricted cones with the SIP ALG on.
#   help=none  no-call: the ALG cannot read TLS (and is attached to 5060),
#              so the private Contact reaches the registrar unrewritten and
#              the proxy's TCP connection to it goes nowhere - over UDP the
#              same cell is two-way (cli.sip_calls)
#   help=sbc   two-way through rtpengine: kamailio reads the SDP inside TLS
# The SIP verdicts come from kamailio's sipdump (the wire has ciphertext),
# the RTP from the captures as always.
# Skipped (77) when kamailio, its tls module, rtpengine, baresip or openssl
# is not installed.
. "$(dirname "$0")/sip_lib/common.sh"
sip_need kamailio:kamailio rtpengine:rtpengine-daemon baresip:baresip openssl:openssl \
  mod/tls:kamailio-tls-modules

sip_run r -p left=port-restricted-cone -p right=port-restricted-cone -p transport=tls -p alg=true \
  -p help=none,sbc

python3 - "$out/r/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
cells = {c["params"]["help"]: c for c in map(json.loads, open(sys.argv[1]))}
assert sorted(cells) == ["none", "sbc"], sorted(cells)
for help, c in cells.items():
    v = c["observations"]["sip"]
    assert c["outcome"] == "pass", (help, c.get("message"))
    assert v["signalling_from"].startswith("the registrar's sipdump"), (help, v.get("signalling_from"))
    assert v["registered"]["right"] and v["registered"]["left"], (help, c["message"])
    # nothing on the way rewrote anything: the ALG saw no SIP
    assert v["rewrites"] == {}, (help, v["rewrites"])
none, sbc = cells["none"], cells["sbc"]
assert none["observations"]["class"] == "no-call", none["message"]
assert "the proxy tried to connect over TCP to 10." in none["message"], none["message"]
assert ":5061, the private Contact right registered: no route" in none["message"], none["message"]
assert sbc["observations"]["class"] == "two-way", sbc["message"]
v = sbc["observations"]["sip"]
assert v["path"] == "rtpengine", v["path"]
# the SDP each UA got names the relay: kamailio read it inside TLS
assert v["sdp"]["right_got"]["addr"] == v["sdp"]["left_got"]["addr"], v["sdp"]
assert not v["sdp"]["right_got"]["addr"].startswith("10."), v["sdp"]
assert v["rtp"]["left->right"]["received"] > 50 and v["rtp"]["right->left"]["received"] > 50, v["rtp"]
print("ok")
PY
