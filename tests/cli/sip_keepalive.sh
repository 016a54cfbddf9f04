#!/usr/bin/env bash
# Registrations against a NAT whose UDP mappings die after 3 s idle, the
# call coming 5 s after the callee registered (registration interval
# 3600 s), through kamailio + rtpengine (help=sbc), over UDP
# (scenarios/sip.lua, docs/sip.md "Keep-alives"):
#   keepalive=none  no-call: the INVITE dies at right-nat, whose drop log
#                   the message quotes
#   keepalive=ua    two-way: baresip's SIP-outbound STUN keep-alives
#                   (RFC 5626 §4.4.2) held the mapping
# (With the ALG on, and nathelper's keep-alives, docs/sip.md's commands.)
# Skipped (77) when kamailio, rtpengine or baresip is not installed.
. "$(dirname "$0")/sip_lib/common.sh"
sip_need kamailio:kamailio rtpengine:rtpengine-daemon baresip:baresip mod/stun:kamailio

sip_run r -p left=port-restricted-cone -p right=port-restricted-cone -p transport=udp -p help=sbc \
  -p nat_timeout_s=3 -p hold_s=5 -p alg=false -p keepalive=none,ua -p media_ms=1000

python3 - "$out/r/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
cells = {c["params"]["keepalive"]: c for c in map(json.loads, open(sys.argv[1]))}
assert sorted(cells) == ["none", "ua"], sorted(cells)
dead, kept = cells["none"], cells["ua"]
for c in (dead, kept):
    assert c["outcome"] == "pass", (c["params"]["keepalive"], c.get("message"))
    assert c["observations"]["sip"]["registered"]["right"], c["message"]
assert dead["observations"]["class"] == "no-call", dead["message"]
assert kept["observations"]["class"] == "two-way", kept["message"]
# nothing kept the mapping: no keep-alive on the registrar's wire, and the
# INVITE sent to right's (dead) mapping is in right-nat's drop log
ka = dead["observations"]["sip"]["keepalives"]["right"]
assert ka["stun"] == ka["options"] == ka["crlf"] == 0, ka
assert "it arrived at right-nat and was dropped there" in dead["message"], dead["message"]
drop = dead["observations"]["sip"]["invite_drop"]
assert drop["rule"] == "filtering" and drop["proto"] == "udp" and drop["pkts"] >= 1, drop
assert drop["first_ms"] > 5000, drop # after the 5 s wait, not some earlier packet
assert "right-nat's drop log: filtering udp" in dead["message"], dead["message"]
# the UA's STUN Binding requests reached the registrar at least every 2 s
# (the Flow-Timer) during the 5 s wait, and the INVITE got in
ka = kept["observations"]["sip"]["keepalives"]["right"]
assert ka["stun"] >= 2 and ka["options"] == 0, ka
rtp = kept["observations"]["sip"]["rtp"]
assert rtp["left->right"]["received"] > 25 and rtp["right->left"]["received"] > 25, rtp
print("ok")
PY
