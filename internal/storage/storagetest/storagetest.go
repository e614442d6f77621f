package storagetest

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"berth/internal/errdefs"
	"berth/internal/storage"
)

// File is one tar entry for a test layer. Body "" with Dir makes a
// directory; Link makes a symlink.
type File struct {
	Name, Body, Link string
	Dir              bool
}

// Tar builds an uncompressed layer tar.
func Tar(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: 0o644, ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg, Size: int64(len(f.Body))}
		switch {
		case f.Dir:
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case f.Link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.Link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.Body))
	}
	tw.Close()
	return buf.Bytes()
}

// Run runs the suite. newDriver returns a fresh driver on a fresh home; Run
// closes it.
func Run(t *testing.T, newDriver func(t *testing.T) storage.Driver) {
	if os.Geteuid() != 0 {
		t.Skip("storage drivers need root")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, d storage.Driver)
	}{
		{"LayersAndWhiteouts", testLayers},
		{"WritableLayerPersists", testRW},
		{"Diff", testDiff},
		{"Errors", testErrors},
		{"RemoveWhileMounted", testRemoveMounted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver(t)
			t.Cleanup(func() { d.Close() })
			tt.fn(t, d)
		})
	}
}

// mount mounts layer id at its mount point and unmounts in Cleanup.
func mount(t *testing.T, d storage.Driver, id string) string {
	t.Helper()
	specs, err := d.Mounts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	target := d.MountPoint(id)
	if err := storage.Mount(specs, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storage.Unmount(target) })
	return target
}

func build(t *testing.T, d storage.Driver, id, parent string, files ...File) {
	t.Helper()
	ctx := context.Background()
	if err := d.Create(ctx, id, parent); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ApplyDiff(ctx, id, bytes.NewReader(Tar(t, files...))); err != nil {
		t.Fatal(err)
	}
}

func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.IsDir():
			rel += "/"
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			rel += "=" + string(b)
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			rel += "->" + l
		default:
			rel += "?"
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

func expectTree(t *testing.T, root string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := tree(t, root); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("tree of %s:\n got %q\nwant %q", root, got, want)
	}
}

func testLayers(t *testing.T, d storage.Driver) {
	ctx := context.Background()
	build(t, d, "base", "", File{Name: "etc/", Dir: true}, File{Name: "etc/a", Body: "a"}, File{Name: "etc/b", Body: "b"},
		File{Name: "opq/", Dir: true}, File{Name: "opq/old", Body: "o"}, File{Name: "sh", Link: "busybox"})
	build(t, d, "mid", "base", File{Name: "etc/.wh.a"}, File{Name: "etc/c", Body: "c"},
		File{Name: "opq/.wh..wh..opq"}, File{Name: "opq/new", Body: "n"})
	build(t, d, "top", "mid", File{Name: "etc/b", Body: "B"})
	for _, id := range []string{"base", "mid", "top"} {
		if !d.Exists(id) {
			t.Fatalf("%s does not exist", id)
		}
	}
	// Layers mount read-only with their parents.
	root := mount(t, d, "top")
	expectTree(t, root, "etc/", "etc/b=B", "etc/c=c", "opq/", "opq/new=n", "sh->busybox")
	if err := os.WriteFile(filepath.Join(root, "x"), nil, 0o644); err == nil {
		t.Fatal("a read-only layer accepted a write")
	}
	ids, err := d.Layers(ctx)
	if err != nil || len(ids) != 3 {
		t.Fatalf("Layers = %v, %v", ids, err)
	}
	storage.Unmount(root)
	for _, id := range []string{"top", "mid", "base"} {
		if err := d.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
		if d.Exists(id) {
			t.Fatalf("%s exists after Remove", id)
		}
	}
	if ids, _ := d.Layers(ctx); len(ids) != 0 {
		t.Fatalf("Layers after removal = %v", ids)
	}
}

func testRW(t *testing.T, d storage.Driver) {
	ctx := context.Background()
	build(t, d, "img", "", File{Name: "bin/", Dir: true}, File{Name: "bin/tool", Body: "t"}, File{Name: "del", Body: "d"})
	if err := d.CreateRW(ctx, "ctr", "img"); err != nil {
		t.Fatal(err)
	}
	root := mount(t, d, "ctr")
	if err := os.WriteFile(filepath.Join(root, "new"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "del")); err != nil {
		t.Fatal(err)
	}
	if err := storage.Unmount(root); err != nil {
		t.Fatal(err)
	}
	if m, _ := storage.Mounted(root); m {
		t.Fatal("still mounted")
	}
	root = mount(t, d, "ctr")
	expectTree(t, root, "bin/", "bin/tool=t", "new=hello")
	size, err := d.Size(ctx, "ctr")
	if err != nil || size < 5 {
		t.Fatalf("Size = %d, %v", size, err)
	}
	// The image layer is untouched.
	img := mount(t, d, "img")
	expectTree(t, img, "bin/", "bin/tool=t", "del=d")
	storage.Unmount(img)
	// A writable layer without a parent works too.
	if err := d.CreateRW(ctx, "scratch", ""); err != nil {
		t.Fatal(err)
	}
	s := mount(t, d, "scratch")
	if err := os.WriteFile(filepath.Join(s, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"scratch", "ctr", "img"} {
		if err := d.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

func testDiff(t *testing.T, d storage.Driver) {
	ctx := context.Background()
	build(t, d, "img", "", File{Name: "keep", Body: "k"}, File{Name: "del", Body: "d"}, File{Name: "dir/", Dir: true}, File{Name: "dir/x", Body: "x"})
	if err := d.CreateRW(ctx, "ctr", "img"); err != nil {
		t.Fatal(err)
	}
	root := mount(t, d, "ctr")
	os.WriteFile(filepath.Join(root, "added"), []byte("new"), 0o644)
	os.Remove(filepath.Join(root, "del"))
	os.RemoveAll(filepath.Join(root, "dir"))
	storage.Unmount(root)
	rc, err := d.Diff(ctx, "ctr")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names[strings.TrimSuffix(h.Name, "/")] = true
	}
	for _, want := range []string{"added", ".wh.del", ".wh.dir"} {
		if !names[want] {
			t.Errorf("diff lacks %s: %v", want, names)
		}
	}
	if names["keep"] {
		t.Errorf("diff has unchanged file keep: %v", names)
	}
	// The diff applied on the image gives the container's view.
	build(t, d, "committed", "img")
	if _, err := d.ApplyDiff(ctx, "committed", bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	expectTree(t, mount(t, d, "committed"), "added=new", "keep=k")
}

func testErrors(t *testing.T, d storage.Driver) {
	ctx := context.Background()
	if err := d.Create(ctx, "x", "missing"); !errdefs.IsNotFound(err) {
		t.Fatalf("Create on a missing parent: %v", err)
	}
	if d.Exists("x") {
		t.Fatal("failed Create left a layer")
	}
	for _, bad := range []string{"", "..", "a/b", "../x", ".hidden"} {
		if err := d.Create(ctx, bad, ""); !errdefs.IsInvalidParameter(err) {
			t.Fatalf("Create(%q): %v", bad, err)
		}
	}
	build(t, d, "dup", "")
	if err := d.Create(ctx, "dup", ""); !errdefs.IsConflict(err) {
		t.Fatalf("Create twice: %v", err)
	}
	if _, err := d.Mounts(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Fatalf("Mounts(nope): %v", err)
	}
	if err := d.Remove(ctx, "nope"); err != nil {
		t.Fatalf("Remove(nope): %v", err)
	}
	// A malicious layer does not write outside the layer.
	outside := t.TempDir()
	if err := d.Create(ctx, "evil", ""); err != nil {
		t.Fatal(err)
	}
	_, err := d.ApplyDiff(ctx, "evil", bytes.NewReader(Tar(t, File{Name: "l", Link: outside}, File{Name: "l/pwn", Body: "x"}, File{Name: "../../../pwn2", Body: "x"})))
	if !errdefs.IsInvalidParameter(err) {
		t.Fatalf("malicious tar: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("wrote outside the layer: %v", ents)
	}
	if err := d.Remove(ctx, "evil"); err != nil {
		t.Fatal(err)
	}
}

func testRemoveMounted(t *testing.T, d storage.Driver) {
	ctx := context.Background()
	build(t, d, "img", "", File{Name: "f", Body: "f"})
	if err := d.CreateRW(ctx, "ctr", "img"); err != nil {
		t.Fatal(err)
	}
	target := mount(t, d, "ctr")
	if err := d.Remove(ctx, "ctr"); err != nil {
		t.Fatal(err)
	}
	if m, _ := storage.Mounted(target); m {
		t.Fatal("Remove left the mount")
	}
	if d.Exists("ctr") {
		t.Fatal("ctr exists")
	}
	// The image layer survived (a bind-based driver must not delete
	// through a mount).
	img := mount(t, d, "img")
	expectTree(t, img, "f=f")
}
