package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"berth/internal/backend"
	"berth/internal/container"
	"berth/internal/runtime"
	"berth/internal/shim"
)

// This file holds healthchecks: one monitor goroutine per running container
// with a HEALTHCHECK (from the image or --health-*), probing with
// runtime.Exec like exec does and recording the result in State.Health.
// The monitor ends with the run (h.done); probes are skipped while the
// container is paused, as Docker suspends them.

// Docker's defaults for a healthcheck field left zero.
const (
	healthDefaultInterval      = 30 * time.Second
	healthDefaultTimeout       = 30 * time.Second
	healthDefaultRetries       = 3
	healthDefaultStartInterval = 5 * time.Second
)

// HealthOnFailureLabel holds berth's --health-on-failure action (none, kill,
// restart or stop), taken when a container becomes unhealthy. A label
// rather than a HostConfig field, so it travels through the Engine API
// unchanged and shows in inspect.
const HealthOnFailureLabel = "berth.health-on-failure"

// healthPlan is a container's healthcheck with Docker's defaults applied.
type healthPlan struct {
	cmd                            []string
	interval, timeout, startPeriod time.Duration
	startInterval                  time.Duration
	retries                        int
	onFailure                      string
	proc                           runtime.ExecProcess
}

// planHealth returns the container's healthcheck, or nil when it has none
// (no HEALTHCHECK, an empty test, or NONE).
func planHealth(cfg *apicontainer.Config) *healthPlan {
	if cfg == nil || cfg.Healthcheck == nil || len(cfg.Healthcheck.Test) == 0 {
		return nil
	}
	hc := cfg.Healthcheck
	p := &healthPlan{interval: hc.Interval, timeout: hc.Timeout, startPeriod: hc.StartPeriod,
		startInterval: hc.StartInterval, retries: hc.Retries, onFailure: cfg.Labels[HealthOnFailureLabel]}
	switch hc.Test[0] {
	case "CMD":
		p.cmd = hc.Test[1:]
	case "CMD-SHELL":
		shell := []string{"/bin/sh", "-c"}
		if len(cfg.Shell) > 0 {
			shell = cfg.Shell
		}
		p.cmd = append(append([]string(nil), shell...), strings.Join(hc.Test[1:], " "))
	default:
		return nil
	}
	if len(p.cmd) == 0 || p.cmd[0] == "" {
		return nil
	}
	if p.interval <= 0 {
		p.interval = healthDefaultInterval
	}
	if p.timeout <= 0 {
		p.timeout = healthDefaultTimeout
	}
	if p.retries <= 0 {
		p.retries = healthDefaultRetries
	}
	if p.startInterval <= 0 {
		p.startInterval = healthDefaultStartInterval
	}
	return p
}

// startHealth begins health monitoring of a run that just started (reset:
// the status goes back to starting) or was restored from a previous daemon
// (the persisted health carries on).
func (s *Containers) startHealth(snap *container.Snapshot, h *running, reset bool) {
	p := planHealth(snap.Config)
	if p == nil {
		return
	}
	// The probe's user and environment are resolved once, while the
	// rootfs is surely mounted: resolving per probe could remount the
	// rootfs of a container that exited meanwhile.
	proc, err := s.execProcess(context.Background(), snap, apicontainer.ExecCreateRequest{Cmd: p.cmd})
	if err != nil {
		s.log.Warn("preparing healthcheck", "container", snap.ID, "err", err)
		return
	}
	p.proc = proc
	started := snap.State.StartedAt
	if reset || snap.State.Health == nil {
		after, err := s.store.Update(snap.ID, func(c *container.Container) error {
			c.State.Health = c.State.Health.Restarted()
			return nil
		})
		if err != nil {
			s.log.Warn("resetting health", "container", snap.ID, "err", err)
			return
		}
		started = after.State.StartedAt
	}
	go s.healthMonitor(snap.ID, h, p, started)
}

func (s *Containers) healthMonitor(id string, h *running, p *healthPlan, started time.Time) {
	inStartPeriod := func() bool { return time.Since(started) < p.startPeriod }
	wait := p.interval
	if inStartPeriod() {
		wait = p.startInterval
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-timer.C:
		}
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			// The daemon let go of its shims; the next one probes again.
			return
		}
		snap, err := s.store.Lookup(id)
		if err != nil {
			return
		}
		if snap.State.Status == container.StatusRunning {
			r := s.probe(snap, p)
			select {
			case <-h.done:
				// The run ended during the probe: its failure says nothing
				// about health.
				return
			default:
			}
			s.recordProbe(id, r, p, inStartPeriod())
		}
		wait = p.interval
		if inStartPeriod() {
			if after, err := s.store.Lookup(id); err == nil && after.State.Health != nil && after.State.Health.Status == container.HealthStarting {
				wait = p.startInterval
			}
		}
		timer.Reset(wait)
	}
}

// probe runs the healthcheck command once in the container.
func (s *Containers) probe(snap *container.Snapshot, p *healthPlan) container.HealthResult {
	start := time.Now().UTC()
	fail := func(msg string) container.HealthResult {
		return container.HealthResult{Start: start, End: time.Now().UTC(), ExitCode: -1, Output: msg}
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	out := &cappedBuffer{max: container.HealthOutputMax}
	pid, wait, err := runtime.Exec(ctx, shim.RuntimeStateRoot(s.stateDir(snap.ID)), snap.ID, p.proc, nil, out, out)
	if err != nil {
		return fail(err.Error())
	}
	type result struct{ code int }
	done := make(chan result, 1)
	go func() {
		code, err := wait()
		if err != nil {
			s.log.Warn("waiting for health probe", "container", snap.ID, "err", err)
		}
		done <- result{code}
	}()
	select {
	case r := <-done:
		return container.HealthResult{Start: start, End: time.Now().UTC(), ExitCode: r.code, Output: out.String()}
	case <-ctx.Done():
		_ = unix.Kill(pid, unix.SIGKILL)
		<-done // reap it
		return fail(fmt.Sprintf("Health check exceeded timeout (%v)", p.timeout))
	}
}

// recordProbe stores a probe's result, announces a changed status and takes
// the --health-on-failure action when the container became unhealthy.
func (s *Containers) recordProbe(id string, r container.HealthResult, p *healthPlan, inStartPeriod bool) {
	var changed bool
	after, err := s.store.Update(id, func(c *container.Container) error {
		if c.State.Status != container.StatusRunning {
			changed = false
			return nil
		}
		c.State.Health, changed = c.State.Health.Record(r, p.retries, inStartPeriod)
		return nil
	})
	if err != nil {
		s.log.Warn("recording health", "container", id, "err", err)
		return
	}
	if !changed || after.State.Health == nil {
		return
	}
	s.publish(after, apievents.Action(string(apievents.ActionHealthStatus)+": "+after.State.Health.Status), nil)
	if after.State.Health.Status == container.HealthUnhealthy {
		go s.healthFailureAction(id, p.onFailure)
	}
}

// healthFailureAction carries out --health-on-failure. kill and stop count
// as manual stops (the restart policy leaves the container be).
func (s *Containers) healthFailureAction(id, action string) {
	ctx := context.Background()
	var err error
	switch action {
	case "", "none":
		return
	case "kill":
		err = s.Kill(ctx, id, "KILL")
	case "stop":
		err = s.Stop(ctx, id, backend.StopOptions{})
	case "restart":
		err = s.Restart(ctx, id, backend.StopOptions{})
	default:
		s.log.Warn("unknown health-on-failure action", "container", id, "action", action)
		return
	}
	if err != nil {
		s.log.Warn("health-on-failure", "container", id, "action", action, "err", err)
	}
}

// mergeHealthcheck fills the fields the user left zero from the image's
// HEALTHCHECK, as Docker does: --health-interval alone keeps the image's
// test.
func mergeHealthcheck(user, img *apicontainer.HealthConfig) *apicontainer.HealthConfig {
	if img == nil {
		return user
	}
	if user == nil {
		c := *img
		c.Test = append([]string(nil), img.Test...)
		return &c
	}
	c := *user
	if len(c.Test) == 0 {
		c.Test = append([]string(nil), img.Test...)
	}
	if c.Interval == 0 {
		c.Interval = img.Interval
	}
	if c.Timeout == 0 {
		c.Timeout = img.Timeout
	}
	if c.StartPeriod == 0 {
		c.StartPeriod = img.StartPeriod
	}
	if c.StartInterval == 0 {
		c.StartInterval = img.StartInterval
	}
	if c.Retries == 0 {
		c.Retries = img.Retries
	}
	return &c
}

// healthStatus is the container's status for ps's health filter and
// summary: none without a healthcheck.
func healthStatus(st container.State) string {
	if st.Health == nil {
		return string(apicontainer.NoHealthcheck)
	}
	return st.Health.Status
}

// healthSuffix is what ps appends to "Up ..." for a running container.
func healthSuffix(st container.State) string {
	if st.Health == nil {
		return ""
	}
	if st.Health.Status == container.HealthStarting {
		return " (health: starting)"
	}
	return " (" + st.Health.Status + ")"
}

func inspectHealth(h *container.Health) *apicontainer.Health {
	if h == nil {
		return nil
	}
	out := &apicontainer.Health{Status: apicontainer.HealthStatus(h.Status), FailingStreak: h.FailingStreak,
		Log: []*apicontainer.HealthcheckResult{}}
	for _, r := range h.Log {
		out.Log = append(out.Log, &apicontainer.HealthcheckResult{Start: r.Start, End: r.End, ExitCode: r.ExitCode, Output: r.Output})
	}
	return out
}

// cappedBuffer keeps the first max bytes written to it and drains the rest,
// so a chatty probe never blocks on its pipe.
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		b.buf = append(b.buf, p[:room]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
