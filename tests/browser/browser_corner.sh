#!/usr/bin/env bash
# browser_corner - the browsers under test in CI (docs/implementations.md,
# "chromium"/"firefox", docs/ci.md): for each browser that is installed,
# the bottom-right 3 x 3 corner of the default matrix, presets cgnat,
# udp-blocked and tcp-web-only on both sides (a direct pair through two
# carrier NATs, TURN over TCP on 80, TURN over TLS on 443), against
# natlab-ice on the datachannel plane, judged after a 1 s settle window
# (browsers select the first pair that works and switch later): Chromium
# as the controlling side (offerer), Firefox as the controlled side
# (answerer). Every cell must pass. Then natlab run is SIGKILLed in the
# middle of a browser cell: no process it started (adapter or browser)
# may outlive it, and nothing it wrote may be left in the host's /tmp.
# Skips (77) when no browser adapter is in build/bin. NATLAB_BROWSERS
# ("chromium firefox") picks the browsers.
#
# The full browser matrix is one command (docs/performance.md):
#   natlab run scenarios/matrix.lua -p left_impl=chromium,firefox \
#     -p right_impl=chromium,firefox,natlab-ice -p dataplane=datachannel \
#     -p settle_ms=1000 --timeout 120 --jobs 2
set -u
bin=${NATLAB_BIN_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin/natlab" doctor >/dev/null 2>&1 || { echo "skip: this machine cannot run a lab"; exit 77; }
# NATLAB_BROWSERS="chromium firefox" (default): the browsers to try
have=()
for b in ${NATLAB_BROWSERS:-chromium firefox}; do
  [ -x "$bin/natlab-$b" ] && have+=("$b")
done
[ ${#have[@]} -gt 0 ] || { echo "skip: no browser adapter in $bin (scripts/install-deps --browsers, rebuild)"; exit 77; }
work=$(mktemp -d /tmp/natlab-browser-corner.XXXXXX)
runpid=""
trap '[ -n "$runpid" ] && kill -KILL "$runpid" 2>/dev/null; rm -rf "$work"' EXIT
corner="-p left=cgnat,udp-blocked,tcp-web-only -p right=cgnat,udp-blocked,tcp-web-only -p dataplane=datachannel -p settle_ms=1000"

# what of ours could be left in /tmp: the adapters' profile directories
tmp_list() { ls -d /tmp/natlab-chromium-* /tmp/natlab-firefox-* 2>/dev/null | sort; }
tmp_list >"$work/tmp.before"

for b in "${have[@]}"; do
  if [ "$b" = chromium ]; then sides="-p left_impl=chromium -p right_impl=natlab-ice"
  else sides="-p left_impl=natlab-ice -p right_impl=firefox"; fi
  t0=$(date +%s)
  # shellcheck disable=SC2086
  "$bin/natlab" run scenarios/matrix.lua $corner $sides --jobs 2 --timeout 120 --out "$work/$b" >"$work/$b.out" 2>&1
  rc=$?
  grep -E '^(pass|fail|error|timeout|skip|unsup)' "$work/$b.out"
  n=$(grep -c '^pass' "$work/$b.out")
  [ "$rc" = 0 ] && [ "$n" = 9 ] || { tail -n 20 "$work/$b.out" >&2; fail "$b: $n of 9 corner cells passed (exit $rc)"; }
  echo "$b: 9/9 corner cells passed in $(( $(date +%s) - t0 )) s"
done

# SIGKILL in the middle of a browser cell: wait until a browser runs in
# the run's process tree, remember every process of that tree, kill natlab
b=${have[0]}
"$bin/natlab" run scenarios/matrix.lua -p left=full-cone -p right=full-cone -p left_impl="$b" \
  -p right_impl="$b" -p dataplane=datachannel --jobs 1 --out "$work/kill" >"$work/kill.out" 2>&1 &
runpid=$!
tree() { # PIDs under $1 (with their start times, so a reused PID is not ours)
  local p st
  for p in $(pgrep -P "$1"); do
    st=$(cut -d' ' -f22 /proc/$p/stat 2>/dev/null)
    [ -n "$st" ] && echo "$p $st" # gone already: not one to wait for
    tree "$p"
  done
}
deadline=$(( $(date +%s) + 60 ))
seen=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  tree "$runpid" >"$work/tree"
  if grep -q . "$work/tree" && for p in $(cut -d' ' -f1 "$work/tree"); do cat /proc/$p/cmdline 2>/dev/null | tr '\0' ' '; echo; done | grep -Eq '(chromium|firefox-esr).*--'; then
    seen=1; break
  fi
  sleep 0.2
done
[ "$seen" = 1 ] || fail "no browser process appeared under natlab run within 60 s"
echo "killing natlab run with $(wc -l <"$work/tree") processes under it, browsers among them"
kill -KILL "$runpid"; wait "$runpid" 2>/dev/null; runpid=""
deadline=$(( $(date +%s) + 15 ))
while :; do
  left=0
  while read -r p st; do
    [ "$(cut -d' ' -f22 /proc/$p/stat 2>/dev/null)" = "$st" ] && left=$((left + 1))
  done <"$work/tree"
  [ "$left" = 0 ] && break
  [ "$(date +%s)" -lt "$deadline" ] || fail "$left processes of the killed run are still alive 15 s after SIGKILL"
  sleep 0.2
done
tmp_list >"$work/tmp.after"
comm -13 "$work/tmp.before" "$work/tmp.after" >"$work/tmp.new"
[ -s "$work/tmp.new" ] && fail "left in /tmp: $(tr '\n' ' ' <"$work/tmp.new")"
echo "SIGKILL mid-cell: no process of the run left, nothing new in /tmp"
