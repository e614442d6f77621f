package shim

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/internal/runtime"
)

// BenchmarkRunTrue measures the hot path the daemon takes for
// `run --rm busybox true`: spec, start, wait.
func BenchmarkRunTrue(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("requires root")
	}
	cfg, opts := benchContainer(b)
	for i := 0; b.Loop(); i++ {
		cfg.ID = "b" + strconv.Itoa(i)
		opts.ID = cfg.ID
		spec, err := runtime.Spec(*cfg)
		if err != nil {
			b.Fatal(err)
		}
		opts.Spec = spec
		c, err := Start(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if e, err := c.Wait(context.Background()); err != nil || e.Code != 0 {
			b.Fatal(e, err)
		}
	}
}

func benchContainer(b *testing.B) (*runtime.Config, Options) {
	dir, err := os.MkdirTemp("", "berth-shim-rootfs-")
	if err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	bb, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755)
	os.Symlink("busybox", filepath.Join(dir, "bin/true"))
	os.Symlink("busybox", filepath.Join(dir, "bin/sleep"))
	for _, d := range []string{"proc", "sys", "dev", "etc"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	base, _ := os.MkdirTemp("/run", "bt")
	parent := "berth-test-" + randID()
	b.Cleanup(func() {
		killShims(base)
		removeCgroupDirs(parent)
		os.RemoveAll(base)
		os.RemoveAll(dir)
	})
	cfg := &runtime.Config{Rootfs: dir, Args: []string{"true"}, Hostname: "bench", CgroupParent: parent, Host: host}
	return cfg, Options{StateDir: filepath.Join(base, "s"), LogPath: filepath.Join(base, "log")}
}

// TestShimRSS reports the resident memory of a shim whose container runs.
func TestShimRSS(t *testing.T) {
	cfg, opts := newContainer(t, "sleep", "100")
	c := startContainer(t, cfg, opts)
	time.Sleep(200 * time.Millisecond)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), opts.StateDir) {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		sr, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "smaps_rollup"))
		for _, l := range strings.Split(string(st)+string(sr), "\n") {
			if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "RssAnon") || strings.HasPrefix(l, "RssFile") || strings.HasPrefix(l, "Pss:") || strings.HasPrefix(l, "Private_") {
				t.Logf("shim %s", l)
			}
		}
	}
	c.Signal(context.Background(), 9)
	wait(t, c)
}
