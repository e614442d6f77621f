package api

import (
	"context"
	"encoding/json"
	"net/http"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
)

// ObserveBackend is what pause, unpause, top and stats need. It is kept
// apart from ContainerBackend so that a container service without it still
// serves everything else; the routes exist only when it is implemented.
type ObserveBackend interface {
	Pause(ctx context.Context, ref string) error
	Unpause(ctx context.Context, ref string) error
	Top(ctx context.Context, ref, psArgs string) (*apicontainer.TopResponse, error)
	Stats(ctx context.Context, ref string, stream, oneShot bool, emit func(*apicontainer.StatsResponse) error) error
}

func (s *Server) observeRoutes() {
	b, ok := s.b.Containers.(ObserveBackend)
	if !ok {
		return
	}
	s.handle("POST /containers/{id}/pause", func(w http.ResponseWriter, r *http.Request) error {
		if err := b.Pause(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("POST /containers/{id}/unpause", func(w http.ResponseWriter, r *http.Request) error {
		if err := b.Unpause(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("GET /containers/{id}/top", func(w http.ResponseWriter, r *http.Request) error {
		top, err := b.Top(r.Context(), r.PathValue("id"), r.URL.Query().Get("ps_args"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, top)
		return nil
	})
	s.handle("GET /containers/{id}/stats", func(w http.ResponseWriter, r *http.Request) error {
		return getContainerStats(b, w, r)
	})
}

// getContainerStats streams one JSON document per sample; errors after the
// first one can only end the stream.
func getContainerStats(b ObserveBackend, w http.ResponseWriter, r *http.Request) error {
	// stream defaults to true, as in Docker.
	stream := r.URL.Query().Get("stream") == "" || boolValue(r, "stream")
	oneShot := boolValue(r, "one-shot")
	if stream && oneShot {
		return errdefs.InvalidParameterf("cannot have stream=true and one-shot=true")
	}
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	started := false
	err := b.Stats(r.Context(), r.PathValue("id"), stream, oneShot, func(st *apicontainer.StatsResponse) error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if err := enc.Encode(st); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if started {
		return nil
	}
	return err
}
