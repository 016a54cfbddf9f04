#!/usr/bin/env bash
# natlab probe --all: every preset's lab is built, natlab-probe runs behind
# its NAT (both NATs for cgnat) and each measured behaviour must equal what
# the preset's knobs claim; the verdict of every preset is checked here, not
# only the exit status. Then a short mapping timeout (--udp-timeout 2) must
# be found by the probe's lifetime search, and usage errors must exit 2.
set -uo pipefail
bin=${NATLAB_BIN_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; cat "$tmp"/* 2>/dev/null; exit 1; }

"$bin/natlab" probe --all >"$tmp/all.out" 2>"$tmp/all.err"
rc=$?
if [ $rc -eq 2 ] && grep -qi "sandbox\|namespace\|sudo" "$tmp/all.err"; then
  echo "skip: cannot enter the lab sandbox here"; cat "$tmp/all.err"; exit 77
fi
[ $rc -eq 0 ] || fail "natlab probe --all exit $rc"
for p in open full-cone restricted-cone port-restricted-cone address-dependent symmetric \
         cgnat udp-blocked tcp-web-only; do
  # the preset's block: its title line up to its verdict line
  v=$(awk -v p="$p" '$1==p{on=1} on&&/verdict:/{print; exit}' "$tmp/all.out")
  [ "$v" = "  verdict: match" ] || fail "$p: verdict '$v'"
done
grep -q "^9 presets probed: 9 as claimed, 0 mismatched" "$tmp/all.out" || fail "summary"
# the aliases are not probed twice
! grep -q "^easy\|^hard" "$tmp/all.out" || fail "aliases probed"
# spot checks of measured values against the knobs
awk '$1=="symmetric"{on=1} on&&$1=="mapping"{print; exit}' "$tmp/all.out" |
  grep -q "address-and-port-dependent *address-and-port-dependent *ok" || fail "symmetric mapping row"
awk '$1=="udp-blocked"{on=1} on&&$1=="udp"{print; exit}' "$tmp/all.out" |
  grep -q "no *no *ok" || fail "udp-blocked: UDP not reported blocked"
awk '$1=="address-dependent"{on=1} on&&$1=="port"{print; exit}' "$tmp/all.out" |
  grep -q "sequential *sequential *ok" || fail "address-dependent ports"

"$bin/natlab" probe restricted-cone --udp-timeout 2 --json >"$tmp/life.out" 2>&1 ||
  fail "lifetime run exit $?"
grep -q "mapping lifetime *2 s .* ok$" "$tmp/life.out" || fail "lifetime row"
grep -q '"lifetime":{"tested":true' "$tmp/life.out" || fail "--json report"

"$bin/natlab" probe no-such-preset >/dev/null 2>"$tmp/e1"; [ $? -eq 2 ] || fail "unknown preset not 2"
grep -q "unknown NAT preset" "$tmp/e1" || fail "unknown preset message"
"$bin/natlab" probe >/dev/null 2>&1; [ $? -eq 2 ] || fail "no preset not 2"
"$bin/natlab" probe --all full-cone >/dev/null 2>&1; [ $? -eq 2 ] || fail "--all + preset not 2"
"$bin/natlab" probe --help | grep -q "usage: natlab probe" || fail "--help"
echo PASS
