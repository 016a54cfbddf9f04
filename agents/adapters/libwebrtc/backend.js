// backend.js - libwebrtc (npm @roamhq/wrtc) behind the backend interface of
// agents/adapters/common/node/session.js: the W3C RTCPeerConnection API.
'use strict';

const stats = require('../common/node/stats.js');

// iceServers(opts) -> RTCIceServer[] from --stun/--turn (W3C webrtc-pc §4.2.1
// urls: stun:HOST:PORT, turn:HOST:PORT?transport=udp|tcp, turns:HOST:PORT).
function iceServers(opts) {
  const host = (s) => (s.v6 ? `[${s.host}]` : s.host);
  const out = [];
  for (const s of opts.stunServers) out.push({ urls: `stun:${host(s)}:${s.port}` });
  for (const t of opts.turnServers) {
    const url = t.transport === 'tls' ? `turns:${host(t)}:${t.port}?transport=tcp`
                                      : `turn:${host(t)}:${t.port}?transport=${t.transport}`;
    out.push({ urls: url, username: opts['turn-user'], credential: opts['turn-pass'] });
  }
  return out;
}

function bytesOf(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null; // a string message is not the data plane's
}

class Backend {
  constructor(wrtc, opts) {
    this.wrtc = wrtc;
    this.hooks = null;
    this.pc = new wrtc.RTCPeerConnection({
      iceServers: iceServers(opts),
      iceTransportPolicy: opts.policy === 'relay' ? 'relay' : 'all',
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) this.hooks.candidate(e.candidate.candidate);
      else if (!e.candidate) this.hooks.gatheringDone();
    };
    this.pc.onicegatheringstatechange = () => {
      if (this.pc.iceGatheringState === 'complete') this.hooks.gatheringDone();
    };
    this.pc.oniceconnectionstatechange = () => this.hooks.iceState(this.pc.iceConnectionState);
    this.pc.ondatachannel = (e) => this.hooks.channel(this.wrap(e.channel));
  }

  wrap(dc) {
    dc.binaryType = 'arraybuffer';
    const ch = {
      label: dc.label,
      send: (b) => dc.send(b),
      isOpen: () => dc.readyState === 'open',
      onopen: null,
      onmessage: null,
      onclose: null,
    };
    dc.onopen = () => ch.onopen && ch.onopen();
    dc.onclose = () => ch.onclose && ch.onclose();
    dc.onmessage = (e) => {
      const b = bytesOf(e.data);
      if (b && ch.onmessage) ch.onmessage(b);
    };
    return ch;
  }

  createChannel(label) {
    // RFC 8831 §6.1 unordered, partial reliability with 0 retransmissions
    return this.wrap(this.pc.createDataChannel(label, { ordered: false, maxRetransmits: 0 }));
  }

  async createOffer({ restart }) {
    const o = await this.pc.createOffer(restart ? { iceRestart: true } : {});
    await this.pc.setLocalDescription(o);
    return this.pc.localDescription.sdp;
  }

  async createAnswer() {
    const a = await this.pc.createAnswer();
    await this.pc.setLocalDescription(a);
    return this.pc.localDescription.sdp;
  }

  async setRemote(type, sdp) {
    await this.pc.setRemoteDescription({ type, sdp });
  }

  async addCandidate(c, mid) {
    await this.pc.addIceCandidate({ candidate: c, sdpMid: mid, sdpMLineIndex: 0 });
  }

  localDescription() {
    return this.pc.localDescription ? this.pc.localDescription.sdp : '';
  }

  async selected() {
    return stats.selectedPair(await this.pc.getStats());
  }

  // describePairs() -> text: every candidate pair of getStats, one a line
  async describePairs() {
    const all = [];
    (await this.pc.getStats()).forEach((x) => all.push(x));
    const byId = new Map(all.map((x) => [x.id, x]));
    const c = (id) => {
      const x = byId.get(id) || {};
      return `${x.candidateType}/${x.protocol} ${x.address || x.ip}:${x.port}`;
    };
    return all.filter((x) => x.type === 'candidate-pair')
      .map((p) => `${c(p.localCandidateId)} -> ${c(p.remoteCandidateId)} ${p.state}` +
                  ` nominated=${p.nominated} req=${p.requestsSent} resp=${p.responsesReceived}` +
                  ` inreq=${p.requestsReceived}`)
      .join('\n');
  }

  close() {
    this.pc.close();
  }
}

module.exports = { Backend, iceServers };
