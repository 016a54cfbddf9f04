package agentproto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Out writes events, one JSON object per line, each with "ev" first and
// "t_ms": integer milliseconds since the Out was made, from Go's
// monotonic clock (time.Since), so it never goes backwards. Safe for
// concurrent use: a stack's callbacks run on goroutines of their own.
type Out struct {
	mu sync.Mutex
	w  *bufio.Writer
	t0 time.Time
}

// NewOut starts the clock of t_ms now.
func NewOut(w io.Writer) *Out {
	return &Out{w: bufio.NewWriter(w), t0: time.Now()}
}

// Ms is the t_ms of now.
func (o *Out) Ms() int64 { return time.Since(o.t0).Milliseconds() }

// Us is microseconds since the start (the data plane's clock).
func (o *Out) Us() uint64 { return uint64(time.Since(o.t0).Microseconds()) }

// F is an event's fields besides "ev" and "t_ms".
type F map[string]any

// Emit writes one event and flushes it. Fields are written in key order
// after "ev" and "t_ms".
func (o *Out) Emit(ev string, fields F) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b bytes.Buffer
	head, _ := json.Marshal(ev)
	b.WriteString(`{"ev":`)
	b.Write(head)
	b.WriteString(`,"t_ms":`)
	b.WriteString(jsonInt(o.Ms()))
	if len(fields) > 0 {
		rest, err := json.Marshal(map[string]any(fields))
		if err != nil {
			// only a value json cannot encode (a NaN): say so instead
			rest, _ = json.Marshal(map[string]any{"encoding_error": err.Error()})
		}
		b.WriteByte(',')
		b.Write(rest[1:]) // without its '{'
	} else {
		b.WriteByte('}')
	}
	b.WriteByte('\n')
	o.w.Write(b.Bytes())
	o.w.Flush()
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Log writes a `log` event (level "info", "warning" or "error").
func (o *Out) Log(level, msg string) { o.Emit("log", F{"level": level, "msg": msg}) }

// Error writes an `error` event: a command the agent could not parse or
// honour.
func (o *Out) Error(msg string) { o.Emit("error", F{"msg": msg}) }
