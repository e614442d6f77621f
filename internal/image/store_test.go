package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/internal/errdefs"

	"github.com/opencontainers/go-digest"
)

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root")
	}
}

// busyboxTar is a rootfs tar of the host's static busybox with a symlink
// per applet and an /etc/passwd.
func busyboxTar(t *testing.T) []byte {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("busybox-static not installed")
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	add := func(h *tar.Header, body []byte) {
		h.ModTime = mt
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	add(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			add(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
	add(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(passwd))}, passwd)
	add(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil)
	tw.Close()
	return buf.Bytes()
}

func drivers(t *testing.T, fn func(t *testing.T, driver string)) {
	for _, d := range []string{"overlay2", "vfs"} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

func openStore(t *testing.T, dataRoot, driver string) *Store {
	t.Helper()
	s, err := New(context.Background(), dataRoot, driver)
	if err != nil {
		t.Fatal(err)
	}
	if driver != "" && s.DriverName() != driver {
		t.Fatalf("driver = %s, want %s", s.DriverName(), driver)
	}
	return s
}

// cleanupMounts unmounts whatever the test left under dataRoot.
func cleanupMounts(t *testing.T, dataRoot string) {
	t.Cleanup(func() {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], dataRoot) {
				exec.Command("umount", "-l", f[4]).Run()
			}
		}
	})
}

func TestImportGetTagDelete(t *testing.T) {
	requireRoot(t)
	drivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dataRoot := t.TempDir()
		cleanupMounts(t, dataRoot)
		s := openStore(t, dataRoot, driver)
		defer s.Close()
		tarball := busyboxTar(t)
		start := time.Now()
		img, err := s.Import(ctx, bytes.NewReader(tarball), ImportOptions{
			Ref:     "busybox",
			Changes: []string{`CMD ["sh"]`, "ENV PATH=/bin"},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("import of %d bytes took %v", len(tarball), time.Since(start))
		if img.ID != digest.FromBytes(mustConfig(t, s, img.ID)) {
			t.Fatal("ID is not the config digest")
		}
		if len(img.RepoTags) != 1 || img.RepoTags[0] != "busybox:latest" {
			t.Fatalf("RepoTags = %v", img.RepoTags)
		}
		if img.Size < 500000 || img.Config.Config.Cmd[0] != "sh" || img.Config.History[0].Comment != "Imported from -" {
			t.Fatalf("image = %+v", img)
		}
		for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox",
			img.ID.String(), img.ID.Encoded(), img.ID.Encoded()[:12], img.ID.Encoded()[:1]} {
			got, err := s.Get(ctx, ref)
			if err != nil || got.ID != img.ID {
				t.Fatalf("Get(%q) = %v, %v", ref, got, err)
			}
		}
		for ref, wantClass := range map[string]func(error) bool{
			"nosuch":                            errdefs.IsNotFound,
			"busybox:other":                     errdefs.IsNotFound,
			"sha256:" + strings.Repeat("0", 64): errdefs.IsNotFound,
			"Busybox":                           errdefs.IsInvalidParameter,
			"a b":                               errdefs.IsInvalidParameter,
		} {
			if _, err := s.Get(ctx, ref); !wantClass(err) {
				t.Errorf("Get(%q) = %v", ref, err)
			}
		}
		if _, err := s.Get(ctx, "nosuch"); err.Error() != "No such image: nosuch:latest" {
			t.Errorf("message = %q", err)
		}
		if _, err := s.Get(ctx, "Busybox"); err.Error() != "invalid reference format: repository name (library/Busybox) must be lowercase" {
			t.Errorf("message = %q", err)
		}

		// Tags move; untag returns the familiar form.
		if err := s.Tag(ctx, img.ID, "127.0.0.1:5000/a/b:1"); err != nil {
			t.Fatal(err)
		}
		if refs := s.References(img.ID); strings.Join(refs, ",") != "127.0.0.1:5000/a/b:1,busybox:latest" {
			t.Fatalf("References = %v", refs)
		}
		img2, err := s.Import(ctx, bytes.NewReader(tarball), ImportOptions{Ref: "busybox:latest", Comment: "second"})
		if err != nil {
			t.Fatal(err)
		}
		if refs := s.References(img.ID); len(refs) != 1 {
			t.Fatalf("tag did not move: %v", refs)
		}
		// Same content, one layer.
		if img2.Config.RootFS.DiffIDs[0] != img.Config.RootFS.DiffIDs[0] || len(s.layers) != 1 {
			t.Fatalf("layer not shared: %d layers", len(s.layers))
		}
		if name, err := s.Untag(ctx, "127.0.0.1:5000/a/b:1"); err != nil || name != "127.0.0.1:5000/a/b:1" {
			t.Fatalf("Untag = %q, %v", name, err)
		}
		if _, err := s.Untag(ctx, "127.0.0.1:5000/a/b:1"); !errdefs.IsNotFound(err) {
			t.Fatalf("Untag twice = %v", err)
		}
		if n := len(s.List(ctx)); n != 2 {
			t.Fatalf("List = %d images", n)
		}
		deleted, err := s.Delete(ctx, img.ID)
		if err != nil || len(deleted) != 0 {
			t.Fatalf("Delete shared = %v, %v", deleted, err)
		}
		deleted, err = s.Delete(ctx, img2.ID)
		if err != nil || len(deleted) != 1 {
			t.Fatalf("Delete last = %v, %v", deleted, err)
		}
		if _, err := s.Get(ctx, "busybox"); !errdefs.IsNotFound(err) {
			t.Fatalf("Get after delete = %v", err)
		}
		if ids, _ := s.driver.Layers(ctx); len(ids) != 0 {
			t.Fatalf("driver layers left: %v", ids)
		}
	})
}

func mustConfig(t *testing.T, s *Store, id digest.Digest) []byte {
	b, err := os.ReadFile(s.configPath(id))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContainerLayerAndPersistence(t *testing.T) {
	requireRoot(t)
	drivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dataRoot := t.TempDir()
		cleanupMounts(t, dataRoot)
		s := openStore(t, dataRoot, driver)
		img, err := s.Import(ctx, bytes.NewReader(busyboxTar(t)), ImportOptions{Ref: "busybox"})
		if err != nil {
			t.Fatal(err)
		}
		const cid = "c0ffee0000000000000000000000000000000000000000000000000000000001"
		if err := s.CreateRW(ctx, cid, img.ID); err != nil {
			t.Fatal(err)
		}
		root, err := s.Mount(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.Mount(ctx, cid); err != nil || again != root {
			t.Fatalf("second Mount = %q, %v", again, err)
		}
		if _, err := os.Stat(filepath.Join(root, "bin/sh")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "tmp/hello"), []byte("world"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.Unmount(ctx, cid); err != nil {
			t.Fatal(err)
		}
		if err := s.Unmount(ctx, cid); err != nil {
			t.Fatalf("Unmount twice: %v", err)
		}
		if size, err := s.RWSize(ctx, cid); err != nil || size < 5 {
			t.Fatalf("RWSize = %d, %v", size, err)
		}
		// Reopen: everything is still there, and a still-mounted rootfs is
		// found again.
		if _, err := s.Mount(ctx, cid); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = openStore(t, dataRoot, "")
		if s.DriverName() != driver {
			t.Fatalf("reopened with %s", s.DriverName())
		}
		got, err := s.Get(ctx, "busybox")
		if err != nil || got.ID != img.ID || got.Size != img.Size {
			t.Fatalf("Get after reopen = %+v, %v", got, err)
		}
		root2, err := s.Mount(ctx, cid)
		if err != nil || root2 != root {
			t.Fatalf("Mount after reopen = %q, %v", root2, err)
		}
		if b, err := os.ReadFile(filepath.Join(root2, "tmp/hello")); err != nil || string(b) != "world" {
			t.Fatalf("tmp/hello = %q, %v", b, err)
		}
		// The image layer is kept while the container uses it.
		if _, err := s.Delete(ctx, img.ID); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(root2, "etc/passwd")); err != nil || len(b) == 0 {
			t.Fatalf("image files gone under a container: %v", err)
		}
		if err := s.RemoveRW(ctx, cid); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveRW(ctx, cid); err != nil {
			t.Fatalf("RemoveRW twice: %v", err)
		}
		s.Close()
		// The image's layer, now unused, is collected on open.
		s = openStore(t, dataRoot, driver)
		defer s.Close()
		if ids, _ := s.driver.Layers(ctx); len(ids) != 0 {
			t.Fatalf("driver layers left: %v", ids)
		}
	})
}

func TestMaliciousImport(t *testing.T) {
	requireRoot(t)
	drivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		base := t.TempDir()
		dataRoot := filepath.Join(base, "data")
		victim := filepath.Join(base, "victim")
		os.Mkdir(victim, 0o755)
		s := openStore(t, dataRoot, driver)
		defer s.Close()
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: victim})
		tw.WriteHeader(&tar.Header{Name: "escape/pwned", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
		tw.Write([]byte("x"))
		tw.WriteHeader(&tar.Header{Name: "../../../../pwned", Typeflag: tar.TypeReg, Mode: 0o644})
		tw.Close()
		_, err := s.Import(ctx, &buf, ImportOptions{Ref: "evil"})
		if !errdefs.IsInvalidParameter(err) {
			t.Fatalf("Import = %v, want InvalidParameter", err)
		}
		if ents, _ := os.ReadDir(victim); len(ents) != 0 {
			t.Fatalf("written outside the root: %v", ents)
		}
		if ids, _ := s.driver.Layers(ctx); len(ids) != 0 {
			t.Fatalf("failed import left layers: %v", ids)
		}
		if len(s.List(ctx)) != 0 {
			t.Fatal("failed import left an image")
		}
	})
}

func TestCrashLeftovers(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dataRoot := t.TempDir()
	s := openStore(t, dataRoot, "vfs")
	img, err := s.Import(ctx, bytes.NewReader(busyboxTar(t)), ImportOptions{Ref: "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Half-written temp files, a driver layer without a record, a record
	// pointing at nothing, a config whose name is not its digest.
	os.WriteFile(filepath.Join(dataRoot, "image/configs/sha256/.tmp-abc-123"), []byte("{"), 0o600)
	os.WriteFile(filepath.Join(dataRoot, "image/configs/sha256", strings.Repeat("1", 64)), []byte("{}"), 0o600)
	os.WriteFile(filepath.Join(dataRoot, "image/layers/sha256", strings.Repeat("2", 64)+".json"), []byte(`{"chain_id":"sha256:`+strings.Repeat("2", 64)+`","cache_id":"gone"}`), 0o600)
	os.MkdirAll(filepath.Join(dataRoot, "storage/vfs/deadbeef/fs"), 0o755)
	s = openStore(t, dataRoot, "")
	defer s.Close()
	if got, err := s.Get(ctx, "busybox"); err != nil || got.ID != img.ID {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if len(s.List(ctx)) != 1 || len(s.layers) != 1 {
		t.Fatalf("images %d layers %d", len(s.List(ctx)), len(s.layers))
	}
	if _, err := os.Stat(filepath.Join(dataRoot, "storage/vfs/deadbeef")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("orphan driver layer kept")
	}
	if _, err := os.Stat(filepath.Join(dataRoot, "image/configs/sha256/.tmp-abc-123")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temp file kept")
	}
}
