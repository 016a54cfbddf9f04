#!/usr/bin/env bash
# A cell that never ends by itself is stopped by its own deadline a little
# before the runner's kill (harness/celldeadline.h): whether the script
# sleeps, spins in Lua or waits for a process, the cell ends `timeout`
# within its time and its record still has the NAT's evidence - here the
# outside datagram the symmetric NAT's filtering dropped - a conntrack
# snapshot, and the tails of the logs.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start=$(date +%s%N)
"$bin" run "$src/tests/cli/fixtures/timeout_evidence.lua" --out "$out/r" --jobs 3 >"$out/log" 2>&1
rc=$?
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cells=$out/r/latest/cells.jsonl
if grep -q "cannot enter\|run natlab as root\|user namespace" "$cells" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 1 ] || fail "exit $rc, want 1 (cells time out); $(cat "$out/log")"
python3 - "$cells" <<'PY' || exit 1
import json, sys
cells = {c["params"]["case"]: c for c in map(json.loads, open(sys.argv[1]))}
assert set(cells) == {"sleep", "spin", "wait"}, cells.keys()
for case, c in cells.items():
    assert c["outcome"] == "timeout", (case, c["outcome"], c.get("message"))
    assert "timed out after 4000 ms" in c["message"], (case, c["message"])
    # stopped by itself, inside its time (the runner kills at 4000 ms)
    assert c["duration_ms"] < 4000, (case, c["duration_ms"])
    ev = c.get("evidence", {}).get("in-nat")
    assert ev, (case, "no evidence", c.get("evidence"))
    assert ev["counters"]["drop_filtering"] >= 1, (case, ev["counters"])
    assert any(d["dst"].endswith(":40000") for d in ev["drops"]), (case, ev["drops"])
    # the failure message quotes the evidence that explains it
    assert "evidence: in-nat (APDF filtering) dropped 1 udp packet" in c["message"], c["message"]
    assert "conntrack" in ev, (case, sorted(ev))
    assert "stderr_tail" in c, case
print("ok: 3 cells timed out with evidence")
PY
[ $? = 0 ] || exit 1
# three 4 s cells at once: well under the kill of all three
[ "$took_ms" -lt 15000 ] || fail "the run took $took_ms ms"
