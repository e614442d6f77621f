package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// processDir is this test process's scratch dir for things built once per
// process (the berth binary, the busybox tar). Dirs left by dead test
// processes are removed when the next one creates its own.
var processDir = sync.OnceValues(func() (string, error) {
	const prefix = "berth-testutil-"
	base := os.TempDir()
	if ents, err := os.ReadDir(base); err == nil {
		for _, e := range ents {
			pid, ok := strings.CutPrefix(e.Name(), prefix)
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(pid); err == nil && !processAlive(n) {
				os.RemoveAll(filepath.Join(base, e.Name()))
			}
		}
	}
	dir := filepath.Join(base, prefix+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
})

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

var buildOnce = sync.OnceValues(buildBerth)

// BerthBinary returns the path of ./cmd/berth built once per test process
// from the module root, with the seccomp tag when libseccomp is installed.
func BerthBinary(t testing.TB) string {
	t.Helper()
	path, err := buildOnce()
	if err != nil {
		t.Fatalf("building berth: %v", err)
	}
	return path
}

func buildBerth() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := processDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "berth")
	args := []string{"build", "-o", out}
	tags := "osusergo,netgo"
	if exec.Command("pkg-config", "--exists", "libseccomp").Run() == nil {
		tags += ",seccomp"
	}
	args = append(args, "-tags", tags)
	// BERTH_TEST_RACE=1 builds the daemon under test with the race
	// detector, so end-to-end tests also hunt data races in the server.
	// Otherwise the binary is static, like a release build, so that it
	// can also serve as the --init of any image.
	if os.Getenv("BERTH_TEST_RACE") == "1" {
		args = append(args, "-race")
	} else {
		args = append(args, "-ldflags=-extldflags=-static")
	}
	args = append(args, "./cmd/berth")
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out, nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// ModuleRoot is the directory holding go.mod, found by walking up from the
// working directory (go test runs in the package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
