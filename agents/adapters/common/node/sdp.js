// sdp.js - what a WebRTC stack's adapter synthesises (docs/agent-protocol.md,
// "What a WebRTC stack's adapter synthesises"): the remote description
// from a `remote` command, and `local` (credentials, candidates, session)
// from the stack's own description; plus the candidate checks of
// "Commands" (RFC 8839 §5.1 syntax; FQDN/mDNS skipped).
//
// Pure string work with no Node-only API: runs in Node (require) and in a
// web page (globalThis.natlabSdp).
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.natlabSdp = api;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  const SETUPS = ['actpass', 'active', 'passive'];
  const SCTP_PORT_DEFAULT = 5000;
  // RFC 8841 §6: without a=max-message-size the peer takes 64 KiB.
  const MAX_MESSAGE_SIZE_DEFAULT = 65536;

  // stripCandidate(text) -> the value without an "a=" prefix and a
  // trailing CR/LF (agents must accept both).
  function stripCandidate(text) {
    let c = String(text).replace(/[\r\n]+$/, '');
    if (c.startsWith('a=')) c = c.slice(2);
    return c;
  }

  const ICE_CHAR = /^[A-Za-z0-9+/]{1,32}$/;
  const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

  function isIpLiteral(a) {
    if (IPV4.test(a)) return true;
    // IPv6: hex groups and colons (one "::" at most), maybe an IPv4 tail
    if (!/^[0-9A-Fa-f:.]+$/.test(a) || a.indexOf(':') < 0) return false;
    if ((a.match(/::/g) || []).length > 1) return false;
    return true;
  }

  // parseCandidate(text) -> {ok:true, value, component, transport, address,
  //   port, type, tcptype} | {ok:false, skip:bool, msg}
  // skip: valid syntax the agent cannot use (FQDN or .local address, an
  // unknown transport): a `log` warning. Otherwise invalid: an `error`.
  function parseCandidate(text) {
    const value = stripCandidate(text);
    const f = value.split(/ +/);
    // candidate:<foundation> <component> <transport> <priority> <address>
    //   <port> typ <type> [raddr <a>] [rport <p>] *(<ext-name> <ext-value>)
    if (f.length < 8 || !f[0].startsWith('candidate:'))
      return { ok: false, skip: false, msg: `not an RFC 8839 candidate: "${value}"` };
    const foundation = f[0].slice('candidate:'.length);
    if (!ICE_CHAR.test(foundation))
      return { ok: false, skip: false, msg: `candidate foundation "${foundation}" is not 1-32 ice-chars` };
    if (!/^\d{1,3}$/.test(f[1]) || +f[1] < 1 || +f[1] > 256)
      return { ok: false, skip: false, msg: `candidate component "${f[1]}" is not 1..256` };
    if (!/^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]+$/.test(f[2]))
      return { ok: false, skip: false, msg: `candidate transport "${f[2]}" is not a token` };
    if (!/^\d{1,10}$/.test(f[3]) || +f[3] > 4294967295 || +f[3] < 1)
      return { ok: false, skip: false, msg: `candidate priority "${f[3]}" is not 1..2^32-1` };
    if (!/^\d{1,5}$/.test(f[5]) || +f[5] > 65535)
      return { ok: false, skip: false, msg: `candidate port "${f[5]}" is not 0..65535` };
    if (f[6] !== 'typ' || !/^[A-Za-z0-9-]+$/.test(f[7]))
      return { ok: false, skip: false, msg: `candidate has no "typ <type>" after its port: "${value}"` };
    if ((f.length - 8) % 2 !== 0)
      return { ok: false, skip: false, msg: `candidate extension without a value: "${value}"` };
    const ext = {};
    for (let i = 8; i < f.length; i += 2) ext[f[i]] = f[i + 1];
    const transport = f[2].toLowerCase();
    const out = {
      ok: true,
      value,
      component: +f[1],
      transport,
      address: f[4],
      port: +f[5],
      type: f[7],
      tcptype: ext.tcptype,
    };
    if (transport !== 'udp' && transport !== 'tcp')
      return { ok: false, skip: true, msg: `skipping a candidate of unknown transport "${f[2]}": ${value}` };
    if (!isIpLiteral(f[4]))
      return {
        ok: false,
        skip: true,
        msg: `skipping a candidate whose address "${f[4]}" is a name (FQDN or mDNS), not an IP literal: ${value}`,
      };
    return out;
  }

  // checkSession(s) -> null | message: a `remote` command's `session`
  // (docs/agent-protocol.md, "Session parameters"): an object whose known
  // fields have their types.
  function checkSession(s) {
    if (s === undefined || s === null) return null;
    if (typeof s !== 'object' || Array.isArray(s)) return '"session" must be an object';
    if (s.fingerprint !== undefined) {
      if (typeof s.fingerprint !== 'string') return '"session.fingerprint" must be a string';
      if (!/^[A-Za-z0-9-]+ [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+$/.test(s.fingerprint))
        return `"session.fingerprint" is not RFC 8122 syntax ("sha-256 AB:CD:…"): "${s.fingerprint}"`;
    }
    if (s.setup !== undefined && (typeof s.setup !== 'string' || SETUPS.indexOf(s.setup) < 0))
      return '"session.setup" must be "actpass", "active" or "passive"';
    if (s.sctp_port !== undefined && (!Number.isInteger(s.sctp_port) || s.sctp_port < 1 || s.sctp_port > 65535))
      return '"session.sctp_port" must be an integer 1..65535';
    if (s.max_message_size !== undefined && (!Number.isInteger(s.max_message_size) || s.max_message_size < 0))
      return '"session.max_message_size" must be an integer >= 0';
    return null;
  }

  // A fingerprint for a peer that announced none (natlab-ice on its
  // datagram plane, libnice): the stack insists on one, ICE connects
  // before DTLS looks at it, and DTLS then fails, which that peer never
  // expected anyway. All bytes 0x4E ("N").
  const PLACEHOLDER_FINGERPRINT = 'sha-256 ' + new Array(32).fill('4E').join(':');

  // remoteDescription(remote, opts) -> SDP text.
  // remote: {ufrag, pwd, candidates:[C], complete?, session?}
  // opts: {answer: bool (this description answers our offer), mid ("0"),
  //   candidates: [C] to put in (default remote.candidates, already
  //   checked), trickle: bool, endOfCandidates: bool}
  // RFC 8841 §4: one m=application … UDP/DTLS/SCTP webrtc-datachannel
  // section. In an answer `actpass` is not allowed (RFC 5763 §5): a peer
  // that said it anyway is taken as `active`, the answerer's usual choice.
  function remoteDescription(remote, opts) {
    opts = opts || {};
    const s = remote.session || {};
    const mid = opts.mid === undefined ? '0' : String(opts.mid);
    let setup = s.setup || (opts.answer ? 'active' : 'actpass');
    if (opts.answer && setup === 'actpass') setup = 'active';
    const l = [
      'v=0',
      'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      `a=group:BUNDLE ${mid}`,
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'c=IN IP4 0.0.0.0',
      `a=mid:${mid}`,
      `a=ice-ufrag:${remote.ufrag}`,
      `a=ice-pwd:${remote.pwd}`,
    ];
    if (opts.trickle) l.push('a=ice-options:trickle');
    l.push(`a=fingerprint:${s.fingerprint || PLACEHOLDER_FINGERPRINT}`);
    l.push(`a=setup:${setup}`);
    l.push(`a=sctp-port:${s.sctp_port || SCTP_PORT_DEFAULT}`);
    if (s.max_message_size !== undefined) l.push(`a=max-message-size:${s.max_message_size}`);
    for (const c of opts.candidates || remote.candidates || []) l.push(`a=${stripCandidate(c)}`);
    const end = opts.endOfCandidates === undefined ? !!remote.complete : opts.endOfCandidates;
    if (end) l.push('a=end-of-candidates');
    return l.join('\r\n') + '\r\n';
  }

  function attr(lines, name) {
    const p = `a=${name}:`;
    const l = lines.find((x) => x.startsWith(p));
    return l === undefined ? undefined : l.slice(p.length).trim();
  }

  // localFromDescription(sdp) -> {ufrag, pwd, candidates, complete, mid,
  //   session:{fingerprint, setup, sctp_port, max_message_size}}
  // from the first m= section (BUNDLE: the one that carries the data
  // channel); session attributes may also sit at session level.
  function localFromDescription(sdp) {
    const all = String(sdp).split(/\r?\n/).filter((x) => x.length > 0);
    const m = all.findIndex((x) => x.startsWith('m='));
    const sess = m < 0 ? all : all.slice(0, m);
    let media = m < 0 ? [] : all.slice(m + 1);
    const next = media.findIndex((x) => x.startsWith('m='));
    if (next >= 0) media = media.slice(0, next);
    const get = (n) => {
      const v = attr(media, n);
      return v === undefined ? attr(sess, n) : v;
    };
    const session = {};
    const fp = get('fingerprint');
    if (fp) {
      const [hash, hex] = fp.split(/ +/);
      session.fingerprint = `${hash.toLowerCase()} ${(hex || '').toUpperCase()}`;
    }
    const setup = get('setup');
    if (setup) session.setup = setup;
    const port = get('sctp-port');
    session.sctp_port = port ? parseInt(port, 10) : SCTP_PORT_DEFAULT;
    const mms = get('max-message-size');
    session.max_message_size = mms ? parseInt(mms, 10) : MAX_MESSAGE_SIZE_DEFAULT;
    return {
      ufrag: get('ice-ufrag'),
      pwd: get('ice-pwd'),
      candidates: media.filter((x) => x.startsWith('a=candidate:')).map((x) => x.slice(2)),
      complete: media.some((x) => x === 'a=end-of-candidates'),
      mid: attr(media, 'mid'),
      session,
    };
  }

  return {
    SCTP_PORT_DEFAULT,
    MAX_MESSAGE_SIZE_DEFAULT,
    PLACEHOLDER_FINGERPRINT,
    stripCandidate,
    parseCandidate,
    checkSession,
    remoteDescription,
    localFromDescription,
  };
});
