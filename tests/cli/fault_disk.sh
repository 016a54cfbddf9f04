#!/usr/bin/env bash
# fault_disk - a full disk while natlab writes results gives a clear error
# (the file, "No space left on device", how far the run got), exit 2, no
# crash, and the cells recorded before stay readable. The "disk" is a
# 40 kB tmpfs mounted in a private mount namespace (unshare -m): the real
# disk is never filled and the mount dies with the namespace.
set -u
bin=${NATLAB_BIN_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin/natlab" doctor >/dev/null 2>&1 || { echo "skip: this machine cannot run a lab"; exit 77; }
unshare -m --propagation private true 2>/dev/null || { echo "skip: no mount namespace (unshare -m)"; exit 77; }
work=$(mktemp -d /tmp/natlab-fault-disk.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/disk"

unshare -m --propagation private sh -c '
  mount -t tmpfs -o size=40k tmpfs "$1/disk" || exit 99
  cd "$1/disk" && "$2/natlab" run smoke -p nat=easy --trials 200 --out "$1/disk/res" >"$1/out.txt" 2>"$1/err.txt"
  echo $? >"$1/rc"
  # what the run left on the small disk, copied out before it goes away
  cp "$1"/disk/res/2*/cells.jsonl "$1/cells.jsonl" 2>/dev/null
  exit 0' sh "$work" "$bin"
[ -f "$work/rc" ] || fail "could not mount a tmpfs in a mount namespace"
rc=$(cat "$work/rc")
cat "$work/err.txt"
tail -2 "$work/out.txt"
[ "$rc" = 2 ] || fail "natlab run on a full disk exited $rc, want 2"
grep -q "No space left on device" "$work/err.txt" || fail "no 'No space left on device' in the error"
grep -qE "stopped after [0-9]+ of 200 cells" "$work/err.txt" || fail "the error does not say how far the run got"
grep -q "incomplete" "$work/err.txt" || fail "the error does not say the results are incomplete"
grep -qiE "sanitizer|segmentation|core dumped|abort" "$work/err.txt" && fail "natlab crashed"
# every complete line of cells.jsonl is a whole cell (the last one may be
# cut by the full disk: that one is allowed to be partial)
python3 - "$work/cells.jsonl" <<'PY' || fail "cells.jsonl recorded before the error does not parse"
import json, sys
data = open(sys.argv[1]).read()
lines = data.split("\n")
whole = lines[:-1]
assert whole, "no cell recorded before the disk was full"
for l in whole:
    assert json.loads(l)["outcome"] == "pass"
print(len(whole), "cells recorded before the disk was full, all readable")
PY
echo ok
