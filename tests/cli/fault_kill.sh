#!/usr/bin/env bash
# fault_kill - `natlab run` killed with SIGKILL at random moments (while
# building labs, running agents, writing results) leaves nothing on the
# host: no process of the run, no namespace one of them was in, and the
# host's interfaces (`ip -o link`), nftables ruleset and /run/netns are as
# they were before; and the cells it finished stay readable: cells.jsonl
# parses line by line and `natlab report` turns the killed run into
# well-formed junit.xml. Then SIGINT (Ctrl-C): the run ends cleanly (exit
# 2, "interrupted by signal 2"), the cells finished before the signal are
# kept, and the host is again as it was.
set -u
bin=${NATLAB_BIN_DIR:?}
rounds=${NATLAB_FAULT_KILL_ROUNDS:-6}
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin/natlab" doctor >/dev/null 2>&1 || { echo "skip: this machine cannot run a lab"; exit 77; }
work=$(mktemp -d /tmp/natlab-fault-kill.XXXXXX)
runpid=""
trap '[ -n "$runpid" ] && kill -KILL "$runpid" 2>/dev/null; rm -rf "$work"' EXIT

# What a run could leave on the host if the sandbox leaked: interfaces
# (names, flags, MTU; not counters), the nftables ruleset (stateless: no
# counters or quotas, which change on their own) and bind-mounted
# namespaces. Without ip or nft (Debian's iproute2, nftables) that part
# is left out and said so once.
have_ip=0; command -v ip >/dev/null 2>&1 && have_ip=1
have_nft=0; command -v nft >/dev/null 2>&1 && have_nft=1
[ "$have_ip" = 1 ] || echo "note: no ip command (iproute2): host interfaces not compared"
[ "$have_nft" = 1 ] || echo "note: no nft command (nftables): host ruleset not compared"
host_state() {
  echo "== links"
  [ "$have_ip" = 1 ] && ip -o link show | sed -E 's/^[0-9]+: //; s/ +qlen [0-9]+//' | sort
  echo "== nft"
  [ "$have_nft" = 1 ] && nft -s list ruleset 2>&1
  echo "== /run/netns"
  ls -A /run/netns 2>/dev/null
}
# host_unchanged WHAT: the host state equals the one taken before the
# runs. Polled for a while: something else on the machine may change it
# for a moment, while a leak stays.
host_unchanged() {
  local deadline=$(($(date +%s) + 15))
  while :; do
    host_state >"$work/host.now"
    cmp -s "$work/host.before" "$work/host.now" && return 0
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.2
  done
  fail "$1: the host changed: $(diff "$work/host.before" "$work/host.now" | head -20)"
}
host_state >"$work/host.before"

tagged_pids() { grep -l -s -a "NATLAB_SOAK_TAG=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
ns_of() { for p in "$@"; do stat -L -c %i "/proc/$p/ns/net" 2>/dev/null; done; }

for r in $(seq 1 "$rounds"); do
  tag=faultkill$$.$r.$RANDOM
  out=$work/r$r
  mkdir -p "$out"
  (cd "$out" && exec env NATLAB_SOAK_TAG=$tag "$bin/natlab" run smoke ice --trials 20 --jobs 2 \
    --out "$out/results") >"$out/log.txt" 2>&1 &
  runpid=$!
  # a random moment between 0.2 and 3.2 s into the run; meanwhile note
  # every network namespace a process of the run is in
  delay_ms=$((200 + RANDOM % 3000))
  end=$(($(date +%s%3N) + delay_ms))
  : >"$out/ns"
  while [ "$(date +%s%3N)" -lt "$end" ] && kill -0 "$runpid" 2>/dev/null; do
    ns_of $(tagged_pids "$tag") >>"$out/ns"
    sleep 0.05
  done
  kill -KILL "$runpid" 2>/dev/null
  # the kill time in clock ticks since boot, to compare with process start
  # times: a namespace inode freed by the kill may be reused at once by a
  # new namespace of someone else's, whose processes are not ours
  killed_at=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%d", $1 * hz}' /proc/uptime)
  wait "$runpid" 2>/dev/null
  runpid=""
  # the run's parent lives in the host's namespace: only the labs' count
  sort -u "$out/ns" | grep -vx "$(stat -L -c %i /proc/self/ns/net)" >"$out/ns.lab"
  mv "$out/ns.lab" "$out/ns"
  # what the run started dies with it (each cell's sandbox has its own PID
  # 1 whose death takes the rest); give the kernel 15 s to reap (5 s was
  # once too short with other builds loading both cores)
  deadline=$(($(date +%s) + 15))
  while :; do
    left=$(tagged_pids "$tag" | wc -l)
    inns=0
    who=""
    for p in /proc/[0-9]*; do
      i=$(stat -L -c %i "$p/ns/net" 2>/dev/null) || continue
      grep -qx "$i" "$out/ns" || continue
      # field 22 of stat, counted after the ")" closing the command name
      st=$(sed 's/.*) //' "$p/stat" 2>/dev/null | awk '{print $20}')
      [ -n "$st" ] && [ "$st" -le "$killed_at" ] || continue
      inns=$((inns + 1))
      who="$who ${p#/proc/}:$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-60)"
    done
    [ "$left" = 0 ] && [ "$inns" = 0 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || fail "round $r (killed at $delay_ms ms): $left processes of the run and $inns processes in its namespaces survive:$who"
    sleep 0.1
  done
  dir=$(ls -d "$out"/results/2* 2>/dev/null | head -1)
  if [ -z "$dir" ]; then
    host_unchanged "round $r (killed at $delay_ms ms)"
    echo "round $r: killed at $delay_ms ms, before the result directory existed; nothing left"
    continue
  fi
  done_cells=0
  if [ -f "$dir/cells.jsonl" ]; then
    done_cells=$(python3 - "$dir/cells.jsonl" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    c = json.loads(line)          # every line a finished cell, whole
    assert c["outcome"] in ("pass", "fail", "error", "timeout", "skipped"), c
    n += 1
print(n)
PY
    ) || fail "round $r: cells.jsonl does not parse"
  fi
  "$bin/natlab" report "$dir" >"$out/report.txt" 2>&1
  rrc=$?
  [ "$rrc" -le 1 ] || fail "round $r: natlab report on the killed run exited $rrc: $(cat "$out/report.txt")"
  python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$dir/junit.xml" ||
    fail "round $r: junit.xml is not well-formed"
  host_unchanged "round $r (killed at $delay_ms ms)"
  echo "round $r: killed at $delay_ms ms, $done_cells finished cells readable, $(wc -l <"$out/ns") namespaces seen, host unchanged, nothing left"
done

# SIGINT, as Ctrl-C sends it: once some cells have finished, interrupt the
# run; it must stop cleanly and keep them. natlab installs its own SIGINT
# handler, so the SIG_IGN a background job inherits from bash does not
# matter.
tag=faultint$$.$RANDOM
out=$work/int
mkdir -p "$out"
(cd "$out" && exec env NATLAB_SOAK_TAG=$tag "$bin/natlab" run smoke ice --trials 20 --jobs 2 \
  --out "$out/results") >"$out/log.txt" 2>&1 &
runpid=$!
cells() { cat "$out"/results/2*/cells.jsonl 2>/dev/null | wc -l; }
deadline=$(($(date +%s) + 60))
while [ "$(cells)" -lt 2 ]; do
  kill -0 "$runpid" 2>/dev/null || fail "SIGINT: the run ended before 2 cells finished: $(tail -5 "$out/log.txt")"
  [ "$(date +%s)" -lt "$deadline" ] || fail "SIGINT: fewer than 2 cells finished within 60 s"
  sleep 0.05
done
before=$(cells)
kill -INT "$runpid"
wait "$runpid"
rc=$?
runpid=""
[ "$rc" = 2 ] || fail "SIGINT: the run exited $rc, want 2: $(tail -5 "$out/log.txt")"
grep -q "interrupted by signal 2; [0-9]* of [0-9]* cells finished and are kept" "$out/log.txt" ||
  fail "SIGINT: no interruption message: $(tail -5 "$out/log.txt")"
dir=$(ls -d "$out"/results/2* | head -1)
after=$(python3 - "$dir" <<'PY'
import json, sys, xml.etree.ElementTree as E
d = sys.argv[1]
json.load(open(d + "/run.json"))
n = 0
for line in open(d + "/cells.jsonl"):
    c = json.loads(line)
    assert c["outcome"] in ("pass", "fail", "error", "timeout", "skipped"), c
    n += 1
E.parse(d + "/junit.xml")
print(n)
PY
) || fail "SIGINT: the result files are not valid"
[ "$after" -ge "$before" ] || fail "SIGINT: $before cells had finished before the signal, $after kept"
deadline=$(($(date +%s) + 15))
while [ -n "$(tagged_pids "$tag")" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "SIGINT: processes of the run survive: $(tagged_pids "$tag" | tr '\n' ' ')"
  sleep 0.1
done
host_unchanged "SIGINT"
echo "SIGINT: exit 2 after $before cells, $after finished cells kept, host unchanged, nothing left"
echo ok
