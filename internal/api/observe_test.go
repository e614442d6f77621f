package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/errdefs"
)

// fakeObserve adds pause, top and stats to the container fake; container
// "abc" runs, "paused" is paused.
type fakeObserve struct {
	fakeContainers
	stream, oneShot bool
}

func (f *fakeObserve) Pause(_ context.Context, ref string) error {
	if ref == "paused" {
		return errdefs.Conflictf("Container %s is already paused", ref)
	}
	return lookup(ref)
}

func (f *fakeObserve) Unpause(_ context.Context, ref string) error {
	if ref == "paused" {
		return nil
	}
	if err := lookup(ref); err != nil {
		return err
	}
	return errdefs.Conflictf("Container %s is not paused", ref)
}

func (f *fakeObserve) Top(_ context.Context, ref, psArgs string) (*apicontainer.TopResponse, error) {
	if err := lookup(ref); err != nil {
		return nil, err
	}
	return &apicontainer.TopResponse{Titles: []string{"PID", "CMD"}, Processes: [][]string{{"1", psArgs}}}, nil
}

func (f *fakeObserve) Stats(_ context.Context, ref string, stream, oneShot bool, emit func(*apicontainer.StatsResponse) error) error {
	if err := lookup(ref); err != nil {
		return err
	}
	f.stream, f.oneShot = stream, oneShot
	n := 1
	if stream {
		n = 3
	}
	for i := 0; i < n; i++ {
		if err := emit(&apicontainer.StatsResponse{ID: ref, PidsStats: apicontainer.PidsStats{Current: uint64(i + 1)}}); err != nil {
			return err
		}
	}
	return nil
}

func TestObserveRoutes(t *testing.T) {
	f := &fakeObserve{}
	s := New(Backends{Containers: f, Images: fakeImages{}, System: fakeSystem{}, Events: fakeEvents{}},
		Versions{Max: "1.56", Min: "1.24", Server: "Berth/test (linux)"})
	tests := []struct {
		name, method, path string
		status             int
		msg                string
		docs               int // JSON documents in a stats body
		stream, oneShot    bool
	}{
		{name: "pause", method: "POST", path: "/v1.50/containers/abc/pause", status: 204},
		{name: "pause twice", method: "POST", path: "/containers/paused/pause", status: 409, msg: "Container paused is already paused"},
		{name: "pause unknown", method: "POST", path: "/containers/x/pause", status: 404, msg: "No such container: x"},
		{name: "unpause", method: "POST", path: "/containers/paused/unpause", status: 204},
		{name: "unpause running", method: "POST", path: "/containers/abc/unpause", status: 409, msg: "Container abc is not paused"},
		{name: "top", method: "GET", path: "/containers/abc/top?ps_args=aux", status: 200, msg: `{"Processes":[["1","aux"]],"Titles":["PID","CMD"]}`},
		{name: "top unknown", method: "GET", path: "/containers/x/top", status: 404},
		{name: "stats streams by default", method: "GET", path: "/containers/abc/stats", status: 200, docs: 3, stream: true},
		{name: "stats once", method: "GET", path: "/containers/abc/stats?stream=false", status: 200, docs: 1},
		{name: "stats one-shot", method: "GET", path: "/containers/abc/stats?stream=0&one-shot=1", status: 200, docs: 1, oneShot: true},
		{name: "stats stream and one-shot", method: "GET", path: "/containers/abc/stats?stream=1&one-shot=1", status: 400, msg: "cannot have stream=true and one-shot=true"},
		{name: "stats unknown", method: "GET", path: "/containers/x/stats?stream=0", status: 404, msg: "No such container: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*f = fakeObserve{}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, http.NoBody))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.msg != "" && !strings.Contains(rec.Body.String(), tt.msg) {
				t.Fatalf("body %q lacks %q", rec.Body, tt.msg)
			}
			if tt.docs == 0 {
				return
			}
			dec := json.NewDecoder(rec.Body)
			n := 0
			for dec.More() {
				var st apicontainer.StatsResponse
				if err := dec.Decode(&st); err != nil || st.ID != "abc" {
					t.Fatalf("document %d: %+v, %v", n, st, err)
				}
				n++
			}
			if n != tt.docs || f.stream != tt.stream || f.oneShot != tt.oneShot {
				t.Fatalf("%d documents, stream %v one-shot %v", n, f.stream, f.oneShot)
			}
		})
	}
}
