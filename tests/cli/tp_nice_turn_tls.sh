#!/usr/bin/env bash
# libnice (natlab-nice) relay-only through natlab-turn-server's TLS port, on
# loopback. libnice in RFC 5245 mode has no TLS: asked for TURN over TLS it
# sends its Allocate in the clear to the TLS port (coturn serves that). The
# server must tell the two apart by the first byte:
#   - natlab-nice gathers a relay candidate through the TLS port and the
#     server records that allocation as "tcp";
#   - natlab-nice <-> natlab-ice (real TLS on the same port, recorded "tls")
#     and natlab-nice <-> natlab-nice select relay/relay and carry data both
#     ways; natlab-nice says relay_transport "tcp" (what it really used);
#   - a first byte that is neither a TLS handshake nor STUN is dropped at
#     once instead of left hanging.
# Before the fix natlab-nice got no relay candidate (OpenSSL waited for the
# rest of a "record" whose length field was the STUN message type).
. "$(dirname "$0")/turn_lib/common.sh"
[ -x "$BIN/natlab-nice" ] || { echo "skip: natlab-nice not built (libnice-dev missing)"; exit 77; }
need openssl
need python3

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=natlab-turn-test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl"
TLS_PORT=$((BASE + 1))
start_natlab srv 0 --user natlab:natlab --allow-loopback \
  --tls-listen 127.0.0.1:$TLS_PORT --cert "$TMP/cert.pem" --key "$TMP/key.pem"
TURN=tls:127.0.0.1:$TLS_PORT

python3 - "$BIN" "$TURN" "$TMP/srv.out" <<'PY' || fail "see above"
import json, os, select, socket, subprocess, sys, time

bin_dir, turn, srv_out = sys.argv[1:4]
bad = []

class Agent:
    def __init__(self, impl, role, name):
        argv = [os.path.join(bin_dir, impl), "--role", role, "--interface", "lo",
                "--policy", "relay", "--turn", turn, "--turn-user", "natlab",
                "--turn-pass", "natlab"]
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.events = []
        self.buf = b""  # bytes read past the last whole line

    def send(self, obj):
        self.p.stdin.write((json.dumps(obj) + "\n").encode())
        self.p.stdin.flush()

    def line(self, timeout):
        """one line of output, or None at the deadline or the end of output"""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def wait(self, pred, timeout):
        """the first event (seen or to come) matching pred, or None at the deadline"""
        for e in self.events:
            if pred(e):
                return e
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = self.line(end - time.monotonic())
            if line is None:
                break
            try:
                e = json.loads(line)
            except ValueError:
                continue
            self.events.append(e)
            if pred(e):
                return e
        return None

    def stop(self):
        try:
            self.send({"cmd": "stop"})
        except (BrokenPipeError, OSError):
            pass
        try:
            self.p.wait(3)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()

def relays(local):
    return [c for c in local.get("candidates", []) if " typ relay" in c]

def connect(a, b, label):
    """a controls, b is controlled; both relay-only through the TLS port"""
    try:
        for x in (a, b):
            x.send({"cmd": "gather"})
        loc = {}
        for x in (a, b):
            e = x.wait(lambda e: e.get("ev") == "local" and e.get("complete"), 10)
            if not e or not relays(e):
                bad.append(f"{label}: {x.name} gathered no relay candidate through {turn} "
                           f"({e and e.get('candidates')})")
                return
            loc[x] = e
        for x, y in ((a, b), (b, a)):
            y.send({"cmd": "remote", "ufrag": loc[x]["ufrag"], "pwd": loc[x]["pwd"],
                    "candidates": loc[x]["candidates"]})
        sel = {}
        for x in (a, b):
            e = x.wait(lambda e: e.get("ev") in ("selected", "failed"), 15)
            if not e or e["ev"] != "selected":
                bad.append(f"{label}: {x.name} selected no pair ({e})")
                return
            sel[x] = e
            if e["local"].get("type") != "relay":
                bad.append(f"{label}: {x.name} selected a {e['local'].get('type')} local candidate")
        want = {"natlab-nice": "tcp", "natlab-ice": "tls"}
        for x in (a, b):
            got = sel[x]["local"].get("relay_transport")
            if got != want[x.name]:
                bad.append(f"{label}: {x.name} reports relay_transport {got}, expected {want[x.name]}")
        for x in (a, b):
            x.send({"cmd": "send", "n": 5, "size": 200, "interval_ms": 5})
        for x in (a, b):
            seqs = set()
            end = time.monotonic() + 5
            while len(seqs) < 5 and time.monotonic() < end:
                e = x.wait(lambda e, s=seqs: e.get("ev") == "rx" and e.get("seq") not in s,
                           end - time.monotonic())
                if not e:
                    break
                seqs.add(e["seq"])
            if len(seqs) < 3:
                bad.append(f"{label}: {x.name} received {len(seqs)}/5 datagrams")
        if not any(label in b for b in bad):
            print(f"ok: {label}: relay/relay selected, data both ways")
    finally:
        for x in (a, b):
            x.stop()

connect(Agent("natlab-nice", "controlling", "natlab-nice"),
        Agent("natlab-ice", "controlled", "natlab-ice"), "nice > ice")
connect(Agent("natlab-nice", "controlling", "natlab-nice"),
        Agent("natlab-nice", "controlled", "natlab-nice"), "nice > nice")

# what the server saw on its TLS port: libnice in the clear, natlab-ice in TLS
allocs = [json.loads(l) for l in open(srv_out) if '"ev":"alloc"' in l]
kinds = sorted(a["transport"] for a in allocs)
if kinds != ["tcp", "tcp", "tcp", "tls"]:
    bad.append(f"server allocations by transport: {kinds}, expected 3 tcp (libnice) and 1 tls")
else:
    print("ok: the TLS port served 3 plain-TCP allocations (libnice) and 1 TLS (natlab-ice)")

# neither TLS nor STUN: closed at once, not left hanging
host, port = turn.split(":")[1], int(turn.split(":")[2])
s = socket.create_connection((host, port), timeout=3)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
try:
    s.settimeout(3)
    closed = s.recv(100) == b""
except ConnectionResetError:
    closed = True
except socket.timeout:
    closed = False
s.close()
if not closed:
    bad.append("a connection starting with 'GET ' was left open on the TLS port")
else:
    print("ok: a first byte neither TLS nor STUN closes the connection")

for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "ok: libnice relays through natlab-turn-server's TLS port"
