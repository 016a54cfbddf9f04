#!/usr/bin/env bash
# bench/report_ladder.sh - what ladder diagrams cost report.html.
#
#   ./bench/report_ladder.sh [-p key=value ...]
#
# Runs the default matrix (scenarios/matrix.lua, 81 cells) with every cell
# expected "direct" (tests/cli/fixtures/ladder_wrong_expect.lua), so that
# the cells that relay fail and get a ladder, then prints report.html's
# bytes per cell with ladders for the failed cells only (natlab's default)
# beside the same page without them (the baseline: the page with every
# <details class="ladder"> block taken out), and the ratio; the ladder's
# bytes (median, largest); and report.html with a ladder for every cell
# (`natlab report --ladder all`). -p pairs go to natlab run (e.g.
# -p left=symmetric for one row). Needs a build (./scripts/build) and root
# or user namespaces.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NATLAB_BUILD_DIR:-$top/build}
bin=$build/bin/natlab
[ -x "$bin" ] || { echo "bench/report_ladder.sh: no build in $build (run ./scripts/build first)" >&2; exit 2; }
out=$(mktemp -d /tmp/natlab-ladder.XXXXXX)
trap 'rm -rf "$out"' EXIT
NATLAB_SOURCE_DIR=$top "$bin" run "$top/tests/cli/fixtures/ladder_wrong_expect.lua" "$@" \
  --out "$out" >"$out/run.log" 2>&1
rc=$?
[ "$rc" -le 1 ] || { echo "natlab run exited $rc: $(tail -5 "$out/run.log")" >&2; exit 1; }
dir=$(readlink -f "$out/latest")
cp "$dir/report.html" "$out/default.html"
"$bin" report "$dir" --ladder all >/dev/null || exit 1
cp "$dir/report.html" "$out/all.html"
python3 - "$dir/cells.jsonl" "$out/default.html" "$out/all.html" <<'PY'
import json, re, statistics, sys
cells = [json.loads(l) for l in open(sys.argv[1])]
failed = sum(c["outcome"] in ("fail", "error", "timeout") for c in cells)
default = open(sys.argv[2]).read()
every = open(sys.argv[3]).read()
block = re.compile(r'<details class="ladder".*?</details>\n', re.S)
ladders = [len(m.group(0)) for m in block.finditer(default)]
bare = block.sub("", default)
n = len(cells)
print(f"cells {n}, failed {failed}, ladders drawn {len(ladders)}")
print("figure | natlab | baseline | ratio")
print(f"report.html bytes per cell, ladders for failed cells | {len(default) / n:.0f} | "
      f"{len(bare) / n:.0f} (no ladders) | {len(default) / len(bare):.2f}")
print(f"report.html bytes per cell, --ladder all | {len(every) / n:.0f} | "
      f"{len(bare) / n:.0f} (no ladders) | {len(every) / len(bare):.2f}")
if ladders:
    print(f"ladder bytes (failed cells): median {statistics.median(ladders):.0f}, "
          f"largest {max(ladders)}")
PY
