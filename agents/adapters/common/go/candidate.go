package agentproto

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Candidate is one `a=candidate` value (RFC 8839 §5.1):
//
//	candidate-attribute = "candidate" ":" foundation SP component-id SP
//	                      transport SP priority SP connection-address SP
//	                      port SP cand-type [SP rel-addr] [SP rel-port]
//	                      *(SP cand-extension)
type Candidate struct {
	Line       string // "candidate:..." without "a=" and line end
	Foundation string
	Component  int
	Transport  string // lower case: "udp", "tcp", or an extension token
	Priority   uint32
	Address    string
	Port       int
	Type       string // host, srflx, prflx, relay or a token
	RelAddr    string
	RelPort    int
	TCPType    string // the tcptype extension (RFC 6544), if any
}

// ice-char = ALPHA / DIGIT / "+" / "/"  (RFC 8839 §5.1)
func iceChars(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/') {
			return false
		}
	}
	return s != ""
}

// token (RFC 8866 §9: visible characters but separators)
func isToken(s string) bool {
	for _, r := range s {
		if r <= ' ' || r > '~' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return s != ""
}

func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ParseCandidate checks @s against RFC 8839's grammar. It accepts the
// "a=" prefix and a trailing CRLF (docs/agent-protocol.md) and returns
// the cleaned value in Line.
func ParseCandidate(s string) (*Candidate, error) {
	s = strings.TrimRight(s, "\r\n")
	s = strings.TrimPrefix(s, "a=")
	body, ok := cutPrefixFold(s, "candidate:")
	if !ok {
		return nil, fmt.Errorf("does not start with \"candidate:\" (RFC 8839 §5.1)")
	}
	f := strings.Split(body, " ")
	if len(f) < 8 {
		return nil, fmt.Errorf("has %d fields, RFC 8839 §5.1 needs at least 8 after \"candidate:\"", len(f))
	}
	c := &Candidate{Line: "candidate:" + body, Foundation: f[0], Address: f[4]}
	if !iceChars(f[0]) || len(f[0]) > 32 {
		return nil, fmt.Errorf("foundation %q is not 1 to 32 ice-chars", f[0])
	}
	if !digits(f[1], 3) {
		return nil, fmt.Errorf("component-id %q is not 1 to 3 digits", f[1])
	}
	c.Component, _ = strconv.Atoi(f[1])
	if !isToken(f[2]) {
		return nil, fmt.Errorf("transport %q is not a token", f[2])
	}
	c.Transport = strings.ToLower(f[2])
	if !digits(f[3], 10) {
		return nil, fmt.Errorf("priority %q is not 1 to 10 digits", f[3])
	}
	p, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("priority %q is above 2^32-1", f[3])
	}
	c.Priority = uint32(p)
	if f[4] == "" {
		return nil, fmt.Errorf("empty connection-address")
	}
	if !digits(f[5], 5) {
		return nil, fmt.Errorf("port %q is not 1 to 5 digits", f[5])
	}
	c.Port, _ = strconv.Atoi(f[5])
	if c.Port > 65535 {
		return nil, fmt.Errorf("port %d is above 65535", c.Port)
	}
	if f[6] != "typ" || !isToken(f[7]) {
		return nil, fmt.Errorf("want \"typ\" and a candidate type after the port, got %q %q", f[6], f[7])
	}
	c.Type = f[7]
	rest := f[8:]
	if len(rest) >= 2 && rest[0] == "raddr" {
		c.RelAddr = rest[1]
		rest = rest[2:]
	}
	if len(rest) >= 2 && rest[0] == "rport" {
		if !digits(rest[1], 5) {
			return nil, fmt.Errorf("rport %q is not 1 to 5 digits", rest[1])
		}
		c.RelPort, _ = strconv.Atoi(rest[1])
		rest = rest[2:]
	}
	// cand-extension = extension-att-name SP extension-att-value
	if len(rest)%2 != 0 {
		return nil, fmt.Errorf("extension %q has no value", rest[len(rest)-1])
	}
	for i := 0; i < len(rest); i += 2 {
		if !isToken(rest[i]) || rest[i+1] == "" {
			return nil, fmt.Errorf("extension %q %q is not a name and a value", rest[i], rest[i+1])
		}
		if rest[i] == "tcptype" {
			c.TCPType = rest[i+1]
		}
	}
	return c, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Unusable says why an agent that speaks UDP/TCP over IP addresses cannot
// use a syntactically valid candidate (an FQDN or mDNS name, an unknown
// transport or type), or "" when it can. Such a candidate is skipped with
// a `log` warning, not refused (docs/agent-protocol.md).
func (c *Candidate) Unusable() string {
	if net.ParseIP(c.Address) == nil {
		return fmt.Sprintf("address %q is not an IP address (FQDN or mDNS names are not resolved)", c.Address)
	}
	if c.Transport != "udp" && c.Transport != "tcp" {
		return fmt.Sprintf("unknown transport %q", c.Transport)
	}
	switch c.Type {
	case "host", "srflx", "prflx", "relay":
	default:
		return fmt.Sprintf("unknown candidate type %q", c.Type)
	}
	return ""
}
