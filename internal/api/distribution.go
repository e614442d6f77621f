package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/jsonstream"
	apiregistry "github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/internal/errdefs"
)

// DistributionBackend is what pull, push, login and search need.
type DistributionBackend interface {
	// Pull reports progress through emit; ref has its tag or digest, or is
	// a bare name when all is set.
	Pull(ctx context.Context, ref string, platform *ocispec.Platform, all bool, auth *apiregistry.AuthConfig, emit func(jsonstream.Message)) error
	Push(ctx context.Context, name, tag string, auth *apiregistry.AuthConfig, emit func(jsonstream.Message)) error
	Login(ctx context.Context, auth *apiregistry.AuthConfig) (identityToken string, err error)
	Search(ctx context.Context, term string, limit int, auth *apiregistry.AuthConfig) ([]apiregistry.SearchResult, error)
}

func (s *Server) distributionRoutes() {
	s.handle("POST /auth", s.postAuth)
	s.handle("GET /images/search", s.getImagesSearch)
}

// registryAuth decodes X-Registry-Auth (base64url JSON, padded or not; an
// unreadable header means no credentials, as dockerd treats it).
func registryAuth(r *http.Request) *apiregistry.AuthConfig {
	h := r.Header.Get("X-Registry-Auth")
	if h == "" {
		return nil
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding} {
		if raw, err = enc.DecodeString(h); err == nil {
			break
		}
	}
	if err != nil {
		return nil
	}
	var ac apiregistry.AuthConfig
	if json.Unmarshal(raw, &ac) != nil {
		return nil
	}
	return &ac
}

// progressStream writes Docker's JSON message stream. Headers go out with
// the first message, so an error before any progress is an ordinary error
// response with its status code.
type progressStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	started bool
}

func (p *progressStream) emit(m jsonstream.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		p.w.Header().Set("Content-Type", "application/json")
		p.w.WriteHeader(http.StatusOK)
		p.started = true
	}
	_ = json.NewEncoder(p.w).Encode(m)
	if f, ok := p.w.(http.Flusher); ok {
		f.Flush()
	}
}

// finish reports err in the stream once it has started (with the legacy
// "error" field older clients read), else hands it back for writeError.
func (p *progressStream) finish(err error) error {
	if err == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return err
	}
	_ = json.NewEncoder(p.w).Encode(map[string]any{
		"errorDetail": map[string]string{"message": err.Error()},
		"error":       err.Error(),
	})
	return nil
}

// postImagesPull serves POST /images/create?fromImage=.
func (s *Server) postImagesPull(w http.ResponseWriter, r *http.Request) error {
	if s.b.Distribution == nil {
		return errdefs.NotImplemented(errorString("pulling images is not supported by this daemon"))
	}
	q := r.URL.Query()
	ref := q.Get("fromImage")
	tag := q.Get("tag")
	all := false
	if tag != "" {
		if strings.HasPrefix(tag, "sha256:") {
			ref += "@" + tag
		} else {
			ref += ":" + tag
		}
	} else if !strings.Contains(lastPart(ref), ":") && !strings.Contains(ref, "@") {
		all = true // the API pulls every tag when none is named
	}
	var platform *ocispec.Platform
	if ps := q.Get("platform"); ps != "" {
		p, err := parsePlatformParam(ps)
		if err != nil {
			return err
		}
		platform = &p
	}
	ps := &progressStream{w: w}
	return ps.finish(s.b.Distribution.Pull(r.Context(), ref, platform, all, registryAuth(r), ps.emit))
}

func lastPart(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func parsePlatformParam(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	var p ocispec.Platform
	switch len(parts) {
	case 3:
		p.Variant = parts[2]
		fallthrough
	case 2:
		p.OS, p.Architecture = parts[0], parts[1]
	case 1:
		p.OS = parts[0]
	}
	if p.OS == "" || len(parts) > 3 {
		return p, errdefs.InvalidParameterf("%q: invalid platform format", s)
	}
	if p.Architecture == "" {
		p.Architecture = "amd64"
	}
	return p, nil
}

// postImagePush serves POST /images/{name}/push.
func (s *Server) postImagePush(w http.ResponseWriter, r *http.Request, name string) error {
	if s.b.Distribution == nil {
		return errdefs.NotImplemented(errorString("pushing images is not supported by this daemon"))
	}
	ps := &progressStream{w: w}
	return ps.finish(s.b.Distribution.Push(r.Context(), name, r.URL.Query().Get("tag"), registryAuth(r), ps.emit))
}

func (s *Server) postAuth(w http.ResponseWriter, r *http.Request) error {
	if s.b.Distribution == nil {
		return errdefs.NotImplemented(errorString("login is not supported by this daemon"))
	}
	var ac apiregistry.AuthConfig
	if err := json.NewDecoder(r.Body).Decode(&ac); err != nil {
		return errdefs.InvalidParameter(err)
	}
	token, err := s.b.Distribution.Login(r.Context(), &ac)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiregistry.AuthResponse{Status: "Login Succeeded", IdentityToken: token})
	return nil
}

func (s *Server) getImagesSearch(w http.ResponseWriter, r *http.Request) error {
	if s.b.Distribution == nil {
		return errdefs.NotImplemented(errorString("search is not supported by this daemon"))
	}
	q := r.URL.Query()
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return errdefs.InvalidParameterf("invalid limit: %s", l)
		}
		limit = n
	}
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	res, err := s.b.Distribution.Search(r.Context(), q.Get("term"), limit, registryAuth(r))
	if err != nil {
		return err
	}
	out := []apiregistry.SearchResult{}
	for _, x := range res {
		if matchSearch(x, f) {
			out = append(out, x)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func matchSearch(x apiregistry.SearchResult, f map[string]map[string]bool) bool {
	for v := range f["is-official"] {
		if strconv.FormatBool(x.IsOfficial) != v {
			return false
		}
	}
	for v := range f["stars"] {
		n, _ := strconv.Atoi(v)
		if x.StarCount < n {
			return false
		}
	}
	return true
}
