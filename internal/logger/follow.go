package logger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Poll intervals: a safety net when inotify works (an event can be missed on
// some filesystems), the only mechanism when it does not.
const (
	pollWithInotify    = 250 * time.Millisecond
	pollWithoutInotify = 10 * time.Millisecond
)

// follow emits new entries from live (nil: the log does not exist yet) until
// stopped is closed and the log is drained, or ctx is done.
func (r *reader) follow(ctx context.Context, live *lineReader, w *watcher, stopped <-chan struct{}) error {
	defer func() { live.close() }()
	interval := pollWithoutInotify
	var wake <-chan struct{}
	if w != nil {
		interval = pollWithInotify
		wake = w.c
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var untilC <-chan time.Time
	if !r.cfg.Until.IsZero() {
		t := time.NewTimer(time.Until(r.cfg.Until))
		defer t.Stop()
		untilC = t.C
	}
	final := false
	for {
		var err error
		if live, err = r.catchUp(live); err != nil {
			return err
		}
		if final {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-stopped:
			// One more pass: everything written before the exit is on disk.
			final = true
			stopped = nil
		case <-untilC:
			final = true
			untilC = nil
		case <-wake:
		case <-tick.C:
		}
	}
}

// catchUp drains live and, when the log has been rotated away under it,
// the files rotated after it and then the new live file. live is nil when
// the log did not exist yet, or vanished in the middle of a rotation.
func (r *reader) catchUp(live *lineReader) (*lineReader, error) {
	for {
		if live == nil {
			next, err := r.reopen()
			if next == nil || err != nil {
				return next, err
			}
			live = next
		}
		if err := r.drain(live); err != nil {
			return live, err
		}
		cur, err := live.f.Stat()
		if err != nil {
			return live, fmt.Errorf("json-file: %w", err)
		}
		if st, err := os.Stat(r.path); err == nil && os.SameFile(st, cur) {
			return live, nil
		}
		// Rotated: the writer has moved on, so what we hold is complete
		// once drained again.
		if err := r.drain(live); err != nil {
			return live, err
		}
		live.close()
		live = nil
		r.last = cur
	}
}

// reopen opens the live file after a rotation (or its first appearance)
// and emits the rotated files that are newer than r.last, the file
// followed before (all of them if nil). The live file is opened first: a
// rotation racing with the scan then only moves files to higher indices, so
// scanning upwards meets every file, newest first, perhaps twice, and stops
// at r.last.
func (r *reader) reopen() (*lineReader, error) {
	f, err := os.Open(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("json-file: %w", err)
	}
	live := newLineReader(f)
	liveSt, err := f.Stat()
	if err != nil {
		live.close()
		return nil, fmt.Errorf("json-file: %w", err)
	}
	var newer []*os.File // newest first
	defer func() {
		for _, f := range newer {
			f.Close()
		}
	}()
	seen := []os.FileInfo{liveSt}
	for i := 1; i <= maxRotated; i++ {
		f, err := os.Open(rotatedName(r.path, i))
		if err != nil {
			if rotationHole(r.path, i) {
				continue
			}
			break
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			break
		}
		if r.last != nil && os.SameFile(st, r.last) {
			f.Close()
			break
		}
		if seenBefore(seen, st) {
			f.Close()
			continue
		}
		seen = append(seen, st)
		newer = append(newer, f)
	}
	newer = olderRotated(f, newer)
	for i := len(newer) - 1; i >= 0; i-- {
		lr := newLineReader(newer[i])
		newer[i] = nil
		err := r.drain(lr)
		lr.close()
		if err != nil {
			live.close()
			return nil, err
		}
	}
	return live, nil
}

// rotationHole tells whether a missing path.i is only the gap a rotation in
// progress leaves (it renames from the top down, so the file that was at i
// is already at i+1) rather than the end of the rotated files.
func rotationHole(path string, i int) bool {
	_, err := os.Lstat(rotatedName(path, i+1))
	return err == nil
}

// watcher turns inotify events on the log's directory into wake-ups.
// Watching the directory rather than the file sees the file appear and be
// rotated as well as written.
type watcher struct {
	f    *os.File
	c    chan struct{}
	done chan struct{}
}

// newWatcher returns nil when inotify is unavailable (no directory yet, out
// of watches); the caller then polls.
func newWatcher(path string) *watcher {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
		unix.IN_DELETE | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		unix.Close(fd)
		return nil
	}
	// A non-blocking fd handed to os.NewFile joins the runtime poller, so
	// Read parks the goroutine and Close wakes it.
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), c: make(chan struct{}, 1), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *watcher) loop() {
	defer close(w.done)
	buf := make([]byte, 16*1024)
	for {
		if _, err := w.f.Read(buf); err != nil {
			return
		}
		select {
		case w.c <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) close() {
	if w == nil {
		return
	}
	w.f.Close()
	<-w.done
}
