package api

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/system"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// fakeArchive knows one image, "a/b:1".
type fakeArchive struct{}

func (fakeArchive) Save(_ context.Context, names []string, w io.Writer) error {
	for _, n := range names {
		if n != "a/b:1" {
			return errdefs.NotFoundf("No such image: %s", n)
		}
	}
	_, err := w.Write([]byte("TAR"))
	return err
}

func (fakeArchive) Load(_ context.Context, r io.Reader, quiet bool, out func(jsonstream.Message)) error {
	b, _ := io.ReadAll(r)
	if string(b) != "good" {
		return errdefs.InvalidParameterf("invalid image archive: it has neither manifest.json nor index.json")
	}
	out(jsonstream.Message{Stream: "Loaded image: a/b:1\n"})
	return nil
}

func (fakeArchive) History(_ context.Context, ref string) ([]apiimage.HistoryResponseItem, error) {
	if ref != "a/b:1" {
		return nil, errdefs.NotFoundf("No such image: %s", ref)
	}
	return []apiimage.HistoryResponseItem{{ID: "sha256:x", CreatedBy: "sh"}}, nil
}

func (fakeArchive) Parent(context.Context, string) (string, error) { return "sha256:p", nil }

func (fakeArchive) Prune(_ context.Context, f backend.Filters) (apiimage.PruneReport, error) {
	if len(f["bogus"]) > 0 {
		return apiimage.PruneReport{}, errdefs.InvalidParameterf("invalid filter 'bogus'")
	}
	return apiimage.PruneReport{SpaceReclaimed: 7}, nil
}

type fakeDF struct{}

func (fakeDF) Usage(_ context.Context, kinds map[system.DiskUsageObject]bool, verbose bool) (*system.DiskUsage, error) {
	u := &apiimage.DiskUsage{TotalSize: 42}
	if verbose {
		u.Items = []apiimage.Summary{{ID: "sha256:x"}}
	}
	return &system.DiskUsage{ImageUsage: u}, nil
}

func TestImageArchiveRoutes(t *testing.T) {
	s := New(Backends{Containers: &fakeContainers{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{},
		ImageArchive: fakeArchive{}, DiskUsage: fakeDF{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"save", "GET", "/images/get?names=a/b:1", "", 200, "TAR"},
		{"save by path", "GET", "/v1.50/images/a/b:1/get", "", 200, "TAR"},
		{"save missing", "GET", "/images/get?names=a/b:1&names=nope", "", 404, "No such image: nope"},
		{"load", "POST", "/images/load?quiet=1", "good", 200, `{"stream":"Loaded image: a/b:1\n"}`},
		{"load bad archive in stream", "POST", "/images/load", "bad", 200, `"errorDetail":{"message":"invalid image archive`},
		{"prune", "POST", "/images/prune", "", 200, `"SpaceReclaimed":7`},
		{"prune bad filter", "POST", "/images/prune?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D", "", 400, "invalid filter 'bogus'"},
		{"prune malformed filter", "POST", "/images/prune?filters=%7B", "", 400, "invalid filter"},
		{"df", "GET", "/system/df", "", 200, `"ImageUsage":{"TotalSize":42}`},
		{"df verbose", "GET", "/system/df?verbose=1", "", 200, `"ImageUsage":{`},
		{"df legacy", "GET", "/v1.50/system/df", "", 200, `"LayersSize":42,"Images":[{`},
		{"df bad type", "GET", "/system/df?type=bogus", "", 400, "unknown object type: bogus"},
		{"inspect legacy has Parent", "GET", "/v1.43/images/a/b:1/json", "", 200, `"Parent":"sha256:p"`},
		{"inspect legacy VirtualSize", "GET", "/v1.43/images/a/b:1/json", "", 200, `"VirtualSize":0`},
		{"inspect current", "GET", "/images/a/b:1/json", "", 200, `{"Id":"sha256:x"`},
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
