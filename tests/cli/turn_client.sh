#!/usr/bin/env bash
# natlab-turn-client through coturn's turnserver (UDP and TCP, channel and
# Send indications), and through natlab-turn-server over UDP, TCP and TLS,
# with SHA-256 and shared-secret credentials; then the error paths over
# real sockets: bad password 401, quota 486, denied peer 403, expired
# permission dropping data, stale nonces (438) answered during refreshes,
# 300 Try Alternate.
. "$(dirname "$0")/turn_lib/common.sh"
need turnutils_peer
need turnserver
need openssl

PEER=$((BASE + 5))
start_peer "$PEER"

# client LABEL EXPECT_RC ARGS...: runs natlab-turn-client, output in $TMP/c.out
client() {
  local label=$1 want=$2; shift 2
  timeout 60 "$BIN/natlab-turn-client" "$@" >"$TMP/c.out" 2>"$TMP/c.err"
  local rc=$?
  [ "$rc" = "$want" ] || { cat "$TMP/c.out" "$TMP/c.err" >&2; fail "$label: exit $rc, expected $want"; }
}
lossless() {
  local label=$1; shift
  client "$label" 0 --peer 127.0.0.1:$PEER --count 200 --interval-ms 1 "$@"
  [ "$(json_field "$TMP/c.out" data received)" = 200 ] || fail "$label: $(grep '"data"' "$TMP/c.out")"
  echo "ok: $label: 200/200 echoed, rtt median $(json_field "$TMP/c.out" data rtt_ms_median) ms"
}

# --- through coturn ---
CPORT=$((BASE + 7))
turnserver -n --listening-ip=127.0.0.1 --listening-port=$CPORT --relay-ip=127.0.0.1 \
  --min-port=$((BASE + 100)) --max-port=$((BASE + 199)) --lt-cred-mech --user=alice:pw \
  --realm=natlab --allow-loopback-peers --no-cli --no-tls --no-dtls --userdb="$TMP/turndb" \
  --pidfile="$TMP/coturn.pid" --log-file=stdout --simple-log >"$TMP/coturn.out" 2>&1 &
PIDS+=("$!")
wait_for "$TMP/coturn.out" 'Total General servers' 10 || fail "coturn did not start"
ok=0
for _ in $(seq 50); do
  if turnutils_stunclient -p $CPORT 127.0.0.1 >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || fail "coturn does not answer STUN"
lossless "coturn udp channel" --server udp:127.0.0.1:$CPORT --user alice --pass pw --channel
lossless "coturn udp send" --server udp:127.0.0.1:$CPORT --user alice --pass pw
lossless "coturn tcp channel" --server tcp:127.0.0.1:$CPORT --user alice --pass pw --channel
client "coturn bad password" 1 --server udp:127.0.0.1:$CPORT --user alice --pass nope
[ "$(json_field "$TMP/c.out" state code)" = 401 ] || fail "coturn bad password: not 401"
echo "ok: coturn answers a bad password with 401"

# --- through natlab-turn-server ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=natlab-turn-test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl"
start_natlab srv 0 --user alice:pw --allow-loopback --secret s3cret --relay-ip6 ::1 \
  --tls-listen 127.0.0.1:$((BASE + 1)) --cert "$TMP/cert.pem" --key "$TMP/key.pem"
S=127.0.0.1:$PORT
lossless "natlab udp channel" --server udp:$S --user alice --pass pw --channel
lossless "natlab udp send" --server udp:$S --user alice --pass pw
lossless "natlab tcp channel" --server tcp:$S --user alice --pass pw --channel
lossless "natlab tls send" --server tls:127.0.0.1:$((BASE + 1)) --user alice --pass pw
lossless "natlab sha-256" --server udp:$S --user alice --pass pw --sha256 --channel
name="$(( $(date +%s) + 3600 )):carol"
pass=$(printf '%s' "$name" | openssl dgst -sha1 -hmac s3cret -binary | base64)
lossless "natlab shared secret" --server udp:$S --user "$name" --pass "$pass"
client "natlab dual allocation" 0 --server udp:$S --user alice --pass pw --dual
grep -q '"relay6":"\[::1\]' "$TMP/c.out" || fail "dual allocation: no IPv6 relay"
echo "ok: dual IPv4/IPv6 allocation"

client "natlab bad password" 1 --server udp:$S --user alice --pass nope
[ "$(json_field "$TMP/c.out" state code)" = 401 ] || fail "bad password: not 401"
echo "ok: bad password gets 401"
name="$(( $(date +%s) - 10 )):carol"
pass=$(printf '%s' "$name" | openssl dgst -sha1 -hmac s3cret -binary | base64)
client "natlab expired shared-secret name" 1 --server udp:$S --user "$name" --pass "$pass"
[ "$(json_field "$TMP/c.out" state code)" = 401 ] || fail "expired name: not 401"
echo "ok: an expired shared-secret username gets 401"

# --- a strict server: loopback peers denied, quota of one, short lifetimes ---
start_natlab strict 2 --user alice:pw --user-quota 1 --perm-lifetime 1 --nonce-lifetime 1 \
  --lifetime 4 --max-lifetime 4
S=127.0.0.1:$PORT
client "denied peer" 1 --server udp:$S --user alice --pass pw --peer 127.0.0.1:$PEER --count 1
grep -q '"op":"permission","peer":"127.0.0.1:[0-9]*","code":403' "$TMP/c.out" || fail "loopback peer not 403"
echo "ok: a loopback peer gets 403 by default"
"$BIN/natlab-turn-client" --server udp:$S --user alice --pass pw --hold-ms 6000 >"$TMP/hold.out" 2>&1 &
HOLD=$!
PIDS+=("$HOLD")
wait_for "$TMP/hold.out" '"ev":"allocated"' 5 || fail "first allocation"
client "quota" 1 --server udp:$S --user alice --pass pw
[ "$(json_field "$TMP/c.out" state code)" = 486 ] || fail "second allocation: not 486"
echo "ok: the user's second allocation gets 486"
# the holder lives through 6 s: refreshes at 2 s and 4 s with a nonce that
# went stale after 1 s, so each refresh is a 438 then a retry
wait "$HOLD"
rc=$?
[ $rc = 0 ] || { cat "$TMP/hold.out" >&2; fail "holder failed (stale nonce not recovered?)"; }
[ "$(grep -c '"op":"refresh","peer":"","code":0' "$TMP/hold.out")" -ge 3 ] ||
  fail "holder: refreshes did not succeed: $(cat "$TMP/hold.out")"
echo "ok: refreshes succeed across stale nonces (438)"

# --- permissions that expire drop data (1 s lifetime, never refreshed) ---
start_natlab perm 3 --user alice:pw --allow-loopback --perm-lifetime 1
client "expired permission" 1 --server udp:127.0.0.1:$PORT --user alice --pass pw \
  --peer 127.0.0.1:$PEER --count 30 --interval-ms 100
recv=$(json_field "$TMP/c.out" data received)
[ "$recv" -gt 0 ] && [ "$recv" -lt 30 ] || fail "expired permission: received $recv of 30"
echo "ok: data flows while the permission lives, then is dropped ($recv/30)"

# --- 300 Try Alternate: the first server sends the client to the second ---
ALT=$PORT
before=$(grep -c '"ev":"alloc",' "$TMP/perm.out")
start_natlab redirect 4 --user alice:pw --allow-loopback --alternate 127.0.0.1:$ALT
client "alternate" 0 --server udp:127.0.0.1:$PORT --user alice --pass pw
[ "$(grep -c '"ev":"alloc",' "$TMP/perm.out")" = $((before + 1)) ] || fail "alternate: not allocated there"
grep -q '"ev":"alloc",' "$TMP/redirect.out" && fail "alternate: allocated on the redirecting server"
echo "ok: 300 Try Alternate moves the client"
