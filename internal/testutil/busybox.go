package testutil

import (
	"archive/tar"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// busyboxPath is where Debian's busybox-static installs its binary.
const busyboxPath = "/bin/busybox"

// rootfsTime is every entry's mtime, so the tar (and so the image ID) is
// the same on every run.
var rootfsTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var busyboxOnce = sync.OnceValues(func() (string, error) {
	dir, err := processDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "busybox-rootfs.tar")
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	if err := WriteBusyboxRootfs(f, busyboxPath); err != nil {
		f.Close()
		return "", err
	}
	return out, f.Close()
})

// BusyboxRootfsTar returns a rootfs tar (made once per test process) from
// the host's static busybox: /bin/busybox with a symlink per applet, the
// usual top-level dirs, and users root, nobody and berthuser (1000, also in
// group staff). Import it with `berth import`.
func BusyboxRootfsTar(t testing.TB) string {
	t.Helper()
	path, err := busyboxOnce()
	if err != nil {
		t.Fatalf("busybox rootfs: %v (install Debian's busybox-static)", err)
	}
	return path
}

const etcPasswd = `root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
berthuser:x:1000:1000:berthuser:/home/berthuser:/bin/sh
`

const etcGroup = `root:x:0:
staff:x:50:berthuser
berthuser:x:1000:
nobody:x:65534:
`

// WriteBusyboxRootfs writes the rootfs tar built around the static busybox
// at bin. The output depends only on that binary: entries are sorted and
// carry fixed times and owners.
func WriteBusyboxRootfs(w io.Writer, bin string) error {
	if err := checkStatic(bin); err != nil {
		return err
	}
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", bin, err)
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	type entry struct {
		hdr  tar.Header
		body []byte
	}
	var entries []entry
	dir := func(name string, mode int64, uid int) {
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid}})
	}
	file := func(name string, mode int64, body []byte) {
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, body: body})
	}
	for _, d := range []string{"bin", "dev", "etc", "home", "proc", "sys", "usr", "usr/bin", "var"} {
		dir(d, 0o755, 0)
	}
	dir("root", 0o700, 0)
	dir("tmp", 0o1777, 0)
	dir("home/berthuser", 0o755, 1000)
	file("bin/busybox", 0o755, content)
	file("etc/passwd", 0o644, []byte(etcPasswd))
	file("etc/group", 0o644, []byte(etcGroup))
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].hdr.Name < entries[j].hdr.Name })
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = rootfsTime
		h.Format = tar.FormatUSTAR
		if h.Uid != 0 {
			h.Uname, h.Gname = "berthuser", "berthuser"
		} else {
			h.Uname, h.Gname = "root", "root"
		}
		if err := tw.WriteHeader(&h); err != nil {
			return fmt.Errorf("tar %s: %w", h.Name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return err
		}
	}
	return tw.Close()
}

// checkStatic refuses a dynamically linked busybox: it would not run in a
// rootfs that has no libc.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("%s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; install busybox-static", bin)
		}
	}
	return nil
}
