// stats.js - the agent protocol's `selected` event from a W3C
// RTCPeerConnection's getStats() (RTCStatsReport, webrtc-stats §7):
// the transport's selected candidate pair (or, for stacks that do not fill
// selectedCandidatePairId, the nominated succeeded pair), its two
// candidates as {type, transport, address, port, tcptype?,
// relay_transport?} and rtt_ms from the pair's currentRoundTripTime.
//
// Pure, no Node-only API: Node (require) and web pages
// (globalThis.natlabStats).
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.natlabStats = api;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  const TYPES = { host: 'host', srflx: 'srflx', prflx: 'prflx', relay: 'relay',
                  serverreflexive: 'srflx', peerreflexive: 'prflx', relayed: 'relay' };

  // candidate(stat) -> {type, transport, address, port, tcptype?,
  //   relay_transport?}: one RTCIceCandidateStats as the protocol writes it.
  function candidate(st) {
    const c = {
      type: TYPES[String(st.candidateType || '').toLowerCase()] || String(st.candidateType),
      transport: String(st.protocol || 'udp').toLowerCase(),
      address: st.address !== undefined && st.address !== null ? st.address : st.ip,
      port: st.port,
    };
    if (c.transport === 'tcp' && st.tcpType) c.tcptype = String(st.tcpType).toLowerCase();
    // relayProtocol: how the agent reaches its TURN server (local relay
    // candidates only; a remote relay's is not known)
    if (c.type === 'relay' && st.relayProtocol) c.relay_transport = String(st.relayProtocol).toLowerCase();
    return c;
  }

  function entries(report) {
    const out = [];
    if (report && typeof report.forEach === 'function') report.forEach((v) => out.push(v));
    else if (Array.isArray(report)) return report;
    else if (report) for (const k of Object.keys(report)) out.push(report[k]);
    return out;
  }

  // selectedPair(report) -> null | {id, local, remote, rtt_ms?}
  function selectedPair(report) {
    const all = entries(report);
    const byId = new Map(all.map((s) => [s.id, s]));
    let pair = null;
    for (const s of all) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        pair = byId.get(s.selectedCandidatePairId) || null;
        if (pair) break;
      }
    }
    if (!pair) {
      // older stacks: a pair flagged selected, else the nominated
      // succeeded one
      pair = all.find((s) => s.type === 'candidate-pair' && s.selected === true) ||
             all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') ||
             null;
    }
    if (!pair) return null;
    const l = byId.get(pair.localCandidateId);
    const r = byId.get(pair.remoteCandidateId);
    if (!l || !r) return null;
    const out = { id: pair.id, local: candidate(l), remote: candidate(r) };
    if (typeof pair.currentRoundTripTime === 'number')
      out.rtt_ms = Math.round(pair.currentRoundTripTime * 1000);
    return out;
  }

  // samePath(a, b): the same local and remote candidate (another id for
  // the same addresses is not a switch)
  function samePath(a, b) {
    if (!a || !b) return false;
    const k = (c) => [c.type, c.transport, c.address, c.port, c.relay_transport || ''].join('|');
    return k(a.local) === k(b.local) && k(a.remote) === k(b.remote);
  }

  return { candidate, selectedPair, samePath };
});
