package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
)

// fakeExecs adds the exec routes to the container fake: container "abc"
// runs, "off" does not; exec "e1" exists and writes "hi" to stdout.
type fakeExecs struct{ fakeContainers }

func (f *fakeExecs) ExecCreate(_ context.Context, ref string, req apicontainer.ExecCreateRequest) (string, error) {
	switch {
	case len(req.Cmd) == 0:
		return "", errdefs.InvalidParameterf("No exec command specified")
	case ref == "off":
		return "", errdefs.Conflictf("container off is not running")
	case ref != "abc":
		return "", errdefs.NotFoundf("No such container: %s", ref)
	}
	return "e1", nil
}

func (f *fakeExecs) ExecStart(_ context.Context, id string, detach bool, ready func() error, _ io.Reader, stdout, _ io.Writer) error {
	if id != "e1" {
		return errdefs.NotFoundf("No such exec instance: %s", id)
	}
	if detach {
		return nil
	}
	if err := ready(); err != nil {
		return err
	}
	_, err := stdout.Write([]byte("hi"))
	return err
}

func (f *fakeExecs) ExecInspect(_ context.Context, id string) (*apicontainer.ExecInspectResponse, error) {
	if id != "e1" {
		return nil, errdefs.NotFoundf("No such exec instance: %s", id)
	}
	return &apicontainer.ExecInspectResponse{ID: id, Running: true}, nil
}

func (f *fakeExecs) ExecResize(_ context.Context, id string, _, _ uint) error {
	if id != "e1" {
		return errdefs.NotFoundf("No such exec instance: %s", id)
	}
	return nil
}

func TestExecRoutes(t *testing.T) {
	s := New(Backends{Containers: &fakeExecs{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"create", "POST", "/containers/abc/exec", `{"Cmd":["true"],"AttachStdout":true}`, 201, `{"Id":"e1"}`},
		{"create bad json", "POST", "/containers/abc/exec", `{"Cmd":`, 400, "invalid JSON"},
		{"create empty body", "POST", "/containers/abc/exec", "", 400, "request body is empty"},
		{"create no cmd", "POST", "/containers/abc/exec", `{}`, 400, "No exec command specified"},
		{"create tty", "POST", "/containers/abc/exec", `{"Cmd":["sh"],"Tty":true}`, 201, `{"Id":"e1"}`},
		{"create stopped", "POST", "/containers/off/exec", `{"Cmd":["true"]}`, 409, "container off is not running"},
		{"create unknown", "POST", "/containers/zzz/exec", `{"Cmd":["true"]}`, 404, "No such container: zzz"},
		{"start detached", "POST", "/exec/e1/start", `{"Detach":true}`, 200, ""},
		{"start unknown", "POST", "/exec/nope/start", `{}`, 404, "No such exec instance: nope"},
		{"start bad json", "POST", "/exec/e1/start", `[`, 400, "invalid JSON"},
		{"inspect", "GET", "/exec/e1/json", "", 200, `"Running":true`},
		{"inspect unknown", "GET", "/exec/nope/json", "", 404, "No such exec instance: nope"},
		{"resize", "POST", "/exec/e1/resize?h=10&w=20", "", 200, ""},
		{"resize bad h", "POST", "/exec/e1/resize?h=x&w=20", "", 400, "invalid value for h"},
		{"resize negative", "POST", "/exec/e1/resize?h=-1&w=20", "", 400, "invalid terminal size"},
		{"resize unknown", "POST", "/exec/nope/resize?h=1&w=1", "", 404, "No such exec instance"},
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
			if tt.msg != "" && !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
		})
	}
}

// TestExecStartStream drives the hijacked start over a real connection:
// stdcopy frames without a tty, raw bytes with one.
func TestExecStartStream(t *testing.T) {
	for _, tt := range []struct {
		body, contentType, want string
	}{
		{`{}`, "application/vnd.docker.multiplexed-stream", "\x01\x00\x00\x00\x00\x00\x00\x02hi"},
		{`{"Tty":true}`, "application/vnd.docker.raw-stream", "hi"},
	} {
		t.Run(tt.body, func(t *testing.T) { execStartStream(t, tt.body, tt.contentType, tt.want) })
	}
}

func execStartStream(t *testing.T, startBody, contentType, want string) {
	s := New(Backends{Containers: &fakeExecs{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	req, err := http.NewRequest("POST", srv.URL+"/exec/e1/start", strings.NewReader(startBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != contentType {
		t.Fatalf("content type %q", ct)
	}
	body, _ := io.ReadAll(resp.Body.(io.Reader))
	if string(body) != want {
		t.Fatalf("got %q", body)
	}
}
