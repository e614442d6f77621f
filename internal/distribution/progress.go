package distribution

import (
	"sync"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/opencontainers/go-digest"
)

// Progress receives Docker's JSON progress messages. It is called from
// several goroutines, one message at a time (the Service serialises).
type Progress func(jsonstream.Message)

// reporter serialises messages and rate-limits per-layer byte counts.
type reporter struct {
	mu   sync.Mutex
	out  Progress
	last map[string]time.Time
}

func newReporter(out Progress) *reporter {
	if out == nil {
		out = func(jsonstream.Message) {}
	}
	return &reporter{out: out, last: map[string]time.Time{}}
}

func (r *reporter) status(id, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := jsonstream.Message{ID: id, Status: status}
	if id != "" {
		m.Progress = &jsonstream.Progress{}
	}
	r.out(m)
}

// bytes reports current/total for a layer at most every 100 ms, and always
// the final count.
func (r *reporter) bytes(id, status string, current, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := id + status
	if now := time.Now(); current < total && now.Sub(r.last[key]) < 100*time.Millisecond {
		return
	} else {
		r.last[key] = now
	}
	r.out(jsonstream.Message{ID: id, Status: status, Progress: &jsonstream.Progress{Current: current, Total: total}})
}

// shortID is how progress names a layer: 12 hex digits of its digest.
func shortID(d digest.Digest) string {
	e := d.Encoded()
	if len(e) > 12 {
		return e[:12]
	}
	return e
}
