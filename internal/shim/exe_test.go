package shim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/exeseal"
)

// TestShimRunsFromSealedCopy checks the CVE-2019-5736 guard that makes
// starts cheap: the shim's binary is a sealed memfd (so libcontainer skips
// its per-start copy), and the descriptor it was executed through does not
// stay open in the shim.
func TestShimRunsFromSealedCopy(t *testing.T) {
	cfg, opts := newContainer(t, "sleep", "100")
	c := startContainer(t, cfg, opts)
	defer func() {
		c.Signal(context.Background(), 9)
		wait(t, c)
	}()
	pid := shimPid(t, opts.StateDir)
	exe, err := os.Open(filepath.Join("/proc", pid, "exe"))
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	if !exeseal.IsCloned(exe) {
		t.Error("shim does not run from a sealed copy of the binary")
	}
	fds, err := os.ReadDir(filepath.Join("/proc", pid, "fd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, _ := os.Readlink(filepath.Join("/proc", pid, "fd", fd.Name()))
		if strings.HasPrefix(target, "/memfd:") {
			t.Errorf("shim keeps fd %s open on %s", fd.Name(), target)
		}
	}
}

func shimPid(t *testing.T, stateDir string) string {
	t.Helper()
	// Retried: right after the start the shim execs its C monitor, and its
	// cmdline reads empty while the exec replaces its memory.
	for try := 0; try < 50; try++ {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && strings.Contains(string(b), "\x00shim\x00") && strings.Contains(string(b), stateDir) {
				return e.Name()
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("shim process not found")
	return ""
}
