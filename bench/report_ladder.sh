#!/usr/bin/env bash
# bench/report_ladder.sh - what ladder diagrams cost report.html.
#
#   ./bench/report_ladder.sh [-p key=value ...]
#
# Runs the default matrix (scenarios/matrix.lua, 81 cells) with every cell
# expected "direct" (tests/cli/fixtures/ladder_wrong_expect.lua), so that
# the cells that relay fail and get a ladder, then prints the report's
# bytes per cell (report.html, an index, and report/*.js, where each cell's
# details and so its ladder are) with ladders for the failed cells only
# (natlab's default) beside the same report without them (the baseline:
# every <details class="ladder"> block taken out), and the ratio; the
# ladder's bytes (median, largest); and the report with a ladder for every
# cell (`natlab report --ladder all`). -p pairs go to natlab run (e.g.
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
# the report's files: report.html and report/*.js
snap() { mkdir -p "$out/$1" && cp -r "$dir/report.html" "$dir/report" "$out/$1/"; }
snap default
"$bin" report "$dir" --ladder all >/dev/null || exit 1
snap all
python3 - "$dir/cells.jsonl" "$out/default" "$out/all" <<'PY'
import glob, json, re, statistics, sys
cells = [json.loads(l) for l in open(sys.argv[1])]
failed = sum(c["outcome"] in ("fail", "error", "timeout") for c in cells)
# a ladder block as it is on disk: plain in report.html, a JavaScript
# string (quotes and newlines escaped) in report/cells-<k>.js
plain = re.compile(r'<details class="ladder".*?</details>\n', re.S)
quoted = re.compile(r'<details class=\\"ladder\\".*?</details>\\n', re.S)
def report(top):
    """(bytes on disk, the ladder blocks' sizes)"""
    size, blocks = 0, []
    for fn in [top + "/report.html"] + sorted(glob.glob(top + "/report/*.js")):
        text = open(fn).read()
        size += len(text)
        blocks += [len(m.group(0)) for m in (plain if fn.endswith(".html") else quoted).finditer(text)]
    return size, blocks
default, ladders = report(sys.argv[2])
every, _ = report(sys.argv[3])
bare = default - sum(ladders)
n = len(cells)
print(f"cells {n}, failed {failed}, ladders drawn {len(ladders)}")
print("figure | natlab | baseline | ratio")
print(f"report bytes per cell, ladders for failed cells | {default / n:.0f} | "
      f"{bare / n:.0f} (no ladders) | {default / bare:.2f}")
print(f"report bytes per cell, --ladder all | {every / n:.0f} | "
      f"{bare / n:.0f} (no ladders) | {every / bare:.2f}")
if ladders:
    print(f"ladder bytes (failed cells): median {statistics.median(ladders):.0f}, "
          f"largest {max(ladders)}")
PY
