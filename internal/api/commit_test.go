package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
)

type fakeCommit struct {
	fakeContainers
	got backend.CommitOptions
}

func (f *fakeCommit) Commit(_ context.Context, ref string, opts backend.CommitOptions) (digest.Digest, error) {
	if err := lookup(ref); err != nil {
		return "", err
	}
	f.got = opts
	return digest.FromString("img"), nil
}

func TestCommitRoute(t *testing.T) {
	f := &fakeCommit{}
	s := New(Backends{Containers: f, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, path, body string
		status           int
		msg              string
		pause            bool
		cmd              string
	}{
		{name: "defaults", path: "/v1.50/commit?container=abc&repo=x&tag=1&changes=CMD+sh", status: 201, msg: `"Id":"sha256:`, pause: true},
		{name: "no pause, null body", path: "/commit?container=abc&pause=0", body: "null", status: 201, msg: `"Id"`},
		{name: "config body", path: "/commit?container=abc", body: `{"Cmd":["true"]}`, status: 201, msg: `"Id"`, pause: true, cmd: "true"},
		{name: "no container", path: "/commit", status: 400, msg: "No container name or ID supplied"},
		{name: "unknown", path: "/commit?container=x", status: 404, msg: "No such container: x"},
		{name: "bad json", path: "/commit?container=abc", body: `{`, status: 400, msg: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*f = fakeCommit{}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
			if tt.status != 201 {
				return
			}
			if f.got.Pause != tt.pause {
				t.Fatalf("pause %v, want %v", f.got.Pause, tt.pause)
			}
			if tt.cmd != "" && (f.got.Config == nil || f.got.Config.Cmd[0] != tt.cmd) {
				t.Fatalf("config %+v", f.got.Config)
			}
		})
	}
}
