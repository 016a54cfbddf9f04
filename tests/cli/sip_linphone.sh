#!/usr/bin/env bash
# The second user agent (scenarios/sip.lua -p ua=linphone, docs/sip.md):
# linphonec on both sides, the caller public, the callee behind a
# port-restricted cone, kamailio with nathelper (help=nat), over UDP: the
# classic one-way audio, as with baresip - the callee's RTP reaches the
# public caller, the caller's goes to the private address in the callee's
# SDP. Proves linphonec registers, calls, answers and sends RTP from its
# WAV file without a sound card, judged from the wire.
# Skipped (77) when kamailio or linphone-cli is not installed.
. "$(dirname "$0")/sip_lib/common.sh"
sip_need kamailio:kamailio linphonec:linphone-cli

sip_run r -p ua=linphone -p left=open -p right=port-restricted-cone -p transport=udp -p alg=false \
  -p help=nat -p media_ms=1000

python3 - "$out/r/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
cells = list(map(json.loads, open(sys.argv[1])))
assert len(cells) == 1, len(cells)
c = cells[0]
v = c["observations"]["sip"]
assert c["params"]["ua"] == "linphone", c["params"]
assert c["outcome"] == "pass", c.get("message")
assert c["path"] == "one-way-to-caller", c.get("path")
assert c["observations"]["class"] == "one-way:right->left", c["message"]
assert v["registered"]["right"] and v["registered"]["left"], c["message"]
lr, rl = v["rtp"]["left->right"], v["rtp"]["right->left"]
# both linphonecs sent their tone; only the callee's arrived
assert lr["sent"] > 25 and rl["sent"] > 25, (lr, rl) # 1 s of 20 ms packets, and the settle time
assert rl["received"] > 25 and lr["received"] == 0, (lr, rl)
assert "the private address in right's SDP, dropped: no route" in c["message"], c["message"]
print("ok")
PY
