package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"

	apibuild "github.com/moby/moby/api/types/build"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// BuildBackend is what POST /build and /build/prune need.
type BuildBackend interface {
	Build(ctx context.Context, r io.Reader, opts backend.BuildOptions, out backend.BuildOutput) (digest.Digest, error)
	Prune(ctx context.Context, all bool) (*apibuild.CachePruneReport, error)
}

func (s *Server) buildRoutes() {
	b := s.b.Builds
	if b == nil {
		return
	}
	s.handle("POST /build", func(w http.ResponseWriter, r *http.Request) error { return postBuild(b, w, r) })
	s.handle("POST /build/prune", func(w http.ResponseWriter, r *http.Request) error {
		rep, err := b.Prune(r.Context(), boolValue(r, "all"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, rep)
		return nil
	})
	s.handle("POST /build/cancel", func(w http.ResponseWriter, r *http.Request) error {
		// Builds stop when their client disconnects; nothing to do here.
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// buildOptions decodes Docker's /build query.
func buildOptions(r *http.Request) (backend.BuildOptions, error) {
	q := r.URL.Query()
	opts := backend.BuildOptions{
		Tags: q["t"], Dockerfile: q.Get("dockerfile"), Target: q.Get("target"),
		Quiet: boolValue(r, "q"), NoCache: boolValue(r, "nocache"), Pull: boolValue(r, "pull"),
		NetworkMode: q.Get("networkmode"), ExtraHosts: q["extrahosts"],
		// rm defaults to true, as in Docker.
		Remove: q.Get("rm") == "" || boolValue(r, "rm"), ForceRemove: boolValue(r, "forcerm"),
	}
	if v := q.Get("shmsize"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return opts, errdefs.InvalidParameterf("invalid shmsize: %q", v)
		}
		opts.ShmSize = n
	}
	for _, j := range []struct {
		key string
		dst any
	}{{"buildargs", &opts.BuildArgs}, {"labels", &opts.Labels}, {"cachefrom", &opts.CacheFrom}, {"ulimits", &opts.Ulimits}} {
		if v := q.Get(j.key); v != "" {
			if err := json.Unmarshal([]byte(v), j.dst); err != nil {
				return opts, errdefs.InvalidParameterf("invalid %s: %v", j.key, err)
			}
		}
	}
	return opts, nil
}

func postBuild(b BuildBackend, w http.ResponseWriter, r *http.Request) error {
	opts, err := buildOptions(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("remote") != "" {
		return errdefs.NotImplemented(errorString("remote build contexts are not supported"))
	}
	out := &buildStream{w: w, quiet: opts.Quiet}
	id, err := b.Build(r.Context(), r.Body, opts, out)
	if err != nil {
		if !out.started() && !out.holding() {
			return err
		}
		out.fail(err)
		return nil
	}
	if opts.Quiet {
		out.send(buildMessage{Stream: id.String() + "\n"})
	}
	return nil
}

// buildMessage is one line of Docker's JSON build stream.
type buildMessage struct {
	Stream      string            `json:"stream,omitempty"`
	Aux         any               `json:"aux,omitempty"`
	ErrorDetail *buildErrorDetail `json:"errorDetail,omitempty"`
	Error       string            `json:"error,omitempty"`
}

type buildErrorDetail struct {
	Message string `json:"message"`
}

// buildStream writes the build's progress as JSON messages. The status
// line goes out with the first message, so an error before any output is
// still a plain HTTP error. With -q the text is held back and shown only if
// the build fails, as Docker does.
type buildStream struct {
	w     http.ResponseWriter
	quiet bool

	mu    sync.Mutex
	begun bool
	held  bytes.Buffer
}

func (s *buildStream) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.begun
}

func (s *buildStream) holding() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held.Len() > 0
}

func (s *buildStream) Write(p []byte) (int, error) {
	if s.quiet {
		s.mu.Lock()
		s.held.Write(p)
		s.mu.Unlock()
		return len(p), nil
	}
	return len(p), s.send(buildMessage{Stream: string(p)})
}

func (s *buildStream) Aux(id string) {
	s.send(buildMessage{Aux: map[string]string{"ID": id}})
}

func (s *buildStream) fail(err error) {
	s.mu.Lock()
	held := s.held.String()
	s.held.Reset()
	s.mu.Unlock()
	if held != "" {
		s.send(buildMessage{Stream: held})
	}
	s.send(buildMessage{ErrorDetail: &buildErrorDetail{Message: err.Error()}, Error: err.Error()})
}

func (s *buildStream) send(m buildMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.begun {
		s.begun = true
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
	}
	if _, err := s.w.Write(append(b, '\n')); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}
