#!/usr/bin/env bash
# A scenario switches capture on itself (`capture = {"nat", "access"}`),
# without --capture: the files land in results/<run>/pcap/<cell>/, tshark
# reads them, and on the NAT node's capture the STUN requests the cell sent
# appear in order, first from the private address inside, then from the
# NAT's public address on the outside interface (the translated address
# the server reported back).
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
fx=$src/tests/cli/fixtures/luafault.lua
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v tshark >/dev/null || { echo "tshark not installed: skipped"; exit 77; }

"$bin" run "$fx" --out "$out/r" --filter 'luafault/case=capture' --timeout 60 >"$out/log" 2>&1
rc=$?
cells=$out/r/latest/cells.jsonl
if grep -q "cannot enter\|run natlab as root\|user namespace" "$cells" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
if grep -q '"outcome":"skipped"' "$cells" 2>/dev/null; then
  echo "fixture skipped: $(cat "$cells")"; exit 77
fi
[ "$rc" = 0 ] || fail "exit $rc; $(cat "$out/log"); $(cat "$cells" 2>/dev/null)"
dir=$out/r/latest
python3 -c 'import json,sys; c=json.loads(open(sys.argv[1]).readline()); print("\n".join(c["pcaps"]))' \
  "$cells" >"$out/pcaps" || fail "no pcaps in $(cat "$cells")"
grep -qx 'pcap/luafault_case=capture.t0/nat.pcap' "$out/pcaps" || fail "pcaps: $(cat "$out/pcaps")"
grep -qx 'pcap/luafault_case=capture.t0/link-access.pcap' "$out/pcaps" || fail "pcaps: $(cat "$out/pcaps")"
# only what the scenario asked for (a NAT's drops-<node>.pcap is its
# evidence, not a capture: it exists when the NAT dropped something)
[ "$(ls "$dir/pcap/luafault_case=capture.t0" | grep -vc '^drops-')" = 2 ] || fail "captured: $(ls "$dir/pcap/"*)"
fields="-T fields -E separator=, -E occurrence=f -e sll.ifindex -e sll.pkttype -e ip.src -e ip.dst -e udp.srcport -e stun.id -e stun.att.ipv4"
tshark -r "$dir/pcap/luafault_case=capture.t0/nat.pcap" -Y "stun" $fields >"$out/nat.txt" 2>"$out/tshark.err" ||
  fail "tshark cannot read nat.pcap: $(cat "$out/tshark.err")"
tshark -r "$dir/pcap/luafault_case=capture.t0/link-access.pcap" -Y "stun" -T fields -E separator=, \
  -e ip.src -e ip.dst -e stun.id >"$out/link.txt" 2>"$out/tshark.err" ||
  fail "tshark cannot read link-access.pcap: $(cat "$out/tshark.err")"
python3 - "$cells" "$out/nat.txt" "$out/link.txt" <<'PY' || exit 1
import json, sys
c = json.loads(open(sys.argv[1]).readline())
assert c["outcome"] == "pass", c
public, mapped = c["observations"]["public"], c["observations"]["mapped"]
rows = [l.strip().split(",") for l in open(sys.argv[2]) if l.strip()]
req_in = [r for r in rows if r[2] == "10.99.0.2"]
req_out = [r for r in rows if r[2] == public]
assert len(req_in) == 3 and len(req_out) == 3, rows
inside_if, outside_if = {r[0] for r in req_in}, {r[0] for r in req_out}
assert len(inside_if) == 1 and len(outside_if) == 1 and inside_if != outside_if, rows
# on the outside: leaving the node (pkttype 4, outgoing), translated source
assert all(r[1] == "4" for r in req_out), req_out
# the same transactions, in the order sent, from the mapped ports
assert [r[5] for r in req_in] == [r[5] for r in req_out], rows
assert [public + ":" + r[4] for r in req_out] == mapped, (req_out, mapped)
# the answers came to the public address and carried it back
answers = [r for r in rows if r[3] == public and r[0] in outside_if]
assert len(answers) == 3 and all(r[6] == public for r in answers), answers
# the link capture (Ethernet, both directions) holds the inside half
link = [l.strip().split(",") for l in open(sys.argv[3]) if l.strip()]
assert [r[2] for r in link if r[0] == "10.99.0.2"] == [r[5] for r in req_in], link
PY
# with --capture too: every node once (the scenario's "nat" not twice),
# plus the link the scenario named
"$bin" run "$fx" --out "$out/all" --filter 'luafault/case=capture' --capture --timeout 60 \
  >"$out/all.log" 2>&1 || fail "--capture run: $(cat "$out/all.log")"
python3 - "$out/all/latest/cells.jsonl" <<'PY' || exit 1
import json, sys
c = json.loads(open(sys.argv[1]).readline())
names = sorted(p.rsplit("/", 1)[1] for p in c["pcaps"])
want = sorted(["internet.pcap", "srv.pcap", "nat.pcap", "nat2.pcap", "h.pcap", "m.pcap", "link-access.pcap"])
assert c["outcome"] == "pass" and names == want, (names, c)
PY
echo "ok"
