// natlab-pion: pion/ice v2 (Debian golang-github-pion-ice.v2-dev) behind
// the agent protocol of docs/agent-protocol.md. pion/ice is an ICE-level
// stack: its Conn carries raw datagrams on the selected pair, which is
// the `datagram` data plane; the `datachannel` plane (--dataplane
// datachannel, or the harness's choice in `gather`) runs pion's own DTLS,
// SCTP and DCEP on that Conn (datachannel.go).
//
// Mapping (docs/implementations.md, "pion", has the measured behaviour):
//
//	--role controlling/controlled   Agent.Dial / Agent.Accept
//	--stun, --turn udp|tcp|tls      stun: / turn:?transport=udp|tcp / turns: URLs
//	--policy relay / nohost         AgentConfig.CandidateTypes
//	--trickle                       OnCandidate as it comes (nil = end)
//	--rto-ms                        CheckInterval: pion re-sends the check of
//	                                every pair in progress once per interval
//	--retransmits                   MaxBindingRequests
//	--keepalive-ms                  KeepaliveInterval (0: off, and no expiry)
//	--consent-timeout-ms            DisconnectedTimeout: nothing heard on the
//	                                selected pair for that long = consent-lost
//	--interface                     InterfaceFilter (lo: IncludeLoopback)
//	restart                         Agent.Restart + GatherCandidates
//	--dataplane datachannel         a data channel on pion/dtls+sctp+datachannel
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/logging"

	"natlab/agentproto"
)

const impl = "natlab-pion"

// pionVersion is set by the build (-ldflags -X main.pionVersion=...) from
// the Debian package's version.
var pionVersion = "2.3.1"

type adapter struct {
	out   *agentproto.Out
	opt   *agentproto.Options
	agent *ice.Agent

	mu          sync.Mutex
	conn        *ice.Conn     // once Dial/Accept returned
	connReady   chan struct{} // closed then
	localSent   chan struct{} // closed once the first complete `local` went out
	localOnce   sync.Once
	started     bool // Dial/Accept called
	remoteUfrag string
	restarting  bool // we restarted: the peer's next credentials are new
	gathering   bool
	gathered    []string // full (non-trickle) gathering: the candidates so far
	selected    bool     // a pair was selected since the last (re)start
	connected   bool     // the selected pair was in use (consent-lost is meaningful)
	consentLost bool

	lf    logging.LoggerFactory
	plane string   // "datagram" or "datachannel"
	dc    *dcPlane // the datachannel plane's state, made when it is chosen

	dpMu sync.Mutex
	dp   *agentproto.Dataplane
	wake chan struct{}
}

func main() {
	opt, err := agentproto.ParseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n%s\n", impl, err, agentproto.Usage(impl))
		os.Exit(2)
	}
	if opt.Help {
		fmt.Println(agentproto.Usage(impl))
		return
	}
	a := &adapter{out: agentproto.NewOut(os.Stdout), opt: opt, dp: agentproto.NewDataplane(),
		wake: make(chan struct{}, 1), connReady: make(chan struct{}), localSent: make(chan struct{})}
	a.out.Emit("ready", agentproto.F{"impl": impl, "version": pionVersion,
		// docs/agent-protocol.md, Capabilities: what pion/ice v2.3.1 does here
		"capabilities": map[string]bool{
			"trickle": true, "restart": true,
			"turn-udp": true, "turn-tcp": true, "turn-tls": true,
			// pion v2 gathers ICE-TCP only through a TCPMux, passive
			// candidates only: not wired up here
			"ice-tcp": false,
			"ipv6":    true,
			// one component per pion Agent
			"components": false,
			// keepalive Binding requests + DisconnectedTimeout
			"consent": true,
		},
		// pion/ice's Conn, and pion's DTLS/SCTP/DCEP on it (datachannel.go)
		"dataplanes": []string{"datagram", "datachannel"}})
	a.sayIgnored()
	if err := a.usePlane(opt.Dataplane); err != nil {
		fmt.Fprintf(os.Stderr, "%s: --dataplane datachannel: %v\n", impl, err)
		os.Exit(1)
	}
	if err := a.newAgent(); err != nil {
		a.out.Log("error", "pion: cannot create the agent: "+err.Error())
		fmt.Fprintf(os.Stderr, "%s: pion: %v\n", impl, err)
		os.Exit(1)
	}
	go a.sendLoop()
	agentproto.ReadCommands(os.Stdin, a.out, a.handle)
	a.agent.Close()
}

// sayIgnored names, in one `log` line, the options given that pion/ice
// has no knob for.
func (a *adapter) sayIgnored() {
	why := map[string]string{
		"ta-ms":                "pion has no Ta pacing (it checks every pair each check interval)",
		"nomination":           "pion v2 nominates regularly after per-type waits; no aggressive mode",
		"nominate-wait-ms":     "pion's per-candidate-type acceptance waits are its own policy",
		"nominate-relay-first": "no such mode in pion",
		"gather-timeout-ms":    "pion's STUN gathering timeout is fixed at 5 s",
		"tcp":                  "no ICE-TCP gathering in this adapter",
		"turn-dual":            "pion allocates IPv4 relays only",
		"seed":                 "pion draws credentials and tie-breakers from crypto/rand",
	}
	var names []string
	for _, n := range []string{"ta-ms", "nomination", "nominate-wait-ms", "nominate-relay-first",
		"gather-timeout-ms", "tcp", "turn-dual", "seed"} {
		if !a.opt.Given[n] || (n == "nomination" && a.opt.Nomination == "regular") {
			continue
		}
		names = append(names, "--"+n+" ("+why[n]+")")
	}
	if a.opt.Components > 1 {
		names = append(names, fmt.Sprintf("--components %d (one component per pion agent)", a.opt.Components))
	}
	if len(names) > 0 {
		a.out.Log("warning", "pion/ice cannot honour, so ignores: "+strings.Join(names, "; "))
	}
}

func ms(n int) *time.Duration {
	d := time.Duration(n) * time.Millisecond
	return &d
}

func (a *adapter) newAgent() error {
	o := a.opt
	var urls []*ice.URL
	for _, s := range o.Stun {
		urls = append(urls, &ice.URL{Scheme: ice.SchemeTypeSTUN, Host: s.Host, Port: s.Port, Proto: ice.ProtoTypeUDP})
	}
	for _, s := range o.Turn {
		u := &ice.URL{Scheme: ice.SchemeTypeTURN, Host: s.Host, Port: s.Port, Proto: ice.ProtoTypeUDP,
			Username: o.TurnUser, Password: o.TurnPass}
		switch s.Transport {
		case "tcp":
			u.Proto = ice.ProtoTypeTCP
		case "tls": // turns:HOST:PORT?transport=tcp
			u.Scheme, u.Proto = ice.SchemeTypeTURNS, ice.ProtoTypeTCP
		}
		urls = append(urls, u)
	}
	lf := logging.NewDefaultLoggerFactory()
	a.lf = lf
	lf.Writer = os.Stderr // stdout carries the protocol only
	lf.DefaultLogLevel = logging.LogLevelWarn
	if o.Verbose {
		lf.DefaultLogLevel = logging.LogLevelDebug
	}
	cfg := &ice.AgentConfig{
		Urls:             urls,
		NetworkTypes:     []ice.NetworkType{ice.NetworkTypeUDP4, ice.NetworkTypeUDP6},
		MulticastDNSMode: ice.MulticastDNSModeDisabled,
		LoggerFactory:    lf,
		// the lab's TURN servers have self-signed certificates
		InsecureSkipVerify: true,
	}
	switch o.Policy {
	case "relay":
		cfg.CandidateTypes = []ice.CandidateType{ice.CandidateTypeRelay}
	case "nohost":
		cfg.CandidateTypes = []ice.CandidateType{ice.CandidateTypeServerReflexive, ice.CandidateTypeRelay}
	}
	if o.RtoMs > 0 {
		cfg.CheckInterval = ms(o.RtoMs)
	}
	if o.Retransmits > 0 {
		n := uint16(o.Retransmits)
		cfg.MaxBindingRequests = &n
	}
	if o.KeepaliveMs >= 0 {
		cfg.KeepaliveInterval = ms(o.KeepaliveMs)
		if o.KeepaliveMs == 0 { // no consent checks, so no consent expiry
			cfg.DisconnectedTimeout = ms(0)
		}
	}
	if o.ConsentTimeoutMs >= 0 && o.KeepaliveMs != 0 {
		cfg.DisconnectedTimeout = ms(o.ConsentTimeoutMs)
	}
	if len(o.Interfaces) > 0 {
		allow := map[string]bool{}
		for _, n := range o.Interfaces {
			allow[n] = true
		}
		cfg.InterfaceFilter = func(n string) bool { return allow[n] }
		cfg.IncludeLoopback = allow["lo"]
	}
	ag, err := ice.NewAgent(cfg)
	if err != nil {
		return err
	}
	a.agent = ag
	ag.OnCandidate(a.onCandidate)
	ag.OnConnectionStateChange(a.onState)
	ag.OnSelectedCandidatePairChange(a.onSelected)
	return nil
}

// ---------------------------------------------------------------- commands

func (a *adapter) handle(c *agentproto.Command) bool {
	switch c.Cmd {
	case "gather":
		if c.Dataplane != "" {
			if err := a.usePlane(c.Dataplane); err != nil {
				a.out.Error("gather: " + err.Error())
				return true
			}
		}
		a.gather(false)
	case "remote":
		a.remote(c)
	case "candidate":
		a.addRemote([]string{c.Candidate})
	case "end-of-candidates":
		// pion v2 has no end-of-candidates: it fails a check list only by
		// its disconnected+failed timeouts
	case "send":
		a.send(c)
	case "restart":
		a.mu.Lock()
		a.restarting = true
		a.mu.Unlock()
		a.gather(true)
	case "stop":
		return false
	}
	return true
}

// gather starts (or, restarting, restarts) pion's gathering and sends the
// `local` of docs/agent-protocol.md, at once when trickling.
func (a *adapter) gather(restart bool) {
	if restart {
		if err := a.agent.Restart("", ""); err != nil {
			a.out.Error("restart: pion: " + err.Error())
			return
		}
	}
	a.mu.Lock()
	if a.gathering && !restart {
		a.mu.Unlock()
		a.out.Error("gather: already gathering")
		return
	}
	a.gathering = true
	a.gathered = nil
	a.selected = false
	a.connected = false
	a.consentLost = false
	a.mu.Unlock()
	ufrag, pwd, err := a.agent.GetLocalUserCredentials()
	if err != nil {
		a.out.Error("gather: pion: " + err.Error())
		return
	}
	if a.opt.Trickle {
		a.out.Emit("local", a.withSession(agentproto.F{"ufrag": ufrag, "pwd": pwd, "candidates": []string{},
			"complete": false}))
	}
	if err := a.agent.GatherCandidates(); err != nil {
		a.out.Error("gather: pion: " + err.Error())
	}
}

func (a *adapter) onCandidate(c ice.Candidate) {
	if c == nil { // pion's end of gathering
		a.mu.Lock()
		a.gathering = false
		list := a.gathered
		a.gathered = nil
		a.mu.Unlock()
		if a.opt.Trickle {
			a.out.Emit("candidate", agentproto.F{"end": true})
			return
		}
		ufrag, pwd, _ := a.agent.GetLocalUserCredentials()
		if list == nil {
			list = []string{}
		}
		a.out.Emit("local", a.withSession(agentproto.F{"ufrag": ufrag, "pwd": pwd, "candidates": list,
			"complete": true}))
		a.localOnce.Do(func() { close(a.localSent) })
		return
	}
	line := "candidate:" + c.Marshal()
	if a.opt.Trickle {
		a.out.Emit("candidate", agentproto.F{"candidate": line})
		return
	}
	a.mu.Lock()
	a.gathered = append(a.gathered, line)
	a.mu.Unlock()
}

func (a *adapter) remote(c *agentproto.Command) {
	if a.plane == "datachannel" {
		if c.Session == nil {
			// a peer that announces no session offers no data channel
			a.out.Log("warning", "datachannel: the peer's remote carries no session: "+
				"falling back to the datagram plane")
			a.usePlane("datagram")
		} else if err := a.dc.peer(c.Session); err != nil {
			a.out.Error("remote: " + err.Error())
			return
		}
	}
	a.mu.Lock()
	peerRestart := a.remoteUfrag != "" && c.Ufrag != a.remoteUfrag && !a.restarting
	first := !a.started
	a.started = true
	a.restarting = false
	a.remoteUfrag = c.Ufrag
	a.mu.Unlock()
	if peerRestart {
		// RFC 8445 §9: the peer restarted; so do we, answering with our
		// own new `local`
		a.gather(true)
	}
	if first {
		// the candidates first, then the checks: Dial/Accept start them
		a.addRemote(c.Candidates)
		go a.connect(c.Ufrag, c.Pwd)
	} else {
		if err := a.agent.SetRemoteCredentials(c.Ufrag, c.Pwd); err != nil {
			a.out.Error("remote: pion: " + err.Error())
			return
		}
		a.addRemote(c.Candidates)
	}
	// pion reports its own "checking" from a goroutine of its own, at
	// times after the selection: the adapter says it here, in order
	a.out.Emit("state", agentproto.F{"state": "checking"})
}

func (a *adapter) connect(ufrag, pwd string) {
	if !a.opt.Trickle {
		// Full (non-trickle) ICE: checks start once both descriptions are
		// out, as in an application that signals its complete candidate
		// list first. pion gives a pair 7 binding requests at most and
		// has no triggered checks: started before the peer knows our
		// candidates (pion's gathering takes 5 s here), every pair would
		// be spent before the peer's checks open the path.
		<-a.localSent
	}
	var conn *ice.Conn
	var err error
	if a.opt.Role == "controlling" {
		conn, err = a.agent.Dial(context.Background(), ufrag, pwd)
	} else {
		conn, err = a.agent.Accept(context.Background(), ufrag, pwd)
	}
	if err != nil {
		a.out.Log("warning", "pion: "+err.Error())
		return
	}
	a.mu.Lock()
	a.conn = conn
	a.mu.Unlock()
	close(a.connReady)
	if a.plane == "datachannel" {
		a.dc.start(conn, a.lf)
	}
	a.recvLoop(conn)
}

func (a *adapter) addRemote(lines []string) {
	for _, l := range lines {
		c, _ := agentproto.ParseCandidate(l) // checked by ParseCommand
		why := c.Unusable()
		if why == "" && c.Component != 1 {
			why = fmt.Sprintf("component %d (one component per pion agent)", c.Component)
		}
		if why == "" && c.Transport == "tcp" {
			why = "a TCP candidate (no ICE-TCP in this adapter)"
		}
		var pc ice.Candidate
		var err error
		if why == "" {
			pc, err = ice.UnmarshalCandidate(strings.TrimPrefix(c.Line, "candidate:"))
			if err != nil {
				why = "pion cannot read it: " + err.Error()
			}
		}
		if why == "" {
			err = a.agent.AddRemoteCandidate(pc)
			if err != nil {
				why = "pion: " + err.Error()
			}
		}
		if why != "" {
			a.out.Log("warning", fmt.Sprintf("remote candidate %q skipped: %s", l, why))
		}
	}
}

// ------------------------------------------------------------------ events

func candObj(c ice.Candidate, local bool) agentproto.F {
	f := agentproto.F{"type": c.Type().String(), "transport": "udp", "address": c.Address(), "port": c.Port()}
	if c.NetworkType().IsTCP() {
		f["transport"] = "tcp"
		f["tcptype"] = c.TCPType().String()
	}
	if r, ok := c.(*ice.CandidateRelay); ok && local {
		// pion says "udp", "tcp", "tls" (or "dtls": turns over UDP, which
		// the protocol cannot ask for)
		f["relay_transport"] = r.RelayProtocol()
	}
	return f
}

func (a *adapter) onSelected(l, r ice.Candidate) {
	a.mu.Lock()
	ev := "selected"
	if a.selected {
		ev = "switched"
	}
	a.selected = true
	a.connected = true
	a.consentLost = false
	a.mu.Unlock()
	a.out.Emit(ev, agentproto.F{"component": 1, "local": candObj(l, true), "remote": candObj(r, false)})
}

// the protocol's names of pion's states (its String() is capitalised)
var stateNames = map[ice.ConnectionState]string{
	ice.ConnectionStateChecking: "checking", ice.ConnectionStateConnected: "connected",
	ice.ConnectionStateCompleted: "completed", ice.ConnectionStateFailed: "failed",
	ice.ConnectionStateDisconnected: "disconnected", ice.ConnectionStateClosed: "closed",
}

func (a *adapter) onState(s ice.ConnectionState) {
	switch s {
	case ice.ConnectionStateNew, ice.ConnectionStateChecking:
		return // checking: said when the remote description came
	case ice.ConnectionStateDisconnected:
		// nothing heard on the selected pair for DisconnectedTimeout,
		// keepalive Binding requests included: consent lost (RFC 7675)
		a.mu.Lock()
		lost := a.connected && !a.consentLost
		a.consentLost = a.consentLost || lost
		a.mu.Unlock()
		if lost {
			f := agentproto.F{"component": 1}
			if p, err := a.agent.GetSelectedCandidatePair(); err == nil && p != nil {
				f["local"], f["remote"] = candObj(p.Local, true), candObj(p.Remote, false)
			}
			a.out.Emit("consent-lost", f)
		}
	case ice.ConnectionStateConnected:
		a.mu.Lock()
		a.consentLost = false
		a.mu.Unlock()
	}
	a.out.Emit("state", agentproto.F{"state": stateNames[s]})
	if s == ice.ConnectionStateFailed {
		a.mu.Lock()
		was := a.connected
		a.mu.Unlock()
		reason := "pion: no valid candidate pair within its disconnected+failed timeouts"
		if was {
			reason = "pion: the selected pair stayed silent past its failed timeout"
		}
		a.out.Emit("failed", agentproto.F{"reason": reason})
	}
}

// -------------------------------------------------------------- data plane

func (a *adapter) send(c *agentproto.Command) {
	a.mu.Lock()
	selected := a.selected
	a.mu.Unlock()
	if !selected {
		a.out.Error("send: no selected pair yet")
		return
	}
	a.dpMu.Lock()
	ok := a.dp.Start(c.N, c.Size, uint64(c.IntervalMs)*1000, a.out.Us())
	a.dpMu.Unlock()
	if !ok {
		a.out.Error("send: a run is still going on")
		return
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *adapter) write(b []byte) {
	// pion calls OnSelectedCandidatePairChange a moment before Dial or
	// Accept returns the Conn that writes on the pair
	select {
	case <-a.connReady:
	case <-time.After(2 * time.Second):
		return
	}
	a.mu.Lock()
	conn, lost := a.conn, a.consentLost
	a.mu.Unlock()
	if conn == nil || lost { // RFC 7675 §5.1: no data without consent
		return
	}
	var err error
	if a.plane == "datachannel" {
		err = a.dc.write(b)
	} else {
		_, err = conn.Write(b)
	}
	if err != nil && a.opt.Verbose {
		fmt.Fprintf(os.Stderr, "%s: write: %v\n", impl, err)
	}
}

// sendLoop sends the messages of a run when due and the `data` report
// after 1 s of quiet.
func (a *adapter) sendLoop() {
	for {
		now := a.out.Us()
		a.dpMu.Lock()
		msg := a.dp.NextSend(now)
		rep := a.dp.ReportDue(now)
		dl, running := a.dp.Deadline()
		a.dpMu.Unlock()
		if msg != nil {
			a.write(msg)
			continue
		}
		if rep != nil {
			a.out.Emit("data", rep.Fields())
		}
		wait := time.Hour
		if running {
			wait = time.Duration(0)
			if now := a.out.Us(); dl > now {
				wait = time.Duration(dl-now) * time.Microsecond
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-a.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (a *adapter) recvLoop(conn *ice.Conn) {
	buf := make([]byte, 65536)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if err != net.ErrClosed && !strings.Contains(err.Error(), "closed") {
				a.out.Log("warning", "pion: read: "+err.Error())
			}
			return
		}
		if a.plane == "datachannel" && a.dc.input(buf[:n]) {
			continue
		}
		a.input(buf[:n])
	}
}

// input takes one data-plane message (a datagram, or a data channel
// message): `rx` and the acknowledgement for data, RTT for acks.
func (a *adapter) input(b []byte) {
	a.dpMu.Lock()
	kind, seq, reply := a.dp.Input(b, a.out.Us())
	a.dpMu.Unlock()
	switch kind {
	case agentproto.Data:
		a.out.Emit("rx", agentproto.F{"seq": seq, "size": len(b)})
		a.write(reply)
	case agentproto.Ack:
		select { // an ack may end the quiet period sooner
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// usePlane chooses the data plane (the command line's --dataplane, or the
// one the harness chose in `gather`).
func (a *adapter) usePlane(plane string) error {
	switch plane {
	case "datagram":
	case "datachannel":
		if a.dc == nil {
			dc, err := newDCPlane(a)
			if err != nil {
				return fmt.Errorf("cannot make a DTLS certificate: %v", err)
			}
			a.dc = dc
		}
	default:
		return fmt.Errorf("dataplane %q: want datagram or datachannel", plane)
	}
	a.plane = plane
	return nil
}

// withSession adds, on the datachannel plane, the session parameters the
// peer needs (DTLS fingerprint and role, SCTP port) to a `local` event.
func (a *adapter) withSession(f agentproto.F) agentproto.F {
	if a.plane == "datachannel" {
		f["session"] = a.dc.session()
	}
	return f
}
