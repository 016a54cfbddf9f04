#!/usr/bin/env bash
# 300 Try Alternate over TCP and TLS (RFC 8656 §7.2, RFC 8489 §10): a
# redirecting natlab-turn-server sends every Allocate to another one; a
# stream cannot be moved, so the client closes its connection and connects
# to the alternate. Checked for natlab-turn-client (TCP, TLS) and for the
# ICE agent's relay path (natlab-ice --policy relay, TCP and TLS): the
# allocation must exist on the alternate server and never on the
# redirecting one, and natlab-ice must offer the relayed candidate.
. "$(dirname "$0")/turn_lib/common.sh"
need openssl

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=natlab-turn-test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null ||
  fail "openssl req"
TLSARGS=(--cert "$TMP/cert.pem" --key "$TMP/key.pem")

# the alternate: plain (UDP+TCP) on PORT, TLS on BASE+1
start_natlab alt 0 --user alice:pw --tls-listen 127.0.0.1:$((BASE + 1)) "${TLSARGS[@]}"
ALT=$PORT
ALT_TLS=$((BASE + 1))
# redirectors: one for plain ports, one for TLS (ALTERNATE-SERVER names one
# transport address: a TLS client is sent to the alternate's TLS port)
start_natlab redir 2 --user alice:pw --alternate 127.0.0.1:$ALT
REDIR=$PORT
start_natlab redirtls 4 --user alice:pw --alternate 127.0.0.1:$ALT_TLS \
  --tls-listen 127.0.0.1:$((BASE + 5)) "${TLSARGS[@]}"
REDIR_TLS=$((BASE + 5))

allocs() { grep -c "\"ev\":\"alloc\",.*\"transport\":\"$2\"" "$TMP/$1.out"; }

# --- natlab-turn-client ---
for tr in tcp tls; do
  if [ $tr = tcp ]; then srv=127.0.0.1:$REDIR; else srv=127.0.0.1:$REDIR_TLS; fi
  before=$(allocs alt $tr)
  timeout 30 "$BIN/natlab-turn-client" --server $tr:$srv --user alice --pass pw \
    >"$TMP/c.out" 2>"$TMP/c.err" || { cat "$TMP/c.out" "$TMP/c.err" >&2; fail "turn-client $tr: failed"; }
  grep -q '"state":"redirected","code":300' "$TMP/c.out" || fail "turn-client $tr: no redirect seen: $(cat "$TMP/c.out")"
  [ "$(allocs alt $tr)" = $((before + 1)) ] || fail "turn-client $tr: no allocation on the alternate"
  echo "ok: natlab-turn-client over $tr follows 300 to the alternate"
done

# --- natlab-ice relay path ---
# ice_gather TRANSPORT SERVER: natlab-ice gathers relay-only through SERVER,
# then stops; its events are in $TMP/ice.out
ice_gather() {
  rm -f "$TMP/in"
  mkfifo "$TMP/in"
  "$BIN/natlab-ice" --policy relay --turn "$1:$2" --turn-user alice --turn-pass pw \
    <"$TMP/in" >"$TMP/ice.out" 2>"$TMP/ice.err" &
  local pid=$!
  PIDS+=("$pid")
  exec 3>"$TMP/in"
  echo '{"cmd":"gather"}' >&3
  wait_for "$TMP/ice.out" '"complete":true,"ev":"local"' 15 || true
  echo '{"cmd":"stop"}' >&3
  exec 3>&-
  wait "$pid" || { cat "$TMP/ice.err" >&2; fail "natlab-ice $1: exit status"; }
}
for tr in tcp tls; do
  if [ $tr = tcp ]; then srv=127.0.0.1:$REDIR; else srv=127.0.0.1:$REDIR_TLS; fi
  before=$(allocs alt $tr)
  ice_gather $tr $srv
  grep '"complete":true,"ev":"local"' "$TMP/ice.out" | grep -q 'typ relay' ||
    { cat "$TMP/ice.out" "$TMP/ice.err" >&2; fail "natlab-ice $tr: no relayed candidate"; }
  [ "$(allocs alt $tr)" = $((before + 1)) ] || fail "natlab-ice $tr: no allocation on the alternate"
  # the relayed candidate is the alternate's allocation
  relay=$(grep "\"ev\":\"alloc\",.*\"transport\":\"$tr\"" "$TMP/alt.out" | tail -n 1 |
    sed -n 's/.*"relay":\["127.0.0.1:\([0-9]*\)".*/\1/p')
  grep -q "typ relay" "$TMP/ice.out" && grep -q " 127.0.0.1 $relay typ relay" "$TMP/ice.out" ||
    fail "natlab-ice $tr: candidate is not the alternate's relay ($relay)"
  echo "ok: natlab-ice relay over $tr follows 300 to the alternate"
done

for s in redir redirtls; do
  grep -q '"ev":"alloc",' "$TMP/$s.out" && fail "$s: allocated on the redirecting server"
done
echo "ok: nothing allocated on the redirecting servers"
