#!/usr/bin/env bash
# Ladder diagrams of real cells: scenarios/matrix.lua with every cell
# expected "direct" (tests/cli/fixtures/ladder_wrong_expect.lua), rows
# symmetric and easy against easy. symmetric x easy settles on a relay and
# fails: report.html draws its ladder (agents, NATs, STUN and TURN servers
# as columns, the relay path highlighted) inside its section; easy x easy
# passes and gets none until `natlab report --ladder` asks for it.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for p in natlab-ice natlab-stun-server natlab-turn-server; do
  [ -x "$NATLAB_BIN_DIR/$p" ] || { echo "$p not built: skipped"; exit 77; }
done
"$bin" run "$src/tests/cli/fixtures/ladder_wrong_expect.lua" -p left=symmetric,easy -p right=easy \
  --out "$out" >"$out/log" 2>&1
rc=$?
if grep -q "run natlab as root\|user namespace" "$out/latest/cells.jsonl" 2>/dev/null; then
  echo "no sandbox here: skipped"; exit 77
fi
[ "$rc" = 1 ] || fail "exit $rc, want 1 (one failed cell): $(cat "$out/log")"
dir=$(readlink -f "$out/latest")
failed='ladder-wrong-expect/left=symmetric,right=easy'
passed='ladder-wrong-expect/left=easy,right=easy'

# check.py REPORT ID... : the cells with a ladder are exactly the ids given,
# each one well-formed SVG inside its own cell's section (in report.html, or
# in report/cells-<k>.js when report.html is an index)
cat >"$out/check.py" <<'PY'
import re, sys, json
import xml.etree.ElementTree as ET
import glob, os
html = open(sys.argv[1]).read()
want = set(sys.argv[2:])
top = os.path.dirname(sys.argv[1])
cells = {json.loads(l)["id"]: json.loads(l) for l in open(top + "/cells.jsonl")}
# each cell's section: in report.html, or (an index report) in the
# report/cells-<k>.js files beside it, one JavaScript string per cell
sections = re.findall(r'<section class="cell".*?</section>', html, re.S)
for fn in sorted(glob.glob(top + "/report/cells-*.js")):
    for m in re.finditer(r"natlab_cells\(\d+,(\[.*?\])\);", open(fn).read(), re.S):
        sections += json.loads(m.group(1))
assert len(sections) == len(cells), (len(sections), len(cells))
drawn = {}
for s in sections:
    cid = re.search(r"<h3>(.*?) trial", s).group(1).replace("&amp;", "&")
    svgs = re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="ladder".*?</svg>', s, re.S)
    assert len(svgs) <= 1, cid
    if svgs:
        assert '<details class="ladder" open><summary>ladder diagram</summary>' in s, cid
        drawn[cid] = svgs[0]
assert set(drawn) == want, (sorted(drawn), sorted(want))
NS = "{http://www.w3.org/2000/svg}"
for cid, svg in drawn.items():
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.get("data-cell") == cid, (root.get("data-cell"), cid)
    assert len(svg) < 64 * 1024, len(svg)
    cols = [t.get("data-col") for t in root.iter(NS + "text") if t.get("class") == "col"]
    assert cols == ["left", "left-nat", "stun", "turn", "right-nat", "right"], cols
    arrows = [(g.get("data-from"), g.get("data-to")) for g in root.iter(NS + "g")
              if (g.get("class") or "").startswith("ar ")]
    # each side hears from both servers (its mapped and relayed addresses)
    for side in ("left", "right"):
        assert ("stun", side) in arrows and ("turn", side) in arrows, (side, arrows)
    # checks and the data both ways between the sides
    assert ("left", "right") in arrows and ("right", "left") in arrows, arrows
    marks = [g for g in root.iter(NS + "g") if (g.get("class") or "").startswith("mark")]
    sel = [m.get("data-col") for m in marks if "".join(m.itertext()).startswith("selected")]
    assert sorted(sel) == ["left", "right"], sel
    band = [g for g in root.iter(NS + "g") if (g.get("class") or "").startswith("settled")]
    assert len(band) == 1, band
    path = band[0].get("data-path").split(",")
    relayed = cells[cid]["path"].startswith("relay")
    assert path[0] == "left" and path[-1] == "right", path
    assert ("turn" in path) == relayed, (cid, path)
    # time runs down: the rows' times never decrease
    times = [int(t.text.split()[0]) for t in root.iter(NS + "text") if t.get("class") == "t"]
    assert times == sorted(times) and len(times) > 3, times
print("ok", {k: len(v) for k, v in drawn.items()})
PY

python3 "$out/check.py" "$dir/report.html" "$failed" >"$out/c1" 2>&1 ||
  fail "report.html after the run: $(cat "$out/c1")"
cat "$out/c1"

"$bin" report "$dir" --ladder "$passed" >"$out/r2" 2>&1 || fail "report --ladder: $(cat "$out/r2")"
python3 "$out/check.py" "$dir/report.html" "$failed" "$passed" >"$out/c2" 2>&1 ||
  fail "report --ladder $passed: $(cat "$out/c2")"
cat "$out/c2"

"$bin" report "$dir" --ladder=all >"$out/r3" 2>&1 || fail "report --ladder=all: $(cat "$out/r3")"
python3 "$out/check.py" "$dir/report.html" "$failed" "$passed" >"$out/c3" 2>&1 ||
  fail "report --ladder=all: $(cat "$out/c3")"

# the default again: only the failed cell
"$bin" report "$dir" >"$out/r4" 2>&1 || fail "report: $(cat "$out/r4")"
python3 "$out/check.py" "$dir/report.html" "$failed" >"$out/c4" 2>&1 ||
  fail "report without --ladder: $(cat "$out/c4")"

# a cell id that is not in the run: exit 2, naming it and the fix
"$bin" report "$dir" --ladder 'matrix/left=nope' >"$out/r5" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "--ladder with an unknown id: exit $rc"
grep -q 'matrix/left=nope.*no cell with that id.*"all"' "$out/r5" || fail "message: $(cat "$out/r5")"
"$bin" report "$dir" --ladder >"$out/r6" 2>&1
[ $? = 2 ] || fail "--ladder without a value is not a usage error"
grep -q "usage: natlab report DIR \[--ladder all|CELL-ID\]" "$out/r6" || fail "usage: $(cat "$out/r6")"
echo ok
