package integration

import (
	"os/exec"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// cli is one of the two command lines under test; each scenario runs
// through both so berth's CLI and Docker's stay interchangeable.
type cli struct {
	name string
	run  func(t *testing.T, args ...string) (string, string, int)
}

func clis(t *testing.T, d *testutil.Daemon) []cli {
	out := []cli{{"berth", func(t *testing.T, a ...string) (string, string, int) { return d.Berth(t, a...) }}}
	if _, err := exec.LookPath("docker"); err == nil {
		out = append(out, cli{"docker", func(t *testing.T, a ...string) (string, string, int) { return d.Docker(t, a...) }})
	} else {
		t.Log("docker CLI not on PATH: running the berth CLI only")
	}
	return out
}

// must runs a command that has to succeed and returns its trimmed stdout.
func must(t *testing.T, c cli, args ...string) string {
	t.Helper()
	stdout, stderr, code := c.run(t, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", c.name, strings.Join(args, " "), code, stdout, stderr)
	}
	return strings.TrimSpace(stdout)
}
