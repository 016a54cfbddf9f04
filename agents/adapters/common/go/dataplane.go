package agentproto

import (
	"encoding/binary"
	"sort"
)

// The data plane's messages (docs/agent-protocol.md, "Message layout";
// all integers big-endian):
//
//	offset width field
//	0      1     magic 0xE1
//	1      1     kind: 1 data, 2 acknowledgement
//	2      2     reserved, 0
//	4      4     seq
//	8      8     t_us: the sender's timestamp (µs), echoed by the ack
//	16     4     total: the run's n, echoed by the ack
//	20     ...   zero padding up to size (data only)
const (
	HeaderLen = 20
	Magic     = 0xE1
	KindData  = 1
	KindAck   = 2
	// QuietUs: after our last message and the peer's last one, this much
	// silence ends a run and makes the `data` report.
	QuietUs = 1000000
)

// Report is a `data` event's counts.
type Report struct {
	Sent, Received, Acked, Lost int
	RttMedian, RttP95           float64 // ms; <0 without samples
}

// Fields is the report as `data` event fields (RTTs null without samples).
func (r *Report) Fields() F {
	f := F{"sent": r.Sent, "received": r.Received, "acked": r.Acked, "lost": r.Lost,
		"rtt_ms_median": nil, "rtt_ms_p95": nil}
	if r.RttMedian >= 0 {
		f["rtt_ms_median"] = r.RttMedian
		f["rtt_ms_p95"] = r.RttP95
	}
	return f
}

// Dataplane counts one agent's side: the run it sends (numbered data
// messages, their acknowledgements and RTTs) and the peer's messages it
// receives (deduplicated). Pure: the caller passes the time in µs and
// moves the bytes; not safe for concurrent use (the caller locks).
type Dataplane struct {
	running            bool
	n, size, next      int
	intervalUs, nextUs uint64
	lastActivityUs     uint64
	acked              map[uint32]bool
	rtt                []float64
	seen               map[uint32]bool
	received           int
}

// NewDataplane makes an idle one.
func NewDataplane() *Dataplane {
	return &Dataplane{seen: map[uint32]bool{}, acked: map[uint32]bool{}}
}

// Running is whether a run is going on (sending, or waiting for quiet).
func (d *Dataplane) Running() bool { return d.running }

// Start begins a run of @n messages of @size bytes (at least HeaderLen),
// one every @intervalUs, the first at @nowUs. False while a run goes on.
func (d *Dataplane) Start(n, size int, intervalUs, nowUs uint64) bool {
	if d.running {
		return false
	}
	if size < HeaderLen {
		size = HeaderLen
	}
	d.running, d.n, d.size, d.next = true, n, size, 0
	d.intervalUs, d.nextUs, d.lastActivityUs = intervalUs, nowUs, nowUs
	d.acked = map[uint32]bool{}
	d.rtt = d.rtt[:0]
	return true
}

// NextSend returns the message due at @nowUs, or nil.
func (d *Dataplane) NextSend(nowUs uint64) []byte {
	if !d.running || d.next >= d.n || nowUs < d.nextUs {
		return nil
	}
	b := make([]byte, d.size)
	b[0], b[1] = Magic, KindData
	binary.BigEndian.PutUint32(b[4:], uint32(d.next))
	binary.BigEndian.PutUint64(b[8:], nowUs)
	binary.BigEndian.PutUint32(b[16:], uint32(d.n))
	d.next++
	d.nextUs += d.intervalUs
	if d.nextUs < nowUs {
		d.nextUs = nowUs // a late caller does not burst
	}
	d.lastActivityUs = nowUs
	return b
}

// Input kinds.
const (
	NotOurs = iota
	Data
	Ack
)

// Input takes a message that arrived at @nowUs. For Data it returns the
// acknowledgement to send back (every copy is acknowledged; duplicates are
// counted once). @seq is the message's sequence number.
func (d *Dataplane) Input(b []byte, nowUs uint64) (kind int, seq uint32, reply []byte) {
	if len(b) < HeaderLen || b[0] != Magic {
		return NotOurs, 0, nil
	}
	seq = binary.BigEndian.Uint32(b[4:])
	switch b[1] {
	case KindData:
		if !d.seen[seq] {
			d.seen[seq] = true
			d.received++
		}
		d.lastActivityUs = nowUs
		reply = append([]byte(nil), b[:HeaderLen]...)
		reply[1] = KindAck
		return Data, seq, reply
	case KindAck:
		sentUs := binary.BigEndian.Uint64(b[8:])
		// late (no run), forged (not sent yet) or duplicate acks count nothing
		if d.running && int(seq) < d.next && !d.acked[seq] {
			d.acked[seq] = true
			if sentUs <= nowUs {
				d.rtt = append(d.rtt, float64(nowUs-sentUs)/1000.0)
			}
			d.lastActivityUs = nowUs
		}
		return Ack, seq, nil
	}
	return NotOurs, 0, nil
}

// Deadline is when the caller must call in next (a message due, or the
// quiet period's end); ok false when idle.
func (d *Dataplane) Deadline() (us uint64, ok bool) {
	if !d.running {
		return 0, false
	}
	if d.next < d.n {
		return d.nextUs, true
	}
	return d.lastActivityUs + QuietUs, true
}

// ReportDue returns the run's report once, when all was sent and both
// sides have been quiet for QuietUs. Peer messages are counted from one
// report to the next (a peer that started before our `send` is counted in
// full).
func (d *Dataplane) ReportDue(nowUs uint64) *Report {
	if !d.running || d.next < d.n || nowUs < d.lastActivityUs+QuietUs {
		return nil
	}
	d.running = false
	r := &Report{Sent: d.next, Received: d.received, Acked: len(d.acked), RttMedian: -1, RttP95: -1}
	r.Lost = r.Sent - r.Acked
	if len(d.rtt) > 0 {
		sort.Float64s(d.rtt)
		r.RttMedian = d.rtt[(len(d.rtt)-1)/2]
		// nearest-rank 95th percentile
		r.RttP95 = d.rtt[(len(d.rtt)*95+99)/100-1]
	}
	d.received = 0
	d.seen = map[uint32]bool{}
	return r
}
