package api

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"berth/internal/errdefs"
)

// Stream IDs of Docker's multiplexed (stdcopy) framing.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
)

// frameWriter writes stdcopy frames (or raw bytes for a tty), flushing after
// each so a follower sees output at once. Safe for concurrent use.
type frameWriter struct {
	mu    sync.Mutex
	w     io.Writer
	flush func() error
	raw   bool
	hdr   [8]byte
}

func (f *frameWriter) write(stream string, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.raw {
		id := byte(streamStdout)
		if stream == "stderr" {
			id = streamStderr
		}
		f.hdr = [8]byte{id}
		binary.BigEndian.PutUint32(f.hdr[4:], uint32(len(p)))
		if _, err := f.w.Write(f.hdr[:]); err != nil {
			return err
		}
	}
	if _, err := f.w.Write(p); err != nil {
		return err
	}
	if f.flush != nil {
		return f.flush()
	}
	return nil
}

func streamContentType(tty bool) string {
	if tty {
		return "application/vnd.docker.raw-stream"
	}
	return "application/vnd.docker.multiplexed-stream"
}

// hijacked is a connection taken over from net/http for attach.
type hijacked struct {
	conn net.Conn
	buf  *bufio.ReadWriter
}

// hijack answers 101 UPGRADED (what the Docker CLI waits for) when the
// client asked to upgrade, or 200 otherwise, and takes over the connection.
func hijack(w http.ResponseWriter, r *http.Request, contentType string) (*hijacked, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errdefs.Systemf("connection does not support hijacking")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return nil, errdefs.System(err)
	}
	upgrade := strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
	var head string
	if upgrade {
		head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + contentType + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	} else {
		head = "HTTP/1.1 200 OK\r\nContent-Type: " + contentType + "\r\n"
	}
	for _, k := range []string{"Api-Version", "Server", "Ostype", "Docker-Experimental"} {
		if v := w.Header().Get(k); v != "" {
			head += k + ": " + v + "\r\n"
		}
	}
	if _, err := buf.WriteString(head + "\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	if err := buf.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return &hijacked{conn: conn, buf: buf}, nil
}

// closeWrite half-closes so the client sees EOF on its read side.
func (h *hijacked) closeWrite() {
	if cw, ok := h.conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
