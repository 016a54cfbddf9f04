"""readyinfo.py - what natlab-aiortc says in `ready`, known without
importing aioice (its import takes a quarter of a second on a loaded
host; `ready` comes first, docs/agent-protocol.md)."""
import importlib.util
import re

IMPL = "natlab-aiortc"

# Declared in `ready` (docs/agent-protocol.md, "Capabilities"); why each,
# from aioice 0.8.0's source: docs/implementations.md, "aiortc".
CAPABILITIES = {
    "trickle": False,      # gather_candidates() returns all candidates at once
    "restart": False,      # no restart API: credentials are fixed per Connection
    "turn-udp": True,
    "turn-tcp": True,      # create_turn_endpoint(transport="tcp")
    "turn-tls": True,      # ... with ssl=<context>
    "ice-tcp": False,      # UDP candidates only
    "ipv6": True,          # IPv6 host candidates and checks
    "components": True,    # Connection(components=N)
    "consent": True,       # Connection.query_consent (RFC 7675)
}


def aioice_version():
    """aioice's __version__ read from its about.py without running the
    package; None when aioice is not installed."""
    spec = importlib.util.find_spec("aioice")
    if spec is None or not spec.submodule_search_locations:
        return None
    for d in spec.submodule_search_locations:
        try:
            with open(d + "/about.py", encoding="utf-8") as f:
                m = re.search(r'__version__\s*=\s*"([^"]+)"', f.read())
        except OSError:
            continue
        if m:
            return m.group(1)
    return "?"
