#!/usr/bin/env bash
# Relay-only ICE (--policy relay) through natlab-turn-server over UDP, TCP
# and TLS, on loopback in a private network namespace: natlab-ice against
# itself and against the libnice adapter in both roles (libnice, asked for
# TLS, sends plain TURN to the TLS port: docs/turn.md); both sides must
# select relay/relay and carry data.
set -euo pipefail
bin=${NATLAB_BIN_DIR:?}
bench=$bin/../bench/bench_ice_connect
[ -x "$bin/natlab-turn-server" ] || { echo "natlab-turn-server not built: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" \
  -days 1 -subj /CN=natlab-test >/dev/null 2>&1
for tr in udp tcp tls; do
  "$bench" --check --bin "$bin" --relay "$tr" --cert "$dir/cert.pem" --key "$dir/key.pem" 2>&1 |
    grep -v 'libnice-WARNING' || exit 1
done
