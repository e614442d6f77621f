package container

import "time"

// Health statuses, spelled as the Engine API reports them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Docker keeps the last five probe results and at most 4 KiB of each
// probe's output; clients rely on neither growing without bound.
const (
	HealthLogMax    = 5
	HealthOutputMax = 4096
)

// Health is the persisted result of a container's healthcheck. The record
// treats it as immutable: an update stores a changed copy (see Record), so
// snapshots may share the pointer.
type Health struct {
	Status        string
	FailingStreak int
	Log           []HealthResult
}

// HealthResult is one probe run. ExitCode -1 means the probe could not run
// or timed out.
type HealthResult struct {
	Start    time.Time
	End      time.Time
	ExitCode int
	Output   string
}

// Restarted is the health a container begins a run with: starting, no
// failures yet, the previous results kept (as Docker does) for inspection.
func (h *Health) Restarted() *Health {
	n := &Health{Status: HealthStarting}
	if h != nil {
		n.Log = append([]HealthResult(nil), h.Log...)
	}
	return n
}

// Record returns the health after probe result r, and whether the status
// changed. A success makes the container healthy; a failure counts towards
// retries unless the container is still starting within its start period,
// and the retries-th consecutive counted failure makes it unhealthy.
func (h *Health) Record(r HealthResult, retries int, inStartPeriod bool) (*Health, bool) {
	n := h.Restarted()
	if h != nil {
		n.Status, n.FailingStreak = h.Status, h.FailingStreak
	}
	if len(r.Output) > HealthOutputMax {
		r.Output = r.Output[:HealthOutputMax]
	}
	n.Log = append(n.Log, r)
	if len(n.Log) > HealthLogMax {
		n.Log = append([]HealthResult(nil), n.Log[len(n.Log)-HealthLogMax:]...)
	}
	switch {
	case r.ExitCode == 0:
		n.Status, n.FailingStreak = HealthHealthy, 0
	case n.Status == HealthStarting && inStartPeriod:
		// Failures while the container initialises do not count.
	default:
		n.FailingStreak++
		if n.FailingStreak >= retries {
			n.Status = HealthUnhealthy
		}
	}
	return n, h == nil || n.Status != h.Status
}
