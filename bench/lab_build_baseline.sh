#!/usr/bin/env bash
# lab_build_baseline.sh - the command-line baseline of bench_lab_build: builds and
# tears down the same five-node lab with two NATs with `ip` and `nft`
#   c1 (10.0.1.2) - nat1 - core (203.0.113.254, 198.51.100.254) - nat2 - c2 (10.0.2.2)
# and applies the same nftables ruleset (file $1, as `nft list` prints the
# C API's) to both NATs, then flushes their conntrack tables.
#
# It must run inside the lab sandbox (bench_lab_build starts it there, with
# a private tmpfs on /run so `ip netns` never touches the host's /run).
# Run directly, it hands over to bench_lab_build, which runs both sides.
set -euo pipefail
if [ "${NATLAB_IN_SANDBOX:-}" != 1 ]; then
  top=$(cd "$(dirname "$0")/.." && pwd)
  exe=${NATLAB_BUILD_DIR:-$top/build}/bench/bench_lab_build
  [ -x "$exe" ] && exec "$exe" "$@"
  echo "lab_build_baseline.sh: build first (scripts/build); $exe runs me inside the sandbox" >&2
  exit 2
fi
ruleset=$1

for n in c1 nat1 core nat2 c2; do ip netns add $n; done
ip -n c1 link add eth0 type veth peer name in0 netns nat1
ip -n nat1 link add out type veth peer name r1 netns core
ip -n nat2 link add out type veth peer name r2 netns core
ip -n c2 link add eth0 type veth peer name in0 netns nat2
for n in c1 nat1 core nat2 c2; do ip -n $n link set lo up; done
ip -n c1 link set eth0 up; ip -n c2 link set eth0 up
ip -n nat1 link set in0 up; ip -n nat1 link set out up
ip -n nat2 link set in0 up; ip -n nat2 link set out up
ip -n core link set r1 up; ip -n core link set r2 up
ip -n c1 addr add 10.0.1.2/24 dev eth0
ip -n nat1 addr add 10.0.1.1/24 dev in0
ip -n nat1 addr add 203.0.113.1/24 dev out
ip -n core addr add 203.0.113.254/24 dev r1
ip -n core addr add 198.51.100.254/24 dev r2
ip -n nat2 addr add 198.51.100.1/24 dev out
ip -n nat2 addr add 10.0.2.1/24 dev in0
ip -n c2 addr add 10.0.2.2/24 dev eth0
ip -n c1 route add default via 10.0.1.1
ip -n c2 route add default via 10.0.2.1
ip -n nat1 route add default via 203.0.113.254
ip -n nat2 route add default via 198.51.100.254
for n in nat1 nat2; do
  ip netns exec $n sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done
# nft 1.0.6 cannot read back its own listing of `ct original proto-src`
# inside a concatenation unless the rule names the protocol; the C API's
# rules do match `meta l4proto udp`, the listing just hides it.
# The same holds for a port-range snat in a chain that only a
# `meta l4proto udp goto` reaches (chain newmap): nft wants the protocol
# named in the rule itself before it accepts `snat to ADDR:LO-HI`.
sed -E -e '/meta l4proto udp/! s/ct direction/meta l4proto udp ct direction/' \
  -e '/l4proto/! s/^([[:space:]]*)(.*snat to [0-9.]+:[0-9]+-[0-9]+)/\1meta l4proto udp \2/' \
  "$ruleset" >"$ruleset.nat1"
sed 's/203\.0\.113\.1\b/198.51.100.1/g' "$ruleset.nat1" >"$ruleset.nat2"
ip netns exec nat1 nft -f "$ruleset.nat1"
ip netns exec nat2 nft -f "$ruleset.nat2"
ip netns exec nat1 conntrack -F 2>/dev/null
ip netns exec nat2 conntrack -F 2>/dev/null
# teardown
for n in c1 nat1 core nat2 c2; do ip netns del $n; done
rm -f "$ruleset.nat1" "$ruleset.nat2"
