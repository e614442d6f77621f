package imagearchive

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"

	"berth/internal/errdefs"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func archiveOf(t *testing.T, hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
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
	return buf.Bytes()
}

// Archive names are keys, never paths: ".." and absolute names and
// symlinks pointing anywhere resolve only to files of the archive.
func TestSpoolLookup(t *testing.T) {
	arc := archiveOf(t,
		&tar.Header{Name: "./blobs/sha256/aa", Typeflag: tar.TypeReg, Linkname: "blob"},
		&tar.Header{Name: "layer/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../blobs/sha256/aa"},
		&tar.Header{Name: "abs", Typeflag: tar.TypeSymlink, Linkname: "/blobs/sha256/aa"},
		&tar.Header{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/passwd"},
		&tar.Header{Name: "loop1", Typeflag: tar.TypeSymlink, Linkname: "loop2"},
		&tar.Header{Name: "loop2", Typeflag: tar.TypeSymlink, Linkname: "loop1"},
		&tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "blobs/sha256/aa"},
		&tar.Header{Name: "dir/", Typeflag: tar.TypeDir},
	)
	sp, err := readSpool(context.Background(), bytes.NewReader(arc), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"blobs/sha256/aa": "blob", "/blobs/sha256/aa": "blob", "../blobs/sha256/aa": "blob",
		"layer/layer.tar": "blob", "abs": "blob", "hard": "blob",
		"escape": "", "loop1": "", "etc/passwd": "", "dir": "", "nosuch": "",
	} {
		b, err := sp.read(name)
		if want == "" {
			if !errdefs.IsInvalidParameter(err) {
				t.Errorf("%s: want a missing-file error, got %q %v", name, b, err)
			}
			continue
		}
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
}

func TestSpoolRejectsTruncated(t *testing.T) {
	arc := archiveOf(t, &tar.Header{Name: "f", Typeflag: tar.TypeReg, Linkname: string(make([]byte, 4000))})
	_, err := readSpool(context.Background(), bytes.NewReader(arc[:1500]), t.TempDir())
	if !errdefs.IsInvalidParameter(err) {
		t.Fatalf("truncated archive: %v", err)
	}
}

func TestRefName(t *testing.T) {
	for _, tc := range []struct {
		ann  map[string]string
		want string
	}{
		{map[string]string{annotationName: "docker.io/library/busybox:1", ocispec.AnnotationRefName: "1"}, "busybox:1"},
		{map[string]string{ocispec.AnnotationRefName: "registry.example:5000/team/app:2"}, "registry.example:5000/team/app:2"},
		{map[string]string{ocispec.AnnotationRefName: "latest"}, ""},
		{map[string]string{ocispec.AnnotationRefName: "not a ref"}, ""},
		{nil, ""},
	} {
		got := refName(ocispec.Descriptor{Annotations: tc.ann})
		if (len(got) == 0 && tc.want != "") || (len(got) > 0 && got[0] != tc.want) {
			t.Errorf("%v: %v, want %q", tc.ann, got, tc.want)
		}
	}
}
