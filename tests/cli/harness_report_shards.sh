#!/usr/bin/env bash
# A 100-shard run merged gives the index an unsharded run of the same cells
# gives: `natlab merge` of the shards' directories and `natlab report` of
# one directory holding all their cells (in another order) draw the same
# report.html (but for the run's own metadata), report/index.js and every
# report/cells-K.js, byte for byte; and a real unsharded run of the same
# plan lists the same cells with the same outcomes, paths and grid squares.
# Cells: bench/quick.lua (a lab built and torn down, no agent), 150 trials.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
quick=$src/bench/quick.lua
trials=${NATLAB_SHARD_TRIALS:-150}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" run "$quick" --trials "$trials" --seed 11 --out "$out/whole" >"$out/whole.log" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "sandbox\|run natlab as root\|user namespace" "$out/whole.log"; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 0 ] || fail "unsharded run exited $rc: $(tail -5 "$out/whole.log")"
for k in $(seq 100); do
  "$bin" run "$quick" --trials "$trials" --seed 11 --shard "$k/100" --out "$out/s$k" >"$out/s.log" 2>&1 ||
    fail "shard $k/100 exited $?: $(tail -5 "$out/s.log")"
done
"$bin" merge "$out"/s*/2* --out "$out/merged" >"$out/merge.log" 2>&1 || fail "merge: $(cat "$out/merge.log")"
# a merge that fails (an input that is no result directory) says why, exits
# 2 and leaves no half-made --out behind
"$bin" merge "$out"/s1/2* "$out/no-such-shard" --out "$out/broken" >"$out/broken.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "failed merge: exit $rc, want 2"
grep -q "no-such-shard" "$out/broken.log" || fail "failed merge does not name the input: $(cat "$out/broken.log")"
[ ! -e "$out/broken" ] || fail "failed merge left $out/broken: $(ls -R "$out/broken" | head)"
[ "$(wc -l <"$out/merged/cells.jsonl")" = "$trials" ] || fail "merged $(wc -l <"$out/merged/cells.jsonl") cells, want $trials"
# the same cells in one directory, shards in reverse order: what an
# unsharded run that recorded them would hold
mkdir -p "$out/one"
cp "$out/merged/run.json" "$out/one/run.json"
for k in $(seq 100 -1 1); do cat "$out"/s$k/2*/cells.jsonl; done >"$out/one/cells.jsonl"
"$bin" report "$out/one" >/dev/null || fail "natlab report of the joined cells"
python3 - "$out/merged" "$out/one" "$out/whole/latest" "$trials" <<'PY' || exit 1
import glob, json, os, re, sys
merged, one, whole, trials = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def index(d):
    html = open(d + "/report.html").read()
    # the run's own metadata (run id, start, end, shards) differs by design
    return re.sub(r'<table class="meta">.*?</table>', "", html, flags=re.S)
def side(d):
    return {os.path.basename(p): open(p).read() for p in glob.glob(d + "/report/*.js")}
assert index(merged) == index(one), "report.html of the merge differs from the unsharded one"
sm, so = side(merged), side(one)
assert sorted(sm) == sorted(so), (sorted(sm), sorted(so))
assert len(sm) == 1 + (trials + 199) // 200, sorted(sm)
for name in sm:
    assert sm[name] == so[name], f"report/{name} differs"
# a real unsharded run of the same plan: same rows (but for timings)
def rows(d):
    text = open(d + "/report/index.js").read()
    body = text[text.index("rows:[") + 5:text.index(",\nscenarios:[")]
    return [(r[0], r[1], r[2], r[3], r[4], r[6], r[8]) for r in json.loads(body)]
rm, rw = rows(merged), rows(whole)
assert len(rm) == trials and rm == rw, "the merged index lists other cells than the unsharded run"
sq = lambda d: re.findall(r'<td class="sq [^"]*"', index(d))
assert sq(merged) == sq(whole) and len(sq(whole)) == 1, (sq(merged), sq(whole))
PY
echo ok
