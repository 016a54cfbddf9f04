// dataplane.js - the agent protocol's data plane (docs/agent-protocol.md,
// "The data plane" and "Message layout"): numbered messages, their
// acknowledgements, loss and RTT, for adapters that carry the messages on a
// WebRTC data channel.
//
// Pure JavaScript with no Node-only API (Uint8Array and DataView, no
// Buffer; timers only in Runner, through setTimeout): the same file runs in
// Node (require) and in a web page (a <script>, or injected by the browsers
// adapter), where it defines globalThis.natlabDataplane.
//
// Two layers, as agents/ice/dataplane.c is for natlab-ice:
// - Plane: the bookkeeping, driven by the caller with times in
//   microseconds (tested with a fake clock);
// - Runner: drives a Plane with setTimeout and a clock, sends through a
//   callback and emits the protocol's `rx`, `data` and `error` events.
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.natlabDataplane = api;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  // The layout, all integers big-endian:
  //   0 u8 magic 0xE1 | 1 u8 kind (1 data, 2 ack) | 2 u16 reserved 0
  //   4 u32 seq | 8 u64 t_us (sender's clock, echoed) | 16 u32 total (n)
  //   20.. zero padding up to the message's size (data only)
  const MAGIC = 0xe1;
  const KIND_DATA = 1;
  const KIND_ACK = 2;
  const HEADER_LEN = 20;
  const SIZE_MAX = 1400;
  const SIZE_DEFAULT = 100;
  const INTERVAL_MS_DEFAULT = 20;
  const N_MAX = 1000000;
  // After our last message and the peer's last one, this much silence
  // ends the run and produces the `data` event.
  const QUIET_US = 1000000;
  const TWO_32 = 4294967296;

  // checkSend(n, size, interval_ms) -> null | message: whether a `send`
  // command's numbers are within the protocol's bounds.
  function checkSend(n, size, intervalMs) {
    if (!Number.isInteger(n) || n < 1 || n > N_MAX) return `"n" must be an integer 1..${N_MAX}`;
    if (size !== undefined && (!Number.isInteger(size) || size < 0 || size > SIZE_MAX))
      return `"size" must be an integer 0..${SIZE_MAX} (below ${HEADER_LEN} it is padded)`;
    if (intervalMs !== undefined && (typeof intervalMs !== 'number' || !(intervalMs >= 0)))
      return '"interval_ms" must be a number >= 0';
    return null;
  }

  // makeData(seq, t_us, total, size) -> Uint8Array: one data message.
  function makeData(seq, tUs, total, size) {
    const b = new Uint8Array(Math.max(size, HEADER_LEN));
    const v = new DataView(b.buffer);
    v.setUint8(0, MAGIC);
    v.setUint8(1, KIND_DATA);
    v.setUint32(4, seq >>> 0);
    v.setUint32(8, Math.floor(tUs / TWO_32));
    v.setUint32(12, tUs % TWO_32);
    v.setUint32(16, total >>> 0);
    return b;
  }

  // parse(bytes) -> null | {kind, seq, t_us, total}: null for anything
  // that is not the data plane's (short, another magic or kind).
  function parse(bytes) {
    if (!(bytes instanceof Uint8Array)) {
      if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
      else if (bytes && bytes.buffer instanceof ArrayBuffer)
        bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      else return null;
    }
    if (bytes.length < HEADER_LEN || bytes[0] !== MAGIC) return null;
    const kind = bytes[1];
    if (kind !== KIND_DATA && kind !== KIND_ACK) return null;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return {
      kind,
      seq: v.getUint32(4),
      t_us: v.getUint32(8) * TWO_32 + v.getUint32(12),
      total: v.getUint32(16),
      size: bytes.length,
      bytes,
    };
  }

  // makeAck(bytes) -> Uint8Array: the acknowledgement of a data message,
  // its first 20 bytes with kind 2.
  function makeAck(bytes) {
    const a = new Uint8Array(HEADER_LEN);
    a.set(bytes.subarray(0, HEADER_LEN));
    a[1] = KIND_ACK;
    return a;
  }

  // median and nearest-rank 95th percentile of a sorted array
  function percentiles(sorted) {
    if (sorted.length === 0) return { median: null, p95: null };
    return {
      median: sorted[Math.floor((sorted.length - 1) / 2)],
      p95: sorted[Math.ceil((sorted.length * 95) / 100) - 1],
    };
  }

  // Plane: one agent's side of the data plane. Times are microseconds on
  // any monotonic clock; the caller moves the bytes.
  class Plane {
    constructor() {
      this.running = false;
      this.seen = new Set(); // peer seqs since the previous report
      this.firstRxUs = 0;
      this.firstAckUs = 0;
      this.lastActivityUs = 0;
    }

    // start(n, size, interval_ms, now_us) -> null | message (busy, bounds)
    start(n, size, intervalMs, nowUs) {
      if (this.running) return 'a send is still running (wait for its data event)';
      const bad = checkSend(n, size, intervalMs);
      if (bad) return bad;
      this.running = true;
      this.n = n;
      this.size = Math.max(size === undefined ? SIZE_DEFAULT : size, HEADER_LEN);
      this.intervalUs = (intervalMs === undefined ? INTERVAL_MS_DEFAULT : intervalMs) * 1000;
      this.nextSeq = 0;
      this.nextUs = nowUs;
      this.acked = new Set();
      this.rtt = [];
      this.lastActivityUs = nowUs;
      return null;
    }

    // nextSend(now_us) -> Uint8Array | null: the message due now, if any.
    nextSend(nowUs) {
      if (!this.running || this.nextSeq >= this.n || nowUs < this.nextUs) return null;
      const m = makeData(this.nextSeq, Math.floor(nowUs), this.n, this.size);
      this.nextSeq++;
      this.nextUs += this.intervalUs;
      if (this.nextUs < nowUs) this.nextUs = nowUs; // a late caller does not burst
      this.lastActivityUs = nowUs;
      return m;
    }

    // input(bytes, now_us) -> null | {kind:'data', seq, size, dup, reply}
    //   | {kind:'ack', seq, rtt_ms|null}
    // Every copy of a data message is acknowledged (reply); duplicates
    // count once. An ack of nothing we sent (late, forged, duplicate)
    // gives no RTT.
    input(bytes, nowUs) {
      const m = parse(bytes);
      if (!m) return null;
      if (m.kind === KIND_DATA) {
        const dup = this.seen.has(m.seq);
        this.seen.add(m.seq);
        if (!this.firstRxUs) this.firstRxUs = nowUs;
        this.lastActivityUs = nowUs;
        return { kind: 'data', seq: m.seq, size: m.size, dup, reply: makeAck(m.bytes) };
      }
      if (!this.firstAckUs) this.firstAckUs = nowUs;
      if (!this.running || m.seq >= this.nextSeq || this.acked.has(m.seq))
        return { kind: 'ack', seq: m.seq, rtt_ms: null };
      this.acked.add(m.seq);
      let rtt = null;
      if (m.t_us <= nowUs) {
        rtt = (nowUs - m.t_us) / 1000;
        this.rtt.push(rtt);
      }
      this.lastActivityUs = nowUs;
      return { kind: 'ack', seq: m.seq, rtt_ms: rtt };
    }

    // deadline() -> microseconds | Infinity: when the caller must call in
    // again (a message due, or the quiet period ending).
    deadline() {
      if (!this.running) return Infinity;
      if (this.nextSeq < this.n) return this.nextUs;
      return this.lastActivityUs + QUIET_US;
    }

    // reportDue(now_us) -> null | the `data` event's fields, once, when our
    // run finished and the peer has been quiet for a second.
    reportDue(nowUs) {
      if (!this.running || this.nextSeq < this.n || nowUs < this.lastActivityUs + QUIET_US)
        return null;
      this.running = false;
      const sorted = this.rtt.slice().sort((a, b) => a - b);
      const p = percentiles(sorted);
      const r = {
        sent: this.nextSeq,
        received: this.seen.size,
        acked: this.acked.size,
        lost: this.nextSeq - this.acked.size,
        rtt_ms_median: p.median,
        rtt_ms_p95: p.p95,
      };
      // peer messages are counted from one report to the next
      this.seen = new Set();
      return r;
    }
  }

  function defaultNowUs() {
    return performance.now() * 1000;
  }

  // Runner: a Plane on a real clock. opts: send(Uint8Array) (throws or
  // returns false when the channel cannot take it), emit(ev, fields),
  // now_us() (default performance.now), setTimeout/clearTimeout.
  // A `send` before the channel is open waits for open(); fail(why)
  // answers a waiting `send` with an error.
  class Runner {
    constructor(opts) {
      this.plane = new Plane();
      this.sendBytes = opts.send;
      this.emit = opts.emit;
      this.nowUs = opts.now_us || defaultNowUs;
      this.setT = opts.setTimeout || ((f, ms) => setTimeout(f, ms));
      this.clearT = opts.clearTimeout || ((t) => clearTimeout(t));
      this.isOpen = false;
      this.pending = null;
      this.timer = null;
    }

    // open(): the channel can carry messages now.
    open() {
      this.isOpen = true;
      if (this.pending) {
        const c = this.pending;
        this.pending = null;
        this.start(c);
      }
      this.kick();
    }

    // fail(why): the channel will not open (or closed).
    fail(why) {
      this.isOpen = false;
      if (this.pending) {
        this.pending = null;
        this.emit('error', { msg: `send: ${why}` });
      }
    }

    // command(cmd): the protocol's `send` command.
    command(cmd) {
      const bad = checkSend(cmd.n, cmd.size, cmd.interval_ms);
      if (bad) return this.emit('error', { msg: `send: ${bad}` });
      if (this.plane.running || this.pending)
        return this.emit('error', { msg: 'send: a send is still running (wait for its data event)' });
      if (!this.isOpen) {
        this.pending = cmd;
        return;
      }
      this.start(cmd);
    }

    start(cmd) {
      const bad = this.plane.start(cmd.n, cmd.size, cmd.interval_ms, this.nowUs());
      if (bad) return this.emit('error', { msg: `send: ${bad}` });
      this.kick();
    }

    // input(bytes): a message arrived on any channel.
    input(bytes) {
      const r = this.plane.input(bytes, this.nowUs());
      if (!r) return;
      if (r.kind === 'data') {
        this.emit('rx', { seq: r.seq, size: r.size });
        this.transmit(r.reply);
      }
      this.kick();
    }

    transmit(bytes) {
      try {
        this.sendBytes(bytes);
      } catch (e) {
        // an unreliable channel may refuse when its buffer is full: that
        // message is lost, which the counts show
      }
    }

    kick() {
      if (this.timer !== null) this.clearT(this.timer);
      this.timer = null;
      const now = this.nowUs();
      for (let m = this.plane.nextSend(now); m; m = this.plane.nextSend(now)) {
        if (this.isOpen) this.transmit(m);
      }
      const rep = this.plane.reportDue(now);
      if (rep) this.emit('data', rep);
      const dl = this.plane.deadline();
      if (dl === Infinity) return;
      this.timer = this.setT(() => {
        this.timer = null;
        this.kick();
      }, Math.max(0, Math.ceil((dl - this.nowUs()) / 1000)));
    }

    close() {
      if (this.timer !== null) this.clearT(this.timer);
      this.timer = null;
    }
  }

  return {
    MAGIC,
    KIND_DATA,
    KIND_ACK,
    HEADER_LEN,
    SIZE_MAX,
    N_MAX,
    QUIET_US,
    checkSend,
    makeData,
    makeAck,
    parse,
    percentiles,
    Plane,
    Runner,
  };
});
