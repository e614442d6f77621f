package image

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
)

func TestFilterTar(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, name := range []string{"etc/hosts", "./etc/hostname", "etc/hosts.d/x", "data.txt", "/etc/resolv.conf"} {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
		tw.Write([]byte("x"))
	}
	tw.Close()
	var out bytes.Buffer
	skip := map[string]bool{"etc/hosts": true, "etc/hostname": true, "etc/resolv.conf": true}
	if err := filterTar(&in, &out, skip); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name)
	}
	want := []string{"etc/", "etc/hosts.d/x", "data.txt"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
