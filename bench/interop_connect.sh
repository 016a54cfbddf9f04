#!/usr/bin/env bash
# bench/interop_connect.sh - how long each ICE implementation takes from
# `gather` to the settled path (results' settled_ms: both sides on the
# pairs the wire confirmed), per implementation pair and path class, all
# measured in ONE natlab run (scenarios/interop.lua), so every
# implementation sees the same machine load; printed as p50/p95 and as
# ratios against natlab-ice <-> natlab-ice in the same class.
#
#   bench/interop_connect.sh [--impls a,b,...] [--trials N] [--jobs N] [--log DIR]
#
# --impls: the implementations (default: scenarios/interop.lua's default,
#   every installed one of natlab.agent_impls); each pair of them, both
#   roles, is measured. --trials N (default 10) runs of each cell.
# --jobs N (default 2) cells at once: fewer is quieter, slower.
# NAT pairs, one set per path class (scenarios/matrix_expected.lua):
#   direct     port-restricted-cone x port-restricted-cone (srflx)
#   relay      port-restricted-cone x symmetric, symmetric x port-restricted-cone,
#              symmetric x symmetric (TURN over UDP)
#   relay-tcp  udp-blocked x port-restricted-cone, udp-blocked x symmetric
#              (TURN over TCP/TLS)
# A cell counts in its class by the wire's settled class; a cell that did
# not pass is counted apart ("not passed") and has no time.
# Output, one row per pair and class (also tab-separated in DIR/rows.tsv:
# pair, class, n, p50, p95, ratio):
#   pair  class  n  settled p50  p95  select p50  p50 ratio vs natlab-ice
# Needs a build (./scripts/build) and root or user namespaces.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NATLAB_BUILD_DIR:-$top/build}
impls=""
trials=10
jobs=2
log=""
while [ $# -gt 0 ]; do
  case $1 in
    --impls) impls=$2; shift ;;
    --trials) trials=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --log) log=$2; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "interop_connect.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
natlab=$build/bin/natlab
[ -x "$natlab" ] || { echo "interop_connect.sh: no build in $build (run ./scripts/build first)" >&2; exit 2; }
log=${log:-$(mktemp -d /tmp/natlab-interop-bench.XXXXXX)}
mkdir -p "$log"
args=(-p left=port-restricted-cone,symmetric,udp-blocked -p right=port-restricted-cone,symmetric)
[ -n "$impls" ] && args+=(-p "impls=$impls")
t0=$SECONDS
NATLAB_SOURCE_DIR=$top NATLAB_BIN_DIR=$build/bin "$natlab" run "$top/scenarios/interop.lua" "${args[@]}" \
  --trials "$trials" --jobs "$jobs" --out "$log/results" >"$log/run.txt" 2>&1
rc=$?
cells=$log/results/latest/cells.jsonl
[ -s "$cells" ] || { echo "interop_connect.sh: the run left no cells (exit $rc): $log/run.txt" >&2; exit 1; }
echo "interop connect bench ($(date -u +%FT%TZ); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg));" \
  "one run, $trials trials, --jobs $jobs, $((SECONDS - t0)) s; $(grep -E '^[0-9]+ cells: ' "$log/run.txt" | tail -1)"
/usr/bin/python3 - "$cells" "$log/rows.tsv" <<'PY'
import json, math, sys

def pct(v, q):
    """nearest rank, as natlab's report"""
    s = sorted(v)
    return s[max(1, math.ceil(q / 100 * len(s))) - 1]

rows, bad, order = {}, {}, []
for line in open(sys.argv[1]):
    c = json.loads(line)
    p = c["params"]
    pair = f'{p["left_impl"]} > {p["right_impl"]}'
    if pair not in order:
        order.append(pair)
    cls = ((c.get("wire") or {}).get("settled") or {}).get("class") or "failed"
    if c.get("outcome") != "pass" or "settled_ms" not in c:
        bad[pair] = bad.get(pair, 0) + 1
        continue
    rows.setdefault((pair, cls), []).append((c["settled_ms"], c.get("select_ms", c.get("connect_ms"))))

base_pair = "natlab-ice > natlab-ice"
tsv = open(sys.argv[2], "w")  # pair, class, n, p50, p95, ratio: for bench/run
print(f'{"pair (left controls)":34} {"class":10} {"n":>4} {"settled p50":>12} {"p95":>7} {"select p50":>11} {"p50 vs natlab-ice":>18}')
for pair in order:
    for cls in ("direct", "relay", "relay-tcp"):
        v = rows.get((pair, cls))
        if not v:
            continue
        settled = [x[0] for x in v]
        select = [x[1] for x in v if x[1] is not None]
        base = rows.get((base_pair, cls))
        ratio = "-"
        if base:
            b = pct([x[0] for x in base], 50)
            ratio = f"{pct(settled, 50) / b:.2f}" if b > 0 else "-"
        tsv.write(f"{pair}\t{cls}\t{len(v)}\t{pct(settled, 50)}\t{pct(settled, 95)}\t{ratio}\n")
        print(f"{pair:34} {cls:10} {len(v):>4} {pct(settled, 50):>9} ms {pct(settled, 95):>4} ms "
              f"{(str(pct(select, 50)) + ' ms') if select else '-':>11} {ratio:>18}")
    if bad.get(pair):
        print(f"{pair:34} {'not passed':10} {bad[pair]:>4}")
PY
echo "full output: $log"
