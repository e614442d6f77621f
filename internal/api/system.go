package api

import (
	"net/http"
)

func (s *Server) systemRoutes() {
	ping := func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
		h.Set("Pragma", "no-cache")
		h.Set("Builder-Version", "1")
		h.Set("Swarm", "inactive")
		if r.Method == http.MethodHead {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Content-Length", "0")
			return nil
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		_, err := w.Write([]byte("OK"))
		return err
	}
	s.handle("GET /_ping", ping)
	s.handle("HEAD /_ping", ping)
	s.handle("GET /version", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, s.b.System.Version(r.Context()))
		return nil
	})
	s.handle("GET /info", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, s.b.System.Info(r.Context()))
		return nil
	})
	s.handle("GET /events", s.getEvents)
}
