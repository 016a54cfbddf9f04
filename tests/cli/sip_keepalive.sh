#!/usr/bin/env bash
# Registrations against a NAT whose UDP mappings die after 3 s idle, the
# call coming 5 s after the callee registered (registration interval
# 3600 s), through kamailio + rtpengine (help=sbc), over UDP
# (scenarios/sip.lua, docs/sip.md "Keep-alives"):
#   keepalive=none, ALG off  no-call: the INVITE dies at right-nat, whose
#                            drop log the message quotes
#   keepalive=ua,   ALG off  two-way: baresip's SIP-outbound STUN keep-alives
#                            (RFC 5626 §4.4.2) held the mapping
#   keepalive=none, ALG on   no-call
#   keepalive=ua,   ALG on   two-way: the UA's keep-alives do not depend on
#                            the registrar seeing the NAT (nathelper's do)
# Skipped (77) when kamailio, rtpengine or baresip is not installed.
. "$(dirname "$0")/sip_lib/common.sh"
sip_need kamailio:kamailio rtpengine:rtpengine-daemon baresip:baresip mod/stun:kamailio

sip_run r -p left=port-restricted-cone -p right=port-restricted-cone -p transport=udp -p help=sbc \
  -p nat_timeout_s=3 -p hold_s=5 -p alg=false,true -p keepalive=none,ua

python3 - "$out/r/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
cells = {}
for c in map(json.loads, open(sys.argv[1])):
    p = c["params"]
    cells[(p["alg"], p["keepalive"])] = c
assert len(cells) == 4, sorted(cells)
for alg in (False, True):
    dead, kept = cells[(alg, "none")], cells[(alg, "ua")]
    for c in (dead, kept):
        assert c["outcome"] == "pass", (alg, c["params"]["keepalive"], c.get("message"))
        assert c["observations"]["sip"]["registered"]["right"], (alg, c["message"])
    assert dead["observations"]["class"] == "no-call", (alg, dead["message"])
    assert kept["observations"]["class"] == "two-way", (alg, kept["message"])
    # nothing kept the mapping: no keep-alive on the registrar's wire, and
    # the INVITE sent to right's (dead) mapping is in right-nat's drop log
    ka = dead["observations"]["sip"]["keepalives"]["right"]
    assert ka["stun"] == ka["options"] == ka["crlf"] == 0, (alg, ka)
    assert "it arrived at right-nat and was dropped there" in dead["message"], (alg, dead["message"])
    drop = dead["observations"]["sip"]["invite_drop"]
    assert drop["rule"] == "filtering" and drop["proto"] == "udp" and drop["pkts"] >= 1, (alg, drop)
    assert drop["first_ms"] > 5000, (alg, drop) # after the 5 s wait, not some earlier packet
    assert "right-nat's drop log: filtering udp" in dead["message"], (alg, dead["message"])
    # the UA's STUN Binding requests reached the registrar at least every
    # 2 s Flow-Timer during the 5 s wait, and the INVITE got in
    ka = kept["observations"]["sip"]["keepalives"]["right"]
    assert ka["stun"] >= 2 and ka["options"] == 0, (alg, ka)
    rtp = kept["observations"]["sip"]["rtp"]
    assert rtp["left->right"]["received"] > 50 and rtp["right->left"]["received"] > 50, (alg, rtp)
print("ok")
PY
