package shim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth/internal/runtime"
)

// TestMain plays the roles berth's main dispatches: libcontainer re-executes
// /proc/self/exe as "init", Start spawns it as "shim", and the live-restore
// test spawns it as a short-lived "daemon" that starts a shim and dies.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "init":
			runtime.Init()
		case "shim":
			os.Exit(Main(os.Args[2:]))
		case "test-daemon":
			os.Exit(testDaemon(os.Args[2:]))
		}
	}
	code := m.Run()
	if rootfsDir != "" {
		os.RemoveAll(rootfsDir)
	}
	os.Exit(code)
}

// testDaemon starts a container from a spec file and SIGKILLs itself, like
// a daemon crashing right after `docker run -d`.
func testDaemon(args []string) int {
	var opts Options
	b, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.Unmarshal(b, &opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(c.Pid())
	os.Stdout.Sync()
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	return 0
}

func requiresRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("requires root")
	}
}

func randID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testRootfs builds a minimal busybox rootfs once per test binary.
var rootfsDir string

func busyboxRootfs(t *testing.T) string {
	t.Helper()
	if rootfsDir != "" {
		return rootfsDir
	}
	dir, err := os.MkdirTemp("", "berth-shim-rootfs-")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("busybox-static not installed")
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "echo", "cat", "sleep", "true", "false", "id", "ls", "hostname", "wc", "grep", "tail", "head"} {
		os.Symlink("busybox", filepath.Join(dir, "bin", l))
	}
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	rootfsDir = dir
	return dir
}

type testContainer struct {
	id, stateDir, logPath, parent string
	spec                          *runtime.Config
}

var host = func() runtime.Host {
	h, err := runtime.DetectHost()
	if err != nil {
		panic(err)
	}
	return h
}()

// newContainer prepares a config, a state dir and a unique cgroup parent,
// all removed in t.Cleanup.
func newContainer(t *testing.T, args ...string) (*runtime.Config, Options) {
	t.Helper()
	requiresRoot(t)
	rootfs := busyboxRootfs(t)
	id := "t" + randID()
	parent := "berth-test-" + randID()
	base, err := os.MkdirTemp("/run", "bt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		killShims(base)
		removeCgroupDirs(parent)
		os.RemoveAll(base)
	})
	cfg := &runtime.Config{
		ID:           id,
		Rootfs:       rootfs,
		Args:         args,
		Hostname:     id[:12],
		NetworkMode:  "none",
		CgroupParent: parent,
		User:         runtime.User{Home: "/root"},
		Host:         host,
	}
	opts := Options{
		ID:       id,
		StateDir: filepath.Join(base, id[:8]),
		LogPath:  filepath.Join(base, "json.log"),
	}
	return cfg, opts
}

func startContainer(t *testing.T, cfg *runtime.Config, opts Options) *Client {
	t.Helper()
	spec, err := runtime.Spec(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts.Spec = spec
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wait(t *testing.T, c *Client) Exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// killShims kills any shim whose command line names a dir under base.
func killShims(base string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), base) {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// cgroupDirs lists where parent would live in each hierarchy this process
// belongs to.
func cgroupDirs(parent string) []string {
	b, _ := os.ReadFile("/proc/self/cgroup")
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		mnt := "/sys/fs/cgroup/unified"
		if parts[1] != "" {
			mnt = "/sys/fs/cgroup/" + strings.TrimPrefix(strings.Split(parts[1], ",")[0], "name=")
		}
		out = append(out, filepath.Join(mnt, parts[2], parent))
	}
	return out
}

func removeCgroupDirs(parent string) {
	// A failed test may leave a container running in its (unique) cgroup.
	for _, d := range cgroupDirs(parent) {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(d, e.Name(), "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				var pid int
				fmt.Sscan(f, &pid)
				if pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
	time.Sleep(10 * time.Millisecond)
	for _, d := range cgroupDirs(parent) {
		// Children first; rmdir only succeeds on empty cgroups.
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() {
				syscall.Rmdir(filepath.Join(d, e.Name()))
			}
		}
		syscall.Rmdir(d)
	}
}
