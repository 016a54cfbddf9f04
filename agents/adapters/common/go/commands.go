package agentproto

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Command is one command line, checked field by field against
// docs/agent-protocol.md, "Commands".
type Command struct {
	Cmd        string
	Ufrag, Pwd string
	Candidates []string // remote: cleaned (no "a=", no CRLF), syntax-checked
	Candidate  string   // candidate: the same
	Session    map[string]any
	// send: N messages of Size bytes every IntervalMs
	N, Size, IntervalMs int
	Dataplane           string // gather: the plane the harness chose, if any
}

const (
	defaultSize     = 100
	defaultInterval = 20
	// SizeMax and NMax bound a send (agents/ice/dataplane.h).
	SizeMax = 1400
	NMax    = 1000000
)

func intField(m map[string]any, k string, def int, min, max int) (int, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	f, ok := v.(float64)
	if !ok || f != float64(int64(f)) {
		return 0, fmt.Errorf("%q must be an integer", k)
	}
	if f < float64(min) || f > float64(max) {
		return 0, fmt.Errorf("%q is %d: want %d..%d", k, int64(f), min, max)
	}
	return int(f), nil
}

func strField(m map[string]any, k string) (string, bool, error) {
	v, ok := m[k]
	if !ok {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", true, fmt.Errorf("%q must be a string", k)
	}
	return s, true, nil
}

// ParseCommand reads one line. The error says what is wrong, for an
// `error` event.
func ParseCommand(line string) (*Command, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value on the line")
	}
	cmd, has, err := strField(m, "cmd")
	if err != nil || !has {
		return nil, fmt.Errorf("no \"cmd\" string in the command")
	}
	c := &Command{Cmd: cmd}
	switch cmd {
	case "gather":
		if c.Dataplane, _, err = strField(m, "dataplane"); err != nil {
			return nil, fmt.Errorf("gather: %v", err)
		}
	case "remote":
		var h1, h2 bool
		c.Ufrag, h1, err = strField(m, "ufrag")
		if err == nil {
			c.Pwd, h2, err = strField(m, "pwd")
		}
		if err != nil || !h1 || !h2 || c.Ufrag == "" || c.Pwd == "" {
			return nil, fmt.Errorf("remote: needs strings \"ufrag\" and \"pwd\"")
		}
		if v, ok := m["candidates"]; ok && v != nil {
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("remote: \"candidates\" must be an array of strings")
			}
			for i, x := range list {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("remote: candidate %d is not a string", i+1)
				}
				cand, err := ParseCandidate(s)
				if err != nil {
					return nil, fmt.Errorf("remote: candidate %d %q: %v", i+1, s, err)
				}
				c.Candidates = append(c.Candidates, cand.Line)
			}
		}
		if v, ok := m["session"]; ok && v != nil {
			s, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("remote: \"session\" must be an object")
			}
			c.Session = s
		}
	case "candidate":
		s, has, err := strField(m, "candidate")
		if err != nil || !has {
			return nil, fmt.Errorf("candidate: needs a string \"candidate\"")
		}
		cand, err := ParseCandidate(s)
		if err != nil {
			return nil, fmt.Errorf("candidate %q: %v", s, err)
		}
		c.Candidate = cand.Line
	case "send":
		if c.N, err = intField(m, "n", 0, 1, NMax); err == nil && c.N == 0 {
			err = fmt.Errorf("\"n\" is missing")
		}
		if err == nil {
			c.Size, err = intField(m, "size", defaultSize, 0, SizeMax)
		}
		if err == nil {
			c.IntervalMs, err = intField(m, "interval_ms", defaultInterval, 0, 3600000)
		}
		if err != nil {
			return nil, fmt.Errorf("send: %v", err)
		}
		if c.Size < HeaderLen {
			c.Size = HeaderLen
		}
	case "end-of-candidates", "restart", "stop":
	default:
		return nil, fmt.Errorf("unknown command %q (gather, remote, candidate, end-of-candidates, send, restart, stop)", cmd)
	}
	return c, nil
}

// ReadCommands reads lines from @r until it closes, answering a line it
// cannot parse with an `error` event on @out and handing every good
// command to @handle. It returns when @r closes (the caller then exits as
// after `stop`) or when @handle returns false.
func ReadCommands(r io.Reader, out *Out, handle func(*Command) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		c, err := ParseCommand(line)
		if err != nil {
			out.Error(err.Error())
			continue
		}
		if !handle(c) {
			return
		}
	}
}
