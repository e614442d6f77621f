package api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"
	apiregistry "github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/internal/errdefs"
)

// fakeDistribution pulls "ok" (two messages), fails "late" after one
// message, and refuses everything else before any.
type fakeDistribution struct{ lastAuth *apiregistry.AuthConfig }

func (f *fakeDistribution) Pull(_ context.Context, ref string, p *ocispec.Platform, all bool, auth *apiregistry.AuthConfig, emit func(jsonstream.Message)) error {
	f.lastAuth = auth
	switch {
	case strings.HasPrefix(ref, "ok"):
		emit(jsonstream.Message{Status: "Pulling from ok"})
		emit(jsonstream.Message{Status: "Digest: sha256:x"})
		return nil
	case strings.HasPrefix(ref, "late"):
		emit(jsonstream.Message{Status: "Pulling from late"})
		return errdefs.InvalidParameterf("filesystem layer verification failed for digest sha256:x")
	case strings.HasPrefix(ref, "Bad"):
		return errdefs.InvalidParameterf("invalid reference format: repository name (library/Bad) must be lowercase")
	}
	return errdefs.NotFoundf("manifest for %s not found: manifest unknown: manifest unknown", ref)
}
func (f *fakeDistribution) Push(_ context.Context, name, tag string, _ *apiregistry.AuthConfig, emit func(jsonstream.Message)) error {
	if name == "missing" {
		return errdefs.NotFoundf("An image does not exist locally with the tag: missing")
	}
	emit(jsonstream.Message{Status: tag + ": digest: sha256:x size: 1"})
	return nil
}
func (f *fakeDistribution) Login(_ context.Context, ac *apiregistry.AuthConfig) (string, error) {
	if ac.Password != "right" {
		return "", errdefs.Unauthorized(errors.New("login attempt to http://r/v2/ failed with status: 401 Unauthorized"))
	}
	return "", nil
}
func (f *fakeDistribution) Search(_ context.Context, term string, limit int, _ *apiregistry.AuthConfig) ([]apiregistry.SearchResult, error) {
	return []apiregistry.SearchResult{{Name: term + "/a", IsOfficial: true, StarCount: 5}, {Name: term + "/b"}}, nil
}

func TestDistributionRoutes(t *testing.T) {
	fd := &fakeDistribution{}
	s := New(Backends{Containers: &fakeContainers{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}, Volumes: fakeVolumes{}, Distribution: fd},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"pull", "POST", "/v1.50/images/create?fromImage=ok&tag=1", "", 200, `{"status":"Digest: sha256:x"}`},
		{"pull bad ref", "POST", "/images/create?fromImage=Bad&tag=1", "", 400, "invalid reference format"},
		{"pull unknown", "POST", "/images/create?fromImage=nope&tag=1", "", 404, "manifest for nope:1 not found: manifest unknown: manifest unknown"},
		{"pull fails midway", "POST", "/images/create?fromImage=late&tag=1", "", 200, `"errorDetail":{"message":"filesystem layer verification failed`},
		{"pull bad platform", "POST", "/images/create?fromImage=ok&tag=1&platform=a/b/c/d", "", 400, "invalid platform format"},
		{"push", "POST", "/images/reg:5000/app/push?tag=2", "", 200, "2: digest: sha256:x"},
		{"push missing", "POST", "/images/missing/push?tag=1", "", 404, "An image does not exist locally with the tag: missing"},
		{"auth", "POST", "/auth", `{"username":"u","password":"right","serveraddress":"r"}`, 200, `"Status":"Login Succeeded"`},
		{"auth wrong password", "POST", "/auth", `{"username":"u","password":"wrong","serveraddress":"r"}`, 401, "failed with status: 401 Unauthorized"},
		{"auth bad json", "POST", "/auth", `{`, 400, ""},
		{"search", "GET", "/images/search?term=x&limit=5", "", 200, `"name":"x/a"`},
		{"search filter", "GET", "/images/search?term=x&filters=%7B%22is-official%22%3A%7B%22true%22%3Atrue%7D%7D", "", 200, `[{"star_count":5`},
		{"search bad limit", "GET", "/images/search?term=x&limit=abc", "", 400, "invalid limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status || !strings.Contains(string(body), tt.msg) {
				t.Fatalf("%s %s: %d %s", tt.method, tt.path, rec.Code, body)
			}
		})
	}
	// X-Registry-Auth reaches the backend, padded or not.
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding} {
		req := httptest.NewRequest("POST", "/images/create?fromImage=ok&tag=1", nil)
		req.Header.Set("X-Registry-Auth", enc.EncodeToString([]byte(`{"username":"alice","password":"pw"}`)))
		s.ServeHTTP(httptest.NewRecorder(), req)
		if fd.lastAuth == nil || fd.lastAuth.Username != "alice" || fd.lastAuth.Password != "pw" {
			t.Fatalf("auth header not decoded: %+v", fd.lastAuth)
		}
	}
	// Without a distribution backend the routes answer 501.
	bare := New(Backends{Containers: &fakeContainers{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}, Volumes: fakeVolumes{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	rec := httptest.NewRecorder()
	bare.ServeHTTP(rec, httptest.NewRequest("POST", "/auth", strings.NewReader("{}")))
	if rec.Code != 501 {
		t.Fatalf("no backend: %d", rec.Code)
	}
}
