#!/usr/bin/env bash
# The shipped smoke scenario: a STUN Binding through each NAT preset of its
# matrix must come back with the NAT's public address (srflx). Without
# natlab-stun-server built, every cell must say skipped and the run pass.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" run "$src/scenarios/smoke.lua" --out "$out" >"$out/log" 2>&1
rc=$?
if grep -q "run natlab as root\|user namespace" "$out/latest/cells.jsonl" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$out/log")"
if [ -x "$NATLAB_BIN_DIR/natlab-stun-server" ]; then want=pass; else want=skipped; fi
python3 - "$out/latest/cells.jsonl" "$want" <<'PY' || exit 1
import json, sys
cells = [json.loads(l) for l in open(sys.argv[1])]
assert len(cells) >= 2, cells
for c in cells:
    assert c["outcome"] == sys.argv[2], c
    if sys.argv[2] == "pass":
        o = c["observations"]
        assert c["path"] == "srflx" and o["mapped"].split(":")[0] == o["nat_public"], c
PY
echo "ok ($want)"
