#!/usr/bin/env bash
# report.html rendered by headless Chromium from file://: the grid has one
# square per (row, col) with the class of its path and mismatches marked;
# the cell list (drawn by the page's script from report/index.js) lists
# every cell, failures first, and filters; opening a cell (#cell-N) loads
# its details from report/cells-K.js; a screenshot of the page is not
# blank. Skipped (77) without chromium.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || { echo "chromium not installed: skipped"; exit 77; }
dir=$(mktemp -d)
profile=$(mktemp -d)
trap 'rm -rf "$dir" "$profile"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A 3x3 grid with one square per path class of interest, written as a run
# killed half-way would leave it (no "end"): natlab report renders it.
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
json.dump({"run_id": "chromium-test", "seed": 1, "kernel": "test"}, open(d + "/run.json", "w"))
paths = [["host", "srflx", "prflx"], ["relay-udp", "relay-tcp", "failed"], ["skipped", "error", "srflx"]]
nats = ["easy", "hard", "symmetric"]
with open(d + "/cells.jsonl", "w") as f:
    for r, left in enumerate(nats):
        for c, right in enumerate(nats):
            p = paths[r][c]
            outcome = {"skipped": "skipped", "error": "error"}.get(p, "pass")
            expected = "srflx" if (r, c) == (2, 2) else ("host" if (r, c) == (0, 1) else p)
            if p != expected: outcome = "fail"
            cell = {"id": f"ice/left={left},right={right}", "scenario": "ice", "trial": 0,
                    "params": {"left": left, "right": right}, "outcome": outcome, "path": p,
                    "expected_path": expected, "connect_ms": 100 + 10 * r + c,
                    "grid": {"name": "ice", "row": left, "col": right},
                    "events": [{"t_ms": 0, "src": "a", "ev": "ready"}, {"t_ms": 90, "src": "a", "ev": "selected"}]}
            f.write(json.dumps(cell) + "\n")
PY
"$bin" report "$dir" >/dev/null || fail "natlab report"
[ -s "$dir/report/index.js" ] && [ -s "$dir/report/cells-0.js" ] || fail "no report/index.js or cells-0.js"
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --user-data-dir="$profile")
dom() { timeout 120 "$chrome" "${flags[@]}" --dump-dom "file://$dir/report.html$1" >"$dir/dom.html" 2>"$dir/chrome.log" ||
  fail "chromium --dump-dom $1: $(tail -5 "$dir/chrome.log")"; }
# the cell that did not pass, opened by its anchor: (0,1) ranks 2nd in
# planned order; the error cell (2,1) 8th
dom "#cell-2"
python3 - "$dir/dom.html" <<'PY' || exit 1
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.sq = []; s.rows = []; s.sections = []; s.svg = 0; s.in_detail = 0
    def handle_starttag(s, tag, attrs):
        a = dict(attrs); cls = (a.get("class") or "").split()
        if tag == "td" and "sq" in cls: s.sq.append(cls)
        if tag == "tr" and "row" in cls: s.rows.append(cls)
        if tag == "section" and "cell" in cls: s.sections.append(a.get("id"))
        if tag == "svg": s.svg += 1
        if tag == "html": s.index_ms = a.get("data-index-ms")
p = P(); p.feed(open(sys.argv[1]).read())
assert len(p.sq) == 9, f"{len(p.sq)} grid squares, want 9"
want = ["host", "srflx", "prflx", "relay-udp", "relay-tcp", "failed", "skipped", "error", "srflx"]
got = [next(c[len("path-"):] for c in cls if c.startswith("path-")) for cls in p.sq]
assert got == want, f"paths {got}"
mism = [i for i, cls in enumerate(p.sq) if "mismatch" in cls]
assert mism == [1], f"mismatch squares {mism}, want [1] (expected host, saw srflx)"
# every cell listed, the two that did not pass first (fail, then error)
outs = [next(c[2:] for c in cls if c.startswith("o-")) for cls in p.rows]
assert len(outs) == 9, f"{len(outs)} rows, want 9"
assert outs[:2] == ["fail", "error"] and "fail" not in outs[2:] and "error" not in outs[2:], outs
assert p.index_ms is not None, "the list script did not finish"
# the opened cell's details came from report/cells-0.js
assert p.sections == ["cell-2"], f"opened sections {p.sections}"
assert p.svg >= 2, f"{p.svg} svg charts"  # the histogram + the opened cell's timeline
PY
timeout 120 "$chrome" "${flags[@]}" --dump-dom "file://$dir/report.html#cell-8" >"$dir/dom8.html" 2>>"$dir/chrome.log" ||
  fail "chromium --dump-dom #cell-8"
grep -q '<section class="cell" id="cell-8">' "$dir/dom8.html" || fail "#cell-8 did not open"
tr -d "\n" <"$dir/dom8.html" | grep -o '<section class="cell" id="cell-8">.\{0,300\}' | grep -q 'left=symmetric,right=hard' || fail "#cell-8 is not the error cell"
# the filters, set from the address (#find:...): outcome, then a search
rows() { timeout 120 "$chrome" "${flags[@]}" --dump-dom "file://$dir/report.html$1" 2>>"$dir/chrome.log" |
  grep -o '<tr class="row o-[a-z]*"><td><a href="#cell-[0-9]*">[^<]*' | sed 's/.*">//' | tr '\n' ' '; }
got=$(rows '#find:outcome=!pass')
[ "$got" = "ice/left=easy,right=hard ice/left=symmetric,right=hard " ] || fail "not passed: '$got'"
got=$(rows '#find:q=right%3Deasy')
[ "$got" = "ice/left=easy,right=easy ice/left=hard,right=easy ice/left=symmetric,right=easy " ] ||
  fail "search right=easy: '$got'"
got=$(rows '#find:path=relay-tcp&q=hard')
[ "$got" = "ice/left=hard,right=hard " ] || fail "path relay-tcp and 'hard': '$got'"
timeout 120 "$chrome" "${flags[@]}" --window-size=1000,800 --screenshot="$dir/shot.png" "file://$dir/report.html" \
  >/dev/null 2>>"$dir/chrome.log" || fail "chromium --screenshot: $(tail -5 "$dir/chrome.log")"
python3 - "$dir/shot.png" <<'PY' || exit 1
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    if kind == b"IDAT": idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp + 1
# Unfiltered "Sub"/"Up" rows still differ from a flat page: count the
# distinct pixel bytes of the rows; a blank page has one or two.
distinct = set()
for y in range(0, h, 7):
    distinct.update(raw[y * stride + 1:(y + 1) * stride:bpp * 3])
assert w == 1000 and h == 800, (w, h)
assert len(distinct) > 8, f"screenshot looks blank ({len(distinct)} distinct values)"
PY
echo ok
