#!/usr/bin/env bash
# natlab probe --portmap: miniupnpd in the preset's NAT, natlab's PCP and
# NAT-PMP clients and upnpc ask it for a mapping, a host on the internet
# side sends to the mapped port (it must arrive whatever the filtering),
# the mapping is deleted (a fresh datagram must not arrive). Every row of
# two presets with every protocol must match the knobs; a NAT serving PCP
# only must not answer NAT-PMP, even one that blocks UDP (where nothing
# gets in, mapped or not). About 30 s.
set -uo pipefail
bin=${NATLAB_BIN_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; cat "$tmp"/* 2>/dev/null; exit 1; }
command -v miniupnpd >/dev/null || [ -x /usr/sbin/miniupnpd ] ||
  { echo "skip: miniupnpd not installed (scripts/install-deps --portmap)"; exit 77; }
export PATH=$PATH:/usr/sbin
protos=pcp,natpmp
command -v upnpc >/dev/null && protos=$protos,upnp
before=$(ls -d /tmp/natlab-probe-pm-* 2>/dev/null | wc -l)

# row PRESET WHAT: the row's line within the preset's block
row() { awk -v p="$1" -v w="$2" '$1==p{on=1} on&&index($0,"  " w " ")==1{print; exit}' "$tmp/pm.out"; }

"$bin/natlab" probe port-restricted-cone symmetric --portmap "$protos" >"$tmp/pm.out" 2>"$tmp/pm.err"
rc=$?
if [ $rc -eq 2 ] && grep -qi "sandbox\|namespace\|sudo" "$tmp/pm.err"; then
  echo "skip: cannot enter the lab sandbox here"; cat "$tmp/pm.err"; exit 77
fi
[ $rc -eq 0 ] || fail "natlab probe --portmap $protos exit $rc"
grep -q "^2 presets probed: 2 as claimed, 0 mismatched" "$tmp/pm.out" || fail "summary"
for p in port-restricted-cone symmetric; do
  for w in "pcp answers" "natpmp answers"; do
    row $p "$w" | grep -q "yes *yes *ok$" || fail "$p: $w"
  done
  # the mapped port got the internet's datagram (APD filtering, symmetric
  # mapping: only the port mapping lets it in); the lease as asked
  row $p "pcp reachable" | grep -q "yes *yes *ok$" || fail "$p: pcp reachable"
  row $p "natpmp mapping" | grep -q "203.0.114.1, 600 s *203.0.114.1:[0-9]*, 600 s *ok$" ||
    fail "$p: natpmp mapping"
  row $p "pcp deleted" | grep -q "acknowledged, closed *acknowledged, closed *ok$" ||
    fail "$p: pcp deleted"
  row $p "pcp epoch" | grep -q "consistent *[0-9]* s, consistent *ok$" || fail "$p: pcp epoch"
  # the NAT's own behaviour stays the knob's with the server's rules in
  row $p "filtering" | grep -q "address-and-port-dependent *address-and-port-dependent *ok" ||
    fail "$p: filtering"
  case $protos in *upnp*)
    row $p "upnp reachable" | grep -q "yes *yes *ok$" || fail "$p: upnp reachable" ;;
  esac
done

# PCP only, on a NAT that blocks UDP: PCP answers and maps, NAT-PMP is
# dropped, nothing arrives at the mapped port
"$bin/natlab" probe udp-blocked --portmap pcp --json >"$tmp/pm.out" 2>"$tmp/pm.err" ||
  fail "udp-blocked --portmap pcp exit $?"
row udp-blocked "pcp answers" | grep -q "yes *yes *ok$" || fail "udp-blocked: pcp answers"
row udp-blocked "natpmp answers" | grep -q "no *no *ok$" || fail "udp-blocked: natpmp answers"
row udp-blocked "pcp reachable" | grep -q "no *no *ok$" || fail "udp-blocked: pcp reachable"
grep -q '"portmap":{"pcp":{"tested":true,"answered":true,"result":"SUCCESS"' "$tmp/pm.out" ||
  fail "--json portmap object"

"$bin/natlab" probe full-cone --portmap igd >/dev/null 2>"$tmp/e1"; [ $? -eq 2 ] || fail "bad protocol not 2"
grep -q '"igd" is not one of' "$tmp/e1" || fail "bad protocol message"
"$bin/natlab" probe cgnat --portmap pcp >/dev/null 2>"$tmp/e2"; [ $? -eq 2 ] || fail "stacked not 2"
after=$(ls -d /tmp/natlab-probe-pm-* 2>/dev/null | wc -l)
[ "$after" -eq "$before" ] || fail "miniupnpd's files left in /tmp ($before before, $after after)"
echo PASS
