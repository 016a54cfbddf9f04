#!/usr/bin/env bash
# The TURN transports a matrix run offers (-p turn=udp|tcp|tls) count as
# capabilities no side has (docs/expected-matrix.md, rule 10):
#   - turn=udp, open x udp-blocked: no way out for the blocked side; the
#     cell is `unsupported`, naming the param, not a failure;
#   - turn=tcp, symmetric x port-restricted-cone (a `relay` cell): the
#     relay is reached over TCP, so relay-tcp is expected, and it passes.
set -uo pipefail
natlab=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if ! unshare -Urn true 2>/dev/null && [ "$(id -u)" != 0 ]; then
  echo "SKIP: no user namespaces and not root"; exit 77
fi

"$natlab" run "$src/scenarios/matrix.lua" --out "$out/u" -p turn=udp \
  -p left=open -p right=udp-blocked >"$out/u.log" 2>&1
"$natlab" run "$src/scenarios/matrix.lua" --out "$out/t" -p turn=tcp \
  -p left=symmetric -p right=port-restricted-cone >"$out/t.log" 2>&1

python3 - "$out/u/latest/cells.jsonl" "$out/t/latest/cells.jsonl" <<'PY' || { cat "$out/u.log" "$out/t.log"; exit 1; }
import json, sys
u = [json.loads(l) for l in open(sys.argv[1])]
t = [json.loads(l) for l in open(sys.argv[2])]
assert len(u) == 1 and len(t) == 1, (len(u), len(t))
u, t = u[0], t[0]
assert u["outcome"] == "unsupported", (u["outcome"], u.get("message"))
assert "offers no TURN over TCP or TLS" in u["message"] and "right is behind udp-blocked" in u["message"], u["message"]
assert t["expected_path"] == "relay-tcp", t.get("expected_path")
assert t["outcome"] == "pass" and t["path"] in ("relay-tcp", "relay-tls"), (t["outcome"], t.get("path"), t.get("message"))
print("ok: turn=udp open x udp-blocked unsupported; turn=tcp symmetric x port-restricted-cone relay-tcp")
PY
