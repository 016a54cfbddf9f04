#!/usr/bin/env bash
# natlab-ice against itself, and against the libnice adapter in both roles,
# on loopback inside a private network namespace: each pair must select a
# pair on both sides and carry numbered datagrams both ways without loss.
set -euo pipefail
bench=${NATLAB_BIN_DIR:?}/../bench/bench_ice_connect
[ -x "$bench" ] || { echo "bench_ice_connect not built"; exit 1; }
# exits 77 itself when no namespace can be made (no root, no user namespaces)
"$bench" --check --bin "$NATLAB_BIN_DIR"
