package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"berth/internal/testutil"
)

type tarEntry struct {
	hdr  tar.Header
	body string
}

func corpusImage(t *testing.T, entries []tarEntry) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, e.body)
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestRegistryMaliciousLayersWriteNothingOutside: pulled layers with "..",
// absolute names, symlinked and hardlinked escapes never touch files
// outside the layer, whether the pull is refused or the entry neutralised.
func TestRegistryMaliciousLayersWriteNothingOutside(t *testing.T) {
	testutil.RequiresRoot(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := "../../../../../../../../../../.." + outside
	reg := startFaultyRegistry(t)
	d := testutil.StartDaemon(t)
	cases := map[string][]tarEntry{
		"dotdot":   {{hdr: tar.Header{Name: rel + "/pwned", Typeflag: tar.TypeReg}, body: "x"}},
		"absolute": {{hdr: tar.Header{Name: outside + "/pwned", Typeflag: tar.TypeReg}, body: "x"}},
		"symlink-dir": {
			{hdr: tar.Header{Name: "ln", Typeflag: tar.TypeSymlink, Linkname: outside, Mode: 0o777}},
			{hdr: tar.Header{Name: "ln/pwned", Typeflag: tar.TypeReg}, body: "x"},
		},
		"symlink-relative": {
			{hdr: tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: rel, Mode: 0o777}},
			{hdr: tar.Header{Name: "up/pwned", Typeflag: tar.TypeReg}, body: "x"},
		},
		"symlink-file-overwrite": {
			{hdr: tar.Header{Name: "s", Typeflag: tar.TypeSymlink, Linkname: secret, Mode: 0o777}},
			{hdr: tar.Header{Name: "s", Typeflag: tar.TypeReg}, body: "pwned"},
		},
		"hardlink-absolute": {
			{hdr: tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: secret}},
			{hdr: tar.Header{Name: "hl", Typeflag: tar.TypeReg}, body: "pwned"},
		},
		"hardlink-dotdot": {
			{hdr: tar.Header{Name: "hl2", Typeflag: tar.TypeLink, Linkname: rel + "/secret"}},
		},
	}
	b := clis(t, d)[0]
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			ref := reg.host + "/corpus/" + name + ":1"
			reg.push(t, ref, corpusImage(t, entries))
			d.Berth(t, "pull", ref) // refused or neutralised: both are fine
			if b, err := os.ReadFile(secret); err != nil || string(b) != "orig" {
				t.Fatalf("outside file changed: %q %v", b, err)
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 {
				t.Fatalf("files appeared outside the layer: %v", ents)
			}
			if _, _, code := d.Berth(t, "version"); code != 0 {
				t.Fatal("daemon gone")
			}
			d.Berth(t, "rmi", ref)
		})
	}
	// The daemon still pulls healthy images afterwards.
	ok := reg.host + "/corpus/fine:1"
	reg.push(t, ok, corpusImage(t, []tarEntry{{hdr: tar.Header{Name: "hello", Typeflag: tar.TypeReg}, body: "hi"}}))
	must(t, b, "pull", ok)
}
