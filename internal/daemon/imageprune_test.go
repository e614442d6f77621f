package daemon

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/internal/backend"
	"berth/internal/container"
	"berth/internal/daemon/events"
	"berth/internal/image"
)

func TestParseUntilForImages(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"1h":                   now.Add(-time.Hour),
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 5e8),
		"2025-01-02T03:04:05Z": time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	} {
		got, err := parseUntil(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := parseUntil("yesterday", now); err == nil {
		t.Error("nonsense parsed")
	}
}

func tinyTar(t *testing.T, name string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	return buf.Bytes()
}

// An untagged image that is the parent of another is an intermediate:
// hidden from images without -a and kept by a dangling prune.
func TestImageListAndPruneIntermediates(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := image.New(ctx, dir, "vfs")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, _, err := container.NewStore(filepath.Join(dir, "containers"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Images{store: st, containers: cs, events: events.New()}
	mk := func(name, ref string) *image.Image {
		img, err := st.Import(ctx, bytes.NewReader(tinyTar(t, name)), image.ImportOptions{Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		return img
	}
	parent := mk("p", "")
	child := mk("c", "child:1")
	leaf := mk("l", "")
	if err := st.SetParent(ctx, child.ID, parent.ID); err != nil {
		t.Fatal(err)
	}
	ids := func(all bool, f backend.Filters) string {
		list, err := s.List(ctx, all, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, i := range list {
			switch i.ID {
			case parent.ID.String():
				out = append(out, "parent")
			case child.ID.String():
				out = append(out, "child")
			case leaf.ID.String():
				out = append(out, "leaf")
			}
		}
		return strings.Join(out, ",")
	}
	if got := ids(false, nil); got != "leaf,child" {
		t.Fatalf("images: %s", got)
	}
	if got := ids(true, nil); got != "leaf,child,parent" {
		t.Fatalf("images -a: %s", got)
	}
	if got := ids(true, backend.Filters{"before": {"child:1": true}}); got != "parent" {
		t.Fatalf("before=child:1: %s", got)
	}
	if got := ids(true, backend.Filters{"since": {"child:1": true}}); got != "leaf" {
		t.Fatalf("since=child:1: %s", got)
	}
	if _, err := s.List(ctx, true, backend.Filters{"before": {"nosuch:1": true}}); err == nil {
		t.Fatal("before= a missing image listed")
	}
	rep, err := s.Prune(ctx, backend.Filters{"dangling": {"true": true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ImagesDeleted) == 0 || rep.ImagesDeleted[0].Deleted != leaf.ID.String() || rep.SpaceReclaimed != 1 {
		t.Fatalf("dangling prune: %+v", rep)
	}
	if got := ids(true, nil); got != "child,parent" {
		t.Fatalf("after prune: %s", got)
	}
	if _, err := s.Prune(ctx, backend.Filters{"until": {"bogus": true}}); err == nil {
		t.Fatal("until=bogus accepted")
	}
}
