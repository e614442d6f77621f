package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"

	"berth/internal/safepath"
)

// gnuTar is a tar in GNU format with a long name, as GNU tar writes, padded
// to a 10240-byte record.
func gnuTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	long := strings.Repeat("d", 120) + "/f"
	for _, h := range []*tar.Header{
		{Name: strings.Repeat("d", 120) + "/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatGNU},
		{Name: long, Typeflag: tar.TypeReg, Mode: 0o644, Size: 3, Format: tar.FormatGNU},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("abc"))
		}
	}
	tw.Close()
	b := buf.Bytes()
	return append(b, make([]byte, 10240-len(b)%10240)...)
}

func TestSplitRoundTrip(t *testing.T) {
	requireRoot(t)
	tests := map[string][]byte{
		"pax": mkTar(t,
			ent{name: "etc/", typ: tar.TypeDir, mode: 0o755},
			ent{name: "etc/passwd", body: "root:x:0:0::/root:/bin/sh\n", xattrs: map[string]string{"user.k": "v"}},
			ent{name: "empty", body: ""},
			ent{name: "hl", typ: tar.TypeLink, link: "etc/passwd"},
			ent{name: "sl", typ: tar.TypeSymlink, link: "etc/passwd"},
			ent{name: "big", body: strings.Repeat("0123456789", 10000)},
			ent{name: ".wh.gone"},
			ent{name: "etc/.wh..wh..opq"},
		),
		"gnu with record padding": gnuTar(t),
		"file through in-layer symlink": mkTar(t,
			ent{name: "real/", typ: tar.TypeDir, mode: 0o755},
			ent{name: "link", typ: tar.TypeSymlink, link: "real"},
			ent{name: "link/f", body: "via symlink"},
		),
	}
	for name, orig := range tests {
		for _, wf := range []WhiteoutFormat{WhiteoutOverlay, WhiteoutDirect} {
			t.Run(name, func(t *testing.T) {
				root := t.TempDir()
				var split bytes.Buffer
				rec := NewSplitRecorder(&split)
				if _, err := Apply(context.Background(), root, io.TeeReader(bytes.NewReader(orig), rec), ApplyOptions{Whiteouts: wf}); err != nil {
					t.Fatal(err)
				}
				if err := rec.Close(); err != nil {
					t.Fatal(err)
				}
				s, err := ReadSplit(&split)
				if err != nil {
					t.Fatal(err)
				}
				if s.Size() != int64(len(orig)) {
					t.Fatalf("size %d, want %d", s.Size(), len(orig))
				}
				sr, err := safepath.OpenRoot(root)
				if err != nil {
					t.Fatal(err)
				}
				defer sr.Close()
				var out bytes.Buffer
				err = s.Reassemble(context.Background(), &out, func(n string) (io.ReadCloser, error) { return sr.Open(n) })
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out.Bytes(), orig) {
					t.Fatalf("reassembled tar differs (%d vs %d bytes)", out.Len(), len(orig))
				}
			})
		}
	}
}

// TestSplitOfSystemTar splits what GNU tar itself writes, when present.
func TestSplitOfSystemTar(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	out, err := exec.Command("tar", "-C", "/usr/share/doc", "-cf", "-", "--no-recursion", ".").Output()
	if err != nil {
		t.Skip(err)
	}
	var split bytes.Buffer
	rec := NewSplitRecorder(&split)
	rec.Write(out)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSplit(&split)
	if err != nil || s.Size() != int64(len(out)) {
		t.Fatalf("split of GNU tar output: %v size %d want %d", err, s.Size(), len(out))
	}
}

// A malformed stream fails the split but never blocks its writer.
func TestSplitMalformedDrains(t *testing.T) {
	var split bytes.Buffer
	rec := NewSplitRecorder(&split)
	if _, err := rec.Write(bytes.Repeat([]byte("garbage!"), 100000)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err == nil {
		t.Fatal("split of garbage succeeded")
	}
}
