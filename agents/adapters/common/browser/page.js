// page.js - the browser half of natlab's browser adapters (natlab-chromium,
// natlab-firefox): one RTCPeerConnection driven by the agent protocol
// (docs/agent-protocol.md). page.html loads it over http://127.0.0.1 (a
// secure context: RTCPeerConnection and getStats are there) after the
// Node adapters' shared pure modules (agents/adapters/common/node: sdp.js,
// stats.js, dataplane.js as globalThis.natlabSdp/natlabStats/
// natlabDataplane). The Node half (adapter.js) calls natlab.cmd(obj) for
// each command it has checked, and reads the events this page prints as
// console lines "natlab-ev " + JSON.
//
// Offer/answer follows JSEP (RFC 8829 §3.1: the offerer is the ICE
// controlling agent): the controlling agent offers at `gather`; the
// controlled one (which declared `answerer`) answers once the peer's
// `remote` came. The peer's description is synthesised from `remote`
// (docs/agent-protocol.md, "What a WebRTC stack's adapter synthesises").
'use strict';

(function () {
  const Sdp = globalThis.natlabSdp;
  const Stats = globalThis.natlabStats;
  const cfg = { role: 'controlling', iceServers: [], policy: 'all', trickle: false, gatherTimeoutMs: 3000 };
  let pc = null;
  let mid = '0';
  let gatherWanted = false;
  let offerPending = null; // the peer's offer, come before our `gather`
  let remoteSet = false;
  let remoteCreds = null; // the peer's current ufrag/pwd
  const queued = []; // trickled candidates before the remote description
  let endPending = false;
  let localSent = false;
  let selected = null;
  let connectedOnce = false;
  let peerEnded = false; // the peer's end-of-candidates (or a complete remote)
  let failPending = false; // state failed seen before it
  let statsTimer = null;
  let ops = Promise.resolve(); // commands run one after the other
  const channels = [];
  let sendChan = null;

  function emit(ev, fields) {
    console.log('natlab-ev ' + JSON.stringify(Object.assign({ ev }, fields || {})));
  }
  function log(level, msg) {
    emit('log', { level, msg });
  }
  const runner = new globalThis.natlabDataplane.Runner({
    send: (bytes) => sendChan.send(bytes),
    emit: (ev, f) => emit(ev, f),
  });

  // ------------------------------------------------- the selected pair
  // getStats every 50 ms once ICE connected: the first pair is `selected`,
  // a different one later `switched` (Chromium nominates the first valid
  // pair and may move to a better one).
  async function pollSelected() {
    if (!pc) return;
    let p = null;
    try {
      p = Stats.selectedPair(await pc.getStats());
    } catch (e) {
      return;
    }
    if (!p || (selected && Stats.samePath(p, selected))) return;
    const ev = selected ? 'switched' : 'selected';
    selected = p;
    const f = { component: 1, local: p.local, remote: p.remote };
    if (p.rtt_ms !== undefined) f.rtt_ms = p.rtt_ms;
    emit(ev, f);
  }

  // ------------------------------------------------- the data channel
  function addChannel(ch) {
    ch.binaryType = 'arraybuffer';
    channels.push(ch);
    ch.onmessage = (e) => {
      if (!(e.data instanceof ArrayBuffer)) return;
      const bytes = new Uint8Array(e.data);
      const m = globalThis.natlabDataplane.parse(bytes);
      // an acknowledgement goes back on the channel its message came on
      if (m && m.kind === globalThis.natlabDataplane.KIND_DATA && ch !== sendChan && ch.readyState === 'open') {
        const was = sendChan;
        sendChan = ch;
        runner.input(bytes);
        sendChan = was;
        return;
      }
      runner.input(bytes);
    };
    const opened = () => {
      if (sendChan) return;
      sendChan = ch;
      log('info', `data channel "${ch.label}" open (${ch.ordered ? 'ordered' : 'unordered'}, maxRetransmits ${ch.maxRetransmits})`);
      runner.open();
    };
    if (ch.readyState === 'open') opened();
    else ch.addEventListener('open', opened);
  }
  function ownChannel() {
    // RFC 8831 §6.1 / docs/agent-protocol.md: unordered, no retransmission
    addChannel(pc.createDataChannel('natlab', { ordered: false, maxRetransmits: 0 }));
  }

  // ------------------------------------------------- ICE and offer/answer
  function newPc() {
    pc = new RTCPeerConnection({
      iceServers: cfg.iceServers,
      iceTransportPolicy: cfg.policy === 'relay' ? 'relay' : 'all',
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    pc.ondatachannel = (e) => addChannel(e.channel);
    pc.onicecandidate = (e) => {
      if (!cfg.trickle || !localSent) return;
      if (e.candidate && e.candidate.candidate) emit('candidate', { candidate: e.candidate.candidate });
      else if (!e.candidate) emit('candidate', { end: true });
    };
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === 'gathering') emit('state', { state: 'gathering' });
    };
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      if (s === 'connected' || s === 'completed') {
        connectedOnce = true;
        if (!statsTimer) statsTimer = setInterval(pollSelected, 50);
        pollSelected();
      }
      // RFC 7675 consent freshness is the browser's own (fixed timers):
      // `failed` after having connected is consent lost
      if (s === 'failed' && connectedOnce) emit('consent-lost', { component: 1, local: selected && selected.local, remote: selected && selected.remote });
      // RFC 8838 / docs/agent-protocol.md: a trickling agent declares
      // `failed` only after the peer's end-of-candidates (a browser may
      // give up on the pairs it has before a late relay candidate comes)
      if (s === 'failed' && !connectedOnce && cfg.trickle && !peerEnded) {
        failPending = true;
        log('info', 'the browser reached state failed before the peer\'s end-of-candidates: not failed yet');
        return;
      }
      if (s !== 'new') emit('state', { state: s });
      if (s === 'failed' && !connectedOnce) fail();
    };
  }

  function fail() {
    failPending = false;
    emit('failed', { reason: "the browser's ICE agent reached state failed (no candidate pair worked)" });
  }
  // the peer's candidates are all there: a failure held back is one now
  function peerDone() {
    peerEnded = true;
    if (failPending && pc && pc.iceConnectionState === 'failed') {
      emit('state', { state: 'failed' });
      fail();
    }
  }

  // Full gathering: `local` once gathering is complete, or after
  // --gather-timeout-ms (a STUN server behind a UDP block never answers,
  // and a browser keeps gathering for tens of seconds).
  // restart: gathering starts again after setLocalDescription, but the
  // state may still say `complete` (the old round's) when we first look
  let restarting = false;
  function gathered() {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete' && !restarting) return resolve(true);
      restarting = false;
      const t = setTimeout(() => resolve(false), cfg.gatherTimeoutMs);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(t);
          resolve(true);
        }
      });
    });
  }
  async function sendLocal() {
    if (!cfg.trickle) {
      if (!(await gathered()))
        log('warning', `gathering not complete ${cfg.gatherTimeoutMs} ms after it started (--gather-timeout-ms): the candidates found so far`);
    }
    const l = Sdp.localFromDescription(pc.localDescription.sdp);
    const complete = !cfg.trickle || pc.iceGatheringState === 'complete';
    localSent = true;
    emit('local', { ufrag: l.ufrag, pwd: l.pwd, candidates: l.candidates, complete, session: l.session });
    if (cfg.trickle && complete) emit('candidate', { end: true });
  }
  async function offer(restart) {
    if (!pc) {
      newPc();
      ownChannel();
    }
    localSent = false;
    restarting = !!restart && pc.iceGatheringState === 'complete';
    await pc.setLocalDescription(await pc.createOffer(restart ? { iceRestart: true } : {}));
    mid = Sdp.localFromDescription(pc.localDescription.sdp).mid || '0';
    await sendLocal();
  }
  async function addCand(c) {
    try {
      await pc.addIceCandidate({ candidate: Sdp.stripCandidate(c), sdpMid: mid, sdpMLineIndex: 0 });
    } catch (e) {
      log('warning', `candidate skipped by the browser (${e.message}): ${c}`);
    }
  }
  async function flush() {
    for (const c of queued.splice(0)) await addCand(c);
    if (endPending) {
      endPending = false;
      await pc.addIceCandidate().catch(() => {});
      peerDone();
    }
  }
  // A `remote` answers our offer when one is outstanding; otherwise it is
  // an offer (the first, we being the answerer, or the peer's ICE restart:
  // new ufrag/pwd, RFC 8445 §9), which we answer.
  async function remote(r) {
    if (r.complete) peerEnded = true;
    const desc = (answer) => Sdp.remoteDescription(r, { answer, mid, trickle: true,
      endOfCandidates: !cfg.trickle || !!r.complete });
    if (pc && pc.signalingState === 'have-local-offer') {
      remoteCreds = r;
      await pc.setRemoteDescription({ type: 'answer', sdp: desc(true) });
      remoteSet = true;
      return flush();
    }
    if (!gatherWanted) {
      offerPending = r;
      return;
    }
    if (pc && remoteCreds && remoteCreds.ufrag === r.ufrag && remoteCreds.pwd === r.pwd) {
      for (const c of r.candidates || []) await addCand(c);
      return;
    }
    const fresh = !pc;
    if (fresh) newPc();
    else selected = null; // the peer restarted: the next selection is `selected`
    remoteCreds = r;
    await pc.setRemoteDescription({ type: 'offer', sdp: desc(false) });
    remoteSet = true;
    localSent = false;
    restarting = !fresh && pc.iceGatheringState === 'complete';
    await pc.setLocalDescription(await pc.createAnswer());
    if (fresh) ownChannel(); // natlab-ice as offerer opens none: we do
    await flush();
    await sendLocal();
  }

  async function run(c) {
    switch (c.cmd) {
      case 'gather':
        gatherWanted = true;
        if (cfg.role === 'controlling') return offer(false);
        if (offerPending) {
          const r = offerPending;
          offerPending = null;
          return remote(r);
        }
        return; // the answerer gathers when the offer comes
      case 'remote':
        return remote(c);
      case 'candidate':
        if (!remoteSet) return void queued.push(c.candidate);
        return addCand(c.candidate);
      case 'end-of-candidates':
        if (!remoteSet) return void (endPending = true);
        await pc.addIceCandidate().catch(() => {});
        return peerDone();
      case 'restart':
        if (!pc) throw new Error('restart before gather');
        selected = null;
        return offer(true);
      case 'send':
        if (!sendChan) log('info', 'send: waits for the data channel to open');
        return runner.command(c);
      default:
        throw new Error(`unknown command "${c.cmd}"`);
    }
  }

  globalThis.natlab = {
    // c.mediaPermission: ask for a (fake) microphone once. Chromium
    // gathers host candidates on every interface only for a page with a
    // media permission; without it only on the default route's interface,
    // and a node without a default route has no host candidate at all.
    async init(c) {
      Object.assign(cfg, c);
      if (cfg.mediaPermission) {
        try {
          const st = await navigator.mediaDevices.getUserMedia({ audio: true });
          for (const t of st.getTracks()) t.stop();
        } catch (e) {
          log('warning', `no media permission (${e.message}): host candidates on the default route's interface only`);
        }
      }
      return true;
    },
    cmd(c) {
      ops = ops.then(() => run(c)).catch((e) => emit('error', { msg: `${c.cmd}: ${e && e.message ? e.message : e}` }));
      return true;
    },
    stop() {
      if (statsTimer) clearInterval(statsTimer);
      runner.close();
      for (const ch of channels) {
        try {
          ch.close();
        } catch (e) {
          // closing anyway
        }
      }
      if (pc) pc.close();
      return true;
    },
  };
})();
