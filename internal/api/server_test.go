package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// fakeContainers answers from a fixed set so the routes' decoding, status
// mapping and streaming can be checked without a daemon.
type fakeContainers struct{ created *apicontainer.Config }

func (f *fakeContainers) Create(_ context.Context, name string, cfg *apicontainer.Config, _ *apicontainer.HostConfig) (backend.CreateResult, error) {
	if cfg == nil || cfg.Image == "" {
		return backend.CreateResult{}, errdefs.InvalidParameterf("no image specified")
	}
	if cfg.Image == "nosuch" {
		return backend.CreateResult{}, errdefs.NotFoundf("No such image: nosuch:latest")
	}
	if name == "taken" {
		return backend.CreateResult{}, errdefs.Conflictf("Conflict. The container name \"/taken\" is already in use")
	}
	f.created = cfg
	return backend.CreateResult{ID: "abc"}, nil
}
func lookup(ref string) error {
	if ref != "abc" {
		return errdefs.NotFoundf("No such container: %s", ref)
	}
	return nil
}
func (f *fakeContainers) Start(_ context.Context, ref string) error {
	if err := lookup(ref); err != nil {
		return err
	}
	return errdefs.NotModified(errors.New("already started"))
}
func (f *fakeContainers) Stop(_ context.Context, ref string, _ backend.StopOptions) error {
	return lookup(ref)
}
func (f *fakeContainers) Restart(_ context.Context, ref string, _ backend.StopOptions) error {
	return lookup(ref)
}
func (f *fakeContainers) Kill(_ context.Context, ref, sig string) error {
	if sig == "BOGUS" {
		return errdefs.InvalidParameterf("Invalid signal: BOGUS")
	}
	return lookup(ref)
}
func (f *fakeContainers) Remove(_ context.Context, ref string, o backend.RemoveOptions) error {
	if err := lookup(ref); err != nil {
		return err
	}
	if !o.Force {
		return errdefs.Conflictf("cannot remove container \"/abc\": container is running: stop the container before removing or force remove")
	}
	return nil
}
func (f *fakeContainers) Wait(_ context.Context, ref string, _ apicontainer.WaitCondition, ready func()) (int, string, error) {
	if err := lookup(ref); err != nil {
		return 0, "", err
	}
	ready()
	return 7, "", nil
}
func (f *fakeContainers) List(context.Context, backend.ContainerListOptions) ([]apicontainer.Summary, error) {
	return []apicontainer.Summary{}, nil
}
func (f *fakeContainers) Inspect(_ context.Context, ref string, _ bool) (*apicontainer.InspectResponse, error) {
	if err := lookup(ref); err != nil {
		return nil, err
	}
	return &apicontainer.InspectResponse{ID: "abc"}, nil
}
func (f *fakeContainers) Logs(_ context.Context, ref string, _ backend.LogsOptions, ready func(bool) error, emit backend.Emit) error {
	if err := lookup(ref); err != nil {
		return err
	}
	ready(false)
	emit("stdout", []byte("hi\n"), time.Now())
	return emit("stderr", []byte("oops\n"), time.Now())
}
func (f *fakeContainers) Attach(_ context.Context, ref string, _ backend.AttachOptions, ready func(bool) (backend.AttachStreams, error)) error {
	return lookup(ref)
}
func (f *fakeContainers) Rename(_ context.Context, ref, name string) error { return lookup(ref) }

type fakeImages struct{}

func (fakeImages) Import(_ context.Context, r io.Reader, _ backend.ImportOptions) (digest.Digest, error) {
	io.Copy(io.Discard, r)
	return digest.FromString("x"), nil
}
func (fakeImages) List(context.Context, bool, backend.Filters) ([]apiimage.Summary, error) {
	return nil, nil
}
func (fakeImages) Inspect(_ context.Context, ref string) (*apiimage.InspectResponse, error) {
	if ref != "a/b:1" {
		return nil, errdefs.NotFoundf("No such image: %s", ref)
	}
	return &apiimage.InspectResponse{ID: "sha256:x"}, nil
}
func (fakeImages) Tag(context.Context, string, string, string) error { return nil }
func (fakeImages) Delete(context.Context, string, bool, bool) ([]apiimage.DeleteResponse, error) {
	return nil, nil
}

type fakeSystem struct{}

func (fakeSystem) Version(context.Context) system.VersionResponse {
	return system.VersionResponse{APIVersion: "1.56"}
}
func (fakeSystem) Info(context.Context) system.Info { return system.Info{} }

type fakeEvents struct{}

func (fakeEvents) Subscribe(time.Time, func(events.Message) bool) ([]events.Message, <-chan events.Message, func()) {
	ch := make(chan events.Message)
	close(ch)
	return nil, ch, func() {}
}

func newTestServer() *Server {
	return New(Backends{Containers: &fakeContainers{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
}

func TestRoutesStatusAndMessages(t *testing.T) {
	s := newTestServer()
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"ping", "GET", "/_ping", "", 200, "OK"},
		{"ping head", "HEAD", "/_ping", "", 200, ""},
		{"versioned ping", "GET", "/v1.50/_ping", "", 200, "OK"},
		{"too new", "GET", "/v1.99/version", "", 400, "client version 1.99 is too new. Maximum supported API version is 1.56"},
		{"too old", "GET", "/v1.12/version", "", 400, "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
		{"malformed json", "POST", "/containers/create", "{not json", 400, "invalid JSON"},
		{"empty body", "POST", "/containers/create", "", 400, "invalid JSON: request body is empty"},
		{"no image", "POST", "/containers/create", `{}`, 400, "no image specified"},
		{"unknown image", "POST", "/containers/create", `{"Image":"nosuch"}`, 404, "No such image: nosuch:latest"},
		{"name taken", "POST", "/containers/create?name=taken", `{"Image":"busybox"}`, 409, "already in use"},
		{"created", "POST", "/v1.50/containers/create", `{"Image":"busybox"}`, 201, `"Id":"abc"`},
		{"start unknown", "POST", "/containers/nope/start", "", 404, "No such container: nope"},
		{"start started", "POST", "/containers/abc/start", "", 304, ""},
		{"stop", "POST", "/containers/abc/stop?t=1", "", 204, ""},
		{"stop bad t", "POST", "/containers/abc/stop?t=x", "", 400, "invalid value for t"},
		{"kill bad signal", "POST", "/containers/abc/kill?signal=BOGUS", "", 400, "Invalid signal: BOGUS"},
		{"rm running", "DELETE", "/containers/abc", "", 409, "container is running"},
		{"rm force", "DELETE", "/containers/abc?force=1", "", 204, ""},
		{"wait", "POST", "/containers/abc/wait?condition=next-exit", "", 200, `"StatusCode":7`},
		{"inspect unknown", "GET", "/containers/zzz/json", "", 404, "No such container: zzz"},
		{"image with slashes", "GET", "/images/a/b:1/json", "", 200, `"Id":"sha256:x"`},
		{"image unknown", "GET", "/images/c/json", "", 404, "No such image: c"},
		{"bad filters", "GET", "/containers/json?filters=%7Bx", "", 400, "invalid filter"},
		{"import", "POST", "/images/create?fromSrc=-", "tar", 200, `"status":"sha256:`},
		{"pull unsupported", "POST", "/images/create?fromImage=alpine", "", 501, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.body == "" {
				req.Body = http.NoBody
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if rec.Header().Get("Api-Version") != "1.56" {
				t.Fatalf("missing Api-Version header")
			}
			if tt.msg != "" && !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
		})
	}
}

func TestLogsAreStdcopyFramed(t *testing.T) {
	s := newTestServer()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/containers/abc/logs?stdout=1&stderr=1", nil))
	want := "\x01\x00\x00\x00\x00\x00\x00\x03hi\n\x02\x00\x00\x00\x00\x00\x00\x05oops\n"
	if rec.Body.String() != want {
		t.Fatalf("got %q", rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("content type %q", ct)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]int64{"1700000000": 1700000000e9, "1700000000.5": 1700000000e9 + 5e8, "2023-11-14T22:13:20Z": 1700000000e9} {
		got, err := parseTime(in)
		if err != nil || got.UnixNano() != want {
			t.Errorf("%s: %v %v", in, got.UnixNano(), err)
		}
	}
	if _, err := parseTime("yesterday"); !errdefs.IsInvalidParameter(err) {
		t.Errorf("bad time accepted")
	}
}
