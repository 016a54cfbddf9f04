// proto.js - the agent protocol's pipes for Node adapters
// (docs/agent-protocol.md): JSON-lines commands on stdin, events on stdout
// with `t_ms` from a monotonic clock since the process started, an `error`
// for every line that is not a valid command, exit 0 on `stop` or when
// stdin closes.
//
// checkCommand() is pure (the browsers adapter may reuse it); the rest
// uses Node's process and readline.
'use strict';

const readline = require('node:readline');
const { performance } = require('node:perf_hooks');
const sdp = require('./sdp.js');
const dataplane = require('./dataplane.js');

// checkCommand(obj) -> null | message: whether a parsed line is a command
// the protocol knows, with the fields its command needs.
function checkCommand(c) {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) return 'a command must be a JSON object';
  if (typeof c.cmd !== 'string') return 'a command needs a string "cmd"';
  switch (c.cmd) {
    case 'gather':
      if (c.dataplane !== undefined && c.dataplane !== 'datagram' && c.dataplane !== 'datachannel')
        return 'gather: "dataplane" must be "datagram" or "datachannel"';
      return null;
    case 'remote':
      if (typeof c.ufrag !== 'string' || c.ufrag === '') return 'remote: needs a string "ufrag"';
      if (typeof c.pwd !== 'string' || c.pwd === '') return 'remote: needs a string "pwd"';
      if (c.candidates !== undefined &&
          (!Array.isArray(c.candidates) || c.candidates.some((x) => typeof x !== 'string')))
        return 'remote: "candidates" must be an array of strings';
      {
        const bad = sdp.checkSession(c.session);
        return bad ? `remote: ${bad}` : null;
      }
    case 'candidate':
      return typeof c.candidate === 'string' ? null : 'candidate: needs a string "candidate"';
    case 'send': {
      const bad = dataplane.checkSend(c.n, c.size, c.interval_ms);
      return bad ? `send: ${bad}` : null;
    }
    case 'end-of-candidates':
    case 'restart':
    case 'stop':
      return null;
    default:
      return `unknown command "${c.cmd}" (gather, remote, candidate, end-of-candidates, send, restart, stop)`;
  }
}

// checkCandidates(list, log) -> {ok:true, usable:[C]} | {ok:false, msg}:
// invalid syntax refuses the command; a candidate the agent cannot use is
// skipped with a `log` warning, as is one of a component above `maxComp`.
function checkCandidates(list, log, maxComp) {
  const usable = [];
  for (const c of list || []) {
    const p = sdp.parseCandidate(c);
    if (!p.ok && !p.skip) return { ok: false, msg: p.msg };
    if (!p.ok) {
      log('warning', p.msg);
      continue;
    }
    if (maxComp !== undefined && p.component > maxComp) {
      log('warning', `skipping a candidate of component ${p.component}: this stack has one (rtcp-mux): ${p.value}`);
      continue;
    }
    usable.push(p.value);
  }
  return { ok: true, usable };
}

// Agent: the pipes. handlers: {gather, remote, candidate, endOfCandidates,
// send, restart, stop} (each may return a promise; commands are handled
// one after the other, in order, so a `candidate` never overtakes its
// `remote`). A handler that throws becomes an `error` event.
class Agent {
  constructor() {
    this.out = process.stdout;
    this.queue = Promise.resolve();
    this.stopping = false;
    this.handlers = {};
  }

  now() {
    return Math.floor(performance.now());
  }

  emit(ev, fields) {
    const o = Object.assign({ ev, t_ms: this.now() }, fields || {});
    this.out.write(JSON.stringify(o) + '\n');
  }

  log(level, msg) {
    this.emit('log', { level, msg });
  }

  error(msg) {
    this.emit('error', { msg });
  }

  // run(handlers): read commands until `stop` or the end of stdin.
  run(handlers) {
    this.handlers = handlers;
    process.on('unhandledRejection', (e) => this.error(`internal: ${e && e.message ? e.message : e}`));
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    rl.on('line', (line) => this.line(line));
    rl.on('close', () => this.stopSoon());
  }

  // stopSoon(): stop after the commands already read; a stack that hangs
  // in a handler does not keep the agent alive for more than 3 s.
  stopSoon() {
    setTimeout(() => process.exit(0), 3000).unref();
    this.enqueue(() => this.stop());
  }

  line(line) {
    if (line.trim() === '') return;
    let c;
    try {
      c = JSON.parse(line);
    } catch (e) {
      return this.error(`not JSON: ${e.message}: ${line.slice(0, 200)}`);
    }
    const bad = checkCommand(c);
    if (bad) return this.error(bad);
    const name = { 'end-of-candidates': 'endOfCandidates' }[c.cmd] || c.cmd;
    if (c.cmd === 'stop') return this.stopSoon();
    this.enqueue(async () => {
      const h = this.handlers[name];
      if (!h) return this.error(`${c.cmd}: not supported by this adapter`);
      await h(c);
    });
  }

  enqueue(f) {
    this.queue = this.queue.then(async () => {
      if (this.stopping) return;
      try {
        await f();
      } catch (e) {
        this.error(`${e && e.message ? e.message : e}`);
      }
    });
  }

  async stop() {
    if (this.stopping) return;
    this.stopping = true;
    try {
      if (this.handlers.stop) await this.handlers.stop();
    } catch (e) {
      this.error(`stop: ${e && e.message ? e.message : e}`);
    }
    // stdout may still be flushing into a pipe: exit once it is written
    this.out.write('', () => process.exit(0));
  }
}

// fatal(msg): a command line the adapter cannot run with: a message on
// stderr naming the problem, exit 2 (the harness keeps stderr in the log).
function fatal(prog, msg) {
  process.stderr.write(`${prog}: ${msg}\n`);
  process.exit(2);
}

module.exports = { Agent, checkCommand, checkCandidates, fatal };
