package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	apievents "github.com/moby/moby/api/types/events"
	"github.com/moby/term"
	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/backend"
	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/shim"
)

// This file holds attach and resize. A container that is not interactive
// is attached from its log (logs.go). An interactive one (a tty or an open
// stdin) is attached through its shim, which owns the pty or the stdin
// pipe: the daemon relays the hijacked connection to a shim attach stream,
// watching the client's input for the detach keys. An attach made before
// the container runs (docker run attaches, then starts) waits for the
// start: launch hands every waiting attach its shim stream before the
// shim lets the container's process run, so none misses the first output.

// defaultDetachKeys is Docker's ctrl-p,ctrl-q.
var defaultDetachKeys = []byte{16, 17}

// ParseDetachKeys turns a detach key spec ("ctrl-p,ctrl-q") into bytes;
// "" is Docker's default. A spec that does not parse is Docker's 400.
func ParseDetachKeys(spec string) ([]byte, error) {
	if spec == "" {
		return defaultDetachKeys, nil
	}
	keys, err := term.ToBytes(spec)
	if err != nil {
		return nil, errdefs.InvalidParameterf("Invalid detach keys (%s) provided", spec)
	}
	return keys, nil
}

func interactive(snap *container.Snapshot) bool {
	return snap.Config != nil && (snap.Config.Tty || snap.Config.OpenStdin)
}

// attachWaiter is an attach waiting for its container to start.
type attachWaiter struct {
	opts shim.AttachOptions
	got  chan attachResult // buffered: launch never blocks on it
}

type attachResult struct {
	conn *shim.AttachConn
	err  error
}

// Attach streams a container's stdio to a client. ready is called once the
// request is known to be valid; it takes over the connection.
func (s *Containers) Attach(ctx context.Context, ref string, opts backend.AttachOptions, ready func(tty bool) (backend.AttachStreams, error)) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	keys, err := ParseDetachKeys(opts.DetachKeys)
	if err != nil {
		return err
	}
	switch snap.State.Status {
	case container.StatusPaused:
		return errdefs.Conflictf("container %s is paused, unpause the container before attach", ref)
	case container.StatusRestarting:
		return errdefs.Conflictf("container %s is restarting, wait until the container is running", ref)
	}
	s.publish(snap, apievents.ActionAttach, nil)
	if !interactive(snap) {
		return s.attachLog(ctx, snap, opts, ready)
	}
	so := shim.AttachOptions{
		Stdin:      opts.Stdin && snap.Config.OpenStdin,
		Stdout:     opts.Stdout,
		Stderr:     opts.Stderr,
		CloseStdin: snap.Config.StdinOnce && !snap.Config.Tty,
	}
	conn, waiter, err := s.openAttach(ctx, snap.ID, so)
	if err != nil {
		return err
	}
	streams, err := ready(snap.Config.Tty)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		s.dropAttachWaiter(snap.ID, waiter)
		return err
	}
	if waiter != nil {
		// Until the start, the client's input is read ahead (and kept):
		// that is how a client that leaves first is noticed.
		in := newReadAhead(streams.Stdin)
		defer in.stop()
		streams.Stdin = in
		ctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-in.gone:
				cancel()
			case <-ctx.Done():
			}
		}()
		conn, err = s.awaitStart(ctx, snap.ID, waiter)
		cancel()
		if err != nil {
			return err
		}
	}
	if s.relay(conn, so, snap.Config.Tty, keys, streams) {
		s.publish(snap, apievents.ActionDetach, nil)
	}
	return nil
}

// openAttach connects to a running container's shim at once, or registers
// a waiter for the container's next start.
func (s *Containers) openAttach(ctx context.Context, id string, so shim.AttachOptions) (*shim.AttachConn, *attachWaiter, error) {
	s.mu.Lock()
	h := s.running[id]
	if h == nil || h.shim == nil {
		w := &attachWaiter{opts: so, got: make(chan attachResult, 1)}
		if s.attachWaits == nil {
			s.attachWaits = map[string][]*attachWaiter{}
		}
		s.attachWaits[id] = append(s.attachWaits[id], w)
		s.mu.Unlock()
		return nil, w, nil
	}
	s.mu.Unlock()
	conn, err := h.shim.Attach(ctx, so)
	if err != nil {
		return nil, nil, err
	}
	return conn, nil, nil
}

func (s *Containers) dropAttachWaiter(id string, w *attachWaiter) {
	if w == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.attachWaits[id]
	for i, x := range list {
		if x == w {
			s.attachWaits[id] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(s.attachWaits[id]) == 0 {
		delete(s.attachWaits, id)
	}
}

// readAhead reads its source on a goroutine into a queue, so that an
// error (the client left) is seen even while nobody reads.
type readAhead struct {
	ch       chan []byte
	gone     chan struct{} // closed on a read error other than EOF
	done     chan struct{} // closed by stop: nobody reads any more
	stopOnce sync.Once
	err      error // set before ch is closed
	buf      []byte
}

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{ch: make(chan []byte, 64), gone: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(ra.ch)
		for {
			b := make([]byte, 32*1024)
			n, err := r.Read(b)
			if n > 0 {
				select {
				case ra.ch <- b[:n]:
				case <-ra.done:
					ra.err = io.ErrClosedPipe
					return
				}
			}
			if err != nil {
				ra.err = err
				if err != io.EOF {
					close(ra.gone)
				}
				return
			}
		}
	}()
	return ra
}

// stop lets the reading goroutine end (at its next read) once the
// attach is over.
func (ra *readAhead) stop() { ra.stopOnce.Do(func() { close(ra.done) }) }

func (ra *readAhead) Read(p []byte) (int, error) {
	if len(ra.buf) == 0 {
		b, ok := <-ra.ch
		if !ok {
			return 0, ra.err
		}
		ra.buf = b
	}
	n := copy(p, ra.buf)
	ra.buf = ra.buf[n:]
	return n, nil
}

// endAttachWaits ends the attaches waiting for a start that failed.
func (s *Containers) endAttachWaits(id string, err error) {
	s.mu.Lock()
	waiters := s.attachWaits[id]
	delete(s.attachWaits, id)
	s.mu.Unlock()
	for _, w := range waiters {
		w.got <- attachResult{err: err}
	}
}

// awaitStart waits until launch hands w its stream or the request ends.
func (s *Containers) awaitStart(ctx context.Context, id string, w *attachWaiter) (*shim.AttachConn, error) {
	select {
	case r := <-w.got:
		return r.conn, r.err
	case <-ctx.Done():
		s.dropAttachWaiter(id, w)
		// launch may have delivered meanwhile.
		select {
		case r := <-w.got:
			if r.conn != nil {
				r.conn.Close()
			}
		default:
		}
		return nil, ctx.Err()
	}
}

// attachStarted is launch's hand-over: the container's handle becomes
// visible and every attach waiting for this start gets its stream; then an
// interactive container's process may run.
func (s *Containers) attachStarted(snap *container.Snapshot, h *running) {
	s.mu.Lock()
	s.running[snap.ID] = h
	waiters := s.attachWaits[snap.ID]
	delete(s.attachWaits, snap.ID)
	s.mu.Unlock()
	if !interactive(snap) {
		return
	}
	var wg sync.WaitGroup
	for _, w := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := h.shim.Attach(ctx, w.opts)
			w.got <- attachResult{conn, err}
		}()
	}
	wg.Wait()
	if err := h.shim.Resume(context.Background()); err != nil {
		s.log.Warn("resuming container", "container", snap.ID, "err", err)
	}
}

// relay copies between the client and the shim stream until the output
// ends, the client leaves or it types the detach keys (then it returns
// true and the container's stdin stays open).
func (s *Containers) relay(conn *shim.AttachConn, so shim.AttachOptions, tty bool, keys []byte, streams backend.AttachStreams) (detached bool) {
	defer conn.Close()
	var mu sync.Mutex
	go func() {
		if !so.Stdin {
			// Nothing to forward; an error means the client left.
			if _, err := io.Copy(io.Discard, streams.Stdin); err != nil {
				conn.Close()
			}
			return
		}
		in := streams.Stdin
		if tty {
			// Docker watches for the detach keys on tty attaches only.
			in = term.NewEscapeProxy(in, keys)
		}
		_, err := io.Copy(conn, in)
		var esc term.EscapeError
		switch {
		case errors.As(err, &esc):
			mu.Lock()
			detached = true
			mu.Unlock()
			conn.Close()
		case err == nil:
			_ = conn.CloseWrite()
		default:
			// The client went away: for a non-tty StdinOnce attach this
			// still closes the container's stdin, as in Docker.
			_ = conn.CloseWrite()
		}
	}()
	var err error
	if tty {
		_, err = io.Copy(streams.Stdout, conn)
	} else {
		_, err = stdcopy.StdCopy(streams.Stdout, streams.Stderr, conn)
	}
	_ = err
	mu.Lock()
	defer mu.Unlock()
	return detached
}

// Resize sets the size of a container's tty; without one it does nothing,
// as Docker's runtime does.
func (s *Containers) Resize(ctx context.Context, ref string, height, width uint) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if !snap.State.IsRunning() {
		return errdefs.Conflictf("container %s is not running", snap.ID)
	}
	if !snap.Config.Tty {
		return nil
	}
	h := s.handle(snap.ID)
	if h == nil || h.shim == nil {
		return errdefs.Conflictf("container %s is not running", snap.ID)
	}
	if err := h.shim.Resize(ctx, height, width); err != nil {
		return fmt.Errorf("resize: %w", err)
	}
	s.publish(snap, apievents.ActionResize, map[string]string{"height": fmt.Sprint(height), "width": fmt.Sprint(width)})
	return nil
}

// setConsoleSize gives a tty container's pty the client's size from the
// start (HostConfig.ConsoleSize, height then width), before any resize.
func setConsoleSize(spec *specs.Spec, snap *container.Snapshot) {
	if snap.Config == nil || !snap.Config.Tty || snap.HostConfig == nil || spec.Process == nil {
		return
	}
	if cs := snap.HostConfig.ConsoleSize; cs[0] > 0 && cs[1] > 0 {
		spec.Process.ConsoleSize = &specs.Box{Height: cs[0], Width: cs[1]}
	}
}
