#!/usr/bin/env bash
# bench/wire_overhead.sh - what watching the wire costs (issue 16): the
# default matrix (scenarios/matrix.lua, 81 cells) with wire observation
# off (-p wire=false: claims only, the baseline) and on (the default),
# alternated in the same run so both see the same machine load, and the
# ratio of the summed wall times (target <= 1.10).
#
#   bench/wire_overhead.sh [--rounds N] [--jobs N] [--log DIR]
#
# --rounds N: N runs of each (default 1; alternated off, on, off, on, ...).
# Prints one line per run and then
#   wire observation: off S s, on S s, ratio R (target <= 1.10: met|not met)
# Needs a build (./scripts/build) and root or user namespaces.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NATLAB_BUILD_DIR:-$top/build}
rounds=1
jobs=""
log=""
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --jobs) jobs="--jobs $2"; shift ;;
    --log) log=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "wire_overhead.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
natlab=$build/bin/natlab
[ -x "$natlab" ] || { echo "wire_overhead.sh: no build in $build (run ./scripts/build first)" >&2; exit 2; }
log=${log:-$(mktemp -d /tmp/natlab-wire-bench.XXXXXX)}
mkdir -p "$log"

declare -A total=([off]=0 [on]=0)
declare -A secs=()
ratios=()
for r in $(seq 1 "$rounds"); do
  for mode in off on; do
    wire=true
    [ $mode = off ] && wire=false
    # shellcheck disable=SC2086
    NATLAB_BIN_DIR=$build/bin "$natlab" run "$top/scenarios/matrix.lua" -p wire=$wire $jobs \
      --out "$log/$mode-$r" >"$log/$mode-$r.txt" 2>&1
    rc=$?
    s=$(sed -n 's/.* in \([0-9.]*\) s wall time$/\1/p' "$log/$mode-$r.txt" | tail -1)
    cells=$(grep -E '^[0-9]+ cells: ' "$log/$mode-$r.txt" | tail -1 | sed 's/ in [0-9.]* s wall time//')
    [ -n "$s" ] || { echo "wire_overhead.sh: run $mode-$r printed no wall time (exit $rc): $log/$mode-$r.txt" >&2; exit 1; }
    echo "round $r wire $mode: $s s ($cells)"
    total[$mode]=$(awk -v a="${total[$mode]}" -v b="$s" 'BEGIN { printf "%.1f", a + b }')
    secs[$mode]=$s
  done
  ratios+=("$(awk -v on="${secs[on]}" -v off="${secs[off]}" 'BEGIN { printf "%.3f", on / off }')")
done
# the median of the rounds' ratios: one round's load spike moves it less
# than it moves the summed times
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "per-round ratios: ${ratios[*]} (median $median)"
# what observing cost inside the cells (observations.wire_ms: watch, snapshots,
# classification), against the cells' own duration: not blurred by load
# the way the wall time is
cost=$(python3 - "$log"/on-*/latest/cells.jsonl <<'PY'
import json, sys
ms, dur = [], []
for f in sys.argv[1:]:
    for line in open(f):
        c = json.loads(line)
        if "wire_ms" in c.get("observations", {}):
            ms.append(c["observations"]["wire_ms"])
            dur.append(c["duration_ms"])
if ms:
    print(f"{sum(ms) / len(ms):.1f} ms per cell (max {max(ms)}) of {sum(dur) / len(dur):.0f} ms mean cell duration: "
          f"{100 * sum(ms) / sum(dur):.1f} %")
else:
    print("no wire_ms recorded")
PY
)
echo "observation cost inside the cells: $cost"
ratio=$(awk -v on="${total[on]}" -v off="${total[off]}" 'BEGIN { printf "%.3f", on / off }')
met=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.10) ? "met" : "not met" }')
echo "wire observation: off ${total[off]} s, on ${total[on]} s, ratio $ratio (target <= 1.10: $met)"
echo "logs: $log"
