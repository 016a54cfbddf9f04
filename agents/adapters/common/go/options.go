// Package agentproto is the agent protocol of docs/agent-protocol.md for
// adapters written in Go: the command line every agent accepts, the
// JSON-lines commands and events, RFC 8839 candidate syntax, and the
// data plane's numbered messages ("Message layout"). It knows nothing
// of any ICE stack; an adapter (agents/adapters/pion) maps it onto one.
package agentproto

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Server is one --stun or --turn server: numeric host and port, and for
// TURN the transport to the server ("udp", "tcp" or "tls").
type Server struct {
	Transport string
	Host      string
	Port      int
}

// Options are the command-line options of docs/agent-protocol.md,
// "Starting an agent" (and natlab-ice's own, which every agent accepts).
// An integer option not given is -1.
type Options struct {
	Role               string // "controlling" (default) or "controlled"
	Stun               []Server
	Turn               []Server
	TurnUser           string
	TurnPass           string
	Policy             string // "all" (default), "nohost", "relay"
	Components         int    // 1 by default
	Trickle            bool
	Nomination         string // "" (not given), "regular", "aggressive"
	TaMs               int
	RtoMs              int
	ConsentTimeoutMs   int
	KeepaliveMs        int
	Retransmits        int
	NominateWaitMs     int
	NominateRelayFirst bool
	GatherTimeoutMs    int
	Interfaces         []string
	TCP                bool
	TurnDual           bool
	Dataplane          string // "datagram" (default) or "datachannel"
	Seed               int64
	Verbose            bool
	Help               bool
	// Given names every option that was on the command line (without
	// "--"), so an adapter can name the ones its stack ignores.
	Given map[string]bool
}

var choices = map[string][]string{
	"role":       {"controlling", "controlled"},
	"policy":     {"all", "nohost", "relay"},
	"nomination": {"regular", "aggressive"},
	"dataplane":  {"datagram", "datachannel"},
}

// special options, read by ParseOptions itself: the servers, the
// repeatable --interface, the bounded --components and the 64-bit --seed
var special = map[string]bool{"stun": true, "turn": true, "interface": true, "components": true, "seed": true}

// fields maps every other option to where it goes: a flag, a word or a
// non-negative integer.
func (o *Options) fields() (map[string]*bool, map[string]*string, map[string]*int) {
	return map[string]*bool{"trickle": &o.Trickle, "nominate-relay-first": &o.NominateRelayFirst,
			"tcp": &o.TCP, "turn-dual": &o.TurnDual, "verbose": &o.Verbose, "help": &o.Help},
		map[string]*string{"role": &o.Role, "turn-user": &o.TurnUser, "turn-pass": &o.TurnPass,
			"policy": &o.Policy, "nomination": &o.Nomination, "dataplane": &o.Dataplane},
		map[string]*int{"ta-ms": &o.TaMs, "rto-ms": &o.RtoMs, "consent-timeout-ms": &o.ConsentTimeoutMs,
			"keepalive-ms": &o.KeepaliveMs, "retransmits": &o.Retransmits,
			"nominate-wait-ms": &o.NominateWaitMs, "gather-timeout-ms": &o.GatherTimeoutMs}
}

// ParseHostPort reads a numeric "IP:PORT" or "[IPv6]:PORT" (names are
// refused, as natlab-ice refuses them).
func ParseHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: want IP:PORT ([IPv6]:PORT)", s)
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%q: %q is not a numeric IP address (host names are refused)", s, host)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not 1..65535", s, p)
	}
	return host, port, nil
}

// ParseOptions reads @args (without the program name). The error names
// the option and what it wants; the caller prints it and exits 2.
func ParseOptions(args []string) (*Options, error) {
	o := &Options{Role: "controlling", Policy: "all", Components: 1, Dataplane: "datagram",
		TaMs: -1, RtoMs: -1, ConsentTimeoutMs: -1, KeepaliveMs: -1, Retransmits: -1,
		NominateWaitMs: -1, GatherTimeoutMs: -1, Seed: -1, Given: map[string]bool{}}
	flags, words, ints := o.fields()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			return nil, fmt.Errorf("unexpected argument %q (options start with --; see docs/agent-protocol.md)", a)
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		_, isFlag := flags[name]
		_, isWord := words[name]
		_, isInt := ints[name]
		if !isFlag && !isWord && !isInt && !special[name] {
			return nil, fmt.Errorf("unknown option --%s (see docs/agent-protocol.md, \"Starting an agent\")", name)
		}
		if isFlag {
			if hasVal {
				return nil, fmt.Errorf("--%s takes no value", name)
			}
			*flags[name] = true
			o.Given[name] = true
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("--%s needs a value", name)
			}
			i++
			val = args[i]
		}
		o.Given[name] = true
		if c, ok := choices[name]; ok {
			found := false
			for _, w := range c {
				found = found || w == val
			}
			if !found {
				return nil, fmt.Errorf("--%s %q: want %s", name, val, strings.Join(c, "|"))
			}
		}
		var n int64
		if isInt || name == "components" || name == "seed" {
			var err error
			n, err = strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 || (name != "seed" && n > 1<<31-1) {
				return nil, fmt.Errorf("--%s %q: want a non-negative integer", name, val)
			}
		}
		switch {
		case isWord:
			*words[name] = val
		case isInt:
			*ints[name] = int(n)
		case name == "stun":
			h, p, err := ParseHostPort(val)
			if err != nil {
				return nil, fmt.Errorf("--stun %v", err)
			}
			o.Stun = append(o.Stun, Server{Transport: "udp", Host: h, Port: p})
		case name == "turn":
			tr, hp, _ := strings.Cut(val, ":")
			if tr != "udp" && tr != "tcp" && tr != "tls" {
				return nil, fmt.Errorf("--turn %q: want udp|tcp|tls:IP:PORT", val)
			}
			h, p, err := ParseHostPort(hp)
			if err != nil {
				return nil, fmt.Errorf("--turn %q: want udp|tcp|tls:IP:PORT: %v", val, err)
			}
			o.Turn = append(o.Turn, Server{Transport: tr, Host: h, Port: p})
		case name == "components":
			if n < 1 || n > 8 {
				return nil, fmt.Errorf("--components %q: want 1..8", val)
			}
			o.Components = int(n)
		case name == "interface":
			o.Interfaces = append(o.Interfaces, val)
		case name == "seed":
			o.Seed = n
		}
	}
	if len(o.Turn) > 0 && (o.TurnUser == "") != (o.TurnPass == "") {
		return nil, fmt.Errorf("--turn-user and --turn-pass go together (TURN long-term credentials)")
	}
	return o, nil
}

// Usage is the one-line synopsis an adapter prints for --help.
func Usage(prog string) string {
	return "usage: " + prog + " --role controlling|controlled [--stun IP:PORT]... " +
		"[--turn udp|tcp|tls:IP:PORT]... [--turn-user U --turn-pass P] [--trickle] " +
		"[other options of docs/agent-protocol.md]"
}
