package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"

	"natlab/agentproto"
)

func plane(t *testing.T, role string) *dcPlane {
	a := &adapter{opt: &agentproto.Options{Role: role}}
	p, err := newDCPlane(a)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The DTLS role from both a=setup values (docs/agent-protocol.md, "The
// datachannel plane"), as natlab-ice settles it.
func TestDTLSRole(t *testing.T) {
	for _, c := range []struct {
		role, peer string
		client     bool
	}{
		{"controlling", "active", false}, // we offer actpass, the answerer is active
		{"controlling", "passive", true},
		{"controlling", "actpass", false}, // unsettled: the controlled side is the client
		{"controlling", "", false},
		{"controlled", "actpass", true}, // we answer active
		{"controlled", "passive", true},
		{"controlled", "active", true}, // both active: unsettled, controlled is the client
	} {
		p := plane(t, c.role)
		if err := p.peer(map[string]any{"setup": c.peer}); err != nil {
			t.Fatal(err)
		}
		if p.client() != c.client {
			t.Errorf("%s against setup %q: client %v, want %v", c.role, c.peer, p.client(), c.client)
		}
	}
}

func TestSession(t *testing.T) {
	p := plane(t, "controlling")
	s := p.session()
	fp, _ := s["fingerprint"].(string)
	// RFC 8122 §5: "sha-256 " and 32 upper-case hex pairs joined by colons
	if !strings.HasPrefix(fp, "sha-256 ") || len(fp) != len("sha-256 ")+32*3-1 || strings.ToUpper(fp[8:]) != fp[8:] {
		t.Fatalf("fingerprint %q", fp)
	}
	if s["setup"] != "actpass" || s["sctp_port"] != sctpPort {
		t.Fatalf("session %v", s)
	}
	for _, bad := range []map[string]any{{"fingerprint": 7}, {"fingerprint": "sha-1 AB:CD"}, {"setup": "holdconn"}} {
		if err := p.peer(bad); err == nil {
			t.Errorf("session %v accepted", bad)
		}
	}
}

// A WebRTC peer's DTLS client offers use_srtp (RFC 5764 §4.1.1): libwebrtc,
// libdatachannel and the browsers do. Without SRTP profiles of its own,
// pion/dtls as server answered "insufficient security" and no data channel
// ever opened with them (docs/implementations.md, "pion").
func TestDTLSServerAcceptsUseSRTP(t *testing.T) {
	srv := plane(t, "controlling")
	cli := plane(t, "controlled")
	a, b := net.Pipe()
	ccfg := cli.dtlsConfig(logging.NewDefaultLoggerFactory(), srv.fp)
	ccfg.SRTPProtectionProfiles = []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		c, err := dtls.ClientWithContext(ctx, a, ccfg)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	s, err := dtls.ServerWithContext(ctx, b, srv.dtlsConfig(logging.NewDefaultLoggerFactory(), cli.fp))
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	if prof, ok := s.SelectedSRTPProtectionProfile(); !ok || prof != dtls.SRTP_AES128_CM_HMAC_SHA1_80 {
		t.Errorf("SRTP profile %v %v", prof, ok)
	}
	s.Close()
	if err := <-done; err != nil {
		t.Fatalf("client: %v", err)
	}
}
