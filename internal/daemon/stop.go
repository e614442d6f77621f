package daemon

import (
	"berth/internal/backend"
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	apievents "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"berth/internal/container"
	"berth/internal/errdefs"
)

// ParseSignal accepts "KILL", "SIGKILL", "9" — Docker's forms.
func ParseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, errdefs.InvalidParameterf("Invalid signal: %s", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, errdefs.InvalidParameterf("Invalid signal: %s", s)
}

// Kill sends a signal (default SIGKILL) to the container's main process.
func (s *Containers) Kill(ctx context.Context, ref, signal string) error {
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if snap.State.Status == container.StatusRestarting {
		// No process to signal: like Docker, the kill ends the restart loop.
		if s.stopRestarting(ctx, snap.ID) {
			return nil
		}
		if snap, err = s.store.Lookup(snap.ID); err != nil {
			return err
		}
	}
	h := s.handle(snap.ID)
	if h == nil || h.shim == nil || !snap.State.IsRunning() {
		return errdefs.Conflictf("Cannot kill container: %s: Container %s is not running", ref, snap.ID)
	}
	if endsRestarts(snap.Config.StopSignal, sig) {
		s.markStopped(snap.ID)
		s.cancelRacedRestart(snap.ID)
	}
	if err := h.shim.Signal(ctx, sig); err != nil {
		return errdefs.System(fmt.Errorf("Cannot kill container: %s: %w", ref, err))
	}
	s.thawForSignal(snap.ID)
	s.publish(snap, apievents.ActionKill, map[string]string{"signal": strconv.Itoa(int(sig))})
	if sig == syscall.SIGKILL {
		// Like Docker, a SIGKILL is answered once the exit is recorded (or
		// after a short bound), so the next command sees a stopped
		// container rather than a dying one.
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		select {
		case <-h.done:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return nil
}

// endsRestarts is Docker's rule for a kill that counts as a manual stop
// (no restart by policy afterwards): SIGKILL, the container's stop signal,
// or any signal when the container has none configured.
func endsRestarts(stopSignal string, sig syscall.Signal) bool {
	if sig == syscall.SIGKILL || stopSignal == "" {
		return true
	}
	want, err := ParseSignal(stopSignal)
	return err == nil && want == sig
}

func (s *Containers) markStopped(id string) {
	s.store.Update(id, func(c *container.Container) error {
		c.State.ManuallyStopped = true
		return nil
	})
}

// Stop sends the stop signal, waits, then kills. A stopped container is
// NotModified (304).
func (s *Containers) Stop(ctx context.Context, ref string, opts backend.StopOptions) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if snap.State.Status == container.StatusRestarting {
		// Waiting out a back-off: cancelling the restart is the stop.
		if s.stopRestarting(ctx, snap.ID) {
			s.publish(snap, apievents.ActionStop, nil)
			return nil
		}
		if snap, err = s.store.Lookup(snap.ID); err != nil {
			return err
		}
	}
	h := s.handle(snap.ID)
	if h == nil || h.shim == nil || !snap.State.IsRunning() {
		return errdefs.NotModified(fmt.Errorf("container already stopped"))
	}
	sigName := opts.Signal
	if sigName == "" {
		sigName = snap.Config.StopSignal
	}
	sig, err := ParseSignal(sigName)
	if err != nil {
		return err
	}
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	timeout := 10
	if snap.Config.StopTimeout != nil {
		timeout = *snap.Config.StopTimeout
	}
	if opts.Timeout != nil {
		timeout = *opts.Timeout
	}
	s.markStopped(snap.ID)
	if err := h.shim.Signal(ctx, sig); err != nil {
		s.log.Debug("stop signal", "container", snap.ID, "err", err)
	}
	s.thawForSignal(snap.ID)
	if waitDone(ctx, h.done, timeout) {
		s.cancelRacedRestart(snap.ID)
		s.publish(snap, apievents.ActionStop, nil)
		return nil
	}
	if err := h.shim.Signal(ctx, syscall.SIGKILL); err != nil {
		s.log.Debug("stop kill", "container", snap.ID, "err", err)
	}
	select {
	case <-h.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.cancelRacedRestart(snap.ID)
	s.publish(snap, apievents.ActionStop, nil)
	return nil
}

// cancelRacedRestart covers a container that exited on its own just before
// a stop marked it: its policy may already have scheduled a restart.
func (s *Containers) cancelRacedRestart(id string) {
	if snap, err := s.store.Lookup(id); err == nil && snap.State.Status == container.StatusRestarting {
		s.stopRestarting(context.Background(), id)
	}
}

// waitDone waits up to timeout seconds (negative: forever) for done.
func waitDone(ctx context.Context, done <-chan struct{}, timeout int) bool {
	if timeout < 0 {
		select {
		case <-done:
			return true
		case <-ctx.Done():
			return false
		}
	}
	t := time.NewTimer(time.Duration(timeout) * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// Restart stops (if running) and starts.
func (s *Containers) Restart(ctx context.Context, ref string, opts backend.StopOptions) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if err := s.Stop(ctx, snap.ID, opts); err != nil && !errdefs.IsNotModified(err) {
		return err
	}
	if err := s.Start(ctx, snap.ID); err != nil {
		return err
	}
	after, _ := s.store.Lookup(snap.ID)
	if after != nil {
		s.publish(after, apievents.ActionRestart, nil)
	}
	return nil
}

// Remove deletes a container: a running one only with Force.
func (s *Containers) Remove(ctx context.Context, ref string, opts backend.RemoveOptions) error {
	return s.remove(ctx, ref, opts, false)
}

// remove is Remove; resume lets restore finish a removal that a killed
// daemon left marked in progress (a second Remove must refuse that).
func (s *Containers) remove(ctx context.Context, ref string, opts backend.RemoveOptions, resume bool) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if opts.RemoveLink {
		return errdefs.InvalidParameterf("Conflict, cannot remove the default link name of the container")
	}
	if snap.State.Status == container.StatusRestarting {
		if !opts.Force {
			return errdefs.Conflictf("cannot remove container %q: container is restarting: stop the container before removing or force remove", snap.Name)
		}
		s.stopRestarting(ctx, snap.ID)
		if snap, err = s.store.Lookup(snap.ID); err != nil {
			return err
		}
	}
	if snap.State.IsRunning() {
		if !opts.Force && snap.State.Status == container.StatusPaused {
			return errdefs.Conflictf("cannot remove container %q: container is paused and must be unpaused first", snap.Name)
		}
		if !opts.Force {
			return errdefs.Conflictf("cannot remove container %q: container is running: stop the container before removing or force remove", snap.Name)
		}
		if h := s.handle(snap.ID); h != nil && h.shim != nil {
			s.markStopped(snap.ID)
			if err := h.shim.Signal(ctx, syscall.SIGKILL); err != nil {
				s.log.Debug("force remove kill", "container", snap.ID, "err", err)
			}
			s.thawForSignal(snap.ID)
			select {
			case <-h.done:
			case <-time.After(30 * time.Second):
				return errdefs.Systemf("cannot remove container %q: could not kill: timed out", snap.Name)
			case <-ctx.Done():
				return ctx.Err()
			}
			// AutoRemove may have won the race.
			if _, err := s.store.Lookup(snap.ID); errdefs.IsNotFound(err) {
				return nil
			}
		}
	}
	removing, err := s.store.Update(snap.ID, func(c *container.Container) error {
		if c.State.IsRunning() || (c.State.Status == container.StatusRestarting && !opts.Force) {
			return errdefs.Conflictf("cannot remove container %q: container is running: stop the container before removing or force remove", c.Name)
		}
		if resume {
			return c.State.ResumeRemoval()
		}
		return c.State.SetRemoving()
	})
	if err != nil {
		return err
	}
	if err := s.images.RemoveRW(ctx, snap.ID); err != nil {
		s.store.Update(snap.ID, func(c *container.Container) error {
			c.State.Status = container.StatusDead
			c.State.Error = err.Error()
			return nil
		})
		return errdefs.System(fmt.Errorf("unable to remove filesystem for %s: %w", snap.ID, err))
	}
	s.removeStateDir(snap.ID)
	s.forgetRestarts(snap.ID)
	if err := s.store.Delete(snap.ID); err != nil {
		return err
	}
	s.volumes.release(ctx, snap.ID, opts.RemoveVolumes)
	s.forgetNetwork(ctx, snap.ID)
	s.publish(snap, apievents.ActionDestroy, nil)
	s.notifyRemoved(snap.ID, exitResult{code: removing.State.ExitCode})
	return nil
}
