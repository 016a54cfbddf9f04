#!/usr/bin/env bash
# Third-party implementations under test, the full matrices (issue #10):
#   - scenarios/matrix.lua, every NAT preset x every NAT preset, with
#     left_impl and right_impl each swept over natlab-ice and libnice
#     (natlab-nice): 4 x 81 = 324 cells, natlab-ice <-> libnice in both
#     roles and each against itself, with natlab's own STUN/TURN servers;
#   - the same 324 cells against coturn's turnserver (-p servers=coturn);
#   - interop.lua's TLS-port slice (only TURN's TLS port offered) for both;
#   - missing third-party pieces skip naming the package (a bare PATH);
#   - the classic RFC 3489 classifier (Debian stun/stund) on NAT presets.
# Every cell must pass: path class as scenarios/matrix_expected.lua says,
# data both ways. A skip is tolerated only when it names a package that is
# really missing here (libnice: no natlab-nice built; coturn: no
# turnserver), so a CI machine with everything installed runs every cell.
# Wall time measured on the 2-core dev machine: 53 s (natlab servers) and
# 62 s (coturn) for the two 324-cell runs.
set -uo pipefail
natlab=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0

# sandbox available? (natlab doctor would take longer)
if ! unshare -Urn true 2>/dev/null && [ "$(id -u)" != 0 ]; then
  echo "SKIP: no user namespaces and not root"; exit 77
fi

have_nice=0; [ -x "$NATLAB_BIN_DIR/natlab-nice" ] && have_nice=1
have_coturn=0; command -v turnserver >/dev/null && have_coturn=1

# judge CELLS.jsonl LABEL FAILED_IDS_FILE: print every cell that did not
# pass; exit 1 when one did not pass (a skip counts only when it names a
# package that is missing here).
judge() {
  HAVE_NICE=$have_nice HAVE_COTURN=$have_coturn python3 - "$1" "$2" "$3" <<'PY'
import json, os, sys
cells = [json.loads(l) for l in open(sys.argv[1])]
have_nice = os.environ["HAVE_NICE"] == "1"
have_coturn = os.environ["HAVE_COTURN"] == "1"
bad, passed = [], 0
for c in cells:
    o, m = c.get("outcome"), c.get("message") or ""
    if o == "pass":
        passed += 1
        continue
    print(f"  {o:8} {c['id']}  {c.get('path')}  {m}")
    if o == "skipped" and ((not have_nice and "libnice" in m) or (not have_coturn and "coturn" in m)):
        continue
    bad.append(c["id"])
open(sys.argv[3], "w").write("".join(i + "\n" for i in bad))
print(f"{sys.argv[2]}: {len(cells)} cells, {passed} passed, {len(bad)} not passed")
sys.exit(1 if bad else 0)
PY
}

run_slice() { # label scenario natlab-run-args...
  local label=$1 scen=$2
  shift 2
  local t0=$SECONDS
  "$natlab" run "$src/scenarios/$scen" --out "$out/$label" "$@" >"$out/$label.txt" 2>&1
  local st=$?
  local cells="$out/$label/latest/cells.jsonl"
  echo "$label: natlab run exited $st after $((SECONDS - t0)) s"
  if [ ! -s "$cells" ]; then
    echo "FAIL $label: no results (exit $st)"; cat "$out/$label.txt"; fail=1; return
  fi
  judge "$cells" "$label" "$out/$label.failed" && return
  # Which relay wins can depend on load (natlab-ice nominates the first
  # valid pair when no better one is in progress): a failed cell gets one
  # more run, and it is reported as FLAKY when that one passes.
  local id
  while read -r id; do
    "$natlab" run "$src/scenarios/$scen" --out "$out/$label-again" "$@" --filter "$id" \
      >"$out/$label-again.txt" 2>&1
    if judge "$out/$label-again/latest/cells.jsonl" "$label (again)" "$out/$label-again.failed" >/dev/null; then
      echo "FLAKY $id: failed once, passed on a second run"
    else
      echo "FAIL $id: failed twice"; fail=1
    fi
  done <"$out/$label.failed"
}

# The full matrix, each implementation pair (both roles of natlab-ice <->
# libnice, and each against itself), natlab's servers, then coturn's.
impls=(-p left_impl=natlab-ice,nice -p right_impl=natlab-ice,nice)
run_slice matrix-natlab matrix.lua "${impls[@]}"
# one 9 x 9 grid per implementation pair in the terminal summary
for pair in "left_impl=natlab-ice, right_impl=nice" "left_impl=nice, right_impl=natlab-ice"; do
  grep -q "^matrix: path class .*\[$pair, servers=natlab\]" "$out/matrix-natlab.txt" ||
    { echo "FAIL matrix-natlab: no grid for [$pair]"; fail=1; }
done
# only TURN's TLS port (443) offered, the right side behind udp-blocked: it
# must relay through that port. libnice has no TLS in RFC 5245 mode and
# sends plain TURN there, which natlab-turn-server (like coturn) serves.
tls_slice=(-p turn=tls -p left=port-restricted-cone -p right=udp-blocked -p impls=natlab-ice,nice)
run_slice tls-port interop.lua "${tls_slice[@]}"
if [ $have_coturn = 1 ]; then
  run_slice matrix-coturn matrix.lua "${impls[@]}" -p servers=coturn
  run_slice coturn-tls-port interop.lua "${tls_slice[@]}" -p servers=coturn
else
  echo "note: coturn not installed: the coturn matrix is not run"
fi

# Missing third-party pieces skip, with what to install: a natlab that sees
# no natlab-nice and no turnserver (its own copy in a directory holding
# only natlab's programs, and that directory as the whole PATH).
bare="$out/bare"
mkdir -p "$bare"
cp "$natlab" "$bare/natlab"
for p in natlab-ice natlab-stun-server natlab-turn-server; do ln -s "$NATLAB_BIN_DIR/$p" "$bare/$p"; done
ln -s "$(command -v openssl)" "$bare/openssl"
# (interop.lua's default sweep leaves a missing implementation out; named
# in impls, its cells skip naming the install)
PATH="$bare" NATLAB_BIN_DIR="$bare" "$bare/natlab" run "$src/scenarios/interop.lua" --out "$out/bare-run" \
  -p impls=natlab-ice,nice -p left=full-cone -p right=full-cone -p servers=natlab,coturn >"$out/bare.txt" 2>&1
python3 - "$out/bare-run/latest/cells.jsonl" <<'PY' || { fail=1; cat "$out/bare.txt"; }
import json, sys
bad = 0
for c in map(json.loads, open(sys.argv[1])):
    p = c["params"]
    needs_missing = "nice" in (p["left_impl"], p["right_impl"]) or p["servers"] == "coturn"
    o, m = c.get("outcome"), c.get("message") or ""
    ok = (o == "skipped" and ("apt-get install" in m)) if needs_missing else o == "pass"
    print(f"  {'ok  ' if ok else 'FAIL'} {o:8} {c['id']}  {m}")
    bad += not ok
sys.exit(1 if bad else 0)
PY

# the classic classifier agrees with the presets
if command -v stun >/dev/null && command -v stund >/dev/null; then
  "$natlab" run "$src/tests/cli/fixtures/tp_classic.lua" --out "$out/classic" >"$out/classic.txt" 2>&1
  st=$?
  if [ $st != 0 ]; then echo "FAIL classic classifier (exit $st)"; cat "$out/classic.txt"; fail=1
  else echo "ok   classic classifier: $(grep -c '^pass' "$out/classic.txt") presets"; fi
else
  echo "note: stun-client/stun-server not installed: classic classifier not checked"
fi
exit $fail
