package api

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	apibuild "github.com/moby/moby/api/types/build"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
	"berth/internal/errdefs"
)

// fakeBuilds fails before any output for "early", mid-stream for "late".
type fakeBuilds struct{ got backend.BuildOptions }

func (f *fakeBuilds) Build(_ context.Context, r io.Reader, opts backend.BuildOptions, out backend.BuildOutput) (digest.Digest, error) {
	f.got = opts
	body, _ := io.ReadAll(r)
	switch string(body) {
	case "early":
		return "", errdefs.InvalidParameterf("Cannot locate specified Dockerfile: Dockerfile")
	case "late":
		fmt.Fprintf(out, "Step 1/1 : RUN false\n")
		return "", errdefs.InvalidParameterf("The command '/bin/sh -c false' returned a non-zero code: 1")
	}
	fmt.Fprintf(out, "Step 1/1 : FROM busybox\n")
	id := digest.FromString("x")
	out.Aux(id.String())
	return id, nil
}

func (f *fakeBuilds) Prune(context.Context, bool) (*apibuild.CachePruneReport, error) {
	return &apibuild.CachePruneReport{CachesDeleted: []string{"a"}, SpaceReclaimed: 3}, nil
}

func TestBuildRoute(t *testing.T) {
	f := &fakeBuilds{}
	s := New(Backends{Containers: &fakeContainers{}, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}, Builds: f},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, path, body string
		status           int
		want             []string
	}{
		{name: "stream", path: "/v1.50/build?t=a&t=b:1&buildargs=%7B%22V%22%3A%222%22%7D&labels=%7B%22k%22%3A%22v%22%7D", body: "ok", status: 200,
			want: []string{`{"stream":"Step 1/1 : FROM busybox\n"}`, `{"aux":{"ID":"sha256:`}},
		{name: "quiet prints only the ID", path: "/build?q=1", body: "ok", status: 200, want: []string{`{"stream":"sha256:`}},
		{name: "error before output", path: "/build", body: "early", status: 400, want: []string{`{"message":"Cannot locate specified Dockerfile: Dockerfile"}`}},
		{name: "error mid-stream", path: "/build", body: "late", status: 200,
			want: []string{`"errorDetail":{"message":"The command '/bin/sh -c false' returned a non-zero code: 1"}`}},
		{name: "quiet failure shows the output", path: "/build?q=1", body: "late", status: 200, want: []string{`Step 1/1 : RUN false`, `errorDetail`}},
		{name: "bad buildargs", path: "/build?buildargs=%7B", status: 400, want: []string{"invalid buildargs"}},
		{name: "bad shmsize", path: "/build?shmsize=x", status: 400, want: []string{"invalid shmsize"}},
		{name: "prune", path: "/build/prune", status: 200, want: []string{`"CachesDeleted":["a"]`, `"SpaceReclaimed":3`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			for _, w := range tt.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Fatalf("body %q lacks %q", rec.Body, w)
				}
			}
			if tt.name == "stream" && (len(f.got.Tags) != 2 || *f.got.BuildArgs["V"] != "2" || f.got.Labels["k"] != "v" || !f.got.Remove) {
				t.Fatalf("options %+v", f.got)
			}
			if tt.name == "quiet prints only the ID" && strings.Contains(rec.Body.String(), "Step") {
				t.Fatalf("quiet build streamed its steps: %s", rec.Body)
			}
		})
	}
}
