package daemon

import (
	"berth/internal/backend"
	"context"
	"errors"
	"io"
	"time"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/logger"
)

// Logs streams a container's log. ready is called once the request is known
// to be valid, so the API can commit its 200 before the first line.
func (s *Containers) Logs(ctx context.Context, ref string, opts backend.LogsOptions, ready func(tty bool) error, emit backend.Emit) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if snap.LogPath == "" {
		return errdefs.NotImplemented(errors.New("configured logging driver does not support reading"))
	}
	if !opts.Stdout && !opts.Stderr {
		return errdefs.InvalidParameterf("Bad parameters: you must choose at least one stream")
	}
	stopped := closedChan
	if opts.Follow && snap.State.IsRunning() {
		ch, cancel := s.nextExit(snap.ID)
		defer cancel()
		// Re-check: the exit may have landed before the waiter did.
		if cur, err := s.store.Lookup(snap.ID); err != nil || !cur.State.IsRunning() {
			cancel()
		}
		stopped = ch
	}
	if err := ready(snap.Config.Tty); err != nil {
		return err
	}
	cfg := logger.ReadConfig{Since: opts.Since, Until: opts.Until, Tail: opts.Tail, Follow: opts.Follow}
	return logger.Read(ctx, snap.LogPath, cfg, stopped, func(m logger.Message) error {
		if (m.Stream == "stdout" && !opts.Stdout) || (m.Stream == "stderr" && !opts.Stderr) {
			return nil
		}
		return emit(m.Stream, m.Line, m.Time)
	})
}

var closedChan = func() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// attachLog streams the container's output from now until its next exit,
// for a container that is not interactive. It is fed from the log the shim
// writes, so attaching costs the container nothing and a slow client
// cannot block it.
func (s *Containers) attachLog(ctx context.Context, snap *container.Snapshot, opts backend.AttachOptions, ready func(tty bool) (backend.AttachStreams, error)) error {
	if snap.LogPath == "" && opts.Stream {
		return errdefs.NotImplemented(errors.New("attach needs the json-file log driver in this version of berth"))
	}
	// Registered before ready(): the CLI starts the container as soon as
	// the attach is answered, and the exit must not slip past us.
	stopped, cancel := s.nextExit(snap.ID)
	defer cancel()
	since := time.Now()
	streams, err := ready(snap.Config.Tty)
	if err != nil {
		return err
	}
	ctx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	// A reset connection is how we learn the client left; EOF is only a
	// half-close (no stdin) and does not end the attach.
	go func() {
		if _, err := io.Copy(io.Discard, streams.Stdin); err != nil {
			cancelRead()
		}
	}()
	if !opts.Stream {
		cancel()
	}
	cfg := logger.ReadConfig{Tail: -1, Follow: opts.Stream}
	if !opts.Logs {
		cfg.Since = since
	}
	return logger.Read(ctx, snap.LogPath, cfg, stopped, func(m logger.Message) error {
		switch {
		case m.Stream == "stdout" && opts.Stdout:
			_, err := streams.Stdout.Write(m.Line)
			return err
		case m.Stream == "stderr" && opts.Stderr:
			_, err := streams.Stderr.Write(m.Line)
			return err
		}
		return nil
	})
}
