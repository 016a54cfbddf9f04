"""proto.py - the JSON-lines side of docs/agent-protocol.md: events out
(EventWriter: one object per line, `ev` and an integer `t_ms` from a
monotonic clock, flushed), commands in (parse_command, read_commands:
a malformed line becomes an `error` event and the agent goes on; end of
stdin ends the reader), and the data plane driven by asyncio
(DataPlaneRunner: sends on a timer, answers acknowledgements, reports
`rx` and, after 1 s of silence, `data`).
"""
import asyncio
import json
import os
import stat
import sys
import threading
import time

from . import candidate as candmod
from . import dataplane

LINE_MAX = 1 << 20  # a command line longer than this is refused
CRED_MAX = 256      # ufrag/pwd longer than this are refused (RFC 8445 §5.3 wants 4..256 / 22..256)


class ProtocolError(ValueError):
    """A command line that cannot be honoured; its text is the `error`."""


class EventWriter:
    """Events to @stream (stdout). t_ms counts from the writer's creation,
    which an adapter does first thing."""

    def __init__(self, stream=None, clock=time.monotonic, t0=None):
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.t0 = clock() if t0 is None else t0

    def now_ms(self):
        return int((self.clock() - self.t0) * 1000)

    def now_us(self):
        return int((self.clock() - self.t0) * 1000000)

    def emit(self, ev, **fields):
        obj = {"ev": ev, "t_ms": self.now_ms()}
        obj.update(fields)
        # json.dumps never writes a raw newline: one event, one line
        self.stream.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self.stream.flush()

    def log(self, level, msg):
        self.emit("log", level=level, msg=msg)

    def error(self, msg):
        self.emit("error", msg=msg)


def _cred(obj, key):
    v = obj.get(key)
    if not isinstance(v, str):
        raise ProtocolError('"%s" must be a string' % key)
    if len(v) > CRED_MAX:
        raise ProtocolError('"%s" is longer than %d bytes' % (key, CRED_MAX))
    return v


def _cand(v, skipped):
    """One candidate value -> Candidate, or None (unusable: noted in
    @skipped as (line, why))."""
    if not isinstance(v, str):
        raise ProtocolError("candidates must be a=candidate strings")
    try:
        return candmod.parse(v)
    except candmod.CandidateUnusable as e:
        skipped.append((v, str(e)))
        return None
    except candmod.CandidateSyntaxError as e:
        raise ProtocolError('bad candidate "%.120s": %s' % (v, e)) from None


def _uint(obj, key, hi, default):
    v = obj.get(key, default)
    if v is None:
        raise ProtocolError('"%s" is missing' % key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProtocolError('"%s" must be an integer' % key)
    if not 0 <= v <= hi:
        raise ProtocolError('"%s" must be within 0..%d' % (key, hi))
    return v


def parse_command(line):
    """One stdin line -> a dict with "cmd" and the command's fields
    (remote: ufrag, pwd, candidates [Candidate], skipped [(line, why)],
    session (dict or None); candidate: candidate (Candidate or None),
    skipped; send: n, size, interval_ms). ProtocolError otherwise."""
    if len(line) > LINE_MAX:
        raise ProtocolError("line longer than %d bytes" % LINE_MAX)
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise ProtocolError("bad JSON: %s" % e) from None
    if not isinstance(obj, dict):
        raise ProtocolError("a command must be a JSON object")
    name = obj.get("cmd")
    if not isinstance(name, str):
        raise ProtocolError('"cmd" is missing or not a string')
    cmd = {"cmd": name}
    if name in ("gather", "end-of-candidates", "restart", "stop"):
        return cmd
    if name == "remote":
        cmd["ufrag"] = _cred(obj, "ufrag")
        cmd["pwd"] = _cred(obj, "pwd")
        cands = obj.get("candidates", [])
        if not isinstance(cands, list):
            raise ProtocolError('"candidates" must be an array')
        cmd["skipped"] = []
        cmd["candidates"] = [c for c in (_cand(v, cmd["skipped"]) for v in cands) if c]
        session = obj.get("session")
        if session is not None and not isinstance(session, dict):
            raise ProtocolError('"session" must be an object')
        cmd["session"] = session
        return cmd
    if name == "candidate":
        cmd["skipped"] = []
        cmd["candidate"] = _cand(obj.get("candidate"), cmd["skipped"])
        return cmd
    if name == "send":
        cmd["n"] = _uint(obj, "n", dataplane.N_MAX, None)
        cmd["size"] = _uint(obj, "size", dataplane.SIZE_MAX, 100)
        cmd["interval_ms"] = _uint(obj, "interval_ms", 60000, 20)
        if cmd["n"] == 0:
            raise ProtocolError('"n" must be within 1..%d' % dataplane.N_MAX)
        return cmd
    raise ProtocolError('unknown command "%.40s"' % name)


def _feed_from_thread(loop, reader, fd):
    """Blocking reads of @fd in a thread, handed to @reader in the loop:
    for a stdin epoll cannot watch (a file, /dev/null)."""
    def run():
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                loop.call_soon_threadsafe(reader.feed_eof)
                return
            loop.call_soon_threadsafe(reader.feed_data, chunk)
    threading.Thread(target=run, name="stdin", daemon=True).start()


async def stdin_reader(loop=None):
    """An asyncio StreamReader on stdin: the pipe from the harness, or
    whatever a person started the adapter with (a file, /dev/null)."""
    loop = loop or asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_MAX + 2, loop=loop)
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), sys.stdin)
    else:
        _feed_from_thread(loop, reader, sys.stdin.fileno())
    return reader


async def read_commands(reader, writer, handle):
    """Reads command lines from @reader until end of input; each good one
    goes to `await handle(cmd)`, each bad one becomes an `error` event
    (and unusable candidates `log` warnings). Returns at EOF or when
    handle returns False (stop)."""
    while True:
        try:
            raw = await reader.readline()
        except ValueError:  # longer than the limit: skip to the next line
            writer.error("line longer than %d bytes" % LINE_MAX)
            continue
        if not raw:
            return
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            continue
        try:
            cmd = parse_command(line)
        except ProtocolError as e:
            writer.error(str(e))
            continue
        for c, why in cmd.get("skipped", []):
            writer.log("warning", "skipped remote candidate %s: %s" % (c, why))
        if await handle(cmd) is False:
            return


class DataPlaneRunner:
    """The data plane of one agent over some carrier: `send(bytes)` (a
    callable; may return an awaitable) puts one message on the selected
    pair. Call start() on `send` and feed every message that arrives to
    received(); the runner sends on time, acknowledges, emits `rx` and
    `data` through @writer."""

    def __init__(self, writer, send):
        self.writer = writer
        self.send = send
        self.dp = dataplane.DataPlane()
        self.wake = asyncio.Event()
        self.task = None

    def start(self, n, size, interval_ms):
        """Starts a run; ValueError/RuntimeError as DataPlane.start."""
        self.dp.start(n, size, interval_ms * 1000, self.writer.now_us())
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())
        self.wake.set()

    async def _put(self, data):
        try:
            r = self.send(data)
            if asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
                await r
        except (ConnectionError, OSError) as e:
            self.writer.log("warning", "data plane: send failed: %s" % e)

    def received(self, data):
        """A message arrived on the pair; anything not the data plane's is
        ignored (returns False)."""
        r = self.dp.input(data, self.writer.now_us())
        if r is None:
            return False
        kind, seq, ack = r
        if kind == "data":
            self.writer.emit("rx", seq=seq, size=len(data))
            asyncio.ensure_future(self._put(ack))
        self.wake.set()
        return True

    async def _run(self):
        while True:
            now = self.writer.now_us()
            msg = self.dp.next_send(now)
            while msg is not None:
                await self._put(msg)
                msg = self.dp.next_send(self.writer.now_us())
            report = self.dp.report_due(self.writer.now_us())
            if report is not None:
                self.writer.emit("data", **report)
            due = self.dp.deadline_us()
            if due is None:
                return
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(),
                                       max(0.0, (due - self.writer.now_us()) / 1e6))
            except asyncio.TimeoutError:
                pass
