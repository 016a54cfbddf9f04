// adapter.test.js - the browser adapters' pure pieces (no browser needed):
// how --stun/--turn become the page's RTCIceServer list, and what a
// browser declares. Run by ctest (unit.browser_adapter) with node --test.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { iceServers, capabilities } = require('../adapter.js');
const { args } = require('../../node/index.js');

function opts(argv) {
  const r = args.parse(argv);
  assert.ok(r.ok, r.msg);
  return r.opts;
}

test('stun and every TURN transport map to their URIs (RFC 7064/7065)', () => {
  const o = opts(['--stun', '203.0.113.10:3478', '--turn', 'udp:203.0.113.14:3478', '--turn', 'tcp:203.0.113.14:80',
                  '--turn', 'tls:203.0.113.14:443', '--turn-user', 'u', '--turn-pass', 'p']);
  assert.deepStrictEqual(iceServers(o), [
    { urls: 'stun:203.0.113.10:3478' },
    { urls: 'turn:203.0.113.14:3478?transport=udp', username: 'u', credential: 'p' },
    { urls: 'turn:203.0.113.14:80?transport=tcp', username: 'u', credential: 'p' },
    { urls: 'turns:203.0.113.14:443?transport=tcp', username: 'u', credential: 'p' },
  ]);
});

test('IPv6 servers keep their brackets', () => {
  const o = opts(['--stun', '[2001:db8::1]:3478', '--turn', 'udp:[2001:db8::2]:3478', '--turn-user', 'u', '--turn-pass', 'p']);
  assert.deepStrictEqual(iceServers(o).map((s) => s.urls), ['stun:[2001:db8::1]:3478', 'turn:[2001:db8::2]:3478?transport=udp']);
});

test('a TLS name replaces the address in turns: only (Firefox needs a name for TLS)', () => {
  const o = opts(['--turn', 'udp:203.0.113.14:3478', '--turn', 'tls:203.0.113.14:443', '--turn-user', 'u', '--turn-pass', 'p']);
  assert.deepStrictEqual(iceServers(o, 'turn.natlab.test').map((s) => s.urls),
                         ['turn:203.0.113.14:3478?transport=udp', 'turns:turn.natlab.test:443?transport=tcp']);
});

test('a browser declares one component and no ICE-TCP, and every TURN transport', () => {
  const c = capabilities(opts([]));
  assert.strictEqual(c.components, false);
  assert.strictEqual(c['ice-tcp'], false);
  for (const k of ['turn-udp', 'turn-tcp', 'turn-tls', 'trickle', 'restart']) assert.strictEqual(c[k], true, k);
});
