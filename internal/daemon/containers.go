package daemon

import (
	"berth/internal/network"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"

	"berth/internal/config"
	"berth/internal/container"
	"berth/internal/daemon/events"
	"berth/internal/errdefs"
	"berth/internal/image"
	"berth/internal/runtime"
	"berth/internal/shim"
)

// Containers is the container service: lifecycle, listing, logs.
type Containers struct {
	cfg     config.Config
	log     *slog.Logger
	store   *container.Store
	images  *image.Store
	events  *events.Bus
	volumes *Volumes
	host    runtime.Host // detected once: capabilities, limits the spec needs
	net     *network.Manager

	mu       sync.Mutex
	running  map[string]*running // by container ID, while a shim is watched
	waits    map[string]*waitSet
	restarts map[string]*restartState // by container ID, once a policy restarted it
	closing  bool                     // set by detachAll: no more restarts or exit records

	execs   execTable  // exec records, by exec ID (exec.go)
	initBin initBinary // the --init binary, found once (initbin.go)
}

// running is the daemon's handle on a live container.
type running struct {
	shim *shim.Client
	done chan struct{} // closed once the exit is recorded
}

func (s *Containers) stateDir(id string) string {
	// Short on purpose: the shim's unix socket lives here (108-byte limit).
	return filepath.Join(s.cfg.ExecRoot, "containers", id[:12])
}

// publish emits a container event with Docker's attributes (name, image and
// the container's labels).
func (s *Containers) publish(snap *container.Snapshot, action apievents.Action, extra map[string]string) {
	attrs := map[string]string{"name": trimSlash(snap.Name)}
	if snap.Config != nil {
		attrs["image"] = snap.Config.Image
		for k, v := range snap.Config.Labels {
			attrs[k] = v
		}
	}
	for k, v := range extra {
		attrs[k] = v
	}
	s.events.Publish(apievents.ContainerEventType, action, snap.ID, attrs)
}

func trimSlash(n string) string {
	if len(n) > 0 && n[0] == '/' {
		return n[1:]
	}
	return n
}

// Get returns a snapshot by ID, name or prefix.
func (s *Containers) Get(ref string) (*container.Snapshot, error) { return s.store.Lookup(ref) }

func (s *Containers) handle(id string) *running {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[id]
}

// Rename gives a container a new name.
func (s *Containers) Rename(ctx context.Context, ref, newName string) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if newName == "" {
		return errdefs.InvalidParameterf("Neither old nor new names may be empty")
	}
	name, err := container.ValidateName(newName)
	if err != nil {
		return err
	}
	if err := s.store.Rename(snap.ID, name); err != nil {
		return err
	}
	if s.net != nil {
		s.net.Rename(snap.ID, name)
	}
	after, _ := s.store.Lookup(snap.ID)
	if after != nil {
		s.publish(after, apievents.ActionRename, map[string]string{"oldName": snap.Name})
	}
	return nil
}

// Wait blocks per condition and returns the exit code. It calls ready once
// the wait is registered, so the API can flush its headers before blocking
// (the Docker CLI starts the container only after that).
func (s *Containers) Wait(ctx context.Context, ref string, condition apicontainer.WaitCondition, ready func()) (int, string, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return 0, "", err
	}
	ch := make(chan exitResult, 1)
	switch condition {
	case "", apicontainer.WaitConditionNotRunning:
		s.mu.Lock()
		cur, _ := s.store.Lookup(snap.ID)
		if cur == nil || !(cur.State.IsRunning() || cur.State.Status == container.StatusRestarting) {
			s.mu.Unlock()
			ready()
			code := 0
			if cur != nil {
				code = cur.State.ExitCode
			}
			return code, "", nil
		}
		s.waitSetLocked(snap.ID).exit = append(s.waitSetLocked(snap.ID).exit, ch)
		s.mu.Unlock()
	case apicontainer.WaitConditionNextExit:
		s.mu.Lock()
		s.waitSetLocked(snap.ID).exit = append(s.waitSetLocked(snap.ID).exit, ch)
		s.mu.Unlock()
	case apicontainer.WaitConditionRemoved:
		s.mu.Lock()
		if _, err := s.store.Lookup(snap.ID); err != nil {
			s.mu.Unlock()
			ready()
			return snap.State.ExitCode, "", nil
		}
		s.waitSetLocked(snap.ID).removed = append(s.waitSetLocked(snap.ID).removed, ch)
		s.mu.Unlock()
	default:
		return 0, "", errdefs.InvalidParameterf("invalid condition: %q", condition)
	}
	ready()
	select {
	case r := <-ch:
		return r.code, r.err, nil
	case <-ctx.Done():
		s.dropWaiter(snap.ID, ch)
		return 0, "", ctx.Err()
	}
}

func (s *Containers) waitSetLocked(id string) *waitSet {
	w := s.waits[id]
	if w == nil {
		w = &waitSet{}
		s.waits[id] = w
	}
	return w
}

func (s *Containers) dropWaiter(id string, ch chan exitResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.waits[id]
	if w == nil {
		return
	}
	w.exit = without(w.exit, ch)
	w.removed = without(w.removed, ch)
}

func without(list []chan exitResult, ch chan exitResult) []chan exitResult {
	out := list[:0]
	for _, c := range list {
		if c != ch {
			out = append(out, c)
		}
	}
	return out
}

// notifyExit wakes exit waiters; notifyRemoved wakes removal waiters.
func (s *Containers) notifyExit(id string, r exitResult) {
	s.mu.Lock()
	w := s.waits[id]
	var chans []chan exitResult
	if w != nil {
		chans, w.exit = w.exit, nil
	}
	s.mu.Unlock()
	for _, c := range chans {
		c <- r
	}
}

func (s *Containers) notifyRemoved(id string, r exitResult) {
	s.mu.Lock()
	w := s.waits[id]
	delete(s.waits, id)
	s.mu.Unlock()
	if w == nil {
		return
	}
	for _, c := range append(w.exit, w.removed...) {
		c <- r
	}
}

// nextExit returns a channel closed at the container's next exit (or
// removal); the logs follower and attach stop on it.
func (s *Containers) nextExit(id string) (<-chan struct{}, func()) {
	ch := make(chan exitResult, 1)
	s.mu.Lock()
	s.waitSetLocked(id).exit = append(s.waitSetLocked(id).exit, ch)
	s.mu.Unlock()
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		select {
		case <-ch:
		case <-stop:
			s.dropWaiter(id, ch)
		}
		close(done)
	}()
	var once sync.Once
	return done, func() { once.Do(func() { close(stop) }) }
}

// detachAll forgets the shims without touching them (daemon shutdown).
// Pending restarts are dropped with their records left "restarting", which
// the next daemon resumes.
func (s *Containers) detachAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for id, rs := range s.restarts {
		if rs.cancel != nil {
			close(rs.cancel)
		}
		delete(s.restarts, id)
	}
	for id, r := range s.running {
		if r.shim != nil {
			r.shim.Close()
		}
		delete(s.running, id)
	}
}

// removeDirs deletes the per-container runtime state of a container.
func (s *Containers) removeStateDir(id string) {
	unmountShm(s.stateDir(id))
	if err := os.RemoveAll(s.stateDir(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing state dir", "container", id, "err", err)
	}
}

var errNotRunning = func(id string) error {
	return errdefs.Conflictf("Container %s is not running", id)
}

func since(t time.Time) time.Duration { return time.Since(t) }

var _ = fmt.Sprintf
