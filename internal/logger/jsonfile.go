package logger

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// maxLine is the longest piece of output stored in one message; longer lines
// become partial messages (Docker uses the same 16 KiB).
const maxLine = 16 * 1024

// timeLayout always prints nine fractional digits so that entries have a
// stable width and sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// JSONFile is the json-file log driver: an append-only file of JSON lines,
// rotated by size. Copy may be called from several goroutines at once.
type JSONFile struct {
	path     string
	maxSize  int64
	maxFiles int

	mu      sync.Mutex // serialises writes and rotation
	f       *os.File
	size    int64
	scratch []byte
	closed  bool
}

// NewJSONFile opens (appending to) or creates the log at path. maxSize is
// the size in bytes past which the file is rotated (0: never); maxFiles is
// how many files, the live one included, are kept (at least 1).
func NewJSONFile(path string, maxSize int64, maxFiles int) (*JSONFile, error) {
	if maxSize < 0 {
		return nil, fmt.Errorf("json-file: negative max size %d", maxSize)
	}
	if maxFiles < 1 {
		maxFiles = 1
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("json-file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("json-file: %w", err)
	}
	return &JSONFile{path: path, maxSize: maxSize, maxFiles: maxFiles, f: f, size: st.Size()}, nil
}

// Copy reads r to EOF and writes one entry per line of output. A final line
// without a newline is written as is. Each entry reaches the file with one
// write(2), so followers never see a torn entry once the write returns.
//
// When writing fails (disk full, log closed) Copy keeps reading r so the
// container never blocks on a full pipe, and returns the first write error
// once r is exhausted.
func (l *JSONFile) Copy(stream string, r io.Reader) error {
	buf := make([]byte, 4*maxLine)
	n := 0
	var werr error
	emit := func(line []byte) {
		if err := l.write(stream, line); err != nil && werr == nil {
			werr = err
		}
	}
	for {
		m, rerr := r.Read(buf[n:])
		n += m
		start := 0
		for start < n {
			window := buf[start:min(n, start+maxLine+1)]
			if i := bytes.IndexByte(window, '\n'); i >= 0 {
				emit(window[:i+1])
				start += i + 1
				continue
			}
			if len(window) == maxLine+1 {
				emit(window[:maxLine])
				start += maxLine
				continue
			}
			break
		}
		n = copy(buf, buf[start:n])
		if rerr != nil {
			if n > 0 {
				emit(buf[:n])
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, os.ErrClosed) {
				return werr
			}
			if werr != nil {
				return werr
			}
			return fmt.Errorf("json-file: read %s: %w", stream, rerr)
		}
	}
}

// write appends one entry. The timestamp is taken under the lock so that
// entries from stdout and stderr are in time order in the file, which the
// readers' since/until logic relies on.
func (l *JSONFile) write(stream string, line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("json-file: write to closed log")
	}
	b := l.scratch[:0]
	b = append(b, `{"log":`...)
	b = appendJSONString(b, line)
	b = append(b, `,"stream":`...)
	b = appendJSONString(b, []byte(stream))
	b = append(b, `,"time":"`...)
	b = time.Now().UTC().AppendFormat(b, timeLayout)
	b = append(b, "\"}\n"...)
	l.scratch = b
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(b)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("json-file: %w", err)
	}
	return nil
}

// rotate shifts path.N-1 → path.N ... path → path.1 and starts a new file.
// With maxFiles 1 the old file is unlinked instead; a follower still holding
// it open drains it and moves on to the new one.
func (l *JSONFile) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("json-file: rotate: %w", err)
	}
	if l.maxFiles < 2 {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("json-file: rotate: %w", err)
		}
	} else {
		// Shift only the files that exist: probing up to a large max-file
		// on every rotation would cost a syscall per slot.
		top := 1
		for top < l.maxFiles-1 {
			if _, err := os.Lstat(rotatedName(l.path, top)); err != nil {
				break
			}
			top++
		}
		for i := top; i >= 1; i-- {
			from := rotatedName(l.path, i-1)
			if err := os.Rename(from, rotatedName(l.path, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("json-file: rotate: %w", err)
			}
		}
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o640)
	if err != nil {
		l.closed = true
		return fmt.Errorf("json-file: rotate: %w", err)
	}
	l.f, l.size = f, 0
	return nil
}

// rotatedName is path for i == 0 and path.i otherwise.
func rotatedName(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}

// Close closes the file; later writes fail (and Copy keeps draining).
func (l *JSONFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}
