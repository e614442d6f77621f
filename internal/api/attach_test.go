package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"berth/internal/errdefs"
)

// fakeResize adds Resize to the container fake: "abc" runs with a tty,
// "plain" runs without one (resize is a no-op), "off" does not run.
type fakeResize struct{ fakeContainers }

func (f *fakeResize) Resize(_ context.Context, ref string, h, w uint) error {
	switch ref {
	case "abc", "plain":
		return nil
	case "off":
		return errdefs.Conflictf("container off is not running")
	}
	return errdefs.NotFoundf("No such container: %s", ref)
}

func TestResizeRoute(t *testing.T) {
	s := New(Backends{Containers: &fakeResize{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, path string
		status     int
		msg        string
	}{
		{"tty", "/containers/abc/resize?h=10&w=20", 200, ""},
		{"no tty", "/containers/plain/resize?h=10&w=20", 200, ""},
		{"bad h", "/containers/abc/resize?h=x&w=20", 400, "invalid value for h"},
		{"negative", "/containers/abc/resize?h=-1&w=20", 400, "invalid terminal size"},
		{"too big", "/containers/abc/resize?h=70000&w=20", 400, "invalid terminal size"},
		{"not running", "/containers/off/resize?h=1&w=1", 409, "is not running"},
		{"unknown", "/containers/zzz/resize?h=1&w=1", 404, "No such container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tt.path, http.NoBody)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.msg != "" && !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
		})
	}
}
