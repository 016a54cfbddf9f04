// The pipes: commands checked, errors for bad lines, t_ms monotonic, exit
// on stdin close (a child process running a tiny adapter).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const proto = require('../proto.js');

test('checkCommand names what is wrong', () => {
  assert.equal(proto.checkCommand({ cmd: 'gather' }), null);
  assert.equal(proto.checkCommand({ cmd: 'gather', dataplane: 'datachannel' }), null);
  assert.match(proto.checkCommand({ cmd: 'gather', dataplane: 'x' }), /dataplane/);
  assert.match(proto.checkCommand([]), /JSON object/);
  assert.match(proto.checkCommand({ cmd: 1 }), /string "cmd"/);
  assert.match(proto.checkCommand({ cmd: 'dance' }), /unknown command "dance"/);
  assert.match(proto.checkCommand({ cmd: 'remote', pwd: 'p' }), /ufrag/);
  assert.match(proto.checkCommand({ cmd: 'remote', ufrag: 'u', pwd: 'p', candidates: [1] }), /array of strings/);
  assert.match(proto.checkCommand({ cmd: 'remote', ufrag: 'u', pwd: 'p', session: 'x' }), /session/);
  assert.match(proto.checkCommand({ cmd: 'candidate' }), /candidate/);
  assert.match(proto.checkCommand({ cmd: 'send', n: 0 }), /"n"/);
  assert.equal(proto.checkCommand({ cmd: 'send', n: 5, size: 100, interval_ms: 20 }), null);
});

test('checkCandidates refuses bad syntax, skips unusable candidates with a warning', () => {
  const logs = [];
  const log = (lv, m) => logs.push([lv, m]);
  const r = proto.checkCandidates(['candidate:1 1 udp 1 10.0.0.1 9 typ host', 'candidate:1 1 udp 1 x.local 9 typ host',
                                   'candidate:1 2 udp 1 10.0.0.1 10 typ host'], log, 1);
  assert.deepEqual(r, { ok: true, usable: ['candidate:1 1 udp 1 10.0.0.1 9 typ host'] });
  assert.equal(logs.length, 2);
  assert.equal(proto.checkCandidates(['junk'], log).ok, false);
});

test('an agent answers bad lines with error, goes on, and exits 0 when stdin closes', () => {
  const script = `
    const { Agent } = require(${JSON.stringify(path.join(__dirname, '..', 'proto.js'))});
    const a = new Agent();
    a.emit('ready', { impl: 'test', version: '0' });
    a.run({ gather: () => a.emit('local', { ufrag: 'u', pwd: 'p', candidates: [], complete: true }),
            stop: () => a.log('info', 'stopping') });`;
  const input = ['not json', '{"cmd":"dance"}', '', '{"cmd":"gather"}', '{"cmd":"restart"}'].join('\n') + '\n';
  const r = spawnSync(process.execPath, ['-e', script], { input, timeout: 10000 });
  assert.equal(r.status, 0, r.stderr.toString());
  const evs = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(evs.map((e) => e.ev), ['ready', 'error', 'error', 'local', 'error', 'log']);
  assert.match(evs[1].msg, /not JSON/);
  assert.match(evs[2].msg, /unknown command "dance"/);
  assert.match(evs[4].msg, /restart: not supported/);
  for (let i = 0; i < evs.length; i++) {
    assert.ok(Number.isInteger(evs[i].t_ms));
    if (i > 0) assert.ok(evs[i].t_ms >= evs[i - 1].t_ms);
  }
});
