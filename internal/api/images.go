package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

func (s *Server) imageRoutes() {
	s.handle("GET /images/json", s.getImagesJSON)
	s.handle("POST /images/create", s.postImagesCreate)
	// Image names contain slashes, so the name and the action are split by
	// hand: /images/{name...}/json, /images/{name...}/tag.
	s.handle("GET /images/{rest...}", func(w http.ResponseWriter, r *http.Request) error {
		if name, ok := strings.CutSuffix(r.PathValue("rest"), "/json"); ok {
			return s.getImageJSON(w, r, name)
		}
		if name, ok := strings.CutSuffix(r.PathValue("rest"), "/history"); ok {
			return s.getImageHistory(w, r, name)
		}
		if name, ok := strings.CutSuffix(r.PathValue("rest"), "/get"); ok {
			return s.getImagesGet(w, r, []string{name})
		}
		return errdefs.NotFoundf("page not found")
	})
	s.handle("POST /images/{rest...}", func(w http.ResponseWriter, r *http.Request) error {
		if name, ok := strings.CutSuffix(r.PathValue("rest"), "/tag"); ok {
			return s.postImageTag(w, r, name)
		}
		if name, ok := strings.CutSuffix(r.PathValue("rest"), "/push"); ok {
			return s.postImagePush(w, r, name)
		}
		return errdefs.NotFoundf("page not found")
	})
	s.handle("DELETE /images/{name...}", s.deleteImage)
}

type errorString string

func (e errorString) Error() string { return string(e) }

func (s *Server) getImagesJSON(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	list, err := s.b.Images.List(r.Context(), boolValue(r, "all"), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getImageJSON(w http.ResponseWriter, r *http.Request, name string) error {
	resp, err := s.b.Images.Inspect(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.shapeImageInspect(r, resp))
	return nil
}

func (s *Server) postImageTag(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	if err := s.b.Images.Tag(r.Context(), name, q.Get("repo"), q.Get("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) error {
	resp, err := s.b.Images.Delete(r.Context(), r.PathValue("name"), boolValue(r, "force"), !boolValue(r, "noprune"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// postImagesCreate serves import (fromSrc=-, body is the tar) and pull
// (fromImage, distribution.go).
func (s *Server) postImagesCreate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("fromImage") != "" {
		return s.postImagesPull(w, r)
	}
	src := q.Get("fromSrc")
	if src == "" {
		return errdefs.InvalidParameterf("either fromImage or fromSrc must be set")
	}
	if src != "-" {
		return errdefs.NotImplemented(errorString("importing from a URL is not supported yet"))
	}
	id, err := s.b.Images.Import(r.Context(), r.Body, backend.ImportOptions{
		Repo: q.Get("repo"), Tag: q.Get("tag"), Message: q.Get("message"), Changes: q["changes"], Platform: q.Get("platform"),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(jsonstream.Message{Status: id.String()})
}
