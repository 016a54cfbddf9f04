#!/usr/bin/env bash
# turn_conn_idle - natlab-turn-server closes TCP and TLS connections that
# hold no allocation and complete no message within --conn-idle seconds:
# a client silent after connecting, one stopped half way through a STUN
# header, one stopped half way through a TLS handshake. A connection that
# holds an allocation outlives the deadline and still relays.
. "$(dirname "$0")/turn_lib/common.sh"
need openssl
need python3

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=natlab-turn-test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl"
TLSPORT=$((BASE + 1))
start_natlab srv 0 --user alice:pw --allow-loopback --conn-idle 1 \
  --tls-listen 127.0.0.1:$TLSPORT --cert "$TMP/cert.pem" --key "$TMP/key.pem"

# Three stalled clients; each reports how long until the server closed it.
python3 - "$PORT" "$TLSPORT" >"$TMP/stall.out" 2>&1 <<'PY' || { cat "$TMP/stall.out" >&2; fail "stalled clients"; }
import socket, sys, time
tcp, tls = int(sys.argv[1]), int(sys.argv[2])
cases = {
    "silent": (tcp, b""),
    "half-header": (tcp, bytes.fromhex("0003 0000 2112a442")),        # 8 of 20 bytes
    "half-handshake": (tls, bytes.fromhex("16 0301 0200 01")),         # a record that never comes
}
socks = {}
for name, (port, first) in cases.items():
    s = socket.create_connection(("127.0.0.1", port))
    if first:
        s.sendall(first)
    s.settimeout(0.1)
    socks[name] = (s, time.monotonic())
closed = {}
deadline = time.monotonic() + 10
while socks and time.monotonic() < deadline:
    for name, (s, t0) in list(socks.items()):
        try:
            if s.recv(1) == b"":
                closed[name] = time.monotonic() - t0
                del socks[name]
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed[name] = time.monotonic() - t0
            del socks[name]
for name in cases:
    if name not in closed:
        print(f"{name}: still open after 10 s"); sys.exit(1)
    if closed[name] < 0.9:
        print(f"{name}: closed after {closed[name]:.2f} s, before the 1 s deadline"); sys.exit(1)
    print(f"ok: {name} closed after {closed[name]:.1f} s")
PY
cat "$TMP/stall.out"
[ "$(grep -c '"ev":"conn-timeout"' "$TMP/srv.out")" -ge 3 ] || fail "no conn-timeout events: $(cat "$TMP/srv.out")"

# An allocation over TCP lives past the deadline: held 3 s, then it relays.
python3 - >"$TMP/peer.port" <<'PY' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(30)
try:
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(d, a)
except socket.timeout:
    pass
PY
PIDS+=("$!")
wait_for "$TMP/peer.port" '[0-9]' 5 || fail "echo peer did not start"
PEER=$(cat "$TMP/peer.port")
timeout 60 "$BIN/natlab-turn-client" --server tcp:127.0.0.1:$PORT --user alice --pass pw \
  --peer 127.0.0.1:$PEER --hold-ms 3000 --count 20 --interval-ms 1 >"$TMP/c.out" 2>"$TMP/c.err" ||
  fail "allocation over TCP did not survive: $(cat "$TMP/c.out" "$TMP/c.err")"
[ "$(json_field "$TMP/c.out" data received)" = 20 ] || fail "allocated connection: $(grep '"data"' "$TMP/c.out")"
[ "$(grep -c '"ev":"conn-timeout"' "$TMP/srv.out")" = 3 ] ||
  fail "the allocated connection was timed out: $(grep conn-timeout "$TMP/srv.out")"
echo "ok: a connection holding an allocation outlives --conn-idle 1 (held 3 s, 20/20 echoed)"
