package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"berth/internal/errdefs"
)

// Versions the server speaks; set by the caller from the daemon's build.
type Versions struct {
	Max, Min string
	Server   string // e.g. "Berth/0.1.0 (linux)"
}

// Server routes Engine API requests to the backends.
type Server struct {
	b   Backends
	v   Versions
	mux *http.ServeMux
}

// New builds the route table.
func New(b Backends, v Versions) *Server {
	s := &Server{b: b, v: v, mux: http.NewServeMux()}
	s.systemRoutes()
	s.containerRoutes()
	s.observeRoutes()
	s.updateRoutes()
	s.execRoutes()
	s.imageRoutes()
	s.imageArchiveRoutes()
	s.volumeRoutes()
	s.distributionRoutes()
	s.networkRoutes()
	s.fsRoutes()
	s.commitRoutes()
	s.buildRoutes()
	return s
}

type ctxKey int

const versionKey ctxKey = 0

// requestVersion returns the API version of the request (the prefix, or
// the server's maximum when none was given).
func requestVersion(ctx context.Context) string {
	if v, ok := ctx.Value(versionKey).(string); ok {
		return v
	}
	return ""
}

// ServeHTTP applies the version middleware and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Api-Version", s.v.Max)
	h.Set("Server", s.v.Server)
	h.Set("Ostype", "linux")
	h.Set("Docker-Experimental", "false")
	version := s.v.Max
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 && looksLikeVersion(rest[:i]) {
			version = rest[:i]
			r.URL.Path = rest[i:]
			r.URL.RawPath = ""
			if compareVersions(version, s.v.Max) > 0 {
				writeError(w, r, errdefs.InvalidParameterf("client version %s is too new. Maximum supported API version is %s", version, s.v.Max))
				return
			}
			if compareVersions(version, s.v.Min) < 0 {
				writeError(w, r, errdefs.InvalidParameterf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, s.v.Min))
				return
			}
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), versionKey, version))
	start := time.Now()
	s.mux.ServeHTTP(w, r)
	slog.Default().Debug("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start))
}

func looksLikeVersion(s string) bool {
	major, minor, ok := strings.Cut(s, ".")
	if !ok {
		return false
	}
	_, e1 := strconv.Atoi(major)
	_, e2 := strconv.Atoi(minor)
	return e1 == nil && e2 == nil
}

// compareVersions compares dotted numeric versions.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// handle registers a route whose handler returns an error, written once by
// writeError when nothing has been sent yet.
func (s *Server) handle(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

// Serve accepts connections on l until ctx is done, then shuts down,
// giving in-flight requests a moment; hijacked streams are cut.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return nil
}

func boolValue(r *http.Request, k string) bool {
	switch strings.ToLower(r.URL.Query().Get(k)) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

func intValue(r *http.Request, k string, def int) (int, error) {
	v := r.URL.Query().Get(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errdefs.InvalidParameterf("invalid value for %s: %q", k, v)
	}
	return n, nil
}

var _ = fmt.Sprint
