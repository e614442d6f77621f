package api

import (
	"context"
	"io"
	"net/http"

	apicontainer "github.com/moby/moby/api/types/container"
)

// ExecBackend is what the exec routes need; like ObserveBackend it is
// found on the container service by type assertion, and the routes exist
// only when it is implemented.
type ExecBackend interface {
	ExecCreate(ctx context.Context, ref string, req apicontainer.ExecCreateRequest) (string, error)
	// ExecStart returns validation errors before calling ready; errors
	// after it can only be reported in the stream.
	ExecStart(ctx context.Context, execID string, detach bool, ready func() error, stdin io.Reader, stdout, stderr io.Writer) error
	ExecInspect(ctx context.Context, execID string) (*apicontainer.ExecInspectResponse, error)
	ExecResize(ctx context.Context, execID string, height, width uint) error
}

func (s *Server) execRoutes() {
	b, ok := s.b.Containers.(ExecBackend)
	if !ok {
		return
	}
	s.handle("POST /containers/{id}/exec", func(w http.ResponseWriter, r *http.Request) error {
		var req apicontainer.ExecCreateRequest
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
		id, err := b.ExecCreate(r.Context(), r.PathValue("id"), req)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, apicontainer.ExecCreateResponse{ID: id})
		return nil
	})
	s.handle("POST /exec/{id}/start", func(w http.ResponseWriter, r *http.Request) error {
		return postExecStart(b, w, r)
	})
	s.handle("GET /exec/{id}/json", func(w http.ResponseWriter, r *http.Request) error {
		resp, err := b.ExecInspect(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	})
	s.handle("POST /exec/{id}/resize", func(w http.ResponseWriter, r *http.Request) error {
		h, wd, err := terminalSize(r)
		if err != nil {
			return err
		}
		if err := b.ExecResize(r.Context(), r.PathValue("id"), h, wd); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// streamWriter writes one stream's bytes as stdcopy frames.
type streamWriter struct {
	fw     *frameWriter
	stream string
}

func (sw streamWriter) Write(p []byte) (int, error) {
	if err := sw.fw.write(sw.stream, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func postExecStart(b ExecBackend, w http.ResponseWriter, r *http.Request) error {
	var req apicontainer.ExecStartRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if req.Detach {
		if err := b.ExecStart(r.Context(), id, true, nil, nil, nil, nil); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	var conn *hijacked
	// The start request's Tty picks the framing, as in Docker.
	fw := &frameWriter{raw: req.Tty}
	ready := func() error {
		var err error
		conn, err = hijack(w, r, streamContentType(req.Tty))
		if err != nil {
			return err
		}
		fw.w, fw.flush = conn.buf, conn.buf.Flush
		return nil
	}
	// The request's context ends with the hijack; the process runs to its
	// end whatever the client does, as in Docker.
	err := b.ExecStart(context.WithoutCancel(r.Context()), id, false, ready, readerFunc(func(p []byte) (int, error) {
		if conn == nil {
			return 0, io.EOF
		}
		return conn.buf.Read(p)
	}), streamWriter{fw, "stdout"}, streamWriter{fw, "stderr"})
	if conn == nil {
		return err
	}
	if err != nil {
		_ = fw.write("stdout", []byte(err.Error()+"\r\n"))
	}
	conn.buf.Flush()
	conn.closeWrite()
	conn.conn.Close()
	return nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
