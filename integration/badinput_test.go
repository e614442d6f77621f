package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/testutil"
)

func TestBadInput(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "dup")
			must(t, c, "create", "--name", name, "busybox", "true")
			tests := []struct {
				args     []string
				code     int
				contains string
			}{
				{[]string{"run", "--rm", "nosuchimage"}, 125, "nosuchimage"},
				{[]string{"create", "--name", name, "busybox", "true"}, 1, `Conflict. The container name "/` + name + `" is already in use by container`},
				{[]string{"run", "--rm", "-m", "1m", "busybox", "true"}, 125, "Minimum memory limit allowed is 6MB"},
				{[]string{"run", "--rm", "--bogus-flag", "busybox"}, 125, "unknown flag: --bogus-flag"},
				{[]string{"run", "--rm", "busybox", "nosuchcmd"}, 127, "executable file not found"},
				{[]string{"rm", "nosuchcontainer"}, 1, "No such container: nosuchcontainer"},
				{[]string{"stop", "nosuchcontainer"}, 1, "No such container: nosuchcontainer"},
				{[]string{"inspect", "nosuchcontainer"}, 1, "nosuchcontainer"},
				{[]string{"kill", "-s", "BOGUS", name}, 1, "Invalid signal: BOGUS"},
				{[]string{"rmi", "busybox"}, 1, "conflict: unable to remove repository reference"},
				{[]string{"tag", "busybox", "bad/Upper"}, 1, "invalid reference format"},
			}
			for _, tt := range tests {
				_, stderr, code := c.run(t, tt.args...)
				if code != tt.code || !strings.Contains(stderr, tt.contains) {
					t.Errorf("%s %v: exit %d (want %d), stderr %q (want %q)", c.name, tt.args, code, tt.code, stderr, tt.contains)
				}
			}
			must(t, c, "rm", name)
			// A failed start leaves no mount, state or process behind.
			assertNoLeftovers(t, d)
		})
	}
}

// assertNoLeftovers checks that no container is mounted or running once
// every container is gone.
func assertNoLeftovers(t *testing.T, d *testutil.Daemon) {
	t.Helper()
	stdout, _, _ := d.Berth(t, "ps", "-aq")
	if strings.TrimSpace(stdout) != "" {
		return // containers still exist; the caller checks something else
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], d.DataRoot) {
			t.Errorf("mount left behind: %s", f[4])
		}
	}
	ents, _ := os.ReadDir(filepath.Join(d.ExecRoot, "containers"))
	for _, e := range ents {
		t.Errorf("state left behind: %s", e.Name())
	}
}
