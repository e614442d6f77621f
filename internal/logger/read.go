package logger

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Message is one decoded log entry.
type Message struct {
	Stream string // "stdout" or "stderr"
	// Line is the output, with its trailing "\n" if it had one: a Line
	// without one is a partial message (a long line cut at 16 KiB, or the
	// last output before EOF).
	Line []byte
	Time time.Time
}

// ReadConfig selects what Read emits.
type ReadConfig struct {
	Since, Until time.Time // zero: unbounded; Since is inclusive
	// Tail is how many of the last entries of the whole log (rotated files
	// included) to start from; -1 means all. As in Docker it is applied to
	// the stored entries before Since/Until filter them.
	Tail   int
	Follow bool
}

// errUntil stops a read once an entry is newer than ReadConfig.Until: the
// file is in time order, so nothing after it can match.
var errUntil = errors.New("past until")

// maxRotated bounds the probe for path.N files, far above any sane max-file.
const maxRotated = 1000

// Read emits the entries of the json-file log at path that cfg selects, in
// order, to fn.
//
// Without Follow it returns at the end of the log; a missing log is an empty
// one. With Follow it then keeps emitting entries as they are written,
// across rotations, and returns nil once stopped is closed and everything
// written before that has been emitted, or once ctx is done. The writer
// must have flushed everything before stopped is closed (the shim records a
// container's exit only after its output is in the log). A missing log is
// waited for. An error from fn stops the read and is returned as is.
func Read(ctx context.Context, path string, cfg ReadConfig, stopped <-chan struct{}, fn func(Message) error) error {
	r := &reader{path: path, cfg: cfg, fn: fn}
	var w *watcher
	if cfg.Follow {
		// Watch before reading the backlog, so no write can slip between
		// the backlog's end and the first wait.
		w = newWatcher(path)
		defer w.close()
	}
	live, err := r.backlog()
	if errors.Is(err, errUntil) {
		live.close()
		return nil
	}
	if err != nil || !cfg.Follow {
		live.close()
		return err
	}
	err = r.follow(ctx, live, w, stopped)
	if errors.Is(err, errUntil) {
		return nil
	}
	return err
}

type reader struct {
	path string
	cfg  ReadConfig
	fn   func(Message) error

	// last is the file followed before a rotation: the files rotated
	// after it are new to this reader.
	last os.FileInfo
}

// backlog emits the tail of the existing files and returns the live file,
// positioned at its end, for following (nil if it does not exist yet).
func (r *reader) backlog() (*lineReader, error) {
	// Open newest first: a rotation racing with us then shows up later as a
	// rotation of the live file rather than as a gap.
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}
	var seen []os.FileInfo
	for i := 0; i <= maxRotated; i++ {
		f, err := os.Open(rotatedName(r.path, i))
		if errors.Is(err, os.ErrNotExist) {
			if i == 0 {
				files = append(files, nil) // keep index 0 for the live file
				continue
			}
			if rotationHole(r.path, i) {
				continue
			}
			break
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("json-file: %w", err)
		}
		// A rotation racing with this scan moves files to higher indices,
		// so the same file can come up twice.
		st, err := f.Stat()
		if err != nil {
			f.Close()
			closeAll()
			return nil, fmt.Errorf("json-file: %w", err)
		}
		if seenBefore(seen, st) {
			f.Close()
			continue
		}
		seen = append(seen, st)
		files = append(files, f)
	}
	offsets := make([]int64, len(files))
	need := r.cfg.Tail
	files = append(files[:1], olderRotated(files[0], files[1:])...)
	first := len(files) - 1 // oldest file needed
	for i, f := range files {
		if f == nil {
			continue
		}
		if need < 0 {
			continue
		}
		off, found, err := tailOffset(f, need)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("json-file: %w", err)
		}
		offsets[i] = off
		need -= found
		if need == 0 {
			first = i
			break
		}
	}
	for i := len(files) - 1; i > first; i-- {
		if files[i] != nil {
			files[i].Close()
			files[i] = nil
		}
	}
	files = files[:first+1]
	var live *lineReader
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if f == nil {
			continue
		}
		files[i] = nil
		if _, err := f.Seek(offsets[i], io.SeekStart); err != nil {
			f.Close()
			closeAll()
			return nil, fmt.Errorf("json-file: %w", err)
		}
		lr := newLineReader(f)
		if err := r.drain(lr); err != nil {
			lr.close()
			closeAll()
			return nil, err
		}
		if i == 0 {
			live = lr
		} else {
			lr.close()
		}
	}
	return live, nil
}

// drain emits every complete entry from lr's position to its end.
func (r *reader) drain(lr *lineReader) error {
	for {
		line, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("json-file: %w", err)
		}
		if err := r.emit(line); err != nil {
			return err
		}
	}
}

type entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func (r *reader) emit(line []byte) error {
	var e entry
	if err := json.Unmarshal(line, &e); err != nil {
		// A torn entry (the writer died mid-write) must not hide the rest.
		return nil
	}
	if !r.cfg.Since.IsZero() && e.Time.Before(r.cfg.Since) {
		return nil
	}
	if !r.cfg.Until.IsZero() && e.Time.After(r.cfg.Until) {
		return errUntil
	}
	return r.fn(Message{Stream: e.Stream, Line: []byte(e.Log), Time: e.Time})
}

// lineReader yields complete JSON lines; an incomplete last line (caught
// mid-write) is kept until the rest arrives.
type lineReader struct {
	f       *os.File
	br      *bufio.Reader
	pending []byte
}

func newLineReader(f *os.File) *lineReader {
	return &lineReader{f: f, br: bufio.NewReaderSize(f, 64*1024)}
}

// next returns the next complete line (with its "\n"); io.EOF when none is
// complete yet. The slice is valid until the next call.
func (lr *lineReader) next() ([]byte, error) {
	for {
		chunk, err := lr.br.ReadSlice('\n')
		switch {
		case err == nil && len(lr.pending) == 0:
			return chunk, nil
		case err == nil:
			line := append(lr.pending, chunk...)
			lr.pending = nil
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull), errors.Is(err, io.EOF):
			lr.pending = append(lr.pending, chunk...)
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
		default:
			return nil, err
		}
	}
}

func (lr *lineReader) close() {
	if lr != nil {
		lr.f.Close()
	}
}

// tailOffset returns where the last n complete lines of f start and how
// many complete lines there are from there (fewer than n only if the file
// holds fewer). n < 0 means from the start. A trailing partial line is not
// counted.
func tailOffset(f *os.File, n int) (int64, int, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size := st.Size()
	if n < 0 {
		return 0, 0, nil
	}
	const chunk = 32 * 1024
	buf := make([]byte, chunk)
	pos := size
	end := int64(-1) // just past the last '\n': where complete lines end
	found := 0
	for pos > 0 {
		rd := min(int64(chunk), pos)
		pos -= rd
		if _, err := f.ReadAt(buf[:rd], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		for i := rd - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				continue
			}
			at := pos + i
			if end < 0 {
				end = at + 1
				if n == 0 {
					return end, 0, nil
				}
				continue
			}
			// A newline before `end` closes the previous line, so a
			// complete line starts right after it.
			found++
			if found == n {
				return at + 1, found, nil
			}
		}
	}
	if end < 0 {
		return 0, 0, nil // no complete line at all
	}
	return 0, found + 1, nil
}

// olderRotated orders rotated files newest first by their first entry's
// time, and closes and drops those not older than live (the live file
// opened before the scan). Indices are not enough: files move up while a
// scan racing with rotations moves up, so it can meet an older file before
// a newer one, and meet files rotated after live, which belong after it.
func olderRotated(live *os.File, files []*os.File) []*os.File {
	keys := make(map[*os.File]time.Time, len(files))
	for _, f := range files {
		keys[f] = firstTime(f)
	}
	// An empty live file is never rotated, so nothing can be newer.
	if live != nil {
		if lt := firstTime(live); !lt.IsZero() {
			files = slices.DeleteFunc(files, func(f *os.File) bool {
				if keys[f].Before(lt) {
					return false
				}
				f.Close()
				return true
			})
		}
	}
	slices.SortStableFunc(files, func(a, b *os.File) int { return keys[b].Compare(keys[a]) })
	return files
}

// firstTime is the time of f's first entry, zero if it has none.
func firstTime(f *os.File) time.Time {
	br := bufio.NewReader(io.NewSectionReader(f, 0, 1<<62))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return time.Time{}
	}
	var e struct {
		Time time.Time `json:"time"`
	}
	if json.Unmarshal(line, &e) != nil {
		return time.Time{}
	}
	return e.Time
}

func seenBefore(seen []os.FileInfo, st os.FileInfo) bool {
	for _, s := range seen {
		if os.SameFile(s, st) {
			return true
		}
	}
	return false
}
