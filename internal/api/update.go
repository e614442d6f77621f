package api

import (
	"context"
	"net/http"

	apicontainer "github.com/moby/moby/api/types/container"
)

// UpdateBackend is what docker update needs. Like ObserveBackend it is
// optional: the route exists only when the container service has it.
type UpdateBackend interface {
	Update(ctx context.Context, ref string, up *apicontainer.UpdateConfig) (apicontainer.UpdateResponse, error)
}

func (s *Server) updateRoutes() {
	b, ok := s.b.Containers.(UpdateBackend)
	if !ok {
		return
	}
	s.handle("POST /containers/{id}/update", func(w http.ResponseWriter, r *http.Request) error {
		var up apicontainer.UpdateConfig
		if err := decodeJSON(r, &up); err != nil {
			return err
		}
		resp, err := b.Update(r.Context(), r.PathValue("id"), &up)
		if err != nil {
			return err
		}
		if resp.Warnings == nil {
			resp.Warnings = []string{}
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	})
}
