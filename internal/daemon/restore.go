package daemon

import (
	"berth/internal/backend"
	"context"
	"time"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/shim"
)

// restore reattaches to containers that were running when the previous
// daemon stopped. A live shim is watched again; a container whose shim is
// gone gets the exit status its shim recorded; anything caught mid-removal
// is finished off. Restart policies then apply: an exit found here goes
// through recordExit like any other, a pending restart resumes, and exited
// containers whose policy says so are started again.
func (s *Containers) restore(ctx context.Context) {
	for _, snap := range s.store.List() {
		switch snap.State.Status {
		case container.StatusRunning, container.StatusPaused:
			s.restoreRunning(ctx, snap)
		case container.StatusRestarting:
			s.restoreRestarting(snap)
		case container.StatusExited:
			s.restoreExited(snap)
		case container.StatusRemoving, container.StatusDead:
			if err := s.remove(ctx, snap.ID, backend.RemoveOptions{Force: true}, true); err != nil {
				s.log.Warn("finishing interrupted removal", "container", snap.ID, "err", err)
			}
		}
	}
}

func (s *Containers) restoreRunning(ctx context.Context, snap *container.Snapshot) {
	client, err := shim.Connect(ctx, s.stateDir(snap.ID))
	if err == nil {
		h := &running{shim: client, done: make(chan struct{})}
		if interactive(snap) {
			// The last daemon may have died before letting it run.
			_ = client.Resume(ctx)
		}
		s.mu.Lock()
		s.running[snap.ID] = h
		s.mu.Unlock()
		go s.monitor(snap.ID, h)
		s.startHealth(snap, h, false)
		return
	}
	exit, rerr := shim.ReadExit(s.stateDir(snap.ID))
	if rerr != nil {
		if !errdefs.IsNotFound(rerr) {
			s.log.Warn("reading exit record", "container", snap.ID, "err", rerr)
		}
		// Neither a shim nor its record: the host rebooted or the state was
		// wiped. Docker reports such containers as exited with 255.
		exit = shim.Exit{Code: 255, ExitedAt: time.Now().UTC()}
	}
	s.log.Info("container exited while the daemon was down", "container", snap.ID, "exitCode", exit.Code)
	s.recordExit(snap.ID, exit.Code, exit.OOMKilled, exit.ExitedAt)
}
