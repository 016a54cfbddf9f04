#!/usr/bin/env bash
# natlab-turn-server's security defaults, on the real binary: started with
# no limit options it reports a per-user quota of 64, 2 000 000 bytes/s per
# allocation and 100 requests/s per source IP, and a burst of 300 Binding
# requests from one socket gets about 100 answers (the rest are dropped
# unanswered); with the limits switched off (0) all 300 are answered.
# Also: an Allocate signed with SHA-256 and identified by USERHASH
# (natlab-turn-client --sha256 --userhash) is accepted end to end.
. "$(dirname "$0")/turn_lib/common.sh"
need python3

# limits FILE: the "limits" object of the ready event
limits() { grep '"ev":"ready"' "$1" | sed -n 's/.*"limits":\({[^}]*}\).*/\1/p'; }

start_natlab def 0 --user alice:pw
DEF=$PORT
want='{"max_allocs":1024,"user_quota":64,"bandwidth_bytes_s":2000000,"requests_per_s":100}'
[ "$(limits "$TMP/def.out")" = "$want" ] || fail "defaults: $(limits "$TMP/def.out")"
echo "ok: defaults in force: $want"

start_natlab off 2 --user alice:pw --user-quota 0 --bandwidth 0 --rate 0
OFF=$PORT
want='{"max_allocs":1024,"user_quota":0,"bandwidth_bytes_s":0,"requests_per_s":0}'
[ "$(limits "$TMP/off.out")" = "$want" ] || fail "switched off: $(limits "$TMP/off.out")"
echo "ok: --user-quota 0 --bandwidth 0 --rate 0 switch them off"

# flood PORT: send 300 Binding requests from one socket at once, print how
# many distinct answers arrive within a second
flood() {
  python3 - "$1" <<'EOF'
import os, socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.connect(("127.0.0.1", port))
tids = set()
for _ in range(300):
    tid = os.urandom(12)
    tids.add(tid)
    s.send(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid)
got = set()
end = time.time() + 1.0
s.settimeout(0.1)
while time.time() < end:
    try:
        m = s.recv(2048)
    except socket.timeout:
        continue
    if len(m) >= 20 and m[8:20] in tids:
        got.add(m[8:20])
print(len(got))
EOF
}
n=$(flood "$DEF")
# 100 of burst, plus what refills while the 300 go out (1 per 10 ms)
[ "$n" -ge 95 ] && [ "$n" -le 130 ] || fail "default rate: $n of 300 answered (want about 100)"
echo "ok: default rate limit: $n of 300 requests from one source answered"
n=$(flood "$OFF")
[ "$n" = 300 ] || fail "no rate limit: $n of 300 answered"
echo "ok: with --rate 0 all $n answered"

# USERHASH + SHA-256 through the server with its defaults
timeout 20 "$BIN/natlab-turn-client" --server udp:127.0.0.1:$DEF --user alice --pass pw \
  --sha256 --userhash >"$TMP/c.out" 2>"$TMP/c.err" ||
  { cat "$TMP/c.out" "$TMP/c.err" >&2; fail "userhash: allocation failed"; }
grep -q '"ev":"allocated".*"password_algorithm":"SHA-256","userhash":true' "$TMP/c.out" ||
  fail "userhash: not signed as asked: $(grep allocated "$TMP/c.out")"
grep -q '"ev":"alloc",.*"user":"alice"' "$TMP/def.out" || fail "userhash: the server did not find alice"
echo "ok: an Allocate with USERHASH and SHA-256 is accepted (user alice found by hash)"
timeout 20 "$BIN/natlab-turn-client" --server udp:127.0.0.1:$DEF --user alice --pass nope \
  --sha256 --userhash >"$TMP/c.out" 2>"$TMP/c.err" && fail "userhash: a wrong password was accepted"
grep -q '"state":"failed","code":401' "$TMP/c.out" || fail "userhash: wrong password not 401"
echo "ok: USERHASH with a wrong password gets 401"
