package api

import (
	"context"
	"net/http"

	apivolume "github.com/moby/moby/api/types/volume"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// VolumeBackend is what the volume routes need.
type VolumeBackend interface {
	Create(ctx context.Context, req apivolume.CreateRequest) (*apivolume.Volume, error)
	List(ctx context.Context, filters backend.Filters) (apivolume.ListResponse, error)
	Inspect(ctx context.Context, name string) (*apivolume.Volume, error)
	Remove(ctx context.Context, name string, force bool) error
	Prune(ctx context.Context, filters backend.Filters) (apivolume.PruneReport, error)
}

func (s *Server) volumeRoutes() {
	s.handle("POST /volumes/create", s.postVolumesCreate)
	s.handle("GET /volumes", s.getVolumes)
	s.handle("POST /volumes/prune", s.postVolumesPrune)
	s.handle("GET /volumes/{name}", s.getVolume)
	s.handle("DELETE /volumes/{name}", s.deleteVolume)
}

// volumes returns the backend, or an error when the daemon has none (a
// server built without volumes, as in some tests).
func (s *Server) volumes() (VolumeBackend, error) {
	if s.b.Volumes == nil {
		return nil, errdefs.NotImplemented(errorString("volumes are not supported"))
	}
	return s.b.Volumes, nil
}

func (s *Server) postVolumesCreate(w http.ResponseWriter, r *http.Request) error {
	vb, err := s.volumes()
	if err != nil {
		return err
	}
	var req apivolume.CreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := vb.Create(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getVolumes(w http.ResponseWriter, r *http.Request) error {
	vb, err := s.volumes()
	if err != nil {
		return err
	}
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	list, err := vb.List(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getVolume(w http.ResponseWriter, r *http.Request) error {
	vb, err := s.volumes()
	if err != nil {
		return err
	}
	v, err := vb.Inspect(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteVolume(w http.ResponseWriter, r *http.Request) error {
	vb, err := s.volumes()
	if err != nil {
		return err
	}
	if err := vb.Remove(r.Context(), r.PathValue("name"), boolValue(r, "force")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postVolumesPrune(w http.ResponseWriter, r *http.Request) error {
	vb, err := s.volumes()
	if err != nil {
		return err
	}
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := vb.Prune(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
