#!/usr/bin/env node
// pair.js - run two agents against each other on this host, relaying
// their descriptions as natlab.ice_connect does (scenarios/prelude/
// 20_ice.lua), then a `send` each way; prints every event. A developer's
// check of an adapter without a lab (no NAT, no namespaces):
//   node agents/adapters/common/node/pair.js [--trickle] [--n N] \
//     -- LEFT [args] -- RIGHT [args]
// LEFT gets --role controlling, RIGHT --role controlled. Exit 0 when both
// selected a pair and every message of both runs was acknowledged.
'use strict';

const { spawn } = require('node:child_process');
const readline = require('node:readline');

const argv = process.argv.slice(2);
let trickle = false;
let n = 20;
const sides = [[], []];
let k = -1;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--') k++;
  else if (k >= 0) sides[k].push(argv[i]);
  else if (argv[i] === '--trickle') trickle = true;
  else if (argv[i] === '--n') n = +argv[++i];
}
if (sides[0].length === 0 || sides[1].length === 0) {
  process.stderr.write('usage: pair.js [--trickle] [--n N] -- LEFT [args] -- RIGHT [args]\n');
  process.exit(2);
}

const t0 = Date.now();
const names = ['L', 'R'];
const procs = sides.map((s, i) => {
  const extra = ['--role', i === 0 ? 'controlling' : 'controlled'].concat(trickle ? ['--trickle'] : []);
  const p = spawn(s[0], s.slice(1).concat(extra), { stdio: ['pipe', 'pipe', 'inherit'] });
  p.sentRemote = false;
  return p;
});
const selected = [null, null];
const data = [null, null];
let sent = false;

function send(i, o) {
  procs[i].stdin.write(JSON.stringify(o) + '\n');
}

function finish(code) {
  for (const p of procs) {
    try {
      p.stdin.end();
    } catch (e) {
      // already gone
    }
  }
  setTimeout(() => process.exit(code), 500);
}

procs.forEach((p, i) => {
  const other = 1 - i;
  readline.createInterface({ input: p.stdout }).on('line', (line) => {
    console.log(`${String(Date.now() - t0).padStart(6)} ${names[i]} ${line}`);
    let ev;
    try {
      ev = JSON.parse(line);
    } catch (e) {
      return;
    }
    if (ev.ev === 'local' && (trickle || ev.complete) && !p.sentRemote) {
      send(other, { cmd: 'remote', ufrag: ev.ufrag, pwd: ev.pwd, candidates: ev.candidates, session: ev.session });
      p.sentRemote = true;
      if (trickle && ev.complete) send(other, { cmd: 'end-of-candidates' });
    } else if (ev.ev === 'local' && p.sentRemote) {
      // a restart's new description
      send(other, { cmd: 'remote', ufrag: ev.ufrag, pwd: ev.pwd, candidates: ev.candidates, session: ev.session });
    } else if (ev.ev === 'candidate' && trickle) {
      if (ev.end) send(other, { cmd: 'end-of-candidates' });
      else send(other, { cmd: 'candidate', candidate: ev.candidate });
    } else if (ev.ev === 'selected') {
      selected[i] = ev;
      if (selected[0] && selected[1] && !sent) {
        sent = true;
        for (let j = 0; j < 2; j++) send(j, { cmd: 'send', n, size: 200, interval_ms: 10 });
      }
    } else if (ev.ev === 'data') {
      data[i] = ev;
      if (data[0] && data[1]) finish(data[0].acked === n && data[1].acked === n ? 0 : 1);
    } else if (ev.ev === 'failed') {
      finish(1);
    }
  });
});
for (let i = 0; i < 2; i++) send(i, { cmd: 'gather' });
setTimeout(() => {
  console.log('timed out');
  finish(1);
}, 30000);
