package integration

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/testutil"
)

func requireSkopeo(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo not installed (scripts/packages.sh installs it)")
	}
}

func skopeo(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("skopeo", append([]string{"--insecure-policy"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// tarDir writes dir as a tar, names relative to dir.
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(tw, src)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestSkopeoInterop: an archive berth saves is read by skopeo
// (docker-archive:), turned into an OCI layout and a skopeo-written
// docker-archive, and both load back into berth with the layers byte for byte.
func TestSkopeoInterop(t *testing.T) {
	testutil.RequiresRoot(t)
	requireSkopeo(t)
	d := testutil.StartDaemon(t)
	src := writeTemp(t, "src.tar", mkLegacyArchive(t, []testImage{deletionImage(t, "skop:1")}, nil))
	if _, stderr, code := d.Berth(t, "load", "-i", src); code != 0 {
		t.Fatal(stderr)
	}
	id, _, _ := d.Berth(t, "image", "inspect", "-f", "{{.Id}}", "skop:1")
	id = strings.TrimSpace(id)
	layers, _, _ := d.Berth(t, "image", "inspect", "-f", "{{json .RootFS.Layers}}", "skop:1")
	tmp := t.TempDir()
	saved := filepath.Join(tmp, "saved.tar")
	if _, stderr, code := d.Berth(t, "save", "-o", saved, "skop:1"); code != 0 {
		t.Fatal(stderr)
	}
	// berth's archive as skopeo reads it, into an OCI layout and back
	// into a skopeo-written docker archive.
	ociDir := filepath.Join(tmp, "oci")
	skopeo(t, "copy", "docker-archive:"+saved, "oci:"+ociDir+":docker.io/library/skop-oci:1")
	ociTar := filepath.Join(tmp, "oci.tar")
	tarDir(t, ociDir, ociTar)
	skopArchive := filepath.Join(tmp, "skopeo.tar")
	skopeo(t, "copy", "oci:"+ociDir+":docker.io/library/skop-oci:1", "docker-archive:"+skopArchive+":skop-arc:1")

	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			must(t, c, "rmi", "skop:1")
			if got := must(t, c, "load", "-i", ociTar); got != "Loaded image: skop-oci:1" {
				t.Fatalf("OCI layout load printed %q", got)
			}
			// skopeo re-encodes the config (so the ID changes); the layers
			// it copied from berth's archive must be the same bytes.
			if got := must(t, c, "image", "inspect", "-f", "{{json .RootFS.Layers}}", "skop-oci:1"); got != strings.TrimSpace(layers) {
				t.Fatalf("OCI layout load: layers %s, want %s", got, layers)
			}
			checkDeletions(t, c, "skop-oci:1")
			must(t, c, "rmi", "skop-oci:1")
			if got := must(t, c, "load", "-i", skopArchive); got != "Loaded image: skop-arc:1" {
				t.Fatalf("skopeo docker-archive load printed %q", got)
			}
			if got := must(t, c, "image", "inspect", "-f", "{{json .RootFS.Layers}}", "skop-arc:1"); got != strings.TrimSpace(layers) {
				t.Fatalf("skopeo archive load: layers %s, want %s", got, layers)
			}
			checkDeletions(t, c, "skop-arc:1")
			must(t, c, "rmi", "skop-arc:1")
			if got := must(t, c, "load", "-i", saved); got != "Loaded image: skop:1" {
				t.Fatalf("reload printed %q", got)
			}
		})
	}
}
