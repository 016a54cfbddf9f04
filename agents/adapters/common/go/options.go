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

type optKind int

const (
	flag optKind = iota
	word
	integer
	server
)

var optKinds = map[string]optKind{
	"role": word, "stun": server, "turn": server, "turn-user": word, "turn-pass": word,
	"policy": word, "components": integer, "trickle": flag, "nomination": word,
	"ta-ms": integer, "rto-ms": integer, "consent-timeout-ms": integer,
	"keepalive-ms": integer, "retransmits": integer, "nominate-wait-ms": integer,
	"nominate-relay-first": flag, "gather-timeout-ms": integer, "interface": word,
	"tcp": flag, "turn-dual": flag, "dataplane": word, "seed": integer,
	"verbose": flag, "help": flag,
}

var choices = map[string][]string{
	"role":       {"controlling", "controlled"},
	"policy":     {"all", "nohost", "relay"},
	"nomination": {"regular", "aggressive"},
	"dataplane":  {"datagram", "datachannel"},
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
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			return nil, fmt.Errorf("unexpected argument %q (options start with --; see docs/agent-protocol.md)", a)
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		kind, ok := optKinds[name]
		if !ok {
			return nil, fmt.Errorf("unknown option --%s (see docs/agent-protocol.md, \"Starting an agent\")", name)
		}
		if kind == flag {
			if hasVal {
				return nil, fmt.Errorf("--%s takes no value", name)
			}
		} else if !hasVal {
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
		if kind == integer {
			var err error
			n, err = strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 || (name != "seed" && n > 1<<31-1) {
				return nil, fmt.Errorf("--%s %q: want a non-negative integer", name, val)
			}
		}
		switch name {
		case "role":
			o.Role = val
		case "stun":
			h, p, err := ParseHostPort(val)
			if err != nil {
				return nil, fmt.Errorf("--stun %v", err)
			}
			o.Stun = append(o.Stun, Server{Transport: "udp", Host: h, Port: p})
		case "turn":
			tr, hp, _ := strings.Cut(val, ":")
			if tr != "udp" && tr != "tcp" && tr != "tls" {
				return nil, fmt.Errorf("--turn %q: want udp|tcp|tls:IP:PORT", val)
			}
			h, p, err := ParseHostPort(hp)
			if err != nil {
				return nil, fmt.Errorf("--turn %q: want udp|tcp|tls:IP:PORT: %v", val, err)
			}
			o.Turn = append(o.Turn, Server{Transport: tr, Host: h, Port: p})
		case "turn-user":
			o.TurnUser = val
		case "turn-pass":
			o.TurnPass = val
		case "policy":
			o.Policy = val
		case "components":
			if n < 1 || n > 8 {
				return nil, fmt.Errorf("--components %q: want 1..8", val)
			}
			o.Components = int(n)
		case "trickle":
			o.Trickle = true
		case "nomination":
			o.Nomination = val
		case "ta-ms":
			o.TaMs = int(n)
		case "rto-ms":
			o.RtoMs = int(n)
		case "consent-timeout-ms":
			o.ConsentTimeoutMs = int(n)
		case "keepalive-ms":
			o.KeepaliveMs = int(n)
		case "retransmits":
			o.Retransmits = int(n)
		case "nominate-wait-ms":
			o.NominateWaitMs = int(n)
		case "nominate-relay-first":
			o.NominateRelayFirst = true
		case "gather-timeout-ms":
			o.GatherTimeoutMs = int(n)
		case "interface":
			o.Interfaces = append(o.Interfaces, val)
		case "tcp":
			o.TCP = true
		case "turn-dual":
			o.TurnDual = true
		case "dataplane":
			o.Dataplane = val
		case "seed":
			o.Seed = n
		case "verbose":
			o.Verbose = true
		case "help":
			o.Help = true
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
