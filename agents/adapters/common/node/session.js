// session.js - the agent protocol on top of a PeerConnection-level stack
// (docs/agent-protocol.md, "What a WebRTC stack's adapter synthesises"),
// shared by the Node adapters. The stack sits behind a small backend
// (libwebrtc/backend.js, libdatachannel/backend.js):
//
//   backend.createOffer({restart}) -> Promise<sdp>   local offer set
//   backend.setRemote(type, sdp) -> Promise          'offer' | 'answer'
//   backend.createAnswer() -> Promise<sdp>           local answer set
//   backend.addCandidate(C, mid) -> Promise
//   backend.localDescription() -> sdp (with the candidates so far)
//   backend.createChannel(label) -> channel          unordered, 0 rexmits
//   backend.selected() -> Promise<{id, local, remote, rtt_ms?} | null>
//   backend.close()
// and calls the hooks it is given (backend.hooks): candidate(C),
// gatheringDone(), iceState(state), channel(channel). A channel has
// send(Uint8Array), and calls onopen(), onmessage(Uint8Array), onclose().
//
// Roles follow JSEP (RFC 8829) as the protocol says: the controlling agent
// is the offerer, the controlled one the answerer (`ready.answerer`).
'use strict';

const sdp = require('./sdp.js');
const stats = require('./stats.js');
const dataplane = require('./dataplane.js');
const { checkCandidates } = require('./proto.js');

const POLL_MS = 50; // getStats polling for `selected` / `switched`
const ICE_STATES = ['new', 'checking', 'connected', 'completed', 'failed', 'disconnected', 'closed'];

// candKey(C): one candidate however the stack spells it (libwebrtc adds
// "ufrag X" to trickled candidates that its description leaves out).
function candKey(v) {
  const f = v.split(/ +/);
  const i = f.indexOf('tcptype');
  return f.slice(0, 8).join(' ') + (i > 0 ? ` tcptype ${f[i + 1]}` : '');
}

class Session {
  // agent: proto.Agent; opts: args.parse().opts; backend: above;
  // stackName: words for log lines ("libwebrtc").
  constructor(agent, opts, backend, stackName) {
    this.agent = agent;
    this.opts = opts;
    this.backend = backend;
    this.stack = stackName;
    this.offerer = opts.role === 'controlling';
    this.trickle = !!opts.trickle;
    this.mid = '0';
    this.channels = [];
    this.sendChannel = null;
    this.lastRemote = null; // {ufrag, pwd} of the peer's current description
    this.phase = null; // one gathering: {emitted, seen:Set, collected:[], done}
    this.gatherAsked = false;
    this.remoteSet = false;
    this.eoc = false;
    this.pendingCands = [];
    this.selectedNow = null;
    this.needSelected = true; // the next selection is `selected` (start, restart)
    this.oldSelectedId = null;
    this.iceFailed = false;
    this.poller = null;
    this.runner = new dataplane.Runner({
      send: (b) => this.sendBytes(b),
      emit: (ev, f) => agent.emit(ev, f),
    });
    backend.hooks = {
      candidate: (c) => this.localCandidate(c),
      gatheringDone: () => this.gatheringDone(),
      iceState: (s) => this.iceState(s),
      channel: (ch) => this.addChannel(ch),
    };
  }

  handlers() {
    return {
      gather: (c) => this.gather(c),
      remote: (c) => this.remote(c),
      candidate: (c) => this.candidate(c),
      endOfCandidates: () => this.endOfCandidates(),
      send: (c) => this.runner.command(c),
      restart: () => this.restart(),
      stop: () => this.stop(),
    };
  }

  log(level, msg) {
    this.agent.log(level, msg);
  }

  // ------------------------------------------------------------ local side

  newPhase() {
    this.phase = { emitted: false, seen: new Set(), collected: [], done: false };
  }

  async gather() {
    this.gatherAsked = true;
    if (!this.offerer) {
      // an answerer speaks after the peer's offer (ready.answerer)
      return;
    }
    if (this.phase) return this.log('warning', 'gather: already gathering (use restart for new credentials)');
    await this.makeOffer(false);
  }

  async makeOffer(restart) {
    if (this.channels.length === 0) this.addChannel(this.backend.createChannel('natlab'), true);
    this.newPhase();
    const offer = await this.backend.createOffer({ restart });
    const mid = sdp.localFromDescription(offer).mid;
    if (mid !== undefined) this.mid = mid;
    this.offerPending = true;
    this.announce();
  }

  // announce(): the `local` event of this gathering, at once when
  // trickling, else once gathering is done.
  announce() {
    const ph = this.phase;
    if (!ph || ph.emitted) return;
    if (!this.trickle && !ph.done) return;
    const l = sdp.localFromDescription(this.backend.localDescription());
    const cands = [];
    for (const c of l.candidates.concat(ph.collected)) {
      const v = sdp.stripCandidate(c);
      if (ph.seen.has(candKey(v))) continue;
      ph.seen.add(candKey(v));
      cands.push(v);
    }
    ph.emitted = true;
    this.agent.emit('local', { ufrag: l.ufrag, pwd: l.pwd, candidates: cands, complete: ph.done,
                               session: l.session });
    if (this.trickle && ph.done) this.agent.emit('candidate', { end: true });
  }

  localCandidate(c) {
    const ph = this.phase;
    if (!ph || !c) return;
    const v = sdp.stripCandidate(c);
    if (!ph.emitted) {
      ph.collected.push(v);
      return;
    }
    if (!this.trickle || ph.seen.has(candKey(v))) return;
    ph.seen.add(candKey(v));
    this.agent.emit('candidate', { candidate: v });
  }

  gatheringDone() {
    const ph = this.phase;
    if (!ph || ph.done) return;
    ph.done = true;
    if (ph.emitted) {
      if (this.trickle) this.agent.emit('candidate', { end: true });
      return;
    }
    this.announce();
  }

  // ----------------------------------------------------------- remote side

  async remote(c) {
    const ok = checkCandidates(c.candidates, (lv, m) => this.log(lv, m), 1);
    if (!ok.ok) return this.agent.error(`remote: ${ok.msg}`);
    // an ICE restart keeps the DTLS connection: a description without a
    // session after one with it is the same peer's
    if (!c.session && this.peerSession) {
      c = Object.assign({}, c, { session: this.peerSession });
    } else if (c.session) {
      this.peerSession = c.session;
    }
    if (!c.session) {
      this.log('warning', `remote: the peer sent no session (no DTLS fingerprint): ${this.stack} gets a ` +
                          'placeholder, so ICE can connect but DTLS and the data channel cannot');
    }
    const changed = this.lastRemote && (this.lastRemote.ufrag !== c.ufrag || this.lastRemote.pwd !== c.pwd);
    if (changed && !this.offerPending) {
      // RFC 8445 §9: new credentials from the peer are its restart; we
      // restart too (a new offer, or an answer to its new offer)
      this.log('info', 'the peer restarted ICE (new ufrag/pwd): restarting');
      this.beginRestart();
      if (this.offerer) await this.makeOffer(true);
    }
    this.lastRemote = { ufrag: c.ufrag, pwd: c.pwd };
    this.eoc = !!c.complete || !this.trickle;
    const remote = { ufrag: c.ufrag, pwd: c.pwd, candidates: ok.usable, complete: c.complete !== false,
                     session: c.session };
    if (this.offerPending) {
      // the peer's description answers our offer
      const text = sdp.remoteDescription(remote, { answer: true, mid: this.mid, trickle: this.trickle,
                                                   endOfCandidates: !this.trickle });
      await this.backend.setRemote('answer', this.withSetup(text));
      this.offerPending = false;
    } else {
      const text = sdp.remoteDescription(remote, { answer: false, mid: '0', trickle: this.trickle,
                                                   endOfCandidates: !this.trickle });
      await this.backend.setRemote('offer', this.withSetup(text));
      this.newPhase();
      const ans = await this.backend.createAnswer();
      const mid = sdp.localFromDescription(ans).mid;
      if (mid !== undefined) this.mid = mid;
      // natlab-ice opens its channel as the DTLS client only; the answerer
      // (the DTLS client here) opens one too, so some side always does
      if (this.channels.length === 0) this.addChannel(this.backend.createChannel('natlab'), true);
      this.announce();
    }
    this.remoteSet = true;
    // checks start now (docs/adding-an-implementation.md, step 3), whether
    // or not the stack reports the state itself
    if (this.lastState === undefined || this.needSelected) this.iceState('checking');
    for (const p of this.pendingCands.splice(0)) await this.backend.addCandidate(p, this.mid);
    this.startPolling();
  }

  // The DTLS roles settled by the first exchange stay for the session's
  // life (a re-offer says actpass; the answer we synthesise must keep the
  // roles the DTLS connection already has).
  withSetup(text) {
    if (!this.dtlsRemoteSetup) {
      const m = /a=setup:(\w+)/.exec(text);
      const remoteSetup = m ? m[1] : 'actpass';
      if (remoteSetup === 'active') this.dtlsRemoteSetup = 'active';
      else if (remoteSetup === 'passive') this.dtlsRemoteSetup = 'passive';
      else this.dtlsRemoteSetup = this.offerer ? 'active' : 'passive';
      return text;
    }
    if (/a=setup:actpass/.test(text) && !this.offerPending) return text; // a re-offer may say actpass
    return text.replace(/a=setup:\w+/, `a=setup:${this.dtlsRemoteSetup}`);
  }

  async candidate(c) {
    const ok = checkCandidates([c.candidate], (lv, m) => this.log(lv, m), 1);
    if (!ok.ok) return this.agent.error(`candidate: ${ok.msg}`);
    for (const v of ok.usable) {
      if (!this.remoteSet) this.pendingCands.push(v);
      else await this.backend.addCandidate(v, this.mid);
    }
  }

  async endOfCandidates() {
    this.eoc = true;
    if (this.backend.endOfCandidates) await this.backend.endOfCandidates(this.mid);
    if (this.iceFailed) this.reportFailed();
  }

  // ----------------------------------------------------------------- restart

  beginRestart() {
    this.needSelected = true;
    this.oldSelectedId = this.selectedNow ? this.selectedNow.id : null;
    this.iceFailed = false;
    this.failedReported = false;
    this.lastRemote = null;
  }

  async restart() {
    this.beginRestart();
    // An answerer that restarts makes the new offer itself (JSEP lets
    // either side offer); the peer's next description answers it.
    await this.makeOffer(true);
  }

  // ---------------------------------------------------------- ICE results

  iceState(s) {
    if (ICE_STATES.indexOf(s) < 0) return;
    if (s === 'new' || s === this.lastState) return;
    this.lastState = s;
    this.agent.emit('state', { state: s });
    if (s === 'failed') {
      this.iceFailed = true;
      if (this.selectedNow && !this.needSelected) {
        this.agent.emit('consent-lost', { component: 1, local: this.selectedNow.local,
                                          remote: this.selectedNow.remote });
      } else if (this.eoc) {
        this.reportFailed();
      }
    }
    if (s === 'connected' || s === 'completed') this.poll();
  }

  reportFailed() {
    if (this.failedReported) return;
    this.failedReported = true;
    // the stack's own view of its pairs goes to the cell's log (stderr)
    if (this.backend.describePairs) {
      Promise.resolve(this.backend.describePairs()).then((t) => process.stderr.write(`ICE failed; pairs:\n${t}\n`),
                                                          () => {});
    }
    this.agent.emit('failed', { reason: `${this.stack}: ICE failed (no candidate pair worked)` });
  }

  startPolling() {
    if (this.poller) return;
    this.poller = setInterval(() => this.poll(), POLL_MS);
  }

  async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      const sel = await this.backend.selected();
      if (!sel) return;
      if (this.needSelected) {
        // after a restart the old pair carries data until a new one
        if (this.oldSelectedId !== null && sel.id === this.oldSelectedId) return;
        this.needSelected = false;
        this.selectedNow = sel;
        this.emitPair('selected', sel);
      } else if (!stats.samePath(sel, this.selectedNow)) {
        this.selectedNow = sel;
        this.emitPair('switched', sel);
      }
    } catch (e) {
      this.log('warning', `${this.stack}: reading the selected pair: ${e && e.message ? e.message : e}`);
    } finally {
      this.polling = false;
    }
  }

  emitPair(ev, sel) {
    const f = { component: 1, local: sel.local, remote: sel.remote };
    if (sel.rtt_ms !== undefined) f.rtt_ms = sel.rtt_ms;
    this.agent.emit(ev, f);
  }

  // ------------------------------------------------------------- data plane

  addChannel(ch, ours) {
    this.channels.push(ch);
    ch.onopen = () => {
      if (!this.sendChannel) {
        this.sendChannel = ch;
        this.log('info', `data channel "${ch.label || ''}" open (${ours ? 'ours' : "the peer's"})`);
        this.runner.open();
      }
    };
    ch.onmessage = (bytes) => this.runner.input(bytes);
    ch.onclose = () => {
      if (this.sendChannel === ch) {
        this.sendChannel = this.channels.find((c) => c !== ch && c.isOpen && c.isOpen()) || null;
        if (!this.sendChannel) this.runner.fail('the data channel closed');
      }
    };
    if (ch.isOpen && ch.isOpen()) ch.onopen();
  }

  sendBytes(b) {
    if (!this.sendChannel) throw new Error('no open data channel');
    this.sendChannel.send(b);
  }

  async stop() {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    this.runner.close();
    try {
      await this.backend.close();
    } catch (e) {
      // closing is best effort: the process exits next
    }
  }
}

module.exports = { Session };
