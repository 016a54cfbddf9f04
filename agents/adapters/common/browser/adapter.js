// adapter.js - the Node half of natlab's browser adapters: a real browser
// (Debian's chromium or firefox-esr, headless) under the agent protocol
// (docs/agent-protocol.md), driven with puppeteer-core: the DevTools
// protocol for Chromium, WebDriver BiDi for Firefox. The browser loads
// page.html from a server this process runs on http://127.0.0.1 inside
// the lab node (a secure context); page.js holds the RTCPeerConnection.
// Commands are checked here (agents/adapters/common/node/proto.js) and
// handed to the page; the page's events come back as console lines.
//
// Browser specifics (flags, profile, preferences) come from the caller,
// agents/adapters/chromium/natlab-chromium and
// agents/adapters/firefox/natlab-firefox, as a `spec`:
//   {impl, executable, protocol: 'cdp'|'webDriverBiDi', endpoint: RegExp
//    of the stderr line naming the debugging endpoint, endpointSuffix,
//    args(profileDir) -> [words], prepare(profileDir) -> Promise}
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const common = require('../node/index.js');

const HERE = __dirname;
const ADAPTERS = path.resolve(HERE, '..', '..');
// what the page server serves: nothing else
const FILES = {
  '/': path.join(HERE, 'page.html'),
  '/common/browser/page.js': path.join(HERE, 'page.js'),
  '/common/node/sdp.js': path.join(ADAPTERS, 'common', 'node', 'sdp.js'),
  '/common/node/stats.js': path.join(ADAPTERS, 'common', 'node', 'stats.js'),
  '/common/node/dataplane.js': path.join(ADAPTERS, 'common', 'node', 'dataplane.js'),
};

// The options a browser honours; the rest are named in one `log` line.
const HONOURED = ['--role', '--stun', '--turn', '--turn-user', '--turn-pass', '--policy', '--trickle',
                  '--gather-timeout-ms', '--dataplane'];
const IGNORED_WHY = 'a browser sets its own ICE role (from offer/answer), timers, nomination, ' +
  'interfaces and ICE-TCP; WebRTC has no API for them';

// RTCIceServer list (W3C webrtc-pc §4.2.1) from --stun/--turn: stun:,
// turn:…?transport=udp|tcp, turns:…?transport=tcp (RFC 7064/7065 URIs).
// tlsName: the host name to put in turns: URLs instead of the address
// (Firefox: "TLS requires FQDN, not IP address"), or undefined.
function iceServers(o, tlsName) {
  const hp = (s) => (s.v6 ? `[${s.host}]` : s.host) + ':' + s.port;
  const out = o.stunServers.map((s) => ({ urls: 'stun:' + hp(s) }));
  for (const t of o.turnServers) {
    const url = t.transport === 'tls' ? `turns:${tlsName ? tlsName + ':' + t.port : hp(t)}?transport=tcp`
      : `turn:${hp(t)}?transport=${t.transport}`;
    out.push({ urls: url, username: o['turn-user'], credential: o['turn-pass'] });
  }
  return out;
}

// What a browser can do, as the protocol's capabilities (declared, not
// assumed: docs/implementations.md says how each was seen).
function capabilities(o) {
  return {
    trickle: true,
    restart: true,
    'turn-udp': true,
    'turn-tcp': true,
    'turn-tls': true,
    // RFC 6544: Chromium 156 gathers no TCP candidates; Firefox gathers
    // only `tcptype active` ones (port 9), which cannot meet another
    // browser's. Neither can take the direct TCP path the expected table
    // gives two ICE-TCP agents (open x udp-blocked), whatever --tcp says.
    'ice-tcp': false,
    ipv6: true,
    components: false, // one component: rtcp-mux and BUNDLE, always
    consent: true,     // RFC 7675, the browser's own fixed timers
  };
}

function servePage() {
  const srv = http.createServer((req, res) => {
    const f = FILES[req.url.split('?')[0]];
    if (!f || req.method !== 'GET') {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, {
      'content-type': f.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8',
      'cache-control': 'no-store',
    });
    fs.createReadStream(f).pipe(res);
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    // 127.0.0.1: a secure context (W3C Secure Contexts §3.2), inside the
    // node's own network namespace
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

async function main(spec) {
  const prog = `natlab-${spec.impl}`;
  const parsed = common.args.parse(process.argv.slice(2));
  if (!parsed.ok) common.proto.fatal(prog, parsed.msg);
  const o = parsed.opts;
  if (o.components > 1)
    common.proto.fatal(prog, `--components ${o.components}: a browser has one component (rtcp-mux, BUNDLE); drop the option`);
  if (!fs.existsSync(spec.executable))
    common.proto.fatal(prog, `${spec.executable} not found (scripts/install-deps --browsers)`);
  let puppeteer, browsers;
  try {
    puppeteer = require('puppeteer-core');
    browsers = require('@puppeteer/browsers');
  } catch (e) {
    common.proto.fatal(prog, `puppeteer-core is not installed in agents/adapters/node_modules (scripts/install-deps --impls runs npm ci): ${e.message}`);
  }

  const agent = new common.proto.Agent();
  // The profile, caches and the browser's HOME live in /tmp: the harness
  // gives every agent a private /tmp that goes with it (docs/lua-api.md,
  // node:spawn private_tmp), and a hand run removes it at stop.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `natlab-${spec.impl}-`));
  const profile = path.join(dir, 'profile');
  fs.mkdirSync(profile);
  let proc = null, browser = null, page = null, srv = null, closing = null;

  const cleanup = async () => {
    if (closing) return closing;
    closing = (async () => {
      if (page) await page.evaluate(() => globalThis.natlab && globalThis.natlab.stop()).catch(() => {});
      if (browser) {
        const t = new Promise((r) => setTimeout(r, 2500));
        await Promise.race([browser.close().catch(() => {}), t]);
      }
      if (proc) await proc.close().catch(() => {}); // kills what did not exit
      if (srv) srv.close();
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return closing;
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'])
    process.on(sig, () => cleanup().finally(() => process.exit(0)));

  const phase = {};
  const mark = (k) => {
    phase[k] = agent.now();
    if (o.verbose) process.stderr.write(`${prog}: ${k} at ${phase[k]} ms\n`);
  };
  try {
    srv = await servePage();
    await spec.prepare(profile, o);
    mark('profile');
    const env = Object.assign({}, process.env, {
      HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache'),
      TMPDIR: dir,
    });
    proc = browsers.launch({
      executablePath: spec.executable,
      args: spec.args(profile),
      env,
      // the browser stays in the agent's process group: when the harness
      // kills the group (stop grace over, cell torn down) the browser goes
      // too (puppeteer's default, detached, would survive it)
      detached: false,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
      dumpio: !!o.verbose,
    });
    const ws = (await proc.waitForLineOutput(spec.endpoint, 30000)) + (spec.endpointSuffix || '');
    mark('browser');
    browser = await puppeteer.connect({ browserWSEndpoint: ws, protocol: spec.protocol, defaultViewport: null,
                                        acceptInsecureCerts: !!spec.acceptInsecureCerts });
    mark('connect');
    const pages = await browser.pages();
    page = pages.length ? pages[0] : await browser.newPage();
    page.on('console', (m) => {
      const t = m.text();
      if (!t.startsWith('natlab-ev ')) return;
      let ev;
      try {
        ev = JSON.parse(t.slice(10));
      } catch (e) {
        return agent.error(`internal: the page sent a bad event: ${t.slice(0, 120)}`);
      }
      const name = ev.ev;
      delete ev.ev;
      agent.emit(name, ev);
    });
    page.on('pageerror', (e) => agent.log('error', `page: ${e && e.message ? e.message : e}`));
    await page.goto(`http://127.0.0.1:${srv.address().port}/`, { waitUntil: 'load' });
    // polled on a timer: requestAnimationFrame (the default) may not run
    // in a headless page
    await page.waitForFunction(() => globalThis.natlab !== undefined, { polling: 50, timeout: 10000 })
      .catch(() => { throw new Error('page.js did not load (see the page errors above)'); });
    mark('page');
    await page.evaluate((c) => globalThis.natlab.init(c), {
      role: o.role, iceServers: iceServers(o, spec.tlsName && spec.tlsName(o, (m) => agent.log('warning', m))),
      policy: o.policy, trickle: o.trickle,
      gatherTimeoutMs: o['gather-timeout-ms'] !== undefined ? o['gather-timeout-ms'] : 3000,
      mediaPermission: !!spec.mediaPermission,
    });
  } catch (e) {
    await cleanup();
    common.proto.fatal(prog, `cannot start ${spec.executable}: ${e && e.message ? e.message : e}`);
  }

  // ready only now: the browser can gather at once, so the harness's
  // connect time (counted from `gather`) does not include its start-up
  agent.emit('ready', {
    impl: prog, version: await browser.version(), capabilities: capabilities(o),
    dataplanes: ['datachannel'],
    // JSEP: the controlled side answers, so it needs the peer's offer first
    answerer: o.role === 'controlled',
    // browsers nominate the first valid pair and move to a better one up
    // to about a second later (docs/implementations.md): judge after that
    settle_ms: 1500,
  });
  agent.log('info', `start-up ${agent.now()} ms: profile at ${phase.profile}, browser's endpoint at ` +
    `${phase.browser}, ${spec.protocol} connected at ${phase.connect}, page loaded at ${phase.page}`);
  const why = common.args.ignored(parsed.given, HONOURED, IGNORED_WHY);
  if (why) agent.log('info', why);
  if (o.policy === 'nohost') agent.log('info', 'ignoring --policy nohost: WebRTC can only ask for relay-only');
  if (o.dataplane === 'datagram') agent.log('info', '--dataplane datagram: a browser has only the datachannel plane');

  const toPage = (c) => page.evaluate((x) => globalThis.natlab.cmd(x), c);
  const candidates = (list) => {
    const r = common.proto.checkCandidates(list, (lv, m) => agent.log(lv, m), 1);
    if (!r.ok) throw new Error(r.msg);
    return r.usable;
  };
  agent.run({
    gather: (c) => toPage(c),
    remote: (c) => toPage(Object.assign({}, c, { candidates: candidates(c.candidates) })),
    candidate: (c) => {
      const u = candidates([c.candidate]);
      return u.length ? toPage({ cmd: 'candidate', candidate: u[0] }) : null;
    },
    endOfCandidates: (c) => toPage(c),
    send: (c) => toPage(c),
    restart: (c) => toPage(c),
    stop: () => cleanup(),
  });
}

module.exports = { main, iceServers, capabilities };
