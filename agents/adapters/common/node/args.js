// args.js - the agent command line of docs/agent-protocol.md, "Starting an
// agent": every option, checked, into one object. natlab-ice's own options
// are accepted too; an adapter names the ones it does not honour in one
// `log` line (ignored()).
//
// Pure (no Node-only API), so a browser page can reuse it.
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.natlabArgs = api;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  // name -> kind: 'flag', 'int', 'str', 'list' (repeatable string), or an
  // array of the values allowed. natlab: true marks natlab-ice's own.
  const OPTIONS = {
    '--role': { kind: ['controlling', 'controlled'] },
    '--stun': { kind: 'list' },
    '--turn': { kind: 'list' },
    '--turn-user': { kind: 'str' },
    '--turn-pass': { kind: 'str' },
    '--policy': { kind: ['all', 'nohost', 'relay'] },
    '--components': { kind: 'int', min: 1, max: 256 },
    '--trickle': { kind: 'flag' },
    '--nomination': { kind: ['regular', 'aggressive'] },
    '--ta-ms': { kind: 'int', min: 0 },
    '--rto-ms': { kind: 'int', min: 0 },
    '--consent-timeout-ms': { kind: 'int', min: 0 },
    '--keepalive-ms': { kind: 'int', min: 0 },
    '--dataplane': { kind: ['datagram', 'datachannel'] },
    '--retransmits': { kind: 'int', min: 1, natlab: true },
    '--nominate-wait-ms': { kind: 'int', min: 0, natlab: true },
    '--nominate-relay-first': { kind: 'flag', natlab: true },
    '--gather-timeout-ms': { kind: 'int', min: 0, natlab: true },
    '--interface': { kind: 'list', natlab: true },
    '--tcp': { kind: 'flag', natlab: true },
    '--turn-dual': { kind: 'flag', natlab: true },
    '--seed': { kind: 'int', min: 0, natlab: true },
    '--verbose': { kind: 'flag', natlab: true },
  };

  // parseHostPort("1.2.3.4:3478" | "[2001:db8::1]:3478") -> {host, port}
  // | null. Hosts are numeric; names are refused (as natlab-ice does).
  function parseHostPort(s) {
    let m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(s);
    if (m && +m[2] >= 1 && +m[2] <= 65535) return { host: m[1], port: +m[2], v6: true };
    m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(s);
    if (m && +m[2] >= 1 && +m[2] <= 65535 && m[1].split('.').every((x) => +x <= 255))
      return { host: m[1], port: +m[2], v6: false };
    return null;
  }

  // parseTurn("udp|tcp|tls:HOST:PORT") -> {transport, host, port, v6} | null
  function parseTurn(s) {
    const m = /^(udp|tcp|tls):(.*)$/.exec(s);
    if (!m) return null;
    const hp = parseHostPort(m[2]);
    return hp ? Object.assign({ transport: m[1] }, hp) : null;
  }

  // parse(argv) -> {ok:true, opts, given} | {ok:false, msg}
  // argv: the words after the program name. opts has camelCase-free keys
  // as the options are spelled without "--" (opts['turn-user']);
  // lists default to [], role to controlling, components to 1.
  // given: the option names that were on the command line, in order.
  function parse(argv) {
    const opts = { role: 'controlling', stun: [], turn: [], interface: [], components: 1,
                   policy: 'all', trickle: false };
    const given = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      const spec = OPTIONS[a];
      if (!spec)
        return { ok: false, msg: `unknown option "${a}" (docs/agent-protocol.md, "Starting an agent", lists them)` };
      if (given.indexOf(a) < 0) given.push(a);
      const key = a.slice(2);
      if (spec.kind === 'flag') {
        opts[key] = true;
        continue;
      }
      if (i + 1 >= argv.length) return { ok: false, msg: `option ${a} needs a value` };
      const v = argv[++i];
      if (Array.isArray(spec.kind)) {
        if (spec.kind.indexOf(v) < 0)
          return { ok: false, msg: `${a} ${v}: expected one of ${spec.kind.join(', ')}` };
        opts[key] = v;
      } else if (spec.kind === 'int') {
        if (!/^\d+$/.test(v) || (spec.min !== undefined && +v < spec.min) || (spec.max !== undefined && +v > spec.max))
          return { ok: false, msg: `${a} ${v}: expected an integer${spec.min !== undefined ? ' >= ' + spec.min : ''}${spec.max !== undefined ? ' <= ' + spec.max : ''}` };
        opts[key] = +v;
      } else if (spec.kind === 'list') {
        opts[key].push(v);
      } else {
        opts[key] = v;
      }
    }
    opts.stunServers = [];
    for (const s of opts.stun) {
      const hp = parseHostPort(s);
      if (!hp) return { ok: false, msg: `--stun ${s}: expected a numeric HOST:PORT (e.g. 198.51.100.1:3478, [2001:db8::1]:3478)` };
      opts.stunServers.push(hp);
    }
    opts.turnServers = [];
    for (const s of opts.turn) {
      const t = parseTurn(s);
      if (!t) return { ok: false, msg: `--turn ${s}: expected udp|tcp|tls:HOST:PORT with a numeric host (e.g. udp:203.0.113.3:3478)` };
      opts.turnServers.push(t);
    }
    if (opts.turnServers.length > 0 && (opts['turn-user'] === undefined || opts['turn-pass'] === undefined))
      return { ok: false, msg: '--turn needs --turn-user and --turn-pass (TURN long-term credentials)' };
    return { ok: true, opts, given };
  }

  // ignored(given, honoured) -> null | the `log` message naming the given
  // options this adapter does not honour.
  function ignored(given, honoured, why) {
    const out = given.filter((g) => honoured.indexOf(g) < 0);
    if (out.length === 0) return null;
    return `ignoring ${out.join(', ')}${why ? ' (' + why + ')' : ''}`;
  }

  return { OPTIONS, parse, parseHostPort, parseTurn, ignored };
});
