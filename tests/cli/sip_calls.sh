#!/usr/bin/env bash
# A reduced SIP set (scenarios/sip.lua, docs/sip.md): two baresip UAs behind
# port-restricted cones (and a public caller) calling through kamailio, over
# UDP. Each cell must match scenarios/sip_expected.lua, judged from the lab's
# captures, and say why when audio is missing:
#   help=none             no-call: the INVITE goes to the callee's private Contact
#   help=nat              no-audio: each side's RTP goes to the other's private SDP address
#   help=nat, caller open one-way right->left (the classic one-way audio)
#   help=sbc              two-way through rtpengine (latching)
#   help=none, ALG on     two-way direct: the kernel's SIP helper rewrote Contact and SDP
# Skipped (77) when kamailio, rtpengine or baresip is not installed.
. "$(dirname "$0")/sip_lib/common.sh"
sip_need kamailio:kamailio rtpengine:rtpengine-daemon baresip:baresip

sip_run a -p right=port-restricted-cone -p transport=udp -p left=port-restricted-cone,open \
  -p help=none,nat,sbc -p alg=false
sip_run b -p right=port-restricted-cone -p transport=udp -p left=port-restricted-cone -p help=none -p alg=true

python3 - "$out/a/latest/cells.jsonl" "$out/b/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
cells = {}
for f in sys.argv[1:]:
    for c in map(json.loads, open(f)):
        p = c["params"]
        cells[(p["left"], p["help"], p["alg"])] = c
assert len(cells) == 7, sorted(cells)
prc = "port-restricted-cone"
want = {
    (prc, "none", False): "no-call",
    ("open", "none", False): "no-call",
    (prc, "nat", False): "no-audio",
    ("open", "nat", False): "one-way:right->left",
    (prc, "sbc", False): "two-way",
    ("open", "sbc", False): "two-way",
    (prc, "none", True): "two-way",
}
for k, cls in want.items():
    c = cells[k]
    v = c["observations"]["sip"]
    assert c["observations"]["class"] == cls, (k, c["observations"]["class"], c.get("message"))
    assert c["observations"]["expected_class"] == cls, (k, c["observations"]["expected_class"])
    assert c["outcome"] == "pass", (k, c["outcome"], c.get("message"))
    assert v["registered"]["right"], k
    lr, rl = v["rtp"]["left->right"], v["rtp"]["right->left"]
    if cls == "no-call":
        # the proxy relayed the INVITE to the private Contact the callee registered
        assert "private Contact right registered: no route" in c["message"], (k, c["message"])
    if cls == "two-way":
        assert lr["received"] > 50 and rl["received"] > 50, (k, lr, rl)
        assert v["path"] == ("rtpengine" if k[1] == "sbc" else "direct"), (k, v["path"])
    if cls == "no-audio":
        for r, peer in ((lr, "right"), (rl, "left")):
            assert r["sent"] > 50 and r["received"] == 0, (k, r)
            assert "the private address in %s's SDP, dropped: no route" % peer in r["cause"], (k, r["cause"])
            assert r["cause"] in c["message"], (k, c["message"])
    if cls == "one-way:right->left":
        assert rl["received"] > 50 and lr["received"] == 0, (k, lr, rl)
        assert "the private address in right's SDP, dropped: no route" in c["message"], (k, c["message"])
# the ALG's work is on the wire: the callee received an SDP naming the
# caller's public address, not its private one
alg = cells[(prc, "none", True)]["observations"]["sip"]["sdp"]
assert not alg["right_got"]["addr"].startswith("10."), alg
assert alg["left_offer"]["addr"].startswith("10."), alg
print("ok")
PY
