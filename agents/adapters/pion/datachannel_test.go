package main

import (
	"strings"
	"testing"

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
