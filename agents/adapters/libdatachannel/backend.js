// backend.js - libdatachannel (npm node-datachannel; ICE from libjuice)
// behind the backend interface of agents/adapters/common/node/session.js,
// through node-datachannel's own API (its W3C polyfill hides the selected
// pair's details and has no restart either).
'use strict';

// iceServers(opts) -> node-datachannel IceServer[]. libjuice's TURN
// client speaks UDP only: TCP and TLS servers are left out (the caller
// says so in a log line; the capabilities say turn-tcp/turn-tls false).
function iceServers(opts) {
  const out = [];
  for (const s of opts.stunServers) out.push({ hostname: s.host, port: s.port });
  for (const t of opts.turnServers) {
    if (t.transport !== 'udp') continue;
    out.push({ hostname: t.host, port: t.port, username: opts['turn-user'], password: opts['turn-pass'],
               relayType: 'TurnUdp' });
  }
  return out;
}

// libdatachannel's candidate types and transports, as the protocol names them
function candidate(info) {
  const tt = String(info.transportType || 'UDP').toLowerCase();
  const c = {
    type: { host: 'host', srflx: 'srflx', prflx: 'prflx', relay: 'relay',
            server_reflexive: 'srflx', peer_reflexive: 'prflx', relayed: 'relay' }[String(info.type).toLowerCase()] ||
          String(info.type).toLowerCase(),
    transport: tt.startsWith('tcp') ? 'tcp' : 'udp',
    address: info.address,
    port: info.port,
  };
  if (c.transport === 'tcp') {
    const m = /tcp_(active|passive|so)/.exec(tt);
    if (m) c.tcptype = m[1];
  }
  return c;
}

class Backend {
  constructor(ndc, opts) {
    this.hooks = null;
    this.pc = new ndc.PeerConnection('natlab', {
      iceServers: iceServers(opts),
      iceTransportPolicy: opts.policy === 'relay' ? 'relay' : 'all',
      // the session decides when to offer and answer
      disableAutoNegotiation: true,
    });
    this.waitLocal = null;
    this.pc.onLocalDescription((sdp, type) => {
      if (this.waitLocal) {
        const w = this.waitLocal;
        this.waitLocal = null;
        w(sdp);
      }
    });
    this.pc.onLocalCandidate((c) => this.hooks.candidate(c));
    this.pc.onGatheringStateChange((s) => {
      if (s === 'complete') this.hooks.gatheringDone();
    });
    this.pc.onIceStateChange((s) => this.hooks.iceState(s));
    this.pc.onDataChannel((dc) => this.hooks.channel(this.wrap(dc)));
    this.relayTransport = 'udp';
  }

  wrap(dc) {
    const ch = {
      label: dc.getLabel ? dc.getLabel() : '',
      send: (b) => dc.sendMessageBinary(b),
      isOpen: () => dc.isOpen(),
      onopen: null,
      onmessage: null,
      onclose: null,
    };
    dc.onOpen(() => ch.onopen && ch.onopen());
    dc.onClosed(() => ch.onclose && ch.onclose());
    dc.onMessage((m) => {
      if (typeof m === 'string' || !ch.onmessage) return;
      ch.onmessage(m instanceof ArrayBuffer ? new Uint8Array(m)
                                            : new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
    });
    return ch;
  }

  createChannel(label) {
    return this.wrap(this.pc.createDataChannel(label, { unordered: true, maxRetransmits: 0 }));
  }

  setLocal(type) {
    return new Promise((resolve) => {
      this.waitLocal = resolve;
      this.pc.setLocalDescription(type);
    });
  }

  async createOffer({ restart }) {
    if (restart) throw new Error('libdatachannel has no ICE restart (libjuice): restart refused');
    return this.setLocal('offer');
  }

  async createAnswer() {
    return this.setLocal('answer');
  }

  async setRemote(type, sdp) {
    this.pc.setRemoteDescription(sdp, type);
  }

  async addCandidate(c, mid) {
    this.pc.addRemoteCandidate(c, mid);
  }

  localDescription() {
    const d = this.pc.localDescription();
    return d ? d.sdp : '';
  }

  async selected() {
    const p = this.pc.getSelectedCandidatePair();
    if (!p || !p.local || !p.remote) return null;
    const local = candidate(p.local);
    const remote = candidate(p.remote);
    // libjuice reaches TURN servers over UDP only
    if (local.type === 'relay') local.relay_transport = 'udp';
    return { id: `${p.local.candidate}|${p.remote.candidate}`, local, remote };
  }

  close() {
    this.pc.close();
  }
}

module.exports = { Backend, iceServers };
