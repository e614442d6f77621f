package testutil

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	seen := map[string]bool{}
	for range 100 {
		n := UniqueName(t, "web")
		if !valid.MatchString(n) || !strings.HasPrefix(n, "web-") || seen[n] {
			t.Fatalf("bad or repeated name %q", n)
		}
		seen[n] = true
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
}

func TestBusyboxRootfs(t *testing.T) {
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Skip("busybox-static not installed")
	}
	var a, b bytes.Buffer
	if err := WriteBusyboxRootfs(&a, busyboxPath); err != nil {
		t.Fatal(err)
	}
	if err := WriteBusyboxRootfs(&b, busyboxPath); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(a.Bytes()) != sha256.Sum256(b.Bytes()) {
		t.Fatal("rootfs tar is not deterministic")
	}
	got := map[string]*tar.Header{}
	bodies := map[string]string{}
	var names []string
	tr := tar.NewReader(&a)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(rootfsTime) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
		body, _ := io.ReadAll(tr)
		got[h.Name], bodies[h.Name] = h, string(body)
		names = append(names, h.Name)
	}
	if !slices.IsSorted(names) {
		t.Error("entries not sorted")
	}
	tests := []struct {
		name string
		typ  byte
		mode int64
		link string
	}{
		{"bin/busybox", tar.TypeReg, 0o755, ""},
		{"bin/sh", tar.TypeSymlink, 0o777, "busybox"},
		{"bin/cat", tar.TypeSymlink, 0o777, "busybox"},
		{"tmp/", tar.TypeDir, 0o1777, ""},
		{"root/", tar.TypeDir, 0o700, ""},
		{"usr/bin/", tar.TypeDir, 0o755, ""},
		{"proc/", tar.TypeDir, 0o755, ""},
		{"etc/passwd", tar.TypeReg, 0o644, ""},
		{"etc/group", tar.TypeReg, 0o644, ""},
	}
	for _, tc := range tests {
		h := got[tc.name]
		if h == nil {
			t.Errorf("%s missing", tc.name)
			continue
		}
		if h.Typeflag != tc.typ || h.Mode != tc.mode || h.Linkname != tc.link {
			t.Errorf("%s: type %c mode %o link %q", tc.name, h.Typeflag, h.Mode, h.Linkname)
		}
	}
	if h := got["home/berthuser/"]; h == nil || h.Uid != 1000 {
		t.Error("home/berthuser missing or not owned by 1000")
	}
	if !strings.Contains(bodies["etc/passwd"], "berthuser:x:1000:1000:berthuser:/home/berthuser:") ||
		!strings.Contains(bodies["etc/group"], "staff:x:50:berthuser") {
		t.Errorf("passwd/group:\n%s\n%s", bodies["etc/passwd"], bodies["etc/group"])
	}
	// The cached file is the same tar.
	cached, err := os.ReadFile(BusyboxRootfsTar(t))
	if err != nil || !bytes.Equal(cached, b.Bytes()) {
		t.Fatalf("cached tar differs (%v)", err)
	}
}

func TestCheckStaticRefusesDynamic(t *testing.T) {
	if err := checkStatic("/bin/ls"); err == nil {
		t.Fatal("want an error for a dynamically linked binary")
	}
}

// ownCgroup is this process's cgroup path in a v1 hierarchy.
func ownCgroup(t *testing.T, controller string) string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && slices.Contains(strings.Split(parts[1], ","), controller) {
			return filepath.Join(cgroupRoot, controller, parts[2])
		}
	}
	t.Skipf("no %s cgroup v1 hierarchy", controller)
	return ""
}

// TestCleanupPieces drives the cleanup helpers over a scratch cgroup tree,
// a process naming a scratch dir in argv, and scratch mounts.
func TestCleanupPieces(t *testing.T) {
	RequiresRoot(t)
	name := "berth-testutil-" + randomHex(t, 4)
	var top []string
	for _, ctrl := range []string{"pids", "memory"} {
		dir := filepath.Join(ownCgroup(t, ctrl), name)
		if err := os.MkdirAll(filepath.Join(dir, "child", "grandchild"), 0o755); err != nil {
			t.Skipf("cannot create cgroups: %v", err)
		}
		top = append(top, dir)
	}
	t.Cleanup(func() {
		if err := removeCgroups(name, 5*time.Second); err != nil {
			t.Errorf("scratch cgroups left: %v", err)
		}
	})

	// A process in the scratch cgroup.
	inCgroup := exec.Command("sleep", "1000")
	if err := inCgroup.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { inCgroup.Wait(); close(reaped) }()
	// Reaped before the cgroups go: a zombie still counts as a member.
	t.Cleanup(func() {
		inCgroup.Process.Kill()
		select {
		case <-reaped:
		case <-time.After(5 * time.Second):
		}
	})
	for _, dir := range top {
		if err := os.WriteFile(filepath.Join(dir, "child", "grandchild", "cgroup.procs"), []byte(strconv.Itoa(inCgroup.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A process naming a scratch dir in argv, as a shim names its state dir.
	scratch := t.TempDir()
	byArg := exec.Command("sleep", "1000")
	byArg.Args[0] = filepath.Join(scratch, "containers", "x", "shim")
	if err := byArg.Start(); err != nil {
		t.Fatal(err)
	}
	go byArg.Wait()
	t.Cleanup(func() { byArg.Process.Kill() })
	// Stacked and nested mounts under the scratch dir.
	for _, p := range []string{scratch, filepath.Join(scratch, "a"), filepath.Join(scratch, "a", "b")} {
		os.MkdirAll(p, 0o755)
		if err := unix.Mount("tmpfs", p, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(p, "a", "b"), 0o755)
	}
	t.Cleanup(func() { unmountUnder(scratch) })

	if got := findCgroupDirs(name); len(got) != 2 {
		t.Fatalf("findCgroupDirs: %v", got)
	}
	if got := cgroupPids(name); !slices.Contains(got, inCgroup.Process.Pid) {
		t.Fatalf("cgroupPids %v lacks %d", got, inCgroup.Process.Pid)
	}
	if got := pidsWithArg(scratch); !slices.Equal(got, []int{byArg.Process.Pid}) {
		t.Fatalf("pidsWithArg %v, want [%d]", got, byArg.Process.Pid)
	}
	if left := killAll(func() []int { return pidsWithArg(scratch) }, "", 5*time.Second); len(left) > 0 {
		t.Fatalf("left %v", left)
	}
	if left := killAll(func() []int { return cgroupPids(name) }, name, 5*time.Second); len(left) > 0 {
		t.Fatalf("left %v", left)
	}
	for _, c := range []*exec.Cmd{inCgroup, byArg} {
		if err := unix.Kill(c.Process.Pid, 0); err == nil {
			// Killed but maybe not yet reaped by its Wait goroutine.
			time.Sleep(50 * time.Millisecond)
		}
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(c.Process.Pid) + "/stat"); err == nil && !strings.Contains(string(st), ") Z") {
			t.Errorf("pid %d still alive", c.Process.Pid)
		}
	}
	if err := unmountUnder(scratch); err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(scratch, &st); err != nil || st.Type == unix.TMPFS_MAGIC {
		t.Fatalf("scratch still on tmpfs (%v)", err)
	}
	if err := removeCgroups(name, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := findCgroupDirs(name); len(got) != 0 {
		t.Fatalf("cgroups left: %v", got)
	}
}
