"""serverprobe.py - which of the STUN/TURN servers an agent was given
answer from where it stands, asked all at once within one deadline.

Why: aioice 0.8.0 takes one STUN and one TURN server per connection, and
its gathering has no deadline of its own for them: a silent STUN server
costs a fixed 5 s, and a TURN server it cannot reach fails the *whole*
gathering (no candidates at all) after its STUN retransmissions run out
(63.5 s with its default 500 ms RTO) or the kernel gives up on the TCP
connection. The adapter asks every offered server once, in parallel,
before it builds the connection, and gives aioice the first one (in the
order offered) that answered. One STUN Binding request (RFC 8489 §6.1,
retransmitted every RTO) over UDP; a TCP connection, or a TCP connection
and TLS handshake, for TURN over TCP or TLS (RFC 8656 §3.1: a TURN server
answers Binding requests too, but connecting is what TURN over TCP needs).
"""
import asyncio
import os
import ssl
import struct

MAGIC_COOKIE = 0x2112A442  # RFC 8489 §5


def binding_request():
    """A STUN Binding request without attributes: (bytes, transaction id)."""
    txid = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, MAGIC_COOKIE) + txid, txid


def is_stun_answer(data, txid):
    """Whether @data is a STUN success or error response to @txid (RFC 8489
    §5: the two top bits 0, class bit C1 set, the magic cookie, our id)."""
    if len(data) < 20:
        return False
    mtype, _, cookie = struct.unpack_from("!HHI", data)
    return mtype & 0xC000 == 0 and mtype & 0x0100 != 0 and cookie == MAGIC_COOKIE and data[8:20] == txid


def tls_context():
    """The context TURN over TLS uses: the lab's servers present a
    throw-away self-signed certificate, so it is not verified (RFC 8656
    §3.1 leaves the trust model to the deployment)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, txid, done):
        self.txid = txid
        self.done = done

    def datagram_received(self, data, addr):
        if is_stun_answer(data, self.txid) and not self.done.done():
            self.done.set_result(True)

    def error_received(self, exc):
        pass  # ICMP unreachable: keep waiting, the deadline decides


async def probe_udp(host, port, rto_s):
    """Retransmit a Binding request to host:port every @rto_s (doubling)
    until an answer; cancelled by the caller's deadline."""
    loop = asyncio.get_running_loop()
    req, txid = binding_request()
    done = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Answer(txid, done),
                                                       remote_addr=(host, port))
    try:
        wait = rto_s
        while True:
            transport.sendto(req)
            try:
                return await asyncio.wait_for(asyncio.shield(done), wait)
            except asyncio.TimeoutError:
                wait *= 2
    finally:
        transport.close()


async def probe_stream(host, port, use_tls):
    """Connect over TCP (and do the TLS handshake): True once up."""
    _, w = await asyncio.open_connection(host, port, ssl=tls_context() if use_tls else None)
    w.close()
    try:
        await w.wait_closed()
    except (OSError, ssl.SSLError):
        pass
    return True


# When nothing at all answered within the deadline, the probes wait this
# long in all for a first answer: on a loaded host the agent itself may
# not have run (a Python process starved for a second), and aioice's own
# wait for a silent STUN server is 5 s.
SILENT_CAP_S = 5.0


def _answered(task):
    return task.done() and not task.cancelled() and task.exception() is None


async def probe_all(targets, timeout_s, rto_s=0.1, cap_s=SILENT_CAP_S):
    """@targets: list of (key, transport, host, port), transport "udp",
    "tcp" or "tls", most preferred first. Returns {key: True | "why
    not"} after @timeout_s (every probe runs at once), with two
    allowances for a slow host rather than a silent network, both within
    @cap_s: when none answered by then, the first answer is waited for;
    when a less preferred one answered after T seconds, the more preferred
    ones still pending get until 3 T."""
    async def one(transport, host, port):
        if transport == "udp":
            return await probe_udp(host, port, rto_s)
        return await probe_stream(host, port, transport == "tls")

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    answered_at = []

    def note(task):
        if _answered(task):
            answered_at.append(loop.time() - t0)

    tasks = [asyncio.ensure_future(one(t, h, p)) for _, t, h, p in targets]
    for task in tasks:
        task.add_done_callback(note)
    pending = set(tasks)
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        # an answer read in the loop iteration the deadline fired in has
        # not reached its task yet: let the loop run those callbacks
        for _ in range(3):
            await asyncio.sleep(0)
        pending = {t for t in pending if not t.done()}
    while pending and not any(_answered(t) for t in tasks) and loop.time() - t0 < cap_s:
        _, pending = await asyncio.wait(pending, timeout=cap_s - (loop.time() - t0),
                                        return_when=asyncio.FIRST_COMPLETED)
    while pending and answered_at:
        best = next(i for i, t in enumerate(tasks) if _answered(t))
        before = [t for t in tasks[:best] if not t.done()]
        until = min(cap_s, max(timeout_s, 3 * min(answered_at)))
        if not before or loop.time() - t0 >= until:
            break
        await asyncio.wait(before, timeout=until - (loop.time() - t0),
                           return_when=asyncio.FIRST_COMPLETED)
    waited_ms = int((loop.time() - t0) * 1000)
    out = {}
    for (key, _, _, _), task in zip(targets, tasks):
        if not task.done():
            task.cancel()
            out[key] = "no answer within %d ms" % waited_ms
        elif task.cancelled():
            out[key] = "cancelled"
        elif task.exception() is not None:
            e = task.exception()
            # asyncio's connect errors carry the errno and a text of its own
            out[key] = os.strerror(e.errno) if isinstance(e, OSError) and e.errno else str(e)
        else:
            out[key] = True
    for task in tasks:
        if not task.done():
            try:
                await task
            except BaseException:  # noqa: the cancellation we asked for
                pass
    return out


def first_answering(servers, results):
    """The first of @servers (in the order given) whose probe result is
    True, and the (server, why) of the others; (None, all) when none."""
    chosen, others = None, []
    for s in servers:
        r = results.get(repr(s))
        if chosen is None and r is True:
            chosen = s
        else:
            others.append((s, "not needed" if r is True else r))
    return chosen, others
