#!/usr/bin/env bash
# Capabilities (docs/agent-protocol.md): an adapter that declares it has no
# TURN over TCP or TLS gets its udp-blocked and tcp-web-only matrix cells
# judged `unsupported`, named in cells.jsonl, the terminal summary and
# JUnit (a skip saying so), and the run exits 0; the same adapter without
# the declaration fails them. Both agents declaring ICE-TCP make open x
# udp-blocked a direct cell, and natlab-ice with --tcp takes it directly.
set -u
natlab=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
wrap=$src/tests/cli/fixtures/proto_noturntcp.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export NATLAB_BIN_DIR

run() { # dir extra-args...
  local d=$1
  shift
  "$natlab" run "$src/scenarios/matrix.lua" -p left=udp-blocked,tcp-web-only -p right=open \
    -p left_impl="$wrap" -p timeout_ms=4000 --out "$out/$d" "$@" >"$out/$d.log" 2>&1
}

PROTO_DECLARE=1 run declared
rc=$?
if grep -q "cannot enter\|run natlab as root\|user namespace" "$out/declared.log"; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "declared: exit $rc, want 0 (unsupported is not a failure): $(cat "$out/declared.log")"
grep -q "2 cells: 0 passed, 0 failed, 0 errors or timeouts, 0 skipped, 2 unsupported" "$out/declared.log" ||
  fail "declared: summary line: $(tail -5 "$out/declared.log")"
python3 - "$out/declared/latest" <<'PY' || exit 1
import json, sys, xml.etree.ElementTree as ET
cells = [json.loads(l) for l in open(sys.argv[1] + "/cells.jsonl")]
assert len(cells) == 2, cells
for c in cells:
    assert c["outcome"] == "unsupported", c
    assert "left" in c["message"] and "neither TURN over TCP nor TURN over TLS" in c["message"], c["message"]
    assert c["params"]["left"] in c["message"], c["message"]
html = open(sys.argv[1] + "/report.html").read()
assert "2 cells: 0 passed, 0 failed, 0 errors, 0 skipped, 2 unsupported" in html, "report.html header"
# the grid's squares say unsupported, neither a mismatch with the expected
# path nor a pass rate of cells that never ran
import re
squares = re.findall(r'<td class="sq path-([a-z-]+)( mismatch)?"', html)
assert squares == [("unsupported", ""), ("unsupported", "")], squares
assert "0/1 passed" not in html, "an unsupported cell counted as tried"
suite = ET.parse(sys.argv[1] + "/junit.xml").getroot().find("testsuite")
assert suite.get("skipped") == "2" and suite.get("failures") == "0", suite.attrib
for tc in suite.findall("testcase"):
    sk = tc.find("skipped")
    assert sk is not None and sk.get("message").startswith("unsupported: left"), ET.tostring(tc)
PY

run undeclared
rc=$?
[ "$rc" = 1 ] || fail "undeclared: exit $rc, want 1: $(cat "$out/undeclared.log")"
python3 - "$out/undeclared/latest" <<'PY' || exit 1
import json, sys
cells = [json.loads(l) for l in open(sys.argv[1] + "/cells.jsonl")]
assert [c["outcome"] for c in cells] == ["fail", "fail"], [(c["outcome"], c.get("message")) for c in cells]
PY

# ICE-TCP on both sides: open x udp-blocked is expected direct, and is
"$natlab" run "$src/scenarios/matrix.lua" -p left=udp-blocked -p right=open -p ice_tcp=true \
  --out "$out/tcp" >"$out/tcp.log" 2>&1 || fail "ice_tcp: $(cat "$out/tcp.log")"
python3 - "$out/tcp/latest" <<'PY' || exit 1
import json, sys
c = json.loads(open(sys.argv[1] + "/cells.jsonl").readline())
assert c["outcome"] == "pass" and c["observations"]["expected_by_capabilities"] == "direct", c
assert c["selected"]["local"]["transport"] == "tcp", c["selected"]
PY
echo "ok: unsupported when declared, failed when not, ICE-TCP direct"
