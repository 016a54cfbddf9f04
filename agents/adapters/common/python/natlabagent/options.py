"""options.py - the agent command line of docs/agent-protocol.md
("Starting an agent"), parsed into one Options object.

Every option of the protocol (and natlab-ice's additions) is accepted, so
the harness can start any adapter with the matrix's words; an adapter says
in one `log` event which of the options it was *given* it cannot honour
(Options.given names them). Bad values and unknown options raise
UsageError with a message naming the option and what it wants: the
adapter prints it and exits with status 2 before `ready`.
"""
import ipaddress

# option -> (attribute, kind); kinds: flag, str, int, hostport, turn, and
# "list:" + kind for repeatable options.
_SPEC = {
    "--role": ("role", "choice:controlling,controlled"),
    "--stun": ("stun", "list:hostport"),
    "--turn": ("turn", "list:turn"),
    "--turn-user": ("turn_user", "str"),
    "--turn-pass": ("turn_pass", "str"),
    "--policy": ("policy", "choice:all,nohost,relay"),
    "--components": ("components", "int:1:256"),
    "--trickle": ("trickle", "flag"),
    "--nomination": ("nomination", "choice:regular,aggressive"),
    "--ta-ms": ("ta_ms", "int:0:60000"),
    "--rto-ms": ("rto_ms", "int:1:60000"),
    "--consent-timeout-ms": ("consent_timeout_ms", "int:0:3600000"),
    "--keepalive-ms": ("keepalive_ms", "int:0:3600000"),
    "--retransmits": ("retransmits", "int:1:100"),
    "--nominate-wait-ms": ("nominate_wait_ms", "int:0:600000"),
    "--nominate-relay-first": ("nominate_relay_first", "flag"),
    "--gather-timeout-ms": ("gather_timeout_ms", "int:0:600000"),
    "--interface": ("interface", "list:str"),
    "--tcp": ("tcp", "flag"),
    "--turn-dual": ("turn_dual", "flag"),
    "--dataplane": ("dataplane", "choice:datagram,datachannel"),
    "--seed": ("seed", "int:0:18446744073709551615"),
    "--verbose": ("verbose", "flag"),
}

_DEFAULTS = {
    "role": "controlling", "stun": [], "turn": [], "turn_user": None, "turn_pass": None,
    "policy": "all", "components": 1, "trickle": False, "nomination": "regular",
    "ta_ms": None, "rto_ms": None, "consent_timeout_ms": None, "keepalive_ms": None,
    "retransmits": None, "nominate_wait_ms": None, "nominate_relay_first": False,
    "gather_timeout_ms": None, "interface": [], "tcp": False, "turn_dual": False,
    "dataplane": "datagram", "seed": None, "verbose": False,
}


class UsageError(Exception):
    """A command line the adapter cannot start with (exit status 2)."""


class TurnServer:
    """One --turn value: transport ("udp", "tcp" or "tls"), host, port."""

    def __init__(self, transport, host, port):
        self.transport = transport
        self.host = host
        self.port = port

    def __repr__(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%s:%d" % (self.transport, host, self.port)

    def __eq__(self, other):
        return isinstance(other, TurnServer) and repr(self) == repr(other)


class Options:
    """The parsed command line: one attribute per option (see _SPEC), and
    `given`, the option names that appeared, in order, without repeats."""

    def __init__(self):
        for k, v in _DEFAULTS.items():
            setattr(self, k, list(v) if isinstance(v, list) else v)
        self.given = []


def parse_hostport(opt, text):
    """"IP:PORT" or "[IPv6]:PORT" -> (ip, port); names are refused, as
    natlab-ice refuses them (docs/agent-protocol.md)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise UsageError("%s %s: want [IPv6]:PORT" % (opt, text))
        host, port = text[1:end], text[end + 2:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep or ":" in host:
            raise UsageError("%s %s: want IP:PORT (IPv6 as [ADDR]:PORT)" % (opt, text))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError("%s %s: '%s' is not a numeric IP address (host names are not "
                         "resolved in the lab)" % (opt, text, host)) from None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError("%s %s: the port must be 1..65535" % (opt, text))
    return host, int(port)


def _value(opt, kind, text):
    if kind == "str":
        return text
    if kind == "hostport":
        return parse_hostport(opt, text)
    if kind == "turn":
        transport, sep, rest = text.partition(":")
        if not sep or transport not in ("udp", "tcp", "tls"):
            raise UsageError("%s %s: want udp|tcp|tls:IP:PORT" % (opt, text))
        host, port = parse_hostport(opt, rest)
        return TurnServer(transport, host, port)
    if kind.startswith("choice:"):
        choices = kind[7:].split(",")
        if text not in choices:
            raise UsageError("%s %s: want one of %s" % (opt, text, ", ".join(choices)))
        return text
    if kind.startswith("int:"):
        lo, hi = (int(x) for x in kind[4:].split(":"))
        if not text.isdigit() or not lo <= int(text) <= hi:
            raise UsageError("%s %s: want an integer within %d..%d" % (opt, text, lo, hi))
        return int(text)
    raise AssertionError(kind)


def parse(argv):
    """argv (without the program name) -> Options, or UsageError."""
    o = Options()
    i = 0
    while i < len(argv):
        word = argv[i]
        name, eq, inline = word.partition("=")
        if name not in _SPEC:
            raise UsageError("unknown option '%s' (docs/agent-protocol.md, \"Starting an agent\", "
                             "lists the options)" % word)
        attr, kind = _SPEC[name]
        if name not in o.given:
            o.given.append(name)
        if kind == "flag":
            if eq:
                raise UsageError("%s takes no value" % name)
            setattr(o, attr, True)
            i += 1
            continue
        if eq:
            text = inline
            i += 1
        else:
            if i + 1 >= len(argv):
                raise UsageError("%s needs a value" % name)
            text = argv[i + 1]
            i += 2
        if kind.startswith("list:"):
            getattr(o, attr).append(_value(name, kind[5:], text))
        else:
            setattr(o, attr, _value(name, kind, text))
    if bool(o.turn_user) != bool(o.turn_pass) and o.turn:
        raise UsageError("--turn-user and --turn-pass go together (TURN long-term credentials)")
    return o
