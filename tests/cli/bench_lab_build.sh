#!/usr/bin/env bash
# bench_lab_build - the lab-build benchmark still runs both of its sides.
# Its baseline feeds the C API's own ruleset, as `nft list` prints it, to
# `nft -f`; a new NAT rule that nft cannot read back breaks the baseline
# and bench/run then prints "no figure". Two rounds: this checks that both
# sides finish and a ratio is printed, not the speed (bench/run does that).
set -u
bench="$NATLAB_BIN_DIR/../bench/bench_lab_build"
[ -x "$bench" ] || { echo "SKIP: $bench not built"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the ip/nft baseline needs root"; exit 77; }
for tool in ip nft; do
	command -v $tool >/dev/null || { echo "SKIP: '$tool' not installed (iproute2, nftables)"; exit 77; }
done
out=$(NATLAB_SOURCE_DIR="$NATLAB_SOURCE_DIR" "$bench" 2 2>&1); status=$?
echo "$out"
[ $status -eq 0 ] || { echo "FAIL: bench_lab_build exited $status"; exit 1; }
grep -qE '^  natlab C API +median +[0-9.]+ ms' <<<"$out" || { echo "FAIL: no C API median"; exit 1; }
grep -qE '^  ip/nft script +median +[0-9.]+ ms' <<<"$out" || { echo "FAIL: no ip/nft median"; exit 1; }
grep -qE '^  ratio +[0-9.]+x' <<<"$out" || { echo "FAIL: no ratio"; exit 1; }
echo "ok   bench_lab_build ran both sides"
