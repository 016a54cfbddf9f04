// The offer/answer session driver against a fake stack: roles, what
// `local` carries, trickle without duplicates, restarts, DTLS roles kept.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Session } = require('../session.js');

const FP = 'sha-256 ' + new Array(32).fill('AB').join(':');
const PEER = { cmd: 'remote', ufrag: 'peer', pwd: 'peerpeerpeerpeerpeerpeer',
               candidates: ['candidate:1 1 udp 2130706431 10.0.2.2 5000 typ host'],
               session: { fingerprint: FP, setup: 'active', sctp_port: 5000 } };

function description(ufrag, setup, cands) {
  return ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:0', `a=ice-ufrag:${ufrag}`,
          'a=ice-pwd:localpwdlocalpwdlocalpwd', `a=fingerprint:${FP}`, `a=setup:${setup}`, 'a=sctp-port:5000']
    .concat(cands.map((c) => `a=${c}`)).join('\r\n') + '\r\n';
}

// A stack that records what it was asked and answers at once.
function fakeBackend() {
  const b = { calls: [], remote: [], n: 0, cands: [] };
  b.createChannel = () => ({ send() {}, isOpen: () => false });
  b.createOffer = async ({ restart }) => {
    b.calls.push(restart ? 'offer-restart' : 'offer');
    b.sdp = description(`u${++b.n}`, 'actpass', b.cands);
    return b.sdp;
  };
  b.createAnswer = async () => {
    b.calls.push('answer');
    b.sdp = description(`u${++b.n}`, 'active', b.cands);
    return b.sdp;
  };
  b.setRemote = async (type, sdp) => b.remote.push({ type, sdp });
  b.addCandidate = async (c) => b.calls.push(`cand ${c}`);
  b.localDescription = () => b.sdp;
  b.selected = async () => null;
  b.close = () => {};
  return b;
}

function fakeAgent() {
  return { evs: [], emit(ev, f) { this.evs.push(Object.assign({ ev }, f)); }, log() {}, error(m) { this.evs.push({ ev: 'error', msg: m }); } };
}

test('controlling = offerer: one complete local after gathering, with the session', async () => {
  const a = fakeAgent(), b = fakeBackend();
  const s = new Session(a, { role: 'controlling' }, b, 'fake');
  await s.gather({});
  assert.deepEqual(b.calls, ['offer']);
  assert.equal(a.evs.filter((e) => e.ev === 'local').length, 0); // not before gathering ends
  b.hooks.candidate('a=candidate:9 1 udp 1 10.0.1.2 4000 typ host generation 0 ufrag u1 network-id 1');
  b.hooks.gatheringDone();
  const l = a.evs.find((e) => e.ev === 'local');
  assert.equal(l.complete, true);
  assert.equal(l.ufrag, 'u1');
  assert.deepEqual(l.candidates, ['candidate:9 1 udp 1 10.0.1.2 4000 typ host generation 0 ufrag u1 network-id 1']);
  assert.deepEqual(l.session, { fingerprint: FP, setup: 'actpass', sctp_port: 5000, max_message_size: 65536 });
  await s.remote(PEER);
  assert.equal(b.remote[0].type, 'answer');
  assert.match(b.remote[0].sdp, /a=setup:active\r\n/);
  assert.match(b.remote[0].sdp, /a=candidate:1 1 udp 2130706431 10.0.2.2 5000 typ host\r\n/);
  s.stop();
});

test('controlled = answerer: gather waits for the offer; trickle sends no candidate twice', async () => {
  const a = fakeAgent(), b = fakeBackend();
  const s = new Session(a, { role: 'controlled', trickle: true }, b, 'fake');
  await s.gather({});
  assert.deepEqual(b.calls, []);
  b.cands = ['candidate:7 1 udp 5 10.0.1.2 4000 typ host generation 0 network-id 1'];
  await s.remote(Object.assign({}, PEER, { session: Object.assign({}, PEER.session, { setup: 'actpass' }) }));
  assert.equal(b.remote[0].type, 'offer');
  assert.match(b.remote[0].sdp, /a=setup:actpass\r\n/);
  assert.deepEqual(b.calls, ['answer']);
  const l = a.evs.find((e) => e.ev === 'local');
  assert.equal(l.complete, false);
  assert.equal(l.session.setup, 'active');
  // the same candidate spelt with libwebrtc's "ufrag" extension: not again
  b.hooks.candidate('candidate:7 1 udp 5 10.0.1.2 4000 typ host generation 0 ufrag u1 network-id 1');
  b.hooks.candidate('candidate:8 1 udp 4 203.0.113.1 4000 typ srflx raddr 10.0.1.2 rport 4000');
  b.hooks.gatheringDone();
  assert.deepEqual(a.evs.filter((e) => e.ev === 'candidate'),
                   [{ ev: 'candidate', candidate: 'candidate:8 1 udp 4 203.0.113.1 4000 typ srflx raddr 10.0.1.2 rport 4000' },
                    { ev: 'candidate', end: true }]);
  s.stop();
});

test("the peer's restart: a new offer, the DTLS roles and the peer's session kept", async () => {
  const a = fakeAgent(), b = fakeBackend();
  const s = new Session(a, { role: 'controlling' }, b, 'fake');
  await s.gather({});
  b.hooks.gatheringDone();
  await s.remote(PEER);
  // new credentials, no session (a scenario that drops it), setup actpass
  await s.remote({ cmd: 'remote', ufrag: 'peer2', pwd: 'peer2peer2peer2peer2peer2', candidates: [] });
  assert.deepEqual(b.calls, ['offer', 'offer-restart']);
  const again = b.remote[1];
  assert.equal(again.type, 'answer');
  assert.match(again.sdp, /a=ice-ufrag:peer2\r\n/);
  assert.match(again.sdp, new RegExp(`a=fingerprint:${FP}\r\n`)); // not a placeholder
  assert.match(again.sdp, /a=setup:active\r\n/); // the DTLS client stays the client
  s.stop();
});

test('a remote with an invalid candidate is refused, an mDNS one skipped', async () => {
  const a = fakeAgent(), b = fakeBackend();
  const s = new Session(a, { role: 'controlled' }, b, 'fake');
  await s.remote(Object.assign({}, PEER, { candidates: ['candidate:1 1 udp x 10.0.0.1 9 typ host'] }));
  assert.match(a.evs.find((e) => e.ev === 'error').msg, /^remote: candidate priority/);
  assert.equal(b.remote.length, 0);
  await s.remote(Object.assign({}, PEER, { candidates: ['candidate:1 1 udp 1 abc.local 9 typ host'] }));
  assert.doesNotMatch(b.remote[0].sdp, /abc\.local/);
  s.stop();
});
