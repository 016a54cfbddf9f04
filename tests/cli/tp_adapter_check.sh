#!/usr/bin/env bash
# natlab adapter-check: the shipped agents (natlab-ice, natlab-nice when
# libnice was found at build time, natlab-aiortc when aioice was) conform, the matrix's rounds (trickle,
# STUN/TURN behind NATs, relays over UDP and TCP) included, each judged on
# the wire as a matrix cell is; a deliberately broken wrapper
# (tests/cli/fixtures/tp_broken_adapter.sh) is rejected, each fault with a
# reason that names it; so is an agent whose claimed pair is not where its
# data went (tests/cli/fixtures/wire_liar.py), and a pair of SDP answerers.
# natlab-ice is checked against an answerer peer (natlab-ice held back as
# a WebRTC answerer, tests/cli/fixtures/answerer.py): adapter-check relays
# the offer first.
set -uo pipefail
natlab=${NATLAB_BIN_DIR:?}/natlab
fixture=${NATLAB_SOURCE_DIR:?}/tests/cli/fixtures/tp_broken_adapter.sh
out=$(mktemp)
wrap=$(mktemp -d)
trap 'rm -rf "$out" "$wrap"' EXIT
for m in controlled always; do
  printf '#!/bin/sh\nNATLAB_BIN_DIR=%s exec python3 %s %s "$@"\n' \
    "$NATLAB_BIN_DIR" "$NATLAB_SOURCE_DIR/tests/cli/fixtures/answerer.py" "$m" >"$wrap/answerer-$m"
  printf '#!/bin/sh\nNATLAB_BIN_DIR=%s exec python3 %s claims-srflx "$@"\n' \
    "$NATLAB_BIN_DIR" "$NATLAB_SOURCE_DIR/tests/cli/fixtures/wire_liar.py" >"$wrap/liar"
  chmod +x "$wrap/answerer-$m" "$wrap/liar"
done
# the peer of the first check stands for a browser too: like Firefox, it
# has nothing to gather in a node without a default route, so it starts
# only where adapter-check gave its node one (every host of a real lab has one)
cat >"$wrap/answerer-routed" <<EOF
#!/bin/sh
awk 'NR > 1 && \$2 == "00000000" { f = 1 } END { exit !f }' /proc/net/route ||
  { echo "answerer-routed: no default route in this node" >&2; exit 3; }
exec "$wrap/answerer-controlled" "\$@"
EOF
chmod +x "$wrap/answerer-routed"
fail=0

check() { # expected-status label command...
  local want=$1 label=$2
  shift 2
  "$@" >"$out" 2>&1
  local st=$?
  if [ "$st" = 2 ] && grep -q "namespace\|sandbox" "$out"; then
    echo "SKIP: no sandbox here"; cat "$out"; exit 77
  fi
  if [ "$st" != "$want" ]; then
    echo "FAIL $label: exit $st, expected $want"; cat "$out"; fail=1
  else
    echo "ok   $label (exit $st)"
  fi
}
expect_line() { # label pattern
  if ! grep -q -- "$2" "$out"; then
    echo "FAIL $1: no line matching '$2' in:"; cat "$out"; fail=1
  fi
}

check 0 "natlab-ice conforms (against an answerer that needs a default route)" "$natlab" adapter-check --peer "$wrap/answerer-routed" natlab-ice
expect_line "natlab-ice" "^ok    stop: exited with status 0"
expect_line "natlab-ice" "^ok    controlled: connects"
# the rounds the default matrix needs: trickle, srflx and relay candidates
# behind NATs, a relay over UDP and one over TCP/TLS, data both ways
net_lines() { # label
  expect_line "$1" "^ok    trickle: local at once, .* end-of-candidates"
  expect_line "$1" "^ok    trickle: gathered srflx 203.0.113.1 and relay 203.0.113.10"
  expect_line "$1" "^ok    trickle: the wire settles direct, as the candidate claims"
  expect_line "$1" "^ok    relay-udp: the wire settles relay over udp, as the candidate claims"
  expect_line "$1" "^ok    relay-udp: rx: the candidate reported 5 of"
  expect_line "$1" "^ok    relay-tcp: the wire settles relay-tcp over t[cl][ps], as the candidate claims"
  expect_line "$1" "^ok    relay-tcp: rx: the candidate reported 5 of"
  expect_line "$1" "^ok    tcp-web-only: the wire settles relay-tcp over t[cl][ps], as the candidate claims"
}
net_lines "natlab-ice"
expect_line "natlab-ice" "^ok    tls-443: the wire settles relay-tcp over tls, as the candidate claims"
if [ -x "$NATLAB_BIN_DIR/natlab-nice" ]; then
  check 0 "natlab-nice conforms" "$natlab" adapter-check nice
  expect_line "natlab-nice" 'ready: impl "natlab-nice"'
  net_lines "natlab-nice"
  # libnice has no TURN over TLS and declares so: the round is not a failure
  expect_line "natlab-nice" '^n/a   tls-443: the candidate declares "turn-tls": false'

else
  echo "note: natlab-nice not built (libnice-dev missing): not checked"
fi
if [ -x "$NATLAB_BIN_DIR/natlab-aiortc" ]; then
  # a shipped name resolves to its adapter; a capability declared missing
  # (aioice has no ICE restart) makes its check n/a, not a failure
  # aioice nominates the first pair whose check succeeds: in the trickle
  # round a relayed pair now and then beats the filtered direct one
  # (docs/implementations.md, "aiortc"), which is that round's one
  # possible FAIL; anything else fails this test
  "$natlab" adapter-check aiortc >"$out" 2>&1
  st=$?
  if [ "$st" = 1 ] && ! grep "^FAIL" "$out" | grep -qv "^FAIL  trickle: the wire shows relay"; then
    echo "note: natlab-aiortc picked a relay in the trickle round (aioice's aggressive nomination)"
  elif [ "$st" != 0 ]; then
    echo "FAIL natlab-aiortc conforms: exit $st"; cat "$out"; fail=1
  else
    echo "ok   natlab-aiortc conforms (exit 0)"
  fi
  expect_line "natlab-aiortc" 'ready: impl "natlab-aiortc"'
  expect_line "natlab-aiortc" '^n/a   restart: the candidate declares "restart": false'
  # aioice does not trickle its own candidates: a warning, not a failure
  expect_line "natlab-aiortc" "^warn  trickle: started with --trickle, the first local was already complete"
  expect_line "natlab-aiortc" "^ok    trickle: gathered srflx 203.0.113.1 and relay 203.0.113.10"
  expect_line "natlab-aiortc" "^ok    relay-udp: the wire settles relay over udp, as the candidate claims"
  expect_line "natlab-aiortc" "^ok    relay-tcp: the wire settles relay-tcp over t[cl][ps], as the candidate claims"
  expect_line "natlab-aiortc" "^ok    tcp-web-only: the wire settles relay-tcp over t[cl][ps], as the candidate claims"
  expect_line "natlab-aiortc" "^ok    tls-443: the wire settles relay-tcp over tls, as the candidate claims"
else
  echo "note: natlab-aiortc not linked (python3-aioice missing): not checked"
fi

export NATLAB_BIN_DIR
TP_BREAK=candidates check 1 "broken candidate lines rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "candidates" 'FAIL  gather: local: candidate 1 .*typ hots" is not RFC 8839 syntax'
TP_BREAK=t_ms check 1 "missing t_ms rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "t_ms" 'FAIL  candidate: event "ready" has no integer "t_ms"'
TP_BREAK=errors check 1 "unanswered bad input rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "errors" 'FAIL  malformed: a line that is not JSON was not answered with an "error" event'
TP_BREAK=end check 1 "a trickle without end-of-candidates rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "end" 'FAIL  trickle: no {"ev":"candidate","end":true} within 4000 ms of gather'
TP_BREAK=turn check 1 "ignored TURN servers rejected" "$natlab" adapter-check --timeout-ms 4000 "$fixture"
expect_line "turn" 'FAIL  relay-udp: no relay candidate on the TURN server.s address 203.0.113.10 (the agent was given --turn udp:'
expect_line "turn" 'FAIL  relay-tcp: no pair selected on the candidate'

# the matrix's tcp-web-only cells pass over TCP 80, but a network that lets
# only TLS on 443 out needs TURN over TLS: the tls-443 round fails such an
# agent, quoting its own word on it
TP_BREAK=notls check 1 "no TURN over TLS rejected" "$natlab" adapter-check --timeout-ms 6000 "$fixture"
expect_line "notls" "^ok    tcp-web-only: the wire settles relay-tcp over tcp, as the candidate claims"
expect_line "notls" 'FAIL  tls-443: no relay candidate on the TURN server.s address 203.0.113.10 (the agent was given only --turn tls:203.0.113.10:443'
expect_line "notls" '(the candidate last said: log "this build has no TURN over TLS")'
# -v labels each line an agent writes on stderr with the agent's name
TP_BREAK=notls check 1 "-v labels the agent's stderr" "$natlab" adapter-check -v --timeout-ms 6000 "$fixture"
expect_line "verbose" "^      !! candidate stderr: tp_broken_adapter: dropping --turn tls:"

# a claim the wire contradicts fails, as in the matrix: relaying while
# claiming a srflx pair (the old check read the claim alone and passed it)
check 1 "a claim the wire contradicts" "$natlab" adapter-check --timeout-ms 4000 "$wrap/liar"
expect_line "liar" "^FAIL  trickle: the candidate's selected pair is not where its data went: candidate claims srflx 203.0.113.10:[0-9]*; its data went through the relay 203.0.113.10:[0-9]* over UDP"
# two answerers: no offerer, said at once in every round
check 1 "two answerers" "$natlab" adapter-check --peer "$wrap/answerer-always" "$wrap/answerer-always"
expect_line "answerers" '^FAIL  both agents declare "answerer": true in ready, so there is no offerer'
expect_line "answerers" '^FAIL  trickle: both agents declare "answerer": true'

check 2 "a missing program is a usage error" "$natlab" adapter-check /nonexistent/agent
expect_line "missing" "not an executable file"
exit $fail
