// SDP synthesis as docs/agent-protocol.md, "What a WebRTC stack's adapter
// synthesises", says; candidate checks as "Commands" says.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const sdp = require('../sdp.js');

const FP = 'sha-256 ' + Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':');
const remote = {
  ufrag: 'abcd', pwd: 'pwdpwdpwdpwdpwdpwdpwdpwd',
  candidates: ['candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host',
               'a=candidate:2 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 10.0.1.2 rport 50000\r\n'],
  complete: true,
  session: { fingerprint: FP, setup: 'actpass', sctp_port: 5000, max_message_size: 262144 },
};

test('the remote offer: one data-channel m= section with every field', () => {
  const text = sdp.remoteDescription(remote, { answer: false, mid: '0' });
  const l = text.split('\r\n');
  assert.ok(text.endsWith('\r\n'));
  for (const want of ['v=0', 'a=group:BUNDLE 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
                      'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=ice-ufrag:abcd',
                      'a=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd', `a=fingerprint:${FP}`, 'a=setup:actpass',
                      'a=sctp-port:5000', 'a=max-message-size:262144',
                      'a=candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host',
                      'a=candidate:2 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 10.0.1.2 rport 50000',
                      'a=end-of-candidates'])
    assert.ok(l.includes(want), want);
  // session-level lines come before the m= line
  assert.ok(l.indexOf('a=group:BUNDLE 0') < l.indexOf('m=application 9 UDP/DTLS/SCTP webrtc-datachannel'));
});

test('an answer never says actpass; the mid follows our offer; trickle leaves the end out', () => {
  const text = sdp.remoteDescription(Object.assign({}, remote, { complete: false }),
                                     { answer: true, mid: 'data', trickle: true });
  assert.match(text, /a=setup:active\r\n/);
  assert.match(text, /a=mid:data\r\n/);
  assert.match(text, /a=ice-options:trickle\r\n/);
  assert.doesNotMatch(text, /end-of-candidates/);
});

test('a peer without a session still gets a description (placeholder fingerprint)', () => {
  const text = sdp.remoteDescription({ ufrag: 'u', pwd: 'p', candidates: [] }, { answer: true });
  assert.match(text, new RegExp(`a=fingerprint:${sdp.PLACEHOLDER_FINGERPRINT}\r\n`));
  assert.match(text, /a=sctp-port:5000\r\n/);
});

const libwebrtcOffer = [
  'v=0', 'o=- 123 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'a=extmap-allow-mixed', 'a=msid-semantic: WMS',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
  'a=candidate:842163049 1 udp 2122260223 10.0.2.2 41234 typ host generation 0 network-id 1',
  'a=candidate:1 1 tcp 1518280447 10.0.2.2 9 typ host tcptype active generation 0',
  'a=ice-ufrag:Xy9Z', 'a=ice-pwd:0123456789abcdefghijklmn', 'a=ice-options:trickle',
  'a=fingerprint:SHA-256 ab:cd:ef:01', 'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000',
  'a=max-message-size:262144', '',
].join('\r\n');

test('local from a stack description: credentials, candidates, session', () => {
  const l = sdp.localFromDescription(libwebrtcOffer);
  assert.equal(l.ufrag, 'Xy9Z');
  assert.equal(l.pwd, '0123456789abcdefghijklmn');
  assert.equal(l.mid, '0');
  assert.equal(l.complete, false);
  assert.deepEqual(l.candidates, [
    'candidate:842163049 1 udp 2122260223 10.0.2.2 41234 typ host generation 0 network-id 1',
    'candidate:1 1 tcp 1518280447 10.0.2.2 9 typ host tcptype active generation 0']);
  assert.deepEqual(l.session, { fingerprint: 'sha-256 AB:CD:EF:01', setup: 'actpass', sctp_port: 5000,
                                max_message_size: 262144 });
});

test('local defaults: no sctp-port or max-message-size means 5000 and 64 KiB (RFC 8841)', () => {
  const l = sdp.localFromDescription('v=0\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\n' +
                                     'a=ice-ufrag:u\na=ice-pwd:p\na=setup:active\na=end-of-candidates\n');
  assert.equal(l.complete, true);
  assert.deepEqual(l.session, { setup: 'active', sctp_port: 5000, max_message_size: 65536 });
});

test('candidates: valid, skipped (names, transports) and invalid', () => {
  const ok = sdp.parseCandidate('a=candidate:Di8IcB 1 tcp 1788870655 10.0.2.2 46097 typ host tcptype passive\r\n');
  assert.equal(ok.ok, true);
  assert.equal(ok.value, 'candidate:Di8IcB 1 tcp 1788870655 10.0.2.2 46097 typ host tcptype passive');
  assert.equal(ok.tcptype, 'passive');
  assert.equal(sdp.parseCandidate('candidate:1 1 udp 1 2001:db8::1 9 typ host').ok, true);
  const mdns = sdp.parseCandidate('candidate:1 1 udp 1 3f1e-aa.local 9 typ host');
  assert.equal(mdns.skip, true);
  assert.match(mdns.msg, /name \(FQDN or mDNS\)/);
  assert.equal(sdp.parseCandidate('candidate:1 1 sctp 1 10.0.0.1 9 typ host').skip, true);
  for (const bad of ['hello', 'candidate:1 1 udp x 10.0.0.1 9 typ host', 'candidate:1 1 udp 1 10.0.0.1 9 type host',
                     'candidate:1 1 udp 1 10.0.0.1 70000 typ host', 'candidate:1 1 udp 1 10.0.0.1 9 typ host raddr']) {
    const r = sdp.parseCandidate(bad);
    assert.equal(r.ok, false, bad);
    assert.equal(r.skip, false, bad);
  }
});

test('session fields are checked by type', () => {
  assert.equal(sdp.checkSession(undefined), null);
  assert.equal(sdp.checkSession(remote.session), null);
  assert.match(sdp.checkSession([]), /object/);
  assert.match(sdp.checkSession({ fingerprint: 'nonsense' }), /RFC 8122/);
  assert.match(sdp.checkSession({ setup: 'holdconn' }), /setup/);
  assert.match(sdp.checkSession({ sctp_port: 0 }), /sctp_port/);
  assert.match(sdp.checkSession({ max_message_size: -1 }), /max_message_size/);
});
