#!/usr/bin/env bash
# What a missing or mistyped implementation does to a scenario (issue #10):
#   - a mistyped adapter path (-p left_impl=./no-such-adapter) stops the run
#     before any cell (exit 2) naming the path and how to fix it: a typo
#     must never look like a green run;
#   - a shipped adapter or server that is not installed (libnice's
#     natlab-nice, pion's natlab-pion, coturn) skips the cell naming the
#     package to install;
#   - nat-selfcheck without Debian's stun client still judges the probe and
#     says that the classic second opinion was skipped, naming stun-client.
# The "not installed" cases run a copy of natlab in a directory holding only
# natlab's own programs, with that directory as the whole PATH.
set -uo pipefail
natlab=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0

if ! unshare -Urn true 2>/dev/null && [ "$(id -u)" != 0 ]; then
  echo "SKIP: no user namespaces and not root"; exit 77
fi

# cells FILE: "outcome<TAB>message" per cell
cells() { python3 -c '
import json, sys
for c in map(json.loads, open(sys.argv[1])):
    print(c["params"].get("left_impl", "-"), c["params"].get("servers", "-"), c["outcome"], c.get("message") or "", sep="\t")
' "$1"; }
want() { # label file pattern
  if grep -q -- "$3" "$2"; then echo "ok   $1"; else echo "FAIL $1: no '$3' in:"; cat "$2"; fail=1; fi
}

# 1. a mistyped path: the run stops before any cell (left_impl is a param
# of kind agent_impl), exit 2, the path and the fix named, no results
cd "$out" || exit 2
"$natlab" run "$src/scenarios/matrix.lua" --out "$out/typo" -p left_impl=./no-such-adapter \
  -p left=full-cone -p right=full-cone >"$out/typo.txt" 2>&1
st=$?
if [ $st != 2 ]; then echo "FAIL typo: natlab run exited $st, want 2"; cat "$out/typo.txt"; fail=1
else echo "ok   typo: natlab run exited $st"; fi
[ -e "$out/typo/latest/cells.jsonl" ] && { echo "FAIL typo: a cell ran"; fail=1; }
want "typo names the param" "$out/typo.txt" "-p left_impl: agent './no-such-adapter' is not an executable file"
want "typo says the fix" "$out/typo.txt" "check the path given to -p left_impl=/right_impl="
# a name that is neither shipped nor a program: the same, worded for names
"$natlab" run "$src/scenarios/matrix.lua" --out "$out/typo2" -p right_impl=natlab-icee \
  -p left=full-cone -p right=full-cone >"$out/typo2.txt" 2>&1
st=$?
[ $st = 2 ] || { echo "FAIL typo2 exited $st, want 2"; fail=1; }
want "unknown name stops the run" "$out/typo2.txt" "-p right_impl: agent 'natlab-icee' is not in build/bin"
# through interop's impls (which sets both sides): the message names impls
"$natlab" run "$src/scenarios/interop.lua" --out "$out/typo3" -p impls=natlab-ice,natlab-icee \
  -p left=full-cone -p right=full-cone >"$out/typo3.txt" 2>&1
st=$?
[ $st = 2 ] || { echo "FAIL typo3 exited $st, want 2"; fail=1; }
want "a typo in impls is named so" "$out/typo3.txt" "-p impls (setting [a-z]*_impl): agent 'natlab-icee' is not in build/bin"

# 2. not installed: skipped, naming the package
bare="$out/bare"
mkdir -p "$bare"
cp "$natlab" "$bare/natlab"
for p in natlab-ice natlab-stun-server natlab-turn-server natlab-probe; do
  ln -s "$NATLAB_BIN_DIR/$p" "$bare/$p"
done
PATH="$bare" NATLAB_BIN_DIR="$bare" "$bare/natlab" run "$src/scenarios/matrix.lua" --out "$out/bare" \
  -p left_impl=natlab-ice,nice,pion -p servers=natlab,coturn -p left=full-cone -p right=full-cone \
  >"$out/bare.txt" 2>&1
cells "$out/bare/latest/cells.jsonl" >"$out/bare.cells"
want "natlab-ice with natlab's servers passes" "$out/bare.cells" "^natlab-ice	natlab	pass"
want "libnice missing: skipped naming libnice-dev" "$out/bare.cells" \
  "^nice	natlab	skipped	natlab-nice is not available: install libnice-dev (apt-get install libnice-dev)"
want "pion missing: skipped naming install-deps --impls" "$out/bare.cells" \
  "^pion	natlab	skipped	natlab-pion is not available: install Go and pion/ice (scripts/install-deps --impls"
want "coturn missing: skipped naming coturn" "$out/bare.cells" \
  "^natlab-ice	coturn	skipped	coturn is not installed (apt-get install coturn)"
if grep -q "	pass	" <(grep -v "^natlab-ice	natlab" "$out/bare.cells"); then
  echo "FAIL a cell that needs a missing piece passed:"; cat "$out/bare.cells"; fail=1
fi

# 3. nat-selfcheck without the classic client: judged on the probe, the
# classic second opinion reported skipped with the package
PATH="$bare" NATLAB_BIN_DIR="$bare" "$bare/natlab" run "$src/scenarios/nat-selfcheck.lua" \
  --out "$out/self" -p nat=full-cone >"$out/self.txt" 2>&1
cells "$out/self/latest/cells.jsonl" >"$out/self.cells"
want "nat-selfcheck names stun-client" "$out/self.cells" \
  "pass	probe as claimed; classic second opinion skipped: the stun client is not installed (apt-get install stun-client"
exit $fail
