package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
	"berth/internal/testutil"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"data", true}, {"a1", true}, {"my_vol.v-2", true},
		{"a", false}, {"", false}, {"-x", false}, {"/abs", false}, {"a/b", false}, {"a b", false}, {"..", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateName(%q) = %v", tc.name, err)
			}
			if err != nil && (!errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), "includes invalid characters for a local volume name")) {
				t.Fatalf("wording/class: %v", err)
			}
		})
	}
}

func TestCreateGetRemove(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	v, created, err := s.Create(ctx, CreateOptions{Name: "data", Labels: map[string]string{"k": "v"}})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if v.Mountpoint != volumeDir(root, "data") || v.Driver != "local" || v.Labels["k"] != "v" {
		t.Fatalf("volume %+v", v)
	}
	if _, created, _ := s.Create(ctx, CreateOptions{Name: "data"}); created {
		t.Fatal("second create of the same name made a new volume")
	}
	// Reopen: metadata survives.
	s2, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s2.Get("data")
	if err != nil || v2.Labels["k"] != "v" || !v2.CreatedAt.Equal(v.CreatedAt) {
		t.Fatalf("reloaded %+v %v", v2, err)
	}
	if err := s.Acquire("data", "c1"); err != nil {
		t.Fatal(err)
	}
	err = s.Remove(ctx, "data", true)
	if !errdefs.IsConflict(err) || err.Error() != "remove data: volume is in use - [c1]" {
		t.Fatalf("remove in use: %v", err)
	}
	s.Release("data", "c1")
	if err := s.Remove(ctx, "data", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "data")); !os.IsNotExist(err) {
		t.Fatalf("volume dir left: %v", err)
	}
	if err := s.Remove(ctx, "data", false); !errdefs.IsNotFound(err) {
		t.Fatalf("remove missing: %v", err)
	}
	if err := s.Remove(ctx, "data", true); err != nil {
		t.Fatalf("force remove missing: %v", err)
	}
}

func TestCreateRejects(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		opts  CreateOptions
		check func(error) bool
	}{
		{"bad name", CreateOptions{Name: "a/b"}, errdefs.IsInvalidParameter},
		{"driver", CreateOptions{Name: "x1", Driver: "nfs"}, errdefs.IsNotFound},
		{"unknown opt", CreateOptions{Name: "x1", DriverOpts: map[string]string{"foo": "1"}}, errdefs.IsInvalidParameter},
		{"type without device", CreateOptions{Name: "x1", DriverOpts: map[string]string{"type": "tmpfs"}}, errdefs.IsInvalidParameter},
		{"o without type", CreateOptions{Name: "x1", DriverOpts: map[string]string{"device": "tmpfs", "o": "size=1m"}}, errdefs.IsInvalidParameter},
		{"size", CreateOptions{Name: "x1", DriverOpts: map[string]string{"size": "1m"}}, errdefs.IsInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := s.Create(context.Background(), tc.opts); !tc.check(err) {
				t.Fatalf("err %v", err)
			}
		})
	}
	if len(s.List()) != 0 {
		t.Fatal("rejected create left a volume")
	}
}

func TestAnonymous(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Create(context.Background(), CreateOptions{Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Name) != 64 || !v.Anonymous() {
		t.Fatalf("anonymous volume %+v", v)
	}
	// An API create without a name gets a generated name but is no
	// anonymous volume (Docker's rule: prune keeps it without --all).
	v, _, err = s.Create(context.Background(), CreateOptions{})
	if err != nil || len(v.Name) != 64 || v.Anonymous() {
		t.Fatalf("unnamed volume %+v %v", v, err)
	}
}

func TestCopyUp(t *testing.T) {
	ctx := context.Background()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o750)
	os.WriteFile(filepath.Join(src, "sub", "f"), []byte("hi"), 0o640)
	os.Symlink("/etc/passwd", filepath.Join(src, "link"))
	v, _, _ := s.Create(ctx, CreateOptions{Name: "cu"})
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.CopyUp(ctx, "cu", f); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(v.Mountpoint, "sub", "f")); err != nil || string(b) != "hi" {
		t.Fatalf("copied file %q %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(v.Mountpoint, "sub", "f")); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if l, err := os.Readlink(filepath.Join(v.Mountpoint, "link")); err != nil || l != "/etc/passwd" {
		t.Fatalf("symlink %q %v", l, err)
	}
	// A volume that has content is not copied into again.
	os.WriteFile(filepath.Join(src, "new"), nil, 0o644)
	if err := s.CopyUp(ctx, "cu", f); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "new")); !os.IsNotExist(err) {
		t.Fatal("copy-up into a non-empty volume")
	}
}

func TestDeviceVolumeMount(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Create(ctx, CreateOptions{Name: "tm", DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,nodev"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unmountData(v.Mountpoint) })
	for _, id := range []string{"c1", "c2"} {
		if _, err := s.Mount(v.Name, id); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := mountinfo.Mounted(v.Mountpoint); !m {
		t.Fatal("device volume not mounted")
	}
	if err := s.Unmount(v.Name, "c1"); err != nil {
		t.Fatal(err)
	}
	if m, _ := mountinfo.Mounted(v.Mountpoint); !m {
		t.Fatal("unmounted while c2 still uses it")
	}
	if err := s.Unmount(v.Name, "c2"); err != nil {
		t.Fatal(err)
	}
	if m, _ := mountinfo.Mounted(v.Mountpoint); m {
		t.Fatal("still mounted after the last user")
	}
	// A device left mounted comes off before removal deletes anything.
	if _, err := s.Mount(v.Name, "c3"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(v.Mountpoint, "f"), nil, 0o644)
	s.active = map[string]map[string]bool{}
	if err := s.Remove(ctx, v.Name, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(v.Mountpoint)); !os.IsNotExist(err) {
		t.Fatalf("volume dir left: %v", err)
	}
}

func TestMountFlags(t *testing.T) {
	for _, tc := range []struct {
		in    string
		flags uintptr
		data  string
	}{
		{"", 0, ""},
		{"size=1m,uid=1000", 0, "size=1m,uid=1000"},
		{"bind,ro", unix.MS_BIND | unix.MS_RDONLY, ""},
		{"addr=1.2.3.4,rw,noexec", unix.MS_NOEXEC, "addr=1.2.3.4"},
	} {
		f, d := mountFlags(tc.in)
		if f != tc.flags || d != tc.data {
			t.Errorf("mountFlags(%q) = %#x %q", tc.in, f, d)
		}
	}
}
