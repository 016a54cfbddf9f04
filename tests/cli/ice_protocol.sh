#!/usr/bin/env bash
# natlab-ice (and natlab-nice when built) speak the agent protocol: a ready
# event first, an error event (not an exit) for every malformed command, a
# clean exit on "stop", usage errors on bad options.
set -euo pipefail
bin=${NATLAB_BIN_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }

check_agent() {
  local agent=$1
  local out
  out=$(printf '%s\n' 'not json' '{"cmd":"dance"}' '{"cmd":"send","n":1}' \
    '{"cmd":"remote","ufrag":"a","pwd":"b","candidates":["garbage"]}' '{"cmd":"stop"}' |
    timeout 10 "$bin/$agent" --interface lo) || fail "$agent exited non-zero"
  local first
  first=$(head -n1 <<<"$out")
  grep -q '"ev":"ready"' <<<"$first" || fail "$agent: first event is not ready: $first"
  [ "$(grep -c '"ev":"error"' <<<"$out")" -eq 4 ] || fail "$agent: want 4 error events, got: $out"
  grep -q 'unknown command' <<<"$out" || fail "$agent: no 'unknown command' error"
  grep -q 'no selected pair' <<<"$out" || fail "$agent: send before selection not refused"
  # every line is one JSON object with ev and an integer t_ms
  while IFS= read -r line; do
    [[ $line =~ ^\{.*\"ev\":\"[a-z-]+\".*\"t_ms\":[0-9]+.*\}$ ]] || fail "$agent: bad event line: $line"
  done <<<"$out"
  grep -q '"state":"closed"' <<<"$out" || fail "$agent: no closed state on stop"
  # end of stdin ends the agent too
  timeout 10 "$bin/$agent" </dev/null >/dev/null || fail "$agent: did not exit at EOF"
  if "$bin/$agent" --role sideways </dev/null >/dev/null 2>&1; then fail "$agent: accepted a bad role"; fi
  echo "ok: $agent"
}

check_agent natlab-ice
if [ -x "$bin/natlab-nice" ]; then check_agent natlab-nice; else echo "natlab-nice not built: skipped"; fi

# natlab-ice gathers only loopback when told so, and announces complete
# credentials within RFC 8839 bounds
out=$(printf '%s\n' '{"cmd":"gather"}' | timeout 10 "$bin/natlab-ice" --interface lo --components 2)
local_line=$(grep '"ev":"local"' <<<"$out") || fail "no local event: $out"
grep -Eq '"ufrag":"[A-Za-z0-9+/]{4,}"' <<<"$local_line" || fail "bad ufrag: $local_line"
grep -Eq '"pwd":"[A-Za-z0-9+/]{22,}"' <<<"$local_line" || fail "bad pwd: $local_line"
grep -q '127.0.0.1' <<<"$local_line" || fail "no loopback candidate: $local_line"
grep -q 'candidate:[^ ]* 2 udp' <<<"$local_line" || fail "no component 2 candidate: $local_line"
grep -q '"complete":true' <<<"$local_line" || fail "not complete: $local_line"
echo ok
