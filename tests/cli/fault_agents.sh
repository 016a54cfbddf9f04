#!/usr/bin/env bash
# fault_agents - an agent that crashes, hangs, floods its output or writes
# lines that are not the protocol costs only its own cell: in one run the
# cells around it still pass, the crash and the flood are errors saying
# what happened, the hang is a timeout, and nothing it started survives.
set -u
bin=${NATLAB_BIN_DIR:?}
src=${NATLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin/natlab" doctor >/dev/null 2>&1 || { echo "skip: this machine cannot run a lab"; exit 77; }
work=$(mktemp -d /tmp/natlab-fault-agents.XXXXXX)
trap 'rm -rf "$work"' EXIT
tag=faultagents$$.$RANDOM

(cd "$work" && env NATLAB_SOAK_TAG=$tag "$bin/natlab" run "$src/tests/cli/fixtures/fault_agents.lua" \
  --jobs 2 --out "$work/results") >"$work/out.txt" 2>&1
rc=$?
cat "$work/out.txt"
[ "$rc" = 1 ] || fail "natlab exited $rc, want 1 (some cells errored, the run itself fine)"
cells=$work/results/latest/cells.jsonl
python3 - "$cells" <<'PY' || fail "outcomes are not the expected ones"
import json, sys
got = {}
for line in open(sys.argv[1]):
    c = json.loads(line)
    got[c["params"]["case"]] = c
want = {"pass": "pass", "pass2": "pass", "garbage": "pass", "crash": "error",
        "flood": "error", "hang": "timeout"}
bad = [(k, got.get(k, {}).get("outcome"), v) for k, v in want.items()
       if got.get(k, {}).get("outcome") != v]
assert not bad, bad
assert "status 139" in got["crash"]["message"], got["crash"]["message"]
assert "1000 events" in got["flood"]["message"], got["flood"]["message"]
# non-protocol lines reach the script as events, none of them ends the cell
assert got["garbage"]["observations"]["events_before_ready"] >= 4, got["garbage"]
print("outcomes ok:", {k: got[k]["outcome"] for k in sorted(got)})
PY
# the hung agent's sleep and the flooding `yes` are gone with their cells
left=$(grep -l -s -a "NATLAB_SOAK_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left processes of the run survived it"
echo ok
