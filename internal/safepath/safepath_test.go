package safepath

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// hostileTree builds root/ with hostile symlinks next to an "outside"
// directory holding a file no operation may reach.
func hostileTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "etc"), filepath.Join(root, "real")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(outside, "secret"), "outside")
	mustWrite(t, filepath.Join(root, "etc", "passwd"), "inside")
	links := map[string]string{
		"toroot":     "/",
		"toparent":   "..",
		"escape":     "../outside",
		"abs-escape": filepath.Join(base, "outside"),
		"chain1":     "chain2",
		"chain2":     "chain3",
		"chain3":     "/etc",
		"dirlink":    "real",
		"loop":       "loop",
		"dangling":   "/nonexistent/x",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"":                 ".",
		"/":                ".",
		"../../etc/passwd": "etc/passwd",
		"/etc/../../x":     "x",
		"a/./b//c/":        "a/b/c",
		"..":               ".",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveStaysInRoot(t *testing.T) {
	root, outside := hostileTree(t)
	tests := []struct {
		unsafe string
		want   string // relative to root; "" means an error is expected
	}{
		{"../../etc/passwd", "etc/passwd"},
		{"/etc/passwd", "etc/passwd"},
		{"toroot/etc/passwd", "etc/passwd"},
		{"toparent/toparent/etc/passwd", "etc/passwd"},
		{"escape", "escape"}, // dangling (../outside is missing inside the root): the link itself
		{"abs-escape/secret", ""},
		{"chain1/passwd", "etc/passwd"},
		{"dirlink/new", "real/new"},
		{"loop/x", ""},
		{"toroot/../../../etc", "etc"},
		{"/proc/self/root/etc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.unsafe, func(t *testing.T) {
			got, err := Join(root, tt.unsafe)
			if tt.want == "" {
				if err == nil && !strings.HasPrefix(got, root+"/") {
					t.Fatalf("Join = %q escapes the root", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			if want := filepath.Join(root, tt.want); got != want {
				t.Fatalf("Join = %q, want %q", got, want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "outside" {
		t.Fatal("outside file changed")
	}
}

func TestCreateNeverEscapes(t *testing.T) {
	root, outside := hostileTree(t)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, p := range []string{
		"../outside/secret", "/outside/secret", "escape/secret", "toroot/outside/secret",
		"toparent/outside/secret", "abs-escape/secret", "dangling",
	} {
		f, err := r.OpenFile(p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
		if err == nil {
			f.WriteString("pwned")
			f.Close()
		}
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "outside" {
		t.Fatalf("outside file was written: %q", b)
	}
	if _, err := os.Stat("/nonexistent/x"); err == nil {
		t.Fatal("dangling symlink was followed out of the root")
	}
	// The dangling absolute link resolves inside the root.
	if _, err := r.MkdirAll("nonexistent", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := r.OpenFile("dangling", unix.O_WRONLY|unix.O_CREAT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Stat(filepath.Join(root, "nonexistent", "x")); err != nil {
		t.Fatalf("create through dangling link did not land in root: %v", err)
	}
}

func TestMkdirAllAndRemoveAll(t *testing.T) {
	root, outside := hostileTree(t)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, err := r.MkdirAll("toroot/a/../b/c", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if fi, err := os.Stat(filepath.Join(root, "b", "c")); err != nil || !fi.IsDir() {
		t.Fatalf("b/c not created in root: %v", err)
	}
	if d, err := r.MkdirAll("escape/sub", 0o755); err == nil {
		d.Close()
	}
	if _, err := os.Stat(filepath.Join(outside, "sub")); err == nil {
		t.Fatal("mkdir escaped via ../outside")
	}
	// Removing a symlink to / removes the link only.
	if err := r.RemoveAll("toroot"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "toroot")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("link not removed")
	}
	if err := r.RemoveAll("abs-escape"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Fatal("outside file removed through a link")
	}
	if err := r.RemoveAll("/"); err == nil {
		t.Fatal("removing the root must be refused")
	}
	if err := r.RemoveAll("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("b not removed")
	}
	if err := r.RemoveAll("missing/thing"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenParentSymlinkedParent(t *testing.T) {
	root, _ := hostileTree(t)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir, base, err := r.OpenParent("chain1/passwd")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	p, _ := fdPath(dir)
	if p != filepath.Join(root, "etc") || base != "passwd" {
		t.Fatalf("OpenParent = %q, %q", p, base)
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "/", "toroot/..", "chain1/x", "escape/../../x", "a/b/../../../c", "\x00"} {
		f.Add(s)
	}
	base := f.TempDir()
	root := filepath.Join(base, "root")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		f.Fatal(err)
	}
	os.Symlink("/", filepath.Join(root, "toroot"))
	os.Symlink("../..", filepath.Join(root, "up"))
	os.Symlink("toroot/etc", filepath.Join(root, "chain1"))
	r, err := OpenRoot(root)
	if err != nil {
		f.Fatal(err)
	}
	defer r.Close()
	f.Fuzz(func(t *testing.T, unsafePath string) {
		got, err := r.Resolve(unsafePath)
		if err != nil {
			return
		}
		if got != root && !strings.HasPrefix(got, root+"/") {
			t.Fatalf("Resolve(%q) = %q escapes %q", unsafePath, got, root)
		}
		c := Clean(unsafePath)
		if strings.HasPrefix(c, "../") || c == ".." || strings.HasPrefix(c, "/") {
			t.Fatalf("Clean(%q) = %q", unsafePath, c)
		}
	})
}
