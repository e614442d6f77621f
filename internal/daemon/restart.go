package daemon

import (
	"context"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/container"
)

// Docker's back-off between policy restarts: the first waits 100 ms, each
// next one twice as long up to a minute, and a run of 10 s or more counts as
// healthy and starts the series over.
const (
	restartDelayMin   = 100 * time.Millisecond
	restartDelayMax   = time.Minute
	restartResetAfter = 10 * time.Second
)

// restartState is the daemon's memory of a container's restart loop. It is
// not persisted: like Docker, a new daemon starts the back-off afresh.
type restartState struct {
	delay  time.Duration // the last delay waited
	cancel chan struct{} // non-nil while a restart is pending
}

// nextRestartDelay is the wait before the next restart, given the previous
// wait and how long the container ran this time.
func nextRestartDelay(prev, ran time.Duration) time.Duration {
	if prev <= 0 || ran >= restartResetAfter {
		return restartDelayMin
	}
	if prev >= restartDelayMax/2 {
		return restartDelayMax
	}
	return prev * 2
}

// shouldRestart is the policy decision at a container's exit. A manual stop
// (stop, kill, rm -f) wins over every policy while the daemon runs; an
// auto-remove container never restarts. restartCount is the number of
// policy restarts since the last user start.
func shouldRestart(p apicontainer.RestartPolicy, exitCode int, manuallyStopped, autoRemove bool, restartCount int) bool {
	if manuallyStopped || autoRemove {
		return false
	}
	switch p.Name {
	case apicontainer.RestartPolicyAlways, apicontainer.RestartPolicyUnlessStopped:
		return true
	case apicontainer.RestartPolicyOnFailure:
		return exitCode != 0 && (p.MaximumRetryCount <= 0 || restartCount < p.MaximumRetryCount)
	}
	return false
}

// restartOnBoot says whether a container found exited by a new daemon is
// started again. Docker's documented difference between the two policies
// lives here: "always" comes back even after a manual stop, "unless-stopped"
// does not. on-failure exits were judged when they happened (recordExit).
func restartOnBoot(p apicontainer.RestartPolicy, manuallyStopped, autoRemove bool) bool {
	if autoRemove {
		return false
	}
	switch p.Name {
	case apicontainer.RestartPolicyAlways:
		return true
	case apicontainer.RestartPolicyUnlessStopped:
		return !manuallyStopped
	}
	return false
}

func restartPolicy(hc *apicontainer.HostConfig) (apicontainer.RestartPolicy, bool) {
	if hc == nil {
		return apicontainer.RestartPolicy{}, false
	}
	return hc.RestartPolicy, hc.AutoRemove
}

// scheduleRestart arms the back-off timer of a container that recordExit put
// in the restarting state.
func (s *Containers) scheduleRestart(id string, ran time.Duration) {
	s.mu.Lock()
	if s.closing {
		// The record says restarting; the next daemon picks it up.
		s.mu.Unlock()
		return
	}
	rs := s.restarts[id]
	if rs == nil {
		rs = &restartState{}
		s.restarts[id] = rs
	}
	rs.delay = nextRestartDelay(rs.delay, ran)
	if rs.cancel != nil {
		close(rs.cancel)
	}
	cancel := make(chan struct{})
	rs.cancel = cancel
	delay := rs.delay
	s.mu.Unlock()
	go s.restartAfter(id, delay, cancel)
}

// restartAfter waits out the delay and starts the container again unless the
// restart was cancelled or the user stopped the container meanwhile.
func (s *Containers) restartAfter(id string, delay time.Duration, cancel chan struct{}) {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-cancel:
		return
	}
	// Claiming the restart and reserving the start slot happen under one
	// lock, so a concurrent stop sees either a pending restart it can
	// cancel or a start in flight it must wait for.
	s.mu.Lock()
	rs := s.restarts[id]
	if s.closing || rs == nil || rs.cancel != cancel || s.running[id] != nil {
		s.mu.Unlock()
		return
	}
	rs.cancel = nil
	s.running[id] = &running{done: make(chan struct{})}
	s.mu.Unlock()

	snap, err := s.store.Lookup(id)
	if err != nil || snap.State.Status != container.StatusRestarting || snap.State.ManuallyStopped {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
		if err == nil {
			s.endRestart(id)
		}
		return
	}
	if err := s.launch(context.Background(), snap, false); err != nil {
		s.log.Warn("restart by policy failed", "container", id, "err", err)
	}
}

// endRestart moves a restarting container to exited and wakes its waiters.
func (s *Containers) endRestart(id string) bool {
	after, err := s.store.Update(id, func(c *container.Container) error {
		return c.State.SetRestartCanceled()
	})
	if err != nil {
		return false
	}
	s.notifyExit(id, exitResult{code: after.State.ExitCode})
	return true
}

// cancelRestart stops a pending policy restart. It reports false when a
// restart is already starting (the caller waits for it with settle) or the
// container is not restarting any more.
func (s *Containers) cancelRestart(id string) bool {
	s.mu.Lock()
	rs := s.restarts[id]
	if rs != nil && rs.cancel != nil {
		close(rs.cancel)
		rs.cancel = nil
	}
	inFlight := s.running[id] != nil
	s.mu.Unlock()
	if inFlight {
		return false
	}
	return s.endRestart(id)
}

// forgetRestarts drops the back-off memory of a container: a user start
// begins a new series, and removal ends it.
func (s *Containers) forgetRestarts(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.restarts[id]; rs != nil && rs.cancel != nil {
		close(rs.cancel)
	}
	delete(s.restarts, id)
}

// settle waits until a policy restart that is in flight has landed: the
// container runs under a shim, or is no longer restarting.
func (s *Containers) settle(ctx context.Context, id string) {
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		h := s.handle(id)
		snap, err := s.store.Lookup(id)
		if err != nil || ((h == nil || h.shim != nil) && snap.State.Status != container.StatusRestarting) {
			return
		}
		if h == nil && snap.State.Status == container.StatusRestarting {
			// Nothing in flight: a pending timer or a stale record; end it.
			if s.cancelRestart(id) {
				return
			}
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// stopRestarting handles stop, kill and rm -f of a restarting container:
// mark it manually stopped, cancel the pending restart, or wait for the one
// in flight. It reports whether the container ended up not running.
func (s *Containers) stopRestarting(ctx context.Context, id string) bool {
	s.markStopped(id)
	if s.cancelRestart(id) {
		return true
	}
	s.settle(ctx, id)
	snap, err := s.store.Lookup(id)
	return err != nil || !snap.State.IsRunning()
}

// restoreRestarting resumes a restart loop the previous daemon left pending,
// or ends it if the user had stopped the container.
func (s *Containers) restoreRestarting(snap *container.Snapshot) {
	if snap.State.ManuallyStopped {
		s.endRestart(snap.ID)
		return
	}
	s.scheduleRestart(snap.ID, 0)
}

// restoreExited starts, through the restart machinery, an exited container
// whose policy brings it back when the daemon starts.
func (s *Containers) restoreExited(snap *container.Snapshot) {
	p, autoRemove := restartPolicy(snap.HostConfig)
	if snap.State.FinishedAt.IsZero() || !restartOnBoot(p, snap.State.ManuallyStopped, autoRemove) {
		return
	}
	_, err := s.store.Update(snap.ID, func(c *container.Container) error {
		// Starting it is a fresh start, as far as the manual mark goes.
		c.State.ManuallyStopped = false
		return c.State.SetRestarting(c.State.ExitCode, c.State.OOMKilled, c.State.FinishedAt)
	})
	if err != nil {
		s.log.Warn("restarting container at boot", "container", snap.ID, "err", err)
		return
	}
	s.log.Info("restarting container by its restart policy", "container", snap.ID, "policy", p.Name)
	s.scheduleRestart(snap.ID, 0)
}
