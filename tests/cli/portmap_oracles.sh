#!/usr/bin/env bash
# The NAT knob portmap (docs/nat-model.md "Port mapping") checked with
# independent clients, Debian's upnpc (UPnP IGD) and natpmpc (NAT-PMP),
# through scenarios/portmap-oracle.lua:
#   - on full-cone, port-restricted-cone and symmetric, a mapping made by
#     either client lets a datagram from a public host in; an unmapped port
#     is filtered as the preset says (in through full-cone only);
#   - a 3 s NAT-PMP lease on a symmetric NAT: nothing gets in once it ran out;
#   - faults on a symmetric NAT: a restarted server has lost the mapping (and maps again), a
#     hollow one answers but nothing gets in, a stopped one does not answer
#     while the mapping made before still works.
# Skipped (77) without miniupnpd, upnpc and natpmpc
# (scripts/install-deps --portmap) or without a lab sandbox.
set -u
PORTMAP_SCENARIO=portmap-oracle.lua PORTMAP_NEEDS="miniupnpd upnpc natpmpc"
. "${NATLAB_SOURCE_DIR:?}/tests/cli/fixtures/portmap_run.sh"
run matrix
run lease -p nat=symmetric -p client=natpmpc -p lease_s=3
run faults -p nat=symmetric -p client=natpmpc -p fault=restart,hollow,stop

python3 - "$out" <<'PY' || exit 1
import json, sys, glob
cells = {}
for f in glob.glob(sys.argv[1] + "/*/latest/cells.jsonl"):
    for c in map(json.loads, open(f)):
        cells[(f, c["id"])] = c
assert len(cells) == 10, sorted(cells)
for cid, c in sorted(cells.items()):
    o = c.get("observations", {})
    assert c["outcome"] == "pass", (cid, c["outcome"], c.get("message"))
    # what the cell saw, not only its verdict
    assert o.get("mapped_reached") is True, (cid, o)
    p = c["params"]
    assert o.get("unmapped_reached") is (p["nat"] == "full-cone"), (cid, o)
    if p.get("lease_s", 0):
        assert o.get("after_expiry_reached") is False, (cid, o)
    if p.get("fault") == "stop":
        assert o.get("mapped_stopped") is None, (cid, o)
print("portmap oracles: %d cells as expected" % len(cells))
PY
