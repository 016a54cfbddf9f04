// The agent command line of docs/agent-protocol.md, "Starting an agent".
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const args = require('../args.js');

test('every protocol option parses', () => {
  const r = args.parse(['--role', 'controlled', '--stun', '198.51.100.1:3478', '--stun', '[2001:db8::1]:3478',
                        '--turn', 'udp:203.0.113.3:3478', '--turn', 'tls:203.0.113.3:443', '--turn', 'tcp:[2001:db8::3]:80',
                        '--turn-user', 'natlab', '--turn-pass', 'natlab', '--policy', 'relay', '--components', '1',
                        '--trickle', '--nomination', 'aggressive', '--ta-ms', '20', '--rto-ms', '100',
                        '--consent-timeout-ms', '3000', '--keepalive-ms', '0', '--dataplane', 'datachannel']);
  assert.equal(r.ok, true, r.msg);
  const o = r.opts;
  assert.equal(o.role, 'controlled');
  assert.deepEqual(o.stunServers, [{ host: '198.51.100.1', port: 3478, v6: false }, { host: '2001:db8::1', port: 3478, v6: true }]);
  assert.deepEqual(o.turnServers.map((t) => `${t.transport} ${t.host} ${t.port}`),
                   ['udp 203.0.113.3 3478', 'tls 203.0.113.3 443', 'tcp 2001:db8::3 80']);
  assert.equal(o.policy, 'relay');
  assert.equal(o.trickle, true);
  assert.equal(o['keepalive-ms'], 0);
  assert.equal(o.dataplane, 'datachannel');
});

test("natlab-ice's options are accepted; ignored() names the ones not honoured", () => {
  const r = args.parse(['--retransmits', '3', '--nominate-wait-ms', '50', '--nominate-relay-first',
                        '--gather-timeout-ms', '500', '--interface', 'eth0', '--tcp', '--turn-dual',
                        '--seed', '7', '--verbose', '--ta-ms', '5']);
  assert.equal(r.ok, true, r.msg);
  assert.equal(args.ignored(r.given, ['--ta-ms', '--verbose']),
               'ignoring --retransmits, --nominate-wait-ms, --nominate-relay-first, --gather-timeout-ms, ' +
               '--interface, --tcp, --turn-dual, --seed');
  assert.equal(args.ignored(['--role'], ['--role']), null);
});

test('defaults', () => {
  const r = args.parse([]);
  assert.equal(r.opts.role, 'controlling');
  assert.equal(r.opts.components, 1);
  assert.equal(r.opts.policy, 'all');
  assert.equal(r.opts.trickle, false);
});

test('bad command lines name the problem', () => {
  const bad = [
    [['--bogus'], /unknown option "--bogus"/],
    [['--role'], /needs a value/],
    [['--role', 'boss'], /controlling, controlled/],
    [['--components', 'x'], /integer/],
    [['--stun', 'stun.example.org:3478'], /numeric HOST:PORT/],
    [['--turn', 'udp:203.0.113.3'], /udp\|tcp\|tls:HOST:PORT/],
    [['--turn', 'dtls:203.0.113.3:3478'], /udp\|tcp\|tls/],
    [['--turn', 'udp:203.0.113.3:3478'], /--turn-user and --turn-pass/],
  ];
  for (const [argv, re] of bad) {
    const r = args.parse(argv);
    assert.equal(r.ok, false, argv.join(' '));
    assert.match(r.msg, re);
  }
});
