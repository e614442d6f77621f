package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
)

// fakeUpdate adds docker update to the container fake and keeps the last
// request it accepted.
type fakeUpdate struct {
	fakeContainers
	got *apicontainer.UpdateConfig
}

func (f *fakeUpdate) Update(_ context.Context, ref string, up *apicontainer.UpdateConfig) (apicontainer.UpdateResponse, error) {
	if err := lookup(ref); err != nil {
		return apicontainer.UpdateResponse{}, err
	}
	if up.Memory > 0 && up.Memory < 6*1024*1024 {
		return apicontainer.UpdateResponse{}, errdefs.InvalidParameterf("Minimum memory limit allowed is 6MB")
	}
	f.got = up
	return apicontainer.UpdateResponse{}, nil
}

func TestUpdateRoute(t *testing.T) {
	f := &fakeUpdate{}
	s := New(Backends{Containers: f, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, path, body string
		status           int
		msg              string
		memory           int64
		restart          apicontainer.RestartPolicyMode
	}{
		{name: "memory and restart", path: "/v1.50/containers/abc/update", body: `{"Memory":134217728,"RestartPolicy":{"Name":"always"}}`,
			status: 200, msg: `{"Warnings":[]}`, memory: 134217728, restart: "always"},
		{name: "too little memory", path: "/containers/abc/update", body: `{"Memory":1048576}`, status: 400, msg: "Minimum memory limit allowed is 6MB"},
		{name: "unknown", path: "/containers/x/update", body: `{}`, status: 404, msg: "No such container: x"},
		{name: "bad json", path: "/containers/abc/update", body: `{`, status: 400, msg: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*f = fakeUpdate{}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
			if tt.status != http.StatusOK {
				return
			}
			if f.got == nil || f.got.Memory != tt.memory || f.got.RestartPolicy.Name != tt.restart {
				t.Fatalf("backend got %+v", f.got)
			}
		})
	}
}
