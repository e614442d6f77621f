package shim

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"berth/internal/runtime"
)

// An interactive container (a tty, or a stdin kept open) stays with the Go
// steady state: the shim owns the pty master or the stdin pipe and serves
// attach streams on its socket, besides writing the log. The C monitor
// covers only containers whose stdio is output alone.
//
// Attach, on the shim socket: the client sends an "attach" request, the
// shim answers one JSON response line, then the connection carries the
// streams: client → shim is the container's stdin (a half-close ends it),
// shim → client the output, in stdcopy frames without a tty and raw with
// one, until the container's output ends.
//
// Such a container is created held (libcontainer Start: init waits before
// exec'ing the user's process) until the daemon sends "resume", so that
// clients attached before the start see the very first output. A shim
// that never hears "resume" (the daemon died) resumes on its own after
// holdTimeout.
const holdTimeout = 10 * time.Second

// subscriberQueue bounds what one slow attach client may hold back, in
// chunks of output; a client that falls further behind is dropped rather
// than let block the container or grow the shim.
const subscriberQueue = 512

type stdio struct {
	tty     bool
	console *os.File // pty master, with a tty
	stdinW  *os.File // write end of the container's stdin, without a tty
	closeIn sync.Once

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool // output ended; guarded by mu
	subsWG sync.WaitGroup

	holdMu sync.Mutex
	held   bool // created, not yet exec'd; guarded by holdMu
}

type subscriber struct {
	stdout, stderr bool
	ch             chan []byte
}

// closeStdin gives the container EOF on its stdin (non-tty only: a pty has
// no EOF short of a hang-up, which Docker does not do either).
func (st *stdio) closeStdin() {
	st.closeIn.Do(func() {
		if st.stdinW != nil {
			st.stdinW.Close()
		}
	})
}

// publish hands a chunk of output to every subscriber that wants stream.
func (st *stdio) publish(stream string, p []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for sub := range st.subs {
		if (stream == "stdout" && !sub.stdout) || (stream == "stderr" && !sub.stderr) {
			continue
		}
		select {
		case sub.ch <- frame(st.tty, stream, p):
		default:
			delete(st.subs, sub)
			close(sub.ch)
		}
	}
}

// frame copies p, with an stdcopy header unless the container has a tty.
func frame(tty bool, stream string, p []byte) []byte {
	if tty {
		return append([]byte(nil), p...)
	}
	b := make([]byte, 8+len(p))
	b[0] = 1
	if stream == "stderr" {
		b[0] = 2
	}
	binary.BigEndian.PutUint32(b[4:8], uint32(len(p)))
	copy(b[8:], p)
	return b
}

// endOutput closes every subscriber once the container's output is done.
func (st *stdio) endOutput() {
	st.mu.Lock()
	st.closed = true
	for sub := range st.subs {
		delete(st.subs, sub)
		close(sub.ch)
	}
	st.mu.Unlock()
}

// setupStdio prepares proc's stdio for an interactive container: a console
// socket for a tty, a stdin pipe otherwise (stdout and stderr pipes are
// made by start as for any container). It returns what to do once the
// process started, and a cleanup for the failure path.
func (s *server) setupStdio(proc *libcontainer.Process, tty, stdin bool) (after func() error, cleanup func(), err error) {
	s.io = &stdio{tty: tty, subs: map[*subscriber]struct{}{}, held: true}
	if tty {
		console, err := runtime.NewConsole()
		if err != nil {
			return nil, nil, err
		}
		proc.ConsoleSocket = console.Socket()
		after = func() error {
			f, err := console.Master(10 * time.Second)
			if err != nil {
				return err
			}
			s.io.console = f
			return nil
		}
		return after, console.Close, nil
	}
	if stdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		proc.Stdin = r
		s.io.stdinW = w
		after = func() error { r.Close(); return nil }
		cleanup = func() { r.Close(); w.Close() }
		return after, cleanup, nil
	}
	return func() error { return nil }, func() {}, nil
}

// startCopies starts copying the container's output to the log (and, for
// an interactive container, to its attach subscribers).
func (s *server) startCopies() {
	if s.io == nil {
		s.copyOutput("stdout", s.pipes[0])
		s.copyOutput("stderr", s.pipes[1])
		return
	}
	if s.io.tty {
		s.pump("stdout", s.io.console)
		return
	}
	s.pump("stdout", s.pipes[0])
	s.pump("stderr", s.pipes[1])
}

// pump reads r until it ends, feeding the log and the subscribers.
func (s *server) pump(stream string, r *os.File) {
	pr, pw := io.Pipe()
	s.copies.Add(1)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		if s.log != nil {
			_ = s.log.Copy(stream, pr)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		defer s.copies.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_, _ = pw.Write(buf[:n])
				s.io.publish(stream, buf[:n])
			}
			// A pty master reads EIO once every slave end is closed.
			if err != nil {
				break
			}
		}
		pw.Close()
		<-logged
	}()
}

// resume lets a held container exec its process; later calls do nothing.
func (s *server) resume() error {
	if s.io == nil {
		return nil
	}
	s.io.holdMu.Lock()
	defer s.io.holdMu.Unlock()
	if !s.io.held {
		return nil
	}
	s.io.held = false
	return s.container.Exec()
}

// resumeLater resumes a held container that the daemon never resumed.
func (s *server) resumeLater() {
	if s.io == nil {
		return
	}
	time.AfterFunc(holdTimeout, func() { _ = s.resume() })
}

// resize sets the pty's window size; without a tty it does nothing, as
// Docker's runtime does.
func (s *server) resize(h, w uint16) error {
	if s.io == nil || s.io.console == nil {
		return nil
	}
	return runtime.SetWinsize(s.io.console, h, w)
}

// attach serves one attach stream on conn (see the comment at the top).
// rest is what the request decoder read beyond the request.
func (s *server) attach(conn *net.UnixConn, rest io.Reader, req request) {
	if s.io == nil {
		_ = json.NewEncoder(conn).Encode(response{Error: "container has no attachable stdio", Class: "invalid"})
		return
	}
	sub := &subscriber{stdout: req.Stdout, stderr: req.Stderr, ch: make(chan []byte, subscriberQueue)}
	s.io.mu.Lock()
	if s.io.closed {
		s.io.mu.Unlock()
		_ = json.NewEncoder(conn).Encode(response{})
		return
	}
	s.io.subs[sub] = struct{}{}
	s.io.subsWG.Add(1)
	s.io.mu.Unlock()
	defer s.io.subsWG.Done()
	if err := json.NewEncoder(conn).Encode(response{}); err != nil {
		s.io.mu.Lock()
		if _, ok := s.io.subs[sub]; ok {
			delete(s.io.subs, sub)
			close(sub.ch)
		}
		s.io.mu.Unlock()
		return
	}
	if req.Stdin {
		// The request line's newline is still unread.
		in := &skipNewline{r: io.MultiReader(rest, conn)}
		go func() {
			var dst io.Writer
			switch {
			case s.io.tty:
				dst = s.io.console
			case s.io.stdinW != nil:
				dst = s.io.stdinW
			}
			if dst != nil {
				_, _ = io.Copy(dst, in)
			} else {
				_, _ = io.Copy(io.Discard, in)
			}
			if req.CloseStdin && !s.io.tty {
				s.io.closeStdin()
			}
		}()
	}
	for b := range sub.ch {
		if _, err := conn.Write(b); err != nil {
			// The client left: stop queueing for it.
			s.io.mu.Lock()
			if _, ok := s.io.subs[sub]; ok {
				delete(s.io.subs, sub)
				close(sub.ch)
			}
			s.io.mu.Unlock()
			for range sub.ch {
			}
			return
		}
	}
	_ = conn.CloseWrite()
}
