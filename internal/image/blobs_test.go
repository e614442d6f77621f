package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"berth/internal/errdefs"

	"github.com/klauspost/pgzip"
	"github.com/opencontainers/go-digest"
)

// TestLayerBlobsKeptExactly: a layer's bytes are kept as they came (a
// gzip blob by its own digest; a plain tar compressed once, the same way
// every time), and collected with the last image using them.
func TestLayerBlobsKeptExactly(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dataRoot := t.TempDir()
	cleanupMounts(t, dataRoot)
	s := openStore(t, dataRoot, "vfs")
	defer s.Close()
	plain := busyboxTar(t)
	var gz bytes.Buffer
	zw := pgzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()

	for _, tt := range []struct {
		name     string
		in       []byte
		wantType string
	}{{"gzip", gz.Bytes(), MediaTypeLayerGzip}, {"plain", plain, MediaTypeLayerGzip}} {
		t.Run(tt.name, func(t *testing.T) {
			img, err := s.Import(ctx, bytes.NewReader(tt.in), ImportOptions{Ref: "blob-" + tt.name})
			if err != nil {
				t.Fatal(err)
			}
			diffID := img.Config.RootFS.DiffIDs[0]
			info, err := s.LayerBlob(ctx, diffID)
			if err != nil {
				t.Fatal(err)
			}
			if info.MediaType != tt.wantType || info.DiffID != diffID {
				t.Fatalf("info = %+v", info)
			}
			if tt.name == "gzip" && info.Digest != digest.FromBytes(gz.Bytes()) {
				t.Fatalf("gzip blob not kept as given: %s", info.Digest)
			}
			again, err := s.LayerBlob(ctx, diffID)
			if err != nil || again != info {
				t.Fatalf("second LayerBlob = %+v %v, want %+v", again, err, info)
			}
			rc, err := s.OpenBlob(ctx, info.Digest)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			zr, err := pgzip.NewReader(io.TeeReader(rc, h))
			if err != nil {
				t.Fatal(err)
			}
			tarSum := sha256.New()
			io.Copy(tarSum, zr)
			io.Copy(io.Discard, rc)
			rc.Close()
			if digest.NewDigest(digest.SHA256, tarSum) != diffID {
				t.Fatal("blob does not decompress to the diff ID")
			}
			if _, err := s.Delete(ctx, img.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LayerBlob(ctx, diffID); !errdefs.IsNotFound(err) {
				t.Fatalf("blob kept after its last image: %v", err)
			}
			ents, _ := os.ReadDir(filepath.Join(dataRoot, "image", "blobs", "sha256"))
			if len(ents) != 0 {
				t.Fatalf("%d blobs left", len(ents))
			}
		})
	}
}
