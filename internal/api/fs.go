package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// FSBackend is what cp, diff, export and container prune need. Like
// ObserveBackend it is optional: the routes exist only when the container
// service implements it.
type FSBackend interface {
	StatPath(ctx context.Context, ref, path string) (apicontainer.PathStat, error)
	ArchivePath(ctx context.Context, ref, path string) (io.ReadCloser, apicontainer.PathStat, error)
	ExtractToDir(ctx context.Context, ref, path string, opts backend.ExtractOptions, r io.Reader) error
	Changes(ctx context.Context, ref string) ([]apicontainer.FilesystemChange, error)
	Export(ctx context.Context, ref string) (io.ReadCloser, error)
	Prune(ctx context.Context, filters backend.Filters) (apicontainer.PruneReport, error)
}

func (s *Server) fsRoutes() {
	b, ok := s.b.Containers.(FSBackend)
	if !ok {
		return
	}
	s.handle("HEAD /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) error {
		p, err := archivePath(r)
		if err != nil {
			return err
		}
		st, err := b.StatPath(r.Context(), r.PathValue("id"), p)
		if err != nil {
			return err
		}
		if err := setPathStat(w, st); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
	s.handle("GET /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) error {
		p, err := archivePath(r)
		if err != nil {
			return err
		}
		rc, st, err := b.ArchivePath(r.Context(), r.PathValue("id"), p)
		if err != nil {
			return err
		}
		defer rc.Close()
		if err := setPathStat(w, st); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		// Headers are out: a failure now can only cut the stream.
		_, _ = io.Copy(w, rc)
		return nil
	})
	s.handle("PUT /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) error {
		p, err := archivePath(r)
		if err != nil {
			return err
		}
		if err := b.ExtractToDir(r.Context(), r.PathValue("id"), p, backend.ExtractOptions{
			NoOverwriteDirNonDir: boolValue(r, "noOverwriteDirNonDir"), CopyUIDGID: boolValue(r, "copyUIDGID"),
		}, r.Body); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
	s.handle("GET /containers/{id}/changes", func(w http.ResponseWriter, r *http.Request) error {
		ch, err := b.Changes(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		if ch == nil {
			ch = []apicontainer.FilesystemChange{}
		}
		writeJSON(w, http.StatusOK, ch)
		return nil
	})
	s.handle("GET /containers/{id}/export", func(w http.ResponseWriter, r *http.Request) error {
		rc, err := b.Export(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, rc)
		return nil
	})
	s.handle("POST /containers/prune", func(w http.ResponseWriter, r *http.Request) error {
		f, err := parseFilters(r.URL.Query().Get("filters"))
		if err != nil {
			return err
		}
		rep, err := b.Prune(r.Context(), f)
		if err != nil {
			return err
		}
		if rep.ContainersDeleted == nil {
			rep.ContainersDeleted = []string{}
		}
		writeJSON(w, http.StatusOK, rep)
		return nil
	})
}

func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", errdefs.InvalidParameterf("Path cannot be empty")
	}
	return p, nil
}

// setPathStat sets X-Docker-Container-Path-Stat: the stat as base64 JSON.
func setPathStat(w http.ResponseWriter, st apicontainer.PathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return errdefs.System(err)
	}
	w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(b))
	return nil
}
