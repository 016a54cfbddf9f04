#!/usr/bin/env bash
# natlab-probe against natlab-stun-server on loopback (127.0.0.1 and
# 127.0.0.2 as the server's two addresses): no NAT, so every behaviour must
# come out endpoint-independent, ports preserved, hairpinning on, no ALG,
# and a mapping that outlives the lifetime bound. Also: the JSON object's
# documented fields (docs/probe.md), --text, and "UDP blocked" when nothing
# answers.
set -uo pipefail
bin=${NATLAB_BIN_DIR:?}
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*; do echo "--- $f"; cat "$f"; done; exit 1; }

"$bin/natlab-stun-server" --addr 127.0.0.1 --addr 127.0.0.2 --port 0 >"$tmp/srv.out" 2>&1 </dev/null &
pid=$!
for _ in $(seq 100); do
  grep -q '"ev":"ready"' "$tmp/srv.out" && break
  sleep 0.05
done
grep -q '"ev":"ready"' "$tmp/srv.out" || fail "server not ready"
server=$(sed -n 's/.*"udp":\["\([^"]*\)".*/\1/p' "$tmp/srv.out")

"$bin/natlab-probe" --server "$server" --rto-ms 100 --lifetime-max-ms 600 \
  --lifetime-resolution-ms 200 >"$tmp/probe.json" 2>"$tmp/probe.err" || fail "probe exit $?"
j=$(cat "$tmp/probe.json")
expect() { case $j in *"$1"*) ;; *) fail "probe JSON lacks $1" ;; esac; }
expect '"probe":"natlab-probe","version":1'
expect "\"server\":\"$server\""
expect '"udp":true'
expect '"nat":false'
expect '"rfc5780":true'
expect '"other_address":"127.0.0.2:'
expect '"mapping":"endpoint-independent"'
expect '"filtering":"endpoint-independent"'
expect '"hairpinning":true'
expect '"port_assignment":{"pattern":"preserved","samples":[{"local":'
expect '"alg":{"detected":false'
expect '"lifetime":{"tested":true,"max_ms":600,"alive_ms":600,"expired_ms":null}'
expect '"error":null'
[ "$(wc -l <"$tmp/probe.json")" -eq 1 ] || fail "probe output is not one line"

"$bin/natlab-probe" --server "$server" --text --ports 3 >"$tmp/probe.txt" || fail "--text exit $?"
grep -q "^mapping           endpoint-independent" "$tmp/probe.txt" || fail "--text mapping"
grep -q "^hairpinning       yes" "$tmp/probe.txt" || fail "--text hairpinning"

# nothing of ours listens on 127.0.0.3 (the discard port is not served in
# the test environment): the probe must report UDP blocked, not fail.
"$bin/natlab-probe" --server 127.0.0.3:9 --rto-ms 50 >"$tmp/blocked.json" || fail "blocked exit $?"
grep -q '"udp":false' "$tmp/blocked.json" || fail "no answer not reported as udp:false"
grep -q '"mapping":"unknown"' "$tmp/blocked.json" || fail "blocked: mapping not unknown"

"$bin/natlab-probe" >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing --server is not a usage error"
echo PASS
