package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// ImageArchiveBackend is what save, load and history need.
type ImageArchiveBackend interface {
	Save(ctx context.Context, names []string, w io.Writer) error
	Load(ctx context.Context, r io.Reader, quiet bool, out func(line string)) error
	History(ctx context.Context, ref string) ([]apiimage.HistoryResponseItem, error)
	// Parent is the parent image ID older API versions show in inspect.
	Parent(ctx context.Context, ref string) (string, error)
	Prune(ctx context.Context, f backend.Filters) (apiimage.PruneReport, error)
}

// imageArchiveRoutes registers the fixed paths; /images/{name}/get and
// /history are dispatched from imageRoutes' catch-all.
func (s *Server) imageArchiveRoutes() {
	s.handle("GET /images/get", func(w http.ResponseWriter, r *http.Request) error {
		return s.getImagesGet(w, r, r.URL.Query()["names"])
	})
	s.handle("POST /images/load", s.postImagesLoad)
	s.handle("POST /images/prune", s.postImagesPrune)
	s.handle("GET /system/df", s.getSystemDF)
}

func (s *Server) imageArchive() (ImageArchiveBackend, error) {
	if s.b.ImageArchive == nil {
		return nil, errdefs.NotImplemented(errorString("image archives are not supported"))
	}
	return s.b.ImageArchive, nil
}

// getImagesGet streams the archive. Errors before the first byte get a
// proper status; after it, the only signal left is a cut stream, as in
// Docker.
func (s *Server) getImagesGet(w http.ResponseWriter, r *http.Request, names []string) error {
	b, err := s.imageArchive()
	if err != nil {
		return err
	}
	lw := &lazyWriter{w: w}
	err = b.Save(r.Context(), names, lw)
	if err != nil && !lw.started {
		return err
	}
	if !lw.started {
		lw.start()
	}
	return nil
}

// lazyWriter sends the 200 and the tar content type with the first byte.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) start() {
	l.started = true
	l.w.Header().Set("Content-Type", "application/x-tar")
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(p)
}

// postImagesLoad answers 200 with a JSON message stream, errors included,
// as Docker does.
func (s *Server) postImagesLoad(w http.ResponseWriter, r *http.Request) error {
	b, err := s.imageArchive()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	err = b.Load(r.Context(), r.Body, boolValue(r, "quiet"), func(line string) {
		enc.Encode(jsonstream.Message{Stream: line})
		flush()
	})
	if err != nil {
		// "error" beside "errorDetail" for older clients, as Docker sends.
		enc.Encode(struct {
			jsonstream.Message
			ErrorMessage string `json:"error,omitempty"`
		}{jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, err.Error()})
		flush()
	}
	return nil
}

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
