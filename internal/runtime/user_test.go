package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"berth/internal/errdefs"
)

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nnogroup:x:65534:\napp:x:1000:\nwheel:x:10:app\n"), 0o644)

	tests := []struct {
		spec string
		want User
	}{
		{"", User{Home: "/root"}},
		{"root", User{Home: "/root"}},
		{"nobody", User{UID: 65534, GID: 65534, Home: "/nonexistent"}},
		{"app", User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}, Home: "/home/app"}},
		{"1000", User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}, Home: "/home/app"}},
		{"4242", User{UID: 4242, GID: 0, Home: "/"}},
		{"4242:4343", User{UID: 4242, GID: 4343, Home: "/"}},
		{"app:wheel", User{UID: 1000, GID: 10, Home: "/home/app"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			u, err := ResolveUser(root, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if u.UID != tt.want.UID || u.GID != tt.want.GID || u.Home != tt.want.Home || !slices.Equal(u.AdditionalGids, tt.want.AdditionalGids) {
				t.Errorf("got %+v, want %+v", u, tt.want)
			}
		})
	}

	_, err := ResolveUser(root, "ghost")
	if !errdefs.IsInvalidParameter(err) || err.Error() != "unable to find user ghost: no matching entries in passwd file" {
		t.Errorf("unknown user: %v", err)
	}
}

func TestResolveUserStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "passwd"), []byte("evil:x:0:0::/evil:/bin/sh\n"), 0o644)
	root := t.TempDir()
	// An absolute symlink must resolve inside the rootfs, where it is missing.
	if err := os.Symlink(outside, filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	_, err := ResolveUser(root, "evil")
	if err == nil || !strings.Contains(err.Error(), "unable to find user evil") {
		t.Errorf("escaped rootfs: %v", err)
	}
	// No files at all: numeric users still work.
	u, err := ResolveUser(t.TempDir(), "12:34")
	if err != nil || u.UID != 12 || u.GID != 34 {
		t.Errorf("got %+v, %v", u, err)
	}
}
