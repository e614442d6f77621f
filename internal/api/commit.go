package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// CommitBackend is what POST /commit needs; the route exists only when the
// container service implements it.
type CommitBackend interface {
	Commit(ctx context.Context, ref string, opts backend.CommitOptions) (digest.Digest, error)
}

func (s *Server) commitRoutes() {
	b, ok := s.b.Containers.(CommitBackend)
	if !ok {
		return
	}
	s.handle("POST /commit", func(w http.ResponseWriter, r *http.Request) error {
		return postCommit(b, w, r)
	})
}

func postCommit(b CommitBackend, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name := q.Get("container")
	if name == "" {
		return errdefs.InvalidParameterf("No container name or ID supplied")
	}
	opts := backend.CommitOptions{
		Repo: q.Get("repo"), Tag: q.Get("tag"), Comment: q.Get("comment"), Author: q.Get("author"),
		Changes: q["changes"],
		// pause defaults to true, as in Docker.
		Pause: q.Get("pause") == "" || boolValue(r, "pause"),
	}
	cfg, err := commitConfig(r.Body)
	if err != nil {
		return err
	}
	opts.Config = cfg
	id, err := b.Commit(r.Context(), name, opts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apicontainer.CommitResponse{ID: id.String()})
	return nil
}

// commitConfig decodes the optional container config body; empty and
// "null" bodies mean none.
func commitConfig(body io.Reader) (*apicontainer.Config, error) {
	if body == nil {
		return nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return nil, errdefs.InvalidParameterf("reading request body: %v", err)
	}
	var cfg *apicontainer.Config
	if len(raw) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, errdefs.InvalidParameterf("invalid JSON: %v", err)
	}
	return cfg, nil
}
