package integration

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"berth/internal/testutil"
)

// tarEnt is one entry of a layer tar a test makes.
type tarEnt struct {
	name, body, link string
	typ              byte
	mode             int64
	major, minor     int64
}

func mkLayer(t *testing.T, ents ...tarEnt) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Linkname: e.link, Size: int64(len(e.body)),
			ModTime: time.Unix(1700000000, 0), Devmajor: e.major, Devminor: e.minor}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// testImage is an image a test writes into an archive by hand.
type testImage struct {
	tags    []string
	layers  [][]byte
	history []string // created_by of each layer
	labels  map[string]string
}

func (img testImage) config(t *testing.T) []byte {
	var diffIDs []string
	var hist []map[string]any
	created := time.Unix(1700000000, 0).UTC()
	for i, l := range img.layers {
		diffIDs = append(diffIDs, "sha256:"+sha(l))
		by := fmt.Sprintf("layer %d", i)
		if i < len(img.history) {
			by = img.history[i]
		}
		hist = append(hist, map[string]any{"created": created.Format(time.RFC3339), "created_by": by})
	}
	cfg := map[string]any{
		"architecture": runtime.GOARCH, "os": "linux", "created": created.Format(time.RFC3339),
		"config":  map[string]any{"Cmd": []string{"sh"}, "Labels": img.labels},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history": hist,
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mkLegacyArchive writes images in the layout Docker before 25 (and
// skopeo's docker-archive:) use: <hex>.json configs and <dir>/layer.tar.
// mutate may change manifest.json before it is written.
// tarFile is an extra file for an archive.
type tarFile struct {
	name string
	data []byte
}

func mkLegacyArchive(t *testing.T, imgs []testImage, mutate func(manifest []map[string]any), extra ...tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	put := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	var manifest []map[string]any
	seen := map[string]bool{}
	for _, img := range imgs {
		cfg := img.config(t)
		cfgName := sha(cfg) + ".json"
		put(cfgName, cfg)
		var layers []string
		for _, l := range img.layers {
			name := sha(l) + "/layer.tar"
			if !seen[name] {
				put(name, l)
				seen[name] = true
			}
			layers = append(layers, name)
		}
		manifest = append(manifest, map[string]any{"Config": cfgName, "RepoTags": img.tags, "Layers": layers})
	}
	if mutate != nil {
		mutate(manifest)
	}
	for _, f := range extra {
		put(f.name, f.data)
	}
	mj, _ := json.Marshal(manifest)
	put("manifest.json", mj)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readArchive maps each regular file of a tar to its contents.
func readArchive(t *testing.T, path string) (map[string][]byte, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	var order []string
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		order = append(order, hdr.Name)
		if hdr.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[hdr.Name] = b
		}
	}
	return files, order
}

func busyboxLayer(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.BusyboxRootfsTar(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
