package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// writeFiles lays out a build context.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildCLIs are berth's CLI and the Docker CLI with its classic builder.
func buildCLIs(t *testing.T, d *testutil.Daemon) []cli {
	out := []cli{{"berth", func(t *testing.T, a ...string) (string, string, int) { return d.Berth(t, a...) }}}
	if _, err := exec.LookPath("docker"); err == nil {
		cfg := t.TempDir()
		out = append(out, cli{"docker", func(t *testing.T, a ...string) (string, string, int) {
			return dockerClassic(t, d, cfg, "", a...)
		}})
	}
	return out
}

// dockerClassic runs the Docker CLI with the classic builder (no buildx).
func dockerClassic(t *testing.T, d *testutil.Daemon, cfg, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"-H", d.Host}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "DOCKER_CONFIG="+cfg, "DOCKER_CLI_HINTS=false")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

func TestBuildSmoke(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	dir := writeFiles(t, map[string]string{
		"Dockerfile": "FROM busybox\nENV A=1\nRUN echo hello > /hello; echo ran\nCOPY f.txt /app/\nWORKDIR /app\nCMD [\"cat\", \"f.txt\"]\n",
		"f.txt":      "content\n",
	})
	for _, c := range buildCLIs(t, d) {
		t.Run(c.name, func(t *testing.T) {
			out := must(t, c, "build", "-t", "smoke-"+c.name, dir)
			t.Log(out)
			if got := must(t, c, "run", "--rm", "smoke-"+c.name); got != "content" {
				t.Fatalf("run: %q", got)
			}
			out = must(t, c, "build", "-t", "smoke-"+c.name, dir)
			if strings.Count(out, "Using cache") != 5 {
				t.Fatalf("second build:\n%s", out)
			}
		})
	}
}
