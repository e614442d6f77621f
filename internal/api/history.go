package api

import (
	"context"
	"net/http"

	apiimage "github.com/moby/moby/api/types/image"

	"berth/internal/errdefs"
)

// HistoryBackend is what GET /images/{name}/history needs.
type HistoryBackend interface {
	History(ctx context.Context, ref string) ([]apiimage.HistoryResponseItem, error)
}

func (s *Server) getImageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	b, ok := s.b.Images.(HistoryBackend)
	if !ok {
		return errdefs.NotFoundf("page not found")
	}
	items, err := b.History(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, items)
	return nil
}
