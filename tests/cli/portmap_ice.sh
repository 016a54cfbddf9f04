#!/usr/bin/env bash
# natlab-ice --portmap through NATs with the portmap knob
# (scenarios/portmap.lua, docs/scenarios.md "portmap"):
#   - port-restricted-cone or symmetric x symmetric: relay without port
#     mapping and behind UPnP only (natlab-ice has no UPnP client), direct
#     with PCP, with NAT-PMP, and with PCP or NAT-PMP next to UPnP, where
#     upnpc -l (an independent client) lists the mapping natlab-ice made,
#     and does not once natlab-ice stopped (it deletes its mappings);
#   - symmetric x symmetric, PCP and NAT-PMP, both servers hollow (they
#     answer, nothing is mapped): the mapped candidates fail, the relay;
#   - symmetric x symmetric, PCP and NAT-PMP: the right NAT's server
#     restarts mid-session; natlab-ice sees the epoch, maps again, and
#     datagrams still cross both ways.
# Skipped (77) without miniupnpd/upnpc (scripts/install-deps --portmap) or
# without a lab sandbox.
set -u
PORTMAP_SCENARIO=portmap.lua PORTMAP_NEEDS="miniupnpd upnpc"
. "${NATLAB_SOURCE_DIR:?}/tests/cli/fixtures/portmap_run.sh"
run matrix
run restart -p left=symmetric -p portmap=pcp,natpmp -p fault=restart
run hollow -p left=symmetric -p portmap=pcp,natpmp -p fault=hollow

python3 - "$out" <<'PY' || exit 1
import json, sys, glob
cells = {}
for f in glob.glob(sys.argv[1] + "/*/latest/cells.jsonl"):
    for c in map(json.loads, open(f)):
        cells[(f, c["id"])] = c
assert len(cells) == 16, sorted(cells)
for (f, cid), c in sorted(cells.items()):
    p, o = c["params"], c.get("observations", {})
    assert c["outcome"] == "pass", (cid, c["outcome"], c.get("message"))
    mapped = "pcp" in p["portmap"] or "natpmp" in p["portmap"]
    # hollow gateways answer and map nothing: mapped candidates offered,
    # and the relay all the same
    hollow = p.get("fault") == "hollow"
    assert (c["path"] in ("host", "srflx", "prflx")) == (mapped and not hollow), (cid, c["path"])
    if mapped:
        # a mapped candidate on each side: srflx at the NAT's public
        # address whose port is the host's (miniupnpd keeps it)
        for side in ("left", "right"):
            assert any(" typ srflx raddr " in x and x.split()[5] == x.split()[-1]
                       for x in c["candidates"][side]), (cid, side, c["candidates"][side])
    if p["portmap"].endswith("+upnp"):
        # upnpc lists natlab-ice's PCP / NAT-PMP mapping, and no longer
        # once it stopped
        assert o.get("oracle_upnpc_lists_it") is True, (cid, o)
        assert o.get("oracle_upnpc_lists_it_after_stop") is False, (cid, o)
    if p.get("fault") == "restart":
        assert o.get("remapped_after_restart") is True, (cid, o)
        assert o["two_way_after_restart"]["ok"] is True, (cid, o)
print("portmap ICE: %d cells as expected" % len(cells))
PY
