// getStats() → the `selected` event's fields.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const stats = require('../stats.js');

function report(list) {
  return new Map(list.map((s) => [s.id, s]));
}

test('the transport selected pair, with relay and TCP details', () => {
  const r = report([
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
    { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
    { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R2', currentRoundTripTime: 0.0123 },
    { id: 'L1', type: 'local-candidate', candidateType: 'host', protocol: 'udp', address: '10.0.1.2', port: 1 },
    { id: 'R1', type: 'remote-candidate', candidateType: 'host', protocol: 'udp', address: '10.0.2.2', port: 2 },
    { id: 'L2', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls', address: '203.0.113.3', port: 50000 },
    { id: 'R2', type: 'remote-candidate', candidateType: 'prflx', protocol: 'tcp', tcpType: 'active', ip: '203.0.113.9', port: 4000 },
  ]);
  assert.deepEqual(stats.selectedPair(r), {
    id: 'P2', rtt_ms: 12,
    local: { type: 'relay', transport: 'udp', address: '203.0.113.3', port: 50000, relay_transport: 'tls' },
    remote: { type: 'prflx', transport: 'tcp', address: '203.0.113.9', port: 4000, tcptype: 'active' },
  });
});

test('without selectedCandidatePairId: the nominated succeeded pair; none: null', () => {
  const base = [
    { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
    { id: 'L1', type: 'local-candidate', candidateType: 'srflx', protocol: 'udp', address: '1.2.3.4', port: 5 },
    { id: 'R1', type: 'remote-candidate', candidateType: 'host', protocol: 'udp', address: '5.6.7.8', port: 6 },
  ];
  assert.equal(stats.selectedPair(report(base)).local.type, 'srflx');
  assert.equal(stats.selectedPair(report(base.slice(1))), null);
  assert.equal(stats.selectedPair(new Map()), null);
});

test('samePath compares addresses, not stats ids', () => {
  const a = { local: { type: 'host', transport: 'udp', address: 'x', port: 1 }, remote: { type: 'host', transport: 'udp', address: 'y', port: 2 } };
  const b = JSON.parse(JSON.stringify(a));
  assert.equal(stats.samePath(a, b), true);
  b.remote.port = 3;
  assert.equal(stats.samePath(a, b), false);
  assert.equal(stats.samePath(null, b), false);
});
