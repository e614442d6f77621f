package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

type fakeFS struct {
	fakeContainers
	extracted string
}

func (f *fakeFS) lookup(ref string) error {
	if ref != "box" {
		return errdefs.NotFoundf("No such container: %s", ref)
	}
	return nil
}

func (f *fakeFS) StatPath(_ context.Context, ref, p string) (apicontainer.PathStat, error) {
	if err := f.lookup(ref); err != nil {
		return apicontainer.PathStat{}, err
	}
	if p != "/etc/hostname" {
		return apicontainer.PathStat{}, errdefs.NotFoundf("Could not find the file %s in container %s", p, ref)
	}
	return apicontainer.PathStat{Name: "hostname", Size: 4, Mode: 0o644}, nil
}

func (f *fakeFS) ArchivePath(ctx context.Context, ref, p string) (io.ReadCloser, apicontainer.PathStat, error) {
	st, err := f.StatPath(ctx, ref, p)
	if err != nil {
		return nil, st, err
	}
	return io.NopCloser(strings.NewReader("TAR")), st, nil
}

func (f *fakeFS) ExtractToDir(_ context.Context, ref, p string, _ backend.ExtractOptions, r io.Reader) error {
	if err := f.lookup(ref); err != nil {
		return err
	}
	if p == "/etc/hostname" {
		return errdefs.InvalidParameterf("extraction point is not a directory")
	}
	b, _ := io.ReadAll(r)
	f.extracted = p + ":" + string(b)
	return nil
}

func (f *fakeFS) Changes(_ context.Context, ref string) ([]apicontainer.FilesystemChange, error) {
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return []apicontainer.FilesystemChange{{Path: "/tmp", Kind: apicontainer.ChangeModify}}, nil
}

func (f *fakeFS) Export(_ context.Context, ref string) (io.ReadCloser, error) {
	if err := f.lookup(ref); err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader("EXPORT")), nil
}

func (f *fakeFS) Prune(_ context.Context, filters backend.Filters) (apicontainer.PruneReport, error) {
	if len(filters["bogus"]) > 0 {
		return apicontainer.PruneReport{}, errdefs.InvalidParameterf("invalid filter 'bogus'")
	}
	return apicontainer.PruneReport{}, nil
}

func TestFSRoutes(t *testing.T) {
	f := &fakeFS{}
	s := New(Backends{Containers: f, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"stat", "HEAD", "/v1.50/containers/box/archive?path=/etc/hostname", "", 200, ""},
		{"stat missing", "HEAD", "/containers/box/archive?path=/nope", "", 404, ""},
		{"get", "GET", "/containers/box/archive?path=/etc/hostname", "", 200, "TAR"},
		{"get no path", "GET", "/containers/box/archive", "", 400, "Path cannot be empty"},
		{"get missing", "GET", "/containers/box/archive?path=/nope", "", 404, "Could not find the file /nope in container box"},
		{"get no container", "GET", "/containers/x/archive?path=/", "", 404, "No such container: x"},
		{"put", "PUT", "/containers/box/archive?path=/tmp&noOverwriteDirNonDir=true", "DATA", 200, ""},
		{"put on a file", "PUT", "/containers/box/archive?path=/etc/hostname", "DATA", 400, "extraction point is not a directory"},
		{"put no path", "PUT", "/containers/box/archive", "DATA", 400, "Path cannot be empty"},
		{"changes", "GET", "/containers/box/changes", "", 200, `[{"Kind":0,"Path":"/tmp"}]`},
		{"changes no container", "GET", "/containers/x/changes", "", 404, "No such container: x"},
		{"export", "GET", "/containers/box/export", "", 200, "EXPORT"},
		{"export no container", "GET", "/containers/x/export", "", 404, "No such container: x"},
		{"prune", "POST", "/containers/prune", "", 200, `{"ContainersDeleted":[],"SpaceReclaimed":0}`},
		{"prune bad filter", "POST", `/containers/prune?filters={"bogus":{"x":true}}`, "", 400, "invalid filter 'bogus'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
			if tt.status == 200 && strings.Contains(tt.path, "archive") && tt.method != "PUT" {
				var st apicontainer.PathStat
				b, err := base64.StdEncoding.DecodeString(rec.Header().Get("X-Docker-Container-Path-Stat"))
				if err != nil || json.Unmarshal(b, &st) != nil || st.Name != "hostname" || st.Size != 4 {
					t.Fatalf("stat header %q: %+v %v", rec.Header().Get("X-Docker-Container-Path-Stat"), st, err)
				}
			}
		})
	}
	if f.extracted != "/tmp:DATA" {
		t.Fatalf("extracted %q", f.extracted)
	}
}
