// The `datachannel` data plane (docs/agent-protocol.md, "The datachannel
// plane") on pion's own WebRTC pieces, composed as pion/webrtc composes
// them but on this adapter's pion/ice Conn: pion/dtls (DTLS 1.2, RFC
// 6347, a self-signed ECDSA P-256 certificate checked against the
// signalled fingerprint, RFC 8122), pion/sctp (SCTP over DTLS, RFC 8261)
// and pion/datachannel (DCEP, RFC 8832). The protocol's messages travel
// unchanged, one per data channel message, PPID 53 (WebRTC Binary).
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/crypto/selfsign"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/sctp"

	"natlab/agentproto"
)

const (
	sctpPort       = 5000   // pion/sctp's fixed port (SDP a=sctp-port)
	maxMessageSize = 262144 // what this side receives (a=max-message-size)
	label          = "natlab"
)

// dcPlane is one agent's data channel: the DTLS connection on the ICE
// Conn, the SCTP association over it and the channels.
type dcPlane struct {
	a     *adapter
	cert  tls.Certificate
	fp    string // our fingerprint, "sha-256 AB:CD:..."
	setup string // our a=setup: actpass (controlling, the offerer) or active

	mu       sync.Mutex
	peerFP   string // the peer's session.fingerprint ("" = not checked)
	peerSet  string // the peer's session.setup
	started  bool
	dtlsIn   chan []byte // DTLS records from the Conn
	out      *datachannel.DataChannel
	open     chan struct{} // closed when a channel can carry messages
	openOnce sync.Once
	selectAt time.Time
}

func newDCPlane(a *adapter) (*dcPlane, error) {
	cert, err := selfsign.GenerateSelfSigned() // ECDSA P-256 (RFC 8827 §6.5)
	if err != nil {
		return nil, err
	}
	p := &dcPlane{a: a, cert: cert, fp: fingerprint(cert.Certificate[0]),
		setup: "active", dtlsIn: make(chan []byte, 64), open: make(chan struct{})}
	if a.opt.Role == "controlling" {
		p.setup = "actpass" // JSEP: the controlling agent is the offerer
	}
	return p, nil
}

// fingerprint is RFC 8122 §5's form of a DER certificate's SHA-256.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return "sha-256 " + strings.Join(hex, ":")
}

// session is what `local` carries for the peer (docs/agent-protocol.md,
// "Session parameters").
func (p *dcPlane) session() agentproto.F {
	return agentproto.F{"fingerprint": p.fp, "setup": p.setup, "sctp_port": sctpPort,
		"max_message_size": maxMessageSize}
}

// peer reads the peer's session; an error names the bad field.
func (p *dcPlane) peer(s map[string]any) error {
	fp, _ := s["fingerprint"].(string)
	setup, _ := s["setup"].(string)
	if v, ok := s["fingerprint"]; ok && !isString(v) {
		return errors.New("session.fingerprint must be a string")
	}
	if fp != "" && !strings.HasPrefix(strings.ToLower(fp), "sha-256 ") {
		return fmt.Errorf("session.fingerprint %q: only sha-256 is checked (RFC 8122 §5 syntax: \"sha-256 AB:CD:...\")", fp)
	}
	switch setup {
	case "", "actpass", "active", "passive":
	default:
		return fmt.Errorf("session.setup %q: want actpass, active or passive", setup)
	}
	p.mu.Lock()
	p.peerFP, p.peerSet = fp, setup
	p.mu.Unlock()
	return nil
}

func isString(v any) bool { _, ok := v.(string); return ok }

// client settles the DTLS role from both a=setup values (RFC 5763 §5);
// when they do not settle it the controlled agent is the client, as in
// natlab-ice.
func (p *dcPlane) client() bool {
	p.mu.Lock()
	peer := p.peerSet
	p.mu.Unlock()
	switch {
	case p.setup == "active" && peer != "active":
		return true
	case p.setup == "actpass" && peer == "passive":
		return true
	case p.setup == "actpass" && peer == "active":
		return false
	}
	return p.a.opt.Role == "controlled"
}

// input takes a datagram from the Conn: DTLS records (first byte 20..63,
// RFC 7983 §7) go to the DTLS connection.
func (p *dcPlane) input(b []byte) bool {
	if len(b) == 0 || b[0] < 20 || b[0] > 63 {
		return false
	}
	select {
	case p.dtlsIn <- append([]byte(nil), b...):
	default: // DTLS retransmits what it lost
	}
	return true
}

// start runs DTLS, SCTP and the data channel on @conn once a pair is
// selected (once: a later pair carries the same DTLS connection).
func (p *dcPlane) start(conn *ice.Conn, lf logging.LoggerFactory) {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return
	}
	p.started = true
	p.selectAt = time.Now()
	peerFP := p.peerFP
	p.mu.Unlock()
	go p.run(conn, lf, peerFP)
}

func (p *dcPlane) since() int64 { return time.Since(p.selectAt).Milliseconds() }

func (p *dcPlane) fail(what string, err error) {
	p.a.out.Log("error", fmt.Sprintf("datachannel: %s: %v", what, err))
}

// dtlsConfig is the DTLS side of a WebRTC endpoint: our certificate, the
// peer's checked against its signalled fingerprint only, and DTLS-SRTP
// profiles offered and accepted.
func (p *dcPlane) dtlsConfig(lf logging.LoggerFactory, peerFP string) *dtls.Config {
	return &dtls.Config{
		Certificates:         []tls.Certificate{p.cert},
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		ClientAuth:           dtls.RequireAnyClientCert,
		// the certificate is self-signed: it is checked against the
		// signalled fingerprint only (RFC 8827 §6.5)
		InsecureSkipVerify:      true,
		InsecureSkipVerifyHello: true,
		// A WebRTC endpoint negotiates DTLS-SRTP in the same handshake
		// (RFC 8827 §6.5, RFC 5764 §4.1.1), and the browsers, libwebrtc
		// and libdatachannel offer use_srtp: pion/dtls as server refuses
		// a use_srtp it has no profile for ("insufficient security"), so
		// the profiles pion/webrtc itself configures are given.
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{
			dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		LoggerFactory: lf,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the peer sent no certificate")
			}
			if peerFP != "" && !strings.EqualFold(fingerprint(raw[0]), peerFP) {
				return errors.New("the peer's certificate does not match its signalled fingerprint")
			}
			return nil
		},
	}
}

func (p *dcPlane) run(conn *ice.Conn, lf logging.LoggerFactory, peerFP string) {
	client := p.client()
	role := map[bool]string{true: "client", false: "server"}[client]
	cfg := p.dtlsConfig(lf, peerFP)
	pipe := &dtlsPipe{conn: conn, in: p.dtlsIn, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dc *dtls.Conn
	var err error
	if client {
		dc, err = dtls.ClientWithContext(ctx, pipe, cfg)
	} else {
		dc, err = dtls.ServerWithContext(ctx, pipe, cfg)
	}
	if err != nil {
		p.fail("DTLS handshake as "+role, err)
		return
	}
	dtlsMs := p.since()
	p.a.out.Log("info", fmt.Sprintf("datachannel: DTLS 1.2 handshake done as %s in %d ms (pion/dtls)", role, dtlsMs))
	// WebRTC: both ends connect, neither listens (pion/webrtc does the same)
	assoc, err := sctp.Client(sctp.Config{NetConn: dc, LoggerFactory: lf, MaxMessageSize: maxMessageSize})
	if err != nil {
		p.fail("SCTP association", err)
		return
	}
	sctpMs := p.since()
	p.a.out.Log("info", fmt.Sprintf("datachannel: SCTP association up %d ms after the selection (pion/sctp)", sctpMs))
	dcfg := &datachannel.Config{ChannelType: datachannel.ChannelTypePartialReliableRexmitUnordered,
		ReliabilityParameter: 0, Priority: 256, Label: label, LoggerFactory: lf}
	var mine []*datachannel.DataChannel
	if client {
		// the DTLS client opens the channel, on an even stream (RFC 8832 §6)
		ch, err := datachannel.Dial(assoc, 0, dcfg)
		if err != nil {
			p.fail("opening the data channel", err)
			return
		}
		mine = append(mine, ch)
		p.opened(ch, role, dtlsMs, sctpMs)
		go p.read(ch)
	}
	for { // channels the peer opens: read them all, send on the first
		ch, err := datachannel.Accept(assoc, &datachannel.Config{LoggerFactory: lf}, mine...)
		if err != nil {
			return
		}
		p.opened(ch, role, dtlsMs, sctpMs)
		go p.read(ch)
	}
}

func (p *dcPlane) opened(ch *datachannel.DataChannel, role string, dtlsMs, sctpMs int64) {
	p.openOnce.Do(func() {
		p.mu.Lock()
		p.out = ch
		p.mu.Unlock()
		p.a.out.Log("info", fmt.Sprintf("data channel %q open as DTLS %s: DTLS %d ms, SCTP %d ms, channel %d ms after the selection",
			ch.Config.Label, role, dtlsMs, sctpMs, p.since()))
		close(p.open)
	})
}

func (p *dcPlane) read(ch *datachannel.DataChannel) {
	buf := make([]byte, maxMessageSize)
	for {
		n, _, err := ch.ReadDataChannel(buf)
		if err != nil {
			return
		}
		p.a.input(buf[:n])
	}
}

// write sends one message on the channel, once it is open.
func (p *dcPlane) write(b []byte) error {
	select {
	case <-p.open:
	case <-time.After(10 * time.Second):
		return errors.New("no data channel open")
	}
	p.mu.Lock()
	ch := p.out
	p.mu.Unlock()
	_, err := ch.WriteDataChannel(b, false)
	return err
}

// dtlsPipe is the net.Conn pion/dtls runs on: DTLS records the ICE Conn
// received, and writes on the ICE Conn (whatever pair is selected).
type dtlsPipe struct {
	conn *ice.Conn
	in   chan []byte
	done chan struct{}
	once sync.Once
}

func (d *dtlsPipe) Read(b []byte) (int, error) {
	select {
	case m := <-d.in:
		return copy(b, m), nil
	case <-d.done:
		return 0, net.ErrClosed
	}
}
func (d *dtlsPipe) Write(b []byte) (int, error)      { return d.conn.Write(b) }
func (d *dtlsPipe) Close() error                     { d.once.Do(func() { close(d.done) }); return nil }
func (d *dtlsPipe) LocalAddr() net.Addr              { return d.conn.LocalAddr() }
func (d *dtlsPipe) RemoteAddr() net.Addr             { return d.conn.RemoteAddr() }
func (d *dtlsPipe) SetDeadline(time.Time) error      { return nil }
func (d *dtlsPipe) SetReadDeadline(time.Time) error  { return nil }
func (d *dtlsPipe) SetWriteDeadline(time.Time) error { return nil }
