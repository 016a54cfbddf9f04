#!/usr/bin/env bash
# natlab-stun-server answers third-party clients on loopback: the classic
# RFC 3489 `stun` client (Debian stun-client), coturn's turnutils_stunclient
# (RFC 5780 mode) and turnutils_natdiscovery (mapping, filtering, hairpin,
# padding); a raw Binding request over TCP; IPv6 on ::1. The server runs
# with 127.0.0.1 and 127.0.0.2 as its two addresses on free ports (it picks
# them and reports them in its ready line, so parallel runs never collide).
set -uo pipefail
bin=${NATLAB_BIN_DIR:?}
srv=$bin/natlab-stun-server
for tool in stun turnutils_stunclient turnutils_natdiscovery; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$srv" ] || { echo "FAIL: $srv missing"; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*; do echo "--- $f"; cat "$f"; done; exit 1; }

# start_server NAME ARGS...: start it, wait (with a deadline) for its ready line
start_server() {
  local name=$1; shift
  "$srv" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q '"ev":"ready"' "$tmp/$name.out" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited before ready"
    sleep 0.05
  done
  fail "$name not ready within 5 s"
}
# nth_udp NAME N: the N-th (1-based) UDP endpoint "ip:port" of the ready line
nth_udp() {
  sed -n 's/.*"udp":\[\(.*\)\],"tcp".*/\1/p' "$tmp/$1.out" | tr -d '"' | tr ',' '\n' | sed -n "${2}p"
}

start_server v4 --addr 127.0.0.1 --addr 127.0.0.2 --port 0 --tcp
primary=$(nth_udp v4 1)          # 127.0.0.1:P
p1=${primary##*:}
alt=$(nth_udp v4 4)              # 127.0.0.2:Q
[ -n "$p1" ] && [ "${alt%%:*}" = 127.0.0.2 ] || fail "ready line: $(cat "$tmp/v4.out")"
grep -q '"rfc5780":true' "$tmp/v4.out" || fail "RFC 5780 not enabled with two addresses"

# 1. classic stun client (RFC 3489): MAPPED/SOURCE/CHANGED-ADDRESS, all four
#    tests answered, and on loopback it must find no NAT.
timeout 20 stun "127.0.0.1:$p1" -v >"$tmp/stun.txt" 2>&1
grep -q "ChangedAddress = $alt" "$tmp/stun.txt" || fail "stun: no ChangedAddress $alt"
grep -q "MappedAddress = 127.0.0.1:" "$tmp/stun.txt" || fail "stun: no MappedAddress"
grep -q "test II = 1" "$tmp/stun.txt" || fail "stun: change IP+port test unanswered"
grep -q "test III = 1" "$tmp/stun.txt" || fail "stun: change port test unanswered"
grep -q "Primary: Open" "$tmp/stun.txt" || fail "stun: loopback not classified Open"
grep -qiE "bad length|problem parsing" "$tmp/stun.txt" && fail "stun: could not parse an answer"

# 2. turnutils_stunclient in RFC 5780 mode
timeout 20 turnutils_stunclient -f -p "$p1" 127.0.0.1 >"$tmp/stunclient.txt" 2>&1 ||
  fail "turnutils_stunclient failed"
grep -q "Response origin: : $primary" "$tmp/stunclient.txt" || fail "stunclient: RESPONSE-ORIGIN"
grep -q "Other addr: : $alt" "$tmp/stunclient.txt" || fail "stunclient: OTHER-ADDRESS"
grep -q "UDP reflexive addr: 127.0.0.1:" "$tmp/stunclient.txt" || fail "stunclient: XOR-MAPPED"
grep -q "Response origin: : $alt" "$tmp/stunclient.txt" || fail "stunclient: change request not from $alt"

# 3. turnutils_natdiscovery: loopback is an "endpoint-independent" everything
timeout 60 turnutils_natdiscovery -m -f -H -P -p "$p1" 127.0.0.1 >"$tmp/natdisc.txt" 2>&1 ||
  fail "turnutils_natdiscovery failed"
grep -q "NAT with Endpoint Independent Mapping" "$tmp/natdisc.txt" || fail "natdiscovery: mapping"
grep -q "NAT with Endpoint Independent Filtering" "$tmp/natdisc.txt" || fail "natdiscovery: filtering"
grep -q "No ALG: Mapped == XOR-Mapped" "$tmp/natdisc.txt" || fail "natdiscovery: MAPPED vs XOR"
grep -q "Not received mapped address" "$tmp/natdisc.txt" && fail "natdiscovery: MAPPED-ADDRESS missing"

# 4. raw Binding requests over TCP: two in one write, then one cut in two
#    writes; each answer is a success carrying its own transaction ID
exec 3<>"/dev/tcp/127.0.0.1/$p1" || fail "TCP connect"
printf '\x00\x01\x00\x00\x21\x12\xa4\x42natlabtcp001\x00\x01\x00\x00\x21\x12\xa4\x42natlabtcp002' >&3
printf '\x00\x01\x00\x00\x21\x12' >&3
sleep 0.1
printf '\xa4\x42natlabtcp003' >&3
answers=$(timeout 5 head -c 276 <&3 | od -An -tx1 -v | tr -d ' \n')
exec 3>&-
# answers are 92 bytes each (XOR-MAPPED, MAPPED, RESPONSE-ORIGIN,
# OTHER-ADDRESS, SOFTWARE "natlab-stun-server")
for i in 0 1 2; do
  a=${answers:$((i * 184)):184}
  [ "${a:0:4}" = 0101 ] && [ "${a:8:8}" = 2112a442 ] &&
    [ "${a:16:24}" = "$(printf 'natlabtcp00%d' $((i + 1)) | od -An -tx1 | tr -d ' \n')" ] ||
    fail "TCP answer $i: $a"
done

# 5. IPv6 (two IPv6 addresses, RFC 5780 over IPv6: tests/ns/stun_server_v6.c)
start_server v6 --addr ::1 --port 0 --tcp
p6=$(nth_udp v6 1); p6=${p6##*:}
timeout 20 turnutils_stunclient -L ::1 -p "$p6" ::1 >"$tmp/stunclient6.txt" 2>&1 || fail "IPv6 stunclient (port $p6)"
grep -q "UDP reflexive addr: ::1:" "$tmp/stunclient6.txt" || fail "IPv6: no reflexive address"
#    and a Binding request over TCP on ::1: a success for our transaction
#    whose first attribute is XOR-MAPPED-ADDRESS (0x0020) of family IPv6
exec 3<>"/dev/tcp/::1/$p6" || fail "TCP connect to [::1]:$p6"
printf '\x00\x01\x00\x00\x21\x12\xa4\x42natlabtcp6v1' >&3
a=$(timeout 5 head -c 28 <&3 | od -An -tx1 -v | tr -d ' \n')
exec 3>&-
[ "${a:0:4}" = 0101 ] && [ "${a:16:24}" = "$(printf natlabtcp6v1 | od -An -tx1 | tr -d ' \n')" ] &&
  [ "${a:40:4}" = 0020 ] && [ "${a:50:2}" = 02 ] || fail "IPv6 TCP answer: $a"

# 6. a clean stop with counters
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "server exit status $?"
grep -q '"ev":"stats"' "$tmp/v4.out" || fail "no stats line"
echo "PASS"
