"""aioice_agent.py - natlab-aiortc: aioice (the ICE layer of aiortc) behind
docs/agent-protocol.md, with the `datagram` data plane on aioice's own
Connection.send/recvfrom (RFC 7983: 0xE1 is never STUN, so aioice hands
every data-plane datagram to the application).

What aioice 0.8.0 can and cannot do, read from its source and declared
in `ready` (docs/implementations.md, "aiortc", has the evidence):
- one STUN server and one TURN server per Connection (UDP, TCP or TLS to
  the server; the relay itself is UDP): the adapter gives it the first
  offered server that answers (serverprobe.py) and names the others;
- no trickling of its own candidates (gather_candidates returns them all
  at once): `local` comes complete; remote candidates may trickle in
  (add_remote_candidate, None for end-of-candidates);
- no ICE restart; no ICE-TCP; no `nohost` policy; IPv6 host candidates
  (server-reflexive ones are IPv4 only); several components;
- the controlling side nominates every pair it checks (USE-CANDIDATE on
  each check, RFC 8445 §8.1.1 "aggressive"): the first pair to succeed is
  selected, whatever --nomination says;
- consent freshness (RFC 7675): a Binding request every 5 s ±20 %, the
  connection closes after 6 unanswered in a row: `consent-lost`;
- the selected pair only as the private Connection._nominated, and the
  local address a check's answer reported (XOR-MAPPED-ADDRESS, what tells
  host from srflx/prflx) nowhere: the adapter reads the first and wraps
  each socket's `request` to note the second.
"""
import asyncio
import logging
import math
import sys

import aioice
from aioice import ice as aioice_ice
from aioice import stun as aioice_stun
from aioice.utils import random_string

from natlabagent import candidate as candmod
from natlabagent import options as optmod
from natlabagent import proto

import serverprobe

GATHER_TIMEOUT_MS = 3000  # natlab-ice's --gather-timeout-ms default


def _wire_cand(c):
    """aioice Candidate -> natlab's candidate line."""
    return candmod.format_line(candmod.Candidate(
        c.foundation, c.component, c.transport.lower(), c.priority, c.host, c.port, c.type,
        c.related_address, c.related_port, c.tcptype))


def _aio_cand(c):
    """natlab Candidate -> aioice Candidate."""
    return aioice.Candidate(foundation=c.foundation, component=c.component, transport=c.transport,
                            priority=c.priority, host=c.address, port=c.port, type=c.type,
                            related_address=c.raddr, related_port=c.rport, tcptype=c.tcptype)


def ignored_options(o):
    """The options given that aioice has no knob for, each with why: one
    `log` line names them all."""
    out = []
    why = {
        "--ta-ms": "checks are paced every 20 ms (fixed in Connection.connect)",
        "--nominate-wait-ms": "the controlling side nominates every pair it checks",
        "--nominate-relay-first": "no renomination",
        "--interface": "host candidates come from every interface (netifaces)",
        "--tcp": "no ICE-TCP",
        "--turn-dual": "no REQUESTED-ADDRESS-FAMILY",
        "--seed": "credentials and tie-breaker come from the secrets module",
        "--trickle": "aioice does not trickle its own candidates: `local` comes complete",
    }
    for opt in o.given:
        if opt in why:
            out.append("%s (%s)" % (opt, why[opt]))
    if "--nomination" in o.given and o.nomination == "regular":
        out.append("--nomination regular (aioice nominates aggressively: every check it makes "
                   "as controlling carries USE-CANDIDATE)")
    if o.policy == "nohost":
        out.append("--policy nohost (aioice has only all and relay)")
    if o.dataplane == "datachannel":
        out.append("--dataplane datachannel (this adapter has the datagram plane only)")
    if len(o.stun) > 1:
        out.append("--stun beyond the first (aioice takes one STUN server): %s"
                   % ", ".join("%s:%d" % s for s in o.stun[1:]))
    return out


def tune_stack(o, writer):
    """Maps the timer options onto aioice's module constants (its only
    knobs for them) and says what they became."""
    said = []
    if o.rto_ms is not None:
        aioice_stun.RETRY_RTO = o.rto_ms / 1000.0
        said.append("STUN RTO %d ms (--rto-ms)" % o.rto_ms)
    if o.retransmits is not None:
        aioice_stun.RETRY_MAX = o.retransmits - 1
        said.append("%d transmissions per transaction (--retransmits)" % o.retransmits)
    interval_ms = int(aioice_ice.CONSENT_INTERVAL * 1000)
    if o.keepalive_ms is not None:
        if o.keepalive_ms == 0:
            aioice_ice.CONSENT_INTERVAL = 10 ** 9
            said.append("consent checks off (--keepalive-ms 0)")
        else:
            interval_ms = o.keepalive_ms
            aioice_ice.CONSENT_INTERVAL = o.keepalive_ms / 1000.0
            said.append("consent check every %d ms ±20 %% (--keepalive-ms)" % o.keepalive_ms)
    if o.consent_timeout_ms is not None and o.keepalive_ms != 0:
        # aioice counts consecutive unanswered checks (each sent once)
        n = max(1, math.ceil(o.consent_timeout_ms / interval_ms))
        aioice_ice.CONSENT_FAILURES = n
        said.append("consent lost after %d unanswered checks (--consent-timeout-ms %d)"
                    % (n, o.consent_timeout_ms))
    if said:
        writer.log("info", "aioice timers: " + "; ".join(said))


class Agent:
    def __init__(self, o, writer):
        self.o = o
        self.w = writer
        self.conn = None
        self.turn = None           # the TurnServer given to aioice
        self.gathering = None      # the gather task
        self.remote_creds = None
        self.pending = []          # remote candidates before the connection exists
        self.pending_end = False
        self.connect_task = None
        self.tasks = []
        self.mapped = {}           # (protocol id, remote addr) -> our address the check saw
        self.srflx = set()
        self.selected = {}         # component -> (local, remote) dicts last reported
        self.stopping = False
        self.runner = proto.DataPlaneRunner(writer, self._send)

    # ---- gathering -----------------------------------------------------

    async def _choose_servers(self):
        """(stun (host, port) | None, TurnServer | None) after probing."""
        o = self.o
        timeout_s = (o.gather_timeout_ms if o.gather_timeout_ms is not None else GATHER_TIMEOUT_MS) / 1000.0
        rto_s = (o.rto_ms or 100) / 1000.0
        targets = []
        stun = o.stun[0] if o.stun and o.policy != "relay" else None
        if stun:
            targets.append(("stun", "udp", stun[0], stun[1]))
        for t in o.turn:
            targets.append((repr(t), t.transport, t.host, t.port))
        results = await serverprobe.probe_all(targets, timeout_s, rto_s) if targets else {}
        udp_out = any(t.transport == "udp" and results.get(repr(t)) is True for t in o.turn)
        if stun and results.get("stun") is not True:
            if udp_out:
                # UDP gets out (a TURN server answered over it): a lost
                # probe on a loaded host, not a blocked network; aioice
                # asks the STUN server itself, for up to 5 s
                self.w.log("info", "STUN server %s:%d: %s, but UDP gets out: given to aioice"
                           % (stun[0], stun[1], results.get("stun")))
            else:
                self.w.log("warning", "STUN server %s:%d: %s (--gather-timeout-ms) and no UDP "
                           "server answered: left out, as aioice would wait a fixed 5 s for it"
                           % (stun[0], stun[1], results.get("stun")))
                stun = None
        turn, others = serverprobe.first_answering(o.turn, results)
        if o.turn:
            self.w.log("info" if turn else "warning",
                       "TURN: %s; aioice takes one TURN server per connection, not using %s" % (
                           "using %r" % turn if turn else "no offered server answered",
                           ", ".join("%r (%s)" % (s, why) for s, why in others) or "none"))
        return stun, turn

    def _connection(self, stun, turn):
        o = self.o
        kw = {}
        if turn:
            kw = dict(turn_server=(turn.host, turn.port), turn_username=o.turn_user,
                      turn_password=o.turn_pass, turn_transport="udp" if turn.transport == "udp" else "tcp",
                      turn_ssl=serverprobe.tls_context() if turn.transport == "tls" else False)
        policy = aioice_ice.TransportPolicy.ALL
        if o.policy == "relay":
            policy = aioice_ice.TransportPolicy.RELAY
        return aioice.Connection(ice_controlling=o.role == "controlling", components=o.components,
                                 stun_server=stun, transport_policy=policy, **kw)

    async def gather(self):
        self.w.emit("state", state="gathering")
        stun, turn = await self._choose_servers()
        if self.o.policy == "relay" and not turn:
            self.w.log("error", "--policy relay and no TURN server answered: no candidates")
            self.w.emit("local", ufrag=random_string(4), pwd=random_string(22), candidates=[],
                        complete=True)
            return
        if self.o.policy == "relay":
            self.w.log("warning", "--policy relay: aioice leaves host and server-reflexive candidates "
                       "out of `local` but still checks from its host sockets (the peer may learn "
                       "them as peer-reflexive)")
        conn = self._connection(stun, turn)
        try:
            await conn.gather_candidates()
        except Exception as e:  # aioice raises whatever its TURN client met
            self.w.log("warning", "aioice's gathering failed with TURN %r (%s: %s): gathering again "
                       "without TURN" % (turn, type(e).__name__, e))
            await self._close(conn)
            turn = None
            conn = self._connection(stun, None)
            await conn.gather_candidates()
        self.conn, self.turn = conn, turn
        for p in conn._protocols:
            self._note_mapped(p)
        cands = conn.local_candidates
        self.srflx = {(c.host, c.port) for c in cands if c.type == "srflx"}
        self.w.emit("local", ufrag=conn.local_username, pwd=conn.local_password,
                    candidates=[_wire_cand(c) for c in cands], complete=True)
        for c in self.pending:
            await self._add(c)
        self.pending = []
        if self.pending_end:
            await conn.add_remote_candidate(None)
        self._maybe_connect()

    def _note_mapped(self, protocol):
        """Wraps @protocol.request so that a Binding answer's
        XOR-MAPPED-ADDRESS (our address as the peer saw it, RFC 8445
        §7.2.5.3.1) is kept for `selected`: aioice itself drops it."""
        orig = protocol.request

        async def request(req, addr, *args, **kw):
            resp, raddr = await orig(req, addr, *args, **kw)
            xma = resp.attributes.get("XOR-MAPPED-ADDRESS")
            if xma and req.message_method == aioice_stun.Method.BINDING:
                self.mapped[(id(protocol), tuple(addr))] = tuple(xma)
            return resp, raddr
        protocol.request = request

    # ---- remote side ---------------------------------------------------

    async def _add(self, c):
        if c.transport != "udp":
            self.w.log("warning", "skipped remote candidate %s: aioice has no ICE-TCP" % c)
            return
        if c.type == "prflx":
            self.w.log("warning", "skipped remote candidate %s: aioice takes host, srflx and relay "
                       "candidates only" % c)
            return
        if self.conn is None:
            self.pending.append(c)
        else:
            await self.conn.add_remote_candidate(_aio_cand(c))

    async def remote(self, cmd):
        creds = (cmd["ufrag"], cmd["pwd"])
        if self.remote_creds and creds != self.remote_creds:
            self.w.error("remote: new ufrag/pwd (the peer restarted ICE): aioice 0.8.0 has no ICE "
                         "restart, so this agent keeps the old ones")
            return
        self.remote_creds = creds
        for c in cmd["candidates"]:
            await self._add(c)
        self._maybe_connect()

    async def candidate(self, cmd):
        if cmd["candidate"] is None:
            return
        if self.pending_end or (self.conn and self.conn._remote_candidates_end):
            self.w.error("candidate after end-of-candidates: ignored")
            return
        await self._add(cmd["candidate"])

    async def end_of_candidates(self):
        if self.pending_end:
            return
        self.pending_end = True
        if self.conn is not None and not self.conn._remote_candidates_end:
            await self.conn.add_remote_candidate(None)

    # ---- checks and selection -----------------------------------------

    def _maybe_connect(self):
        if self.conn is None or self.remote_creds is None or self.connect_task is not None:
            return
        self.conn.remote_username, self.conn.remote_password = self.remote_creds
        self.connect_task = asyncio.ensure_future(self._connect())

    def _ends(self, pair):
        lc, rc = pair.local_candidate, pair.remote_candidate
        local = {"type": lc.type, "transport": "udp", "address": lc.host, "port": lc.port}
        if lc.type == "relay":
            local["relay_transport"] = self.turn.transport if self.turn else "udp"
        else:
            m = self.mapped.get((id(pair.protocol), tuple(pair.remote_addr)))
            if m and m != (lc.host, lc.port):
                local["type"] = "srflx" if m in self.srflx else "prflx"
                local["address"], local["port"] = m[0], m[1]
        remote = {"type": rc.type, "transport": "udp", "address": rc.host, "port": rc.port}
        return local, remote

    def _report_pairs(self):
        for comp, pair in sorted(self.conn._nominated.items()):
            local, remote = self._ends(pair)
            before = self.selected.get(comp)
            if before == (local, remote):
                continue
            self.selected[comp] = (local, remote)
            self.w.emit("switched" if before else "selected", component=comp,
                        local=local, remote=remote)

    async def _connect(self):
        self.w.emit("state", state="checking")
        try:
            await self.conn.connect()
        except ConnectionError as e:
            if not self.stopping:
                self.w.emit("state", state="failed")
                self.w.emit("failed", reason="aioice: %s" % e)
            return
        self.w.emit("state", state="connected")
        self._report_pairs()
        self.w.emit("state", state="completed")
        self.tasks.append(asyncio.ensure_future(self._receive()))
        self.tasks.append(asyncio.ensure_future(self._watch()))
        self.tasks.append(asyncio.ensure_future(self._events()))

    async def _receive(self):
        while True:
            try:
                data, comp = await self.conn.recvfrom()
            except ConnectionError:
                return
            if comp == 1:
                self.runner.received(data)

    async def _watch(self):
        """A pair nominated after completion (a triggered check the peer
        started) replaces the selected one in aioice: report it."""
        while not self.stopping and self.conn._nominated:
            self._report_pairs()
            await asyncio.sleep(0.1)

    async def _events(self):
        ev = await self.conn.get_event()
        if isinstance(ev, aioice_ice.ConnectionClosed) and not self.stopping:
            # only query_consent closes a connection we did not close
            for comp, (local, remote) in sorted(self.selected.items()):
                self.w.emit("consent-lost", component=comp, local=local, remote=remote)
            self.w.emit("state", state="disconnected")

    # ---- data ----------------------------------------------------------

    async def _send(self, data):
        await self.conn.send(data)

    def send(self, cmd):
        if self.conn is None or 1 not in self.conn._nominated:
            self.w.error("send: no selected pair yet")
            return
        try:
            self.runner.start(cmd["n"], cmd["size"], cmd["interval_ms"])
        except (ValueError, RuntimeError) as e:
            self.w.error("send: %s" % e)

    # ---- commands ------------------------------------------------------

    async def handle(self, cmd):
        name = cmd["cmd"]
        if name == "gather":
            if self.gathering is None:
                self.gathering = asyncio.ensure_future(self._gather_guarded())
            else:
                self.w.error("gather: already gathered (aioice gathers once per connection)")
        elif name == "remote":
            await self.remote(cmd)
        elif name == "candidate":
            await self.candidate(cmd)
        elif name == "end-of-candidates":
            await self.end_of_candidates()
        elif name == "send":
            self.send(cmd)
        elif name == "restart":
            self.w.error("restart: aioice 0.8.0 has no ICE restart (declared \"restart\": false)")
        elif name == "stop":
            return False
        return True

    async def _gather_guarded(self):
        try:
            await self.gather()
        except Exception as e:
            self.w.emit("failed", reason="gathering failed: %s: %s" % (type(e).__name__, e))

    async def _close(self, conn):
        try:
            await asyncio.wait_for(conn.close(), 2.0)
        except (asyncio.TimeoutError, OSError, ConnectionError):
            pass

    async def close(self):
        self.stopping = True
        for t in self.tasks + [self.connect_task, self.gathering, self.runner.task]:
            if t is not None and not t.done():
                t.cancel()
        if self.conn is not None:
            await self._close(self.conn)
        self.w.emit("state", state="closed")


async def run(o, writer):
    reader = await proto.stdin_reader()
    agent = Agent(o, writer)
    await proto.read_commands(reader, writer, agent.handle)
    await agent.close()


def start(o, writer):
    """Runs the agent: @o parsed options, @writer the event writer that
    already sent `ready` (natlab-aiortc sends it before importing aioice,
    which takes a quarter of a second on a loaded host)."""
    if o.verbose:
        logging.basicConfig(stream=sys.stderr, level=logging.DEBUG,
                            format="%(relativeCreated)d %(name)s %(message)s")
    tune_stack(o, writer)
    ignored = ignored_options(o)
    if ignored:
        writer.log("warning", "ignored (aioice has no such knob): " + "; ".join(ignored))
    try:
        asyncio.run(run(o, writer))
    except KeyboardInterrupt:
        pass
    return 0
