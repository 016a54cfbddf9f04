"""dataplane.py - numbered, acknowledged data-plane messages
(docs/agent-protocol.md, "The data plane" and "Message layout"), the same
rules as natlab-ice's agents/ice/dataplane.c. Pure: the caller passes the
time (microseconds, any monotonic origin) and moves the bytes.

Layout, all integers big-endian:
  0  u8   magic 0xE1 (outside every RFC 7983 range: STUN, DTLS, TURN
          channels, RTP never start with it)
  1  u8   kind: 1 data, 2 acknowledgement
  2  u16  reserved, 0 (ignored on receipt)
  4  u32  seq, from 0 (an ack carries the seq it acknowledges)
  8  u64  t_us, the sender's timestamp (an ack echoes it)
 16  u32  total: how many data messages the run sends (an ack echoes it)
 20  ...  zero padding up to the requested size (data only)
"""
import struct

MAGIC = 0xE1
KIND_DATA = 1
KIND_ACK = 2
HEADER_LEN = 20
SIZE_MAX = 1400
N_MAX = 1000000
# After our last message and the peer's last one, this much silence ends
# the run and produces the `data` report.
QUIET_US = 1000000

_HEADER = struct.Struct("!BBHIQI")


def check(n, size):
    """Whether a run of @n messages of @size bytes is within bounds."""
    return 1 <= n <= N_MAX and 0 <= size <= SIZE_MAX


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list (as dataplane.c)."""
    k = (len(sorted_values) * pct + 99) // 100 - 1
    return sorted_values[max(0, k)]


class DataPlane:
    """One agent's side: our run (start, next_send, acks) and the peer's
    messages (input), and the report once both went quiet."""

    def __init__(self):
        self.running = False
        self.n = self.size = self.next_seq = 0
        self.interval_us = self.next_us = self.last_activity_us = 0
        self.acked = set()
        self.rtt_ms = []
        self.seen = set()
        self.first_rx_us = None

    def start(self, n, size, interval_us, now_us):
        """Start a run of @n messages of @size bytes (padded to 20), one
        every @interval_us from @now_us. ValueError out of bounds,
        RuntimeError while a run goes on."""
        if self.running:
            raise RuntimeError("a send is still running")
        if not check(n, size):
            raise ValueError("n must be 1..%d and size at most %d" % (N_MAX, SIZE_MAX))
        self.running = True
        self.n, self.size = n, max(size, HEADER_LEN)
        self.next_seq = 0
        self.acked = set()
        self.rtt_ms = []
        self.interval_us = interval_us
        self.next_us = now_us
        self.last_activity_us = now_us

    def next_send(self, now_us):
        """The next data message when one is due at @now_us, else None."""
        if not self.running or self.next_seq >= self.n or now_us < self.next_us:
            return None
        msg = _HEADER.pack(MAGIC, KIND_DATA, 0, self.next_seq, now_us, self.n)
        msg += bytes(self.size - HEADER_LEN)
        self.next_seq += 1
        self.next_us += self.interval_us
        if self.next_us < now_us:
            self.next_us = now_us  # a late caller does not burst
        self.last_activity_us = now_us
        return msg

    def input(self, data, now_us):
        """A message arrived. Returns ("data", seq, ack_bytes) for a peer
        data message (send ack_bytes back; duplicates too), ("ack", seq,
        None) for an acknowledgement, None for anything else."""
        if len(data) < HEADER_LEN or data[0] != MAGIC:
            return None
        _, kind, _, seq, t_us, _ = _HEADER.unpack_from(data)
        if kind == KIND_DATA:
            if seq >= N_MAX:
                return None
            self.seen.add(seq)
            if self.first_rx_us is None:
                self.first_rx_us = now_us
            self.last_activity_us = now_us
            ack = bytes([MAGIC, KIND_ACK]) + bytes(data[2:HEADER_LEN])
            return ("data", seq, ack)
        if kind == KIND_ACK:
            # late (no run), forged (never sent) or duplicate: not counted
            if self.running and seq < self.next_seq and seq not in self.acked:
                self.acked.add(seq)
                if t_us <= now_us:
                    self.rtt_ms.append((now_us - t_us) / 1000.0)
                self.last_activity_us = now_us
            return ("ack", seq, None)
        return None

    def deadline_us(self):
        """When the caller must call in next (a message due, or the quiet
        period ending); None when idle."""
        if not self.running:
            return None
        if self.next_seq < self.n:
            return self.next_us
        return self.last_activity_us + QUIET_US

    def report_due(self, now_us):
        """Once, when our run is over and both sides were quiet for
        QUIET_US: the `data` event's fields; else None. Peer messages are
        counted from one report to the next."""
        if not self.running or self.next_seq < self.n or now_us < self.last_activity_us + QUIET_US:
            return None
        self.running = False
        rtt = sorted(self.rtt_ms)
        r = {
            "sent": self.next_seq,
            "received": len(self.seen),
            "acked": len(self.acked),
            "lost": self.next_seq - len(self.acked),
            "rtt_ms_median": rtt[(len(rtt) - 1) // 2] if rtt else None,
            "rtt_ms_p95": percentile(rtt, 95) if rtt else None,
        }
        self.seen = set()
        return r
