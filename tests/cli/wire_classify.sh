#!/usr/bin/env bash
# natlab.wire's classification and claim checks (scenarios/prelude/
# 25_wire.lua) on made-up node:flows() snapshots: every case of
# tests/cli/fixtures/wire_classify.lua must pass (a failed case names what
# differed from docs/expected-matrix.md's rules).
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" run "$src/tests/cli/fixtures/wire_classify.lua" --out "$out" >"$out/log" 2>&1
rc=$?
if grep -q "run natlab as root\|user namespace" "$out/latest/cells.jsonl" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
python3 - "$out/latest/cells.jsonl" <<'PY' || fail "$(cat "$out/log")"
import json, sys
cells = [json.loads(l) for l in open(sys.argv[1])]
cases = {c["params"]["case"]: c for c in cells}
want = {"direct", "relay-left-udp", "relay-both-tcp", "relay-split-alloc", "switched", "no-data", "consent", "new-in-window", "turn-chatter", "own-requests", "consent-own-requests", "prflx-hidden-address"}
assert set(cases) == want, sorted(cases)
bad = [f'{k}: {c["outcome"]}: {c.get("message")}' for k, c in sorted(cases.items()) if c["outcome"] != "pass"]
assert not bad, "\n".join(bad)
PY
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$out/log")"
echo ok
