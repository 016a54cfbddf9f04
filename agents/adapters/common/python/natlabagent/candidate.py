"""candidate.py - `a=candidate` attribute values (RFC 8839 §5.1), read and
written the way natlab-ice does (agents/ice/candidate.c):

  candidate:<foundation> <component-id> <transport> <priority>
            <connection-address> <port> typ <cand-type>
            [raddr <rel-addr>] [rport <rel-port>] *(SP extension SP value)

An optional "a=" prefix and a trailing CRLF are accepted. parse() raises
CandidateSyntaxError for a line that is not RFC 8839 syntax (the whole
command is then an `error`) and CandidateUnusable for a valid line this
lab cannot use (an FQDN or mDNS `.local` address, a transport other than
UDP/TCP): the agent skips it with a `log` warning (RFC 8839 §5.1 lets an
agent ignore candidates it cannot use).
"""
import ipaddress

# RFC 8839 §5.1: foundation = 1*32ice-char; ice-char = ALPHA / DIGIT / "+" / "/"
_ICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
FOUNDATION_MAX = 32
TYPES = ("host", "srflx", "prflx", "relay")


class CandidateSyntaxError(ValueError):
    """Not RFC 8839 candidate syntax."""


class CandidateUnusable(ValueError):
    """Valid syntax, but nothing this lab's agents can use."""


class Candidate:
    """One candidate line's fields; address is a numeric IP string."""

    def __init__(self, foundation, component, transport, priority, address, port, type,
                 raddr=None, rport=None, tcptype=None):
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.raddr = raddr
        self.rport = rport
        self.tcptype = tcptype

    def __repr__(self):
        return format_line(self)


def is_ice_chars(s, lo=1, hi=None):
    """Whether @s is lo..hi ice-chars (RFC 8445 §5.3 / RFC 8839)."""
    return lo <= len(s) and (hi is None or len(s) <= hi) and all(c in _ICE_CHARS for c in s)


def _uint(tok, digits, lo, hi, what):
    if not tok.isdigit() or len(tok) > digits or not lo <= int(tok) <= hi:
        raise CandidateSyntaxError("%s '%s' is not an integer within %d..%d" % (what, tok, lo, hi))
    return int(tok)


def _addr(tok):
    try:
        return str(ipaddress.ip_address(tok))
    except ValueError:
        pass
    # RFC 8839 §5.1 allows an FQDN; RFC 8445 §5.1.1.1 / mDNS (draft-ietf-
    # mmusic-mdns-ice-candidates) a ".local" name: valid, not usable here.
    if tok and all(c.isalnum() or c in "-." for c in tok):
        raise CandidateUnusable("address '%s' is not numeric (an FQDN or mDNS name)" % tok)
    raise CandidateSyntaxError("'%s' is not an address" % tok)


def parse(line):
    """An a=candidate value (str) -> Candidate; see the module text."""
    s = line.rstrip("\r\n")
    if s.startswith("a="):
        s = s[2:]
    if not s[:10].lower() == "candidate:":
        raise CandidateSyntaxError("does not start with 'candidate:'")
    toks = s[10:].split(" ")
    # RFC 8839 separates every field by one SP: an empty token is two SPs
    # or a leading/trailing one
    if any(t == "" for t in toks):
        raise CandidateSyntaxError("fields must be separated by single spaces")
    if len(toks) < 8:
        raise CandidateSyntaxError("fewer than the 8 fields foundation, component, transport, "
                                   "priority, address, port, 'typ', type")
    if not is_ice_chars(toks[0], 1, FOUNDATION_MAX):
        raise CandidateSyntaxError("foundation '%s' is not 1..32 ice-chars" % toks[0])
    component = _uint(toks[1], 3, 1, 256, "component")
    transport = toks[2].lower()
    priority = _uint(toks[3], 10, 1, 0xFFFFFFFF, "priority")
    if toks[6] != "typ":
        raise CandidateSyntaxError("the 7th field is '%s', not 'typ'" % toks[6])
    if toks[7] not in TYPES:
        raise CandidateSyntaxError("candidate type '%s' is none of %s" % (toks[7], ", ".join(TYPES)))
    port = _uint(toks[5], 5, 0, 65535, "port")
    address = _addr(toks[4])
    c = Candidate(toks[0], component, transport, priority, address, port, toks[7])
    i = 8
    if i + 1 < len(toks) and toks[i] == "raddr":
        c.raddr = _addr(toks[i + 1])
        i += 2
        if i + 1 < len(toks) and toks[i] == "rport":
            c.rport = _uint(toks[i + 1], 5, 0, 65535, "rport")
            i += 2
    if (len(toks) - i) % 2:
        raise CandidateSyntaxError("an extension attribute without a value")
    for k in range(i, len(toks), 2):
        if toks[k] == "tcptype":
            if toks[k + 1] not in ("active", "passive", "so"):
                raise CandidateSyntaxError("tcptype '%s' is none of active, passive, so" % toks[k + 1])
            c.tcptype = toks[k + 1]
        # RFC 8839: unknown extensions MUST be ignored
    if transport not in ("udp", "tcp"):
        raise CandidateUnusable("transport '%s' is not supported" % toks[2])
    return c


def format_line(c):
    """Candidate -> "candidate:..." (no a= prefix)."""
    s = "candidate:%s %d %s %d %s %d typ %s" % (c.foundation, c.component, c.transport,
                                                 c.priority, c.address, c.port, c.type)
    if c.raddr is not None:
        s += " raddr %s" % c.raddr
        if c.rport is not None:
            s += " rport %d" % c.rport
    if c.tcptype is not None:
        s += " tcptype %s" % c.tcptype
    return s
