package api

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// ResizeBackend resizes a container's tty; found on the container service
// by type assertion, like ExecBackend.
type ResizeBackend interface {
	Resize(ctx context.Context, ref string, height, width uint) error
}

func (s *Server) attachRoutes() {
	b, ok := s.b.Containers.(ResizeBackend)
	if !ok {
		return
	}
	s.handle("POST /containers/{id}/resize", func(w http.ResponseWriter, r *http.Request) error {
		h, wd, err := terminalSize(r)
		if err != nil {
			return err
		}
		if err := b.Resize(r.Context(), r.PathValue("id"), h, wd); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// terminalSize reads the h and w query parameters of a resize.
func terminalSize(r *http.Request) (uint, uint, error) {
	h, err := intValue(r, "h", 0)
	if err != nil {
		return 0, 0, err
	}
	wd, err := intValue(r, "w", 0)
	if err != nil {
		return 0, 0, err
	}
	if h < 0 || wd < 0 || h > 65535 || wd > 65535 {
		return 0, 0, errdefs.InvalidParameterf("invalid terminal size %dx%d", h, wd)
	}
	return uint(h), uint(wd), nil
}

// postContainerAttach hijacks the connection once the daemon accepted the
// attach: output goes back in stdcopy frames (raw for a tty), and the
// client's bytes are the container's stdin.
func (s *Server) postContainerAttach(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	opts := backend.AttachOptions{Stdout: boolValue(r, "stdout"), Stderr: boolValue(r, "stderr"),
		Stream: boolValue(r, "stream"), Logs: boolValue(r, "logs"), Stdin: boolValue(r, "stdin"),
		DetachKeys: q.Get("detachKeys")}
	var conn *hijacked
	ready := func(tty bool) (backend.AttachStreams, error) {
		var err error
		conn, err = hijack(w, r, streamContentType(tty))
		if err != nil {
			return backend.AttachStreams{}, err
		}
		fw := &frameWriter{w: conn.buf, raw: tty, flush: conn.buf.Flush}
		return backend.AttachStreams{
			Stdin:  conn.input(),
			Stdout: streamWriter{fw, "stdout"},
			Stderr: streamWriter{fw, "stderr"},
		}, nil
	}
	// A hijacked request's context outlives the client; the daemon learns
	// that it left from its input.
	err := s.b.Containers.Attach(r.Context(), r.PathValue("id"), opts, ready)
	if conn == nil {
		return err
	}
	conn.buf.Flush()
	conn.closeWrite()
	conn.conn.Close()
	return nil
}

// input is what the client sends after the request: bytes net/http had
// already buffered, then the raw connection. (Reading on through the
// server's buffered reader returned EOF at once for the Docker CLI's
// attach requests, which ended non-stdin attaches before any output.)
func (h *hijacked) input() io.Reader {
	n := h.buf.Reader.Buffered()
	if n == 0 {
		return h.conn
	}
	b, _ := h.buf.Reader.Peek(n)
	return io.MultiReader(bytes.NewReader(bytes.Clone(b)), h.conn)
}
