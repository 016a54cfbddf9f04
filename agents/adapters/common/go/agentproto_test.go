package agentproto

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestOptionsMatrixLine(t *testing.T) {
	// the options scenarios/matrix.lua and adapter-check give an agent
	o, err := ParseOptions(strings.Fields("--role controlled --trickle --stun 203.0.113.10:3478 " +
		"--turn udp:203.0.113.10:3478 --turn tcp:203.0.113.10:80 --turn tls:[2001:db8::1]:443 " +
		"--turn-user natlab --turn-pass natlab --gather-timeout-ms 1000 --ta-ms 10 --rto-ms 100 " +
		"--nominate-wait-ms 300 --dataplane=datagram --seed 7 --interface lo --tcp --verbose"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Role != "controlled" || !o.Trickle || len(o.Stun) != 1 || len(o.Turn) != 3 ||
		o.Turn[1].Transport != "tcp" || o.Turn[1].Port != 80 || o.Turn[2].Host != "2001:db8::1" ||
		o.TaMs != 10 || o.RtoMs != 100 || o.KeepaliveMs != -1 || o.Seed != 7 || !o.TCP ||
		o.Interfaces[0] != "lo" || !o.Given["nominate-wait-ms"] || o.Given["policy"] {
		t.Fatalf("parsed wrong: %+v", o)
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--role boss", "controlling|controlled"},
		{"--turn quic:1.2.3.4:3478", "udp|tcp|tls"},
		{"--stun turn.example.org:3478", "not a numeric IP"},
		{"--stun 1.2.3.4:70000", "port"},
		{"--ta-ms -3", "non-negative"},
		{"--components 9", "1..8"},
		{"--frobnicate", "unknown option --frobnicate"},
		{"--rto-ms", "needs a value"},
		{"--trickle=yes", "takes no value"},
		{"--turn udp:1.2.3.4:3478 --turn-user u", "go together"},
	} {
		_, err := ParseOptions(strings.Fields(c.args))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.args, err, c.want)
		}
	}
}

func TestCandidateSyntax(t *testing.T) {
	c, err := ParseCandidate("a=candidate:Ab+/ 1 UDP 1694498815 203.0.113.1 40000 typ srflx raddr 10.0.1.2 rport 5000 generation 0\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Line != "candidate:Ab+/ 1 UDP 1694498815 203.0.113.1 40000 typ srflx raddr 10.0.1.2 rport 5000 generation 0" ||
		c.Transport != "udp" || c.Type != "srflx" || c.RelAddr != "10.0.1.2" || c.RelPort != 5000 || c.Unusable() != "" {
		t.Fatalf("parsed wrong: %+v", c)
	}
	c, err = ParseCandidate("candidate:1 1 tcp 1 10.0.0.1 9 typ host tcptype active")
	if err != nil || c.TCPType != "active" {
		t.Fatalf("tcptype: %v %+v", err, c)
	}
	c, err = ParseCandidate("candidate:1 1 udp 2130706431 3b5f.local 5000 typ host")
	if err != nil || !strings.Contains(c.Unusable(), "not an IP") {
		t.Fatalf("mDNS name: %v %+v", err, c)
	}
	for _, bad := range []string{
		"candidate:1 1 udp notanumber 10.99.0.9 7 typ host", // adapter-check's
		"candidate:1 1 udp 1 10.0.0.1 7 type host",
		"candidate:1 1 udp 1 10.0.0.1 70000 typ host",
		"candidate:1 1 udp 4294967296 10.0.0.1 7 typ host",
		"candidate:f@o 1 udp 1 10.0.0.1 7 typ host",
		"cand:1 1 udp 1 10.0.0.1 7 typ host",
		"candidate:1 1 udp 1 10.0.0.1 7 typ host generation",
	} {
		if _, err := ParseCandidate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCommands(t *testing.T) {
	c, err := ParseCommand(`{"cmd":"remote","ufrag":"abcd","pwd":"0123456789012345678901","candidates":["candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host"],"session":{"x":1}}`)
	if err != nil || c.Cmd != "remote" || len(c.Candidates) != 1 || c.Session["x"] != 1.0 {
		t.Fatalf("remote: %v %+v", err, c)
	}
	c, err = ParseCommand(`{"cmd":"send","n":5}`)
	if err != nil || c.N != 5 || c.Size != 100 || c.IntervalMs != 20 {
		t.Fatalf("send defaults: %v %+v", err, c)
	}
	c, _ = ParseCommand(`{"cmd":"send","n":5,"size":3}`)
	if c.Size != HeaderLen {
		t.Fatalf("a size below 20 is padded to 20, got %d", c.Size)
	}
	for _, bad := range []string{`this is not JSON`, `{"cmd":"no-such-command"}`, `{"cmd":7}`,
		`{"cmd":"send","n":1,"size":1401}`, `{"cmd":"send","n":1.5}`, `{"cmd":"remote","ufrag":"a"}`,
		`{"cmd":"remote","ufrag":"abcd","pwd":"x","session":"s"}`, `{"cmd":"gather"} {"cmd":"stop"}`,
		`{"cmd":"candidate","candidate":"candidate:1 1 udp notanumber 10.99.0.9 7 typ host"}`} {
		if _, err := ParseCommand(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestReadCommandsAndEvents(t *testing.T) {
	var buf bytes.Buffer
	out := NewOut(&buf)
	var got []string
	ReadCommands(strings.NewReader("{\"cmd\":\"gather\"}\nnot json\n\n{\"cmd\":\"stop\"}\n{\"cmd\":\"restart\"}\n"), out,
		func(c *Command) bool { got = append(got, c.Cmd); return c.Cmd != "stop" })
	if strings.Join(got, ",") != "gather,stop" {
		t.Fatalf("commands handed on: %v (stop must end the loop)", got)
	}
	out.Emit("selected", F{"component": 1})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"ev":"error","t_ms":`) ||
		!strings.HasPrefix(lines[1], `{"ev":"selected","t_ms":`) {
		t.Fatalf("events: %q", lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["component"] != 1.0 {
		t.Fatalf("not JSON: %v %q", err, lines[1])
	}
	if _, ok := m["t_ms"].(float64); !ok {
		t.Fatalf("t_ms: %v", m["t_ms"])
	}
}

func TestDataplaneRun(t *testing.T) {
	a, b := NewDataplane(), NewDataplane()
	if !a.Start(3, 50, 20000, 1000) || a.Start(1, 50, 0, 1000) {
		t.Fatal("a second Start during a run must be refused")
	}
	var msgs [][]byte
	for now := uint64(1000); now <= 41000; now += 1000 {
		if m := a.NextSend(now); m != nil {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 3 || len(msgs[0]) != 50 || msgs[2][7] != 2 || msgs[0][0] != 0xE1 || msgs[0][19] != 3 {
		t.Fatalf("messages: %d, first % x", len(msgs), msgs[0][:20])
	}
	// b gets message 0 twice and message 2; message 1 is lost
	var acks [][]byte
	for _, m := range [][]byte{msgs[0], msgs[0], msgs[2]} {
		k, _, reply := b.Input(m, 50000)
		if k != Data || len(reply) != HeaderLen || reply[1] != KindAck {
			t.Fatalf("b.Input: kind %d reply % x", k, reply)
		}
		acks = append(acks, reply)
	}
	// acks arrive 2, 4 and 6 ms after sending (the first twice)
	a.Input(acks[0], 1000+2000)
	a.Input(acks[1], 1000+4000)
	a.Input(acks[2], 41000+6000)
	if k, _, _ := a.Input([]byte{0x16, 0xfe, 0xfd}, 50000); k != NotOurs {
		t.Fatal("a DTLS record is not the data plane's")
	}
	if a.ReportDue(47000+QuietUs-1) != nil {
		t.Fatal("report before 1 s of quiet")
	}
	r := a.ReportDue(47000 + QuietUs)
	if r == nil || r.Sent != 3 || r.Acked != 2 || r.Lost != 1 || r.RttMedian != 2 || r.RttP95 != 6 {
		t.Fatalf("report: %+v", r)
	}
	if a.ReportDue(47000+2*QuietUs) != nil {
		t.Fatal("the report comes once")
	}
	// b never sent: its received count is reported by its own send
	b.Start(1, 20, 0, 60000)
	b.NextSend(60000)
	rb := b.ReportDue(60000 + QuietUs)
	if rb == nil || rb.Received != 2 || rb.Acked != 0 || rb.Fields()["rtt_ms_median"] != nil {
		t.Fatalf("b's report: %+v", rb)
	}
}
