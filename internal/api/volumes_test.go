package api

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	apivolume "github.com/moby/moby/api/types/volume"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// fakeVolumes knows one volume, "data", used by container "c1".
type fakeVolumes struct{}

func (fakeVolumes) Create(_ context.Context, req apivolume.CreateRequest) (*apivolume.Volume, error) {
	if strings.Contains(req.Name, "/") {
		return nil, errdefs.InvalidParameterf("create %s: includes invalid characters for a local volume name", req.Name)
	}
	return &apivolume.Volume{Name: req.Name, Driver: "local"}, nil
}
func (fakeVolumes) List(_ context.Context, f backend.Filters) (apivolume.ListResponse, error) {
	if len(f["bogus"]) > 0 {
		return apivolume.ListResponse{}, errdefs.InvalidParameterf("invalid filter 'bogus'")
	}
	return apivolume.ListResponse{Volumes: []apivolume.Volume{{Name: "data", Driver: "local"}}}, nil
}
func (fakeVolumes) Inspect(_ context.Context, name string) (*apivolume.Volume, error) {
	if name != "data" {
		return nil, errdefs.NotFoundf("get %s: no such volume", name)
	}
	return &apivolume.Volume{Name: "data", Driver: "local"}, nil
}
func (fakeVolumes) Remove(_ context.Context, name string, force bool) error {
	if name == "data" {
		return errdefs.Conflictf("remove data: volume is in use - [c1]")
	}
	if force {
		return nil
	}
	return errdefs.NotFoundf("get %s: no such volume", name)
}
func (fakeVolumes) Prune(context.Context, backend.Filters) (apivolume.PruneReport, error) {
	return apivolume.PruneReport{VolumesDeleted: []string{"x"}, SpaceReclaimed: 3}, nil
}

func TestVolumeRoutes(t *testing.T) {
	s := New(Backends{Containers: &fakeContainers{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}, Volumes: fakeVolumes{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"create", "POST", "/v1.50/volumes/create", `{"Name":"v1"}`, 201, `"Name":"v1"`},
		{"create bad json", "POST", "/volumes/create", `{`, 400, "invalid JSON"},
		{"create bad name", "POST", "/volumes/create", `{"Name":"a/b"}`, 400, "invalid characters"},
		{"list", "GET", "/volumes", "", 200, `"Volumes":[{`},
		{"list bad filter", "GET", "/volumes?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D", "", 400, "invalid filter 'bogus'"},
		{"list malformed filter", "GET", "/volumes?filters=%7B", "", 400, "invalid filter"},
		{"inspect", "GET", "/volumes/data", "", 200, `"Driver":"local"`},
		{"inspect missing", "GET", "/volumes/nope", "", 404, "get nope: no such volume"},
		{"rm in use", "DELETE", "/volumes/data", "", 409, "remove data: volume is in use - [c1]"},
		{"rm missing", "DELETE", "/volumes/nope", "", 404, "no such volume"},
		{"rm missing force", "DELETE", "/volumes/nope?force=1", "", 204, ""},
		{"prune", "POST", "/volumes/prune", "", 200, `"SpaceReclaimed":3`},
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
}
