package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/opencontainers/go-digest"
)

func layerOf(t *testing.T, hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		body := []byte(h.Linkname)
		if h.Typeflag == tar.TypeReg {
			h.Size, h.Linkname = int64(len(body)), ""
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	// Trailing zeros as GNU tar pads: part of the diff ID too.
	return append(buf.Bytes(), make([]byte, 4096)...)
}

func tarEntries(t *testing.T, r io.Reader) map[string]byte {
	out := map[string]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h.Typeflag
	}
}

// A layer comes back byte for byte from its split; without one it comes
// from the driver, with the stored whiteouts (overlay devices and opaque
// xattrs, or the vfs copy's deletions) as OCI .wh. entries again.
func TestLayerTarRoundTrip(t *testing.T) {
	requireRoot(t)
	base := layerOf(t,
		&tar.Header{Name: "gone", Typeflag: tar.TypeReg, Linkname: "bye"},
		&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "dir/old", Typeflag: tar.TypeReg, Linkname: "old"})
	top := layerOf(t,
		&tar.Header{Name: ".wh.gone", Typeflag: tar.TypeReg},
		&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "dir/.wh..wh..opq", Typeflag: tar.TypeReg},
		&tar.Header{Name: "dir/new", Typeflag: tar.TypeReg, Linkname: "new"})
	for _, driver := range []string{"overlay2", "vfs"} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, t.TempDir(), driver)
			l1, rel1, err := s.RegisterLayer(ctx, "", bytes.NewReader(base))
			if err != nil {
				t.Fatal(err)
			}
			defer rel1()
			l2, rel2, err := s.RegisterLayer(ctx, l1.ChainID, bytes.NewReader(top))
			if err != nil {
				t.Fatal(err)
			}
			defer rel2()
			if l2.DiffID != digest.FromBytes(top) {
				t.Fatalf("diff ID %s is not the tar's digest", l2.DiffID)
			}
			rc, size, err := s.LayerTar(ctx, l2.ChainID)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if size != int64(len(top)) || !bytes.Equal(got, top) {
				t.Fatalf("layer tar not byte-exact: %d bytes (size %d), want %d", len(got), size, len(top))
			}
			// Without the split: the driver's own tar.
			if err := os.Remove(s.splitPath(l2.ChainID)); err != nil {
				t.Fatal(err)
			}
			rc, size, err = s.LayerTar(ctx, l2.ChainID)
			if err != nil || size != -1 {
				t.Fatalf("fallback: size %d, %v", size, err)
			}
			ents := tarEntries(t, rc)
			rc.Close()
			want := []string{".wh.gone", "dir/.wh..wh..opq", "dir/new"}
			if driver == "vfs" {
				// A copy compared with its parent: the opaque directory
				// shows as the deletion of what it hid.
				want[1] = "dir/.wh.old"
			}
			for _, want := range want {
				if _, ok := ents[want]; !ok {
					t.Fatalf("driver tar lacks %s: %v", want, ents)
				}
			}
		})
	}
}

func TestDiscardLayersKeepsUsed(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, t.TempDir(), "vfs")
	l, rel, err := s.RegisterLayer(ctx, "", bytes.NewReader(layerOf(t, &tar.Header{Name: "a", Typeflag: tar.TypeReg, Linkname: "a"})))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DiscardLayers(ctx, []digest.Digest{l.ChainID}); err != nil || !s.HasLayer(l.ChainID) {
		t.Fatalf("a held layer was discarded: %v", err)
	}
	rel()
	if err := s.DiscardLayers(ctx, []digest.Digest{l.ChainID}); err != nil || s.HasLayer(l.ChainID) {
		t.Fatalf("an unused layer stayed: %v", err)
	}
	if _, err := os.Stat(s.splitPath(l.ChainID)); !os.IsNotExist(err) {
		t.Fatalf("split left behind: %v", err)
	}
}
