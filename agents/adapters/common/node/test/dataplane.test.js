// The data plane against the layout table of docs/agent-protocol.md,
// "Message layout", with a fake clock.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const dp = require('../dataplane.js');

test('a data message has the documented bytes', () => {
  const m = dp.makeData(0x01020304, 0x0000000a0b0c0d0e, 7, 24);
  assert.deepEqual(Array.from(m), [
    0xe1, 1, 0, 0, // magic, kind data, reserved
    1, 2, 3, 4, // seq
    0, 0, 0, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, // t_us
    0, 0, 0, 7, // total
    0, 0, 0, 0, // padding up to size
  ]);
});

test('a short size is padded to 20 bytes; the ack is 20 bytes with kind 2', () => {
  const m = dp.makeData(5, 123456789, 9, 3);
  assert.equal(m.length, 20);
  const a = dp.makeAck(dp.makeData(5, 123456789, 9, 300));
  assert.equal(a.length, 20);
  assert.equal(a[1], 2);
  assert.deepEqual(Array.from(a.subarray(2)), Array.from(m.subarray(2)));
});

test('parse refuses what is not the data plane', () => {
  assert.equal(dp.parse(new Uint8Array(19).fill(0xe1)), null);
  const m = dp.makeData(1, 2, 3, 20);
  m[0] = 0x17; // a DTLS record
  assert.equal(dp.parse(m), null);
  const k = dp.makeData(1, 2, 3, 20);
  k[1] = 3;
  assert.equal(dp.parse(k), null);
  assert.equal(dp.parse('text'), null);
  const ok = dp.parse(dp.makeData(1, 2 ** 40 + 5, 3, 40).buffer);
  assert.equal(ok.t_us, 2 ** 40 + 5);
  assert.equal(ok.size, 40);
});

test('a send is checked against the protocol bounds', () => {
  assert.equal(dp.checkSend(10, 100, 20), null);
  assert.match(dp.checkSend(0, 100, 20), /"n"/);
  assert.match(dp.checkSend(10, 1401, 20), /"size"/);
  assert.match(dp.checkSend(10, 100, -1), /"interval_ms"/);
  assert.match(dp.checkSend(1.5), /"n"/);
});

// Two planes wired back to back with a fake clock and a one-way delay.
function pair(delayUs, dropSeq) {
  const a = new dp.Plane(), b = new dp.Plane();
  return { a, b, delayUs, dropSeq: dropSeq || new Set() };
}

test('two planes: counts, duplicates once, RTT median and p95, report after 1 s quiet', () => {
  const p = pair(5000);
  let now = 0;
  assert.equal(p.a.start(10, 100, 20, now), null);
  assert.match(p.a.start(1, 100, 20, now), /still running/);
  const rxs = [];
  while (p.a.nextSeq < 10) {
    now = p.a.deadline();
    const m = p.a.nextSend(now);
    if (m[7] === 3) continue; // seq 3 lost on the way
    const r = p.b.input(m, now + p.delayUs);
    rxs.push(r.seq);
    if (r.seq === 4) assert.equal(p.b.input(m, now + p.delayUs).dup, true); // a duplicate
    // seq 6's ack comes back late by 10 ms
    const back = r.seq === 6 ? 2 * p.delayUs + 10000 : 2 * p.delayUs;
    const ack = p.a.input(r.reply, now + back);
    assert.equal(ack.kind, 'ack');
  }
  assert.deepEqual(rxs, [0, 1, 2, 4, 5, 6, 7, 8, 9]);
  // a duplicate ack gives no second sample
  assert.equal(p.a.input(dp.makeAck(dp.makeData(0, 0, 10, 20)), now + 20000).rtt_ms, null);
  assert.equal(p.a.reportDue(now + 500000), null); // not quiet yet
  const rep = p.a.reportDue(p.a.deadline());
  assert.deepEqual(rep, { sent: 10, received: 0, acked: 9, lost: 1, rtt_ms_median: 10, rtt_ms_p95: 20 });
  assert.equal(p.a.reportDue(now + 5e6), null); // once
  // b never sent: it has no report of its own
  assert.equal(p.b.reportDue(now + 5e6), null);
});

test('received counts the peer messages since the previous report, once each', () => {
  const a = new dp.Plane();
  a.start(1, 20, 20, 0);
  for (const s of [0, 1, 1, 2]) a.input(dp.makeData(s, 0, 3, 20), 100);
  const m = a.nextSend(0);
  a.input(dp.makeAck(m), 1000);
  assert.equal(a.reportDue(1000 + dp.QUIET_US).received, 3);
  a.start(1, 20, 20, 3e6);
  a.nextSend(3e6);
  const r = a.reportDue(3e6 + dp.QUIET_US);
  assert.deepEqual(r, { sent: 1, received: 0, acked: 0, lost: 1, rtt_ms_median: null, rtt_ms_p95: null });
});

test('nearest-rank percentiles', () => {
  const s = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(dp.percentiles(s), { median: 50, p95: 95 });
  assert.deepEqual(dp.percentiles([7]), { median: 7, p95: 7 });
});

test('Runner waits for the channel, then sends, acks and reports', async () => {
  let now = 0;
  const events = [];
  const sent = [];
  const timers = [];
  const r = new dp.Runner({
    send: (b) => sent.push(b),
    emit: (ev, f) => events.push([ev, f]),
    now_us: () => now,
    setTimeout: (f, ms) => { timers.push({ f, at: now + ms * 1000 }); return timers.length; },
    clearTimeout: () => {},
  });
  r.command({ cmd: 'send', n: 2, size: 50, interval_ms: 10 });
  assert.equal(sent.length, 0);
  r.command({ cmd: 'send', n: 2 });
  assert.match(events.pop()[1].msg, /still running/);
  r.open();
  assert.equal(sent.length, 1);
  now = 10000;
  r.kick();
  assert.equal(sent.length, 2);
  r.input(dp.makeData(0, 1, 1, 30)); // the peer's message: rx + ack
  assert.deepEqual(events.shift(), ['rx', { seq: 0, size: 30 }]);
  assert.equal(sent[2].length, 20);
  r.input(dp.makeAck(sent[0]));
  r.input(dp.makeAck(sent[1]));
  now += dp.QUIET_US;
  r.kick();
  const data = events.find((e) => e[0] === 'data');
  assert.deepEqual(data[1], { sent: 2, received: 1, acked: 2, lost: 0, rtt_ms_median: 0, rtt_ms_p95: 10 });
});

test('Runner.fail answers a waiting send with an error', () => {
  const events = [];
  const r = new dp.Runner({ send: () => {}, emit: (ev, f) => events.push([ev, f]) });
  r.command({ cmd: 'send', n: 1 });
  r.fail('the data channel closed');
  assert.deepEqual(events, [['error', { msg: 'send: the data channel closed' }]]);
});

test('the module has no Node-only API (it runs in a web page)', () => {
  const fs = require('node:fs');
  for (const f of ['dataplane.js', 'sdp.js', 'stats.js', 'args.js']) {
    // code only: the comments may name what the code avoids
    const src = fs.readFileSync(require.resolve('../' + f), 'utf8').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(src, /\bBuffer\b|\brequire\(|\bprocess\./, f);
  }
});
