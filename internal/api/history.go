package api

import (
	"net/http"
)

func (s *Server) getImageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	b, err := s.imageArchive()
	if err != nil {
		return err
	}
	h, err := b.History(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}
