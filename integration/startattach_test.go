package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/testutil"
)

func TestStartAttachAndRunFlags(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("# comment\nFROM_FILE=yes\nSPACED=a b\n"), 0o600)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "sa")
			must(t, c, "create", "--name", name, "busybox", "sh", "-c", "echo attached; exit 4")
			stdout, _, code := c.run(t, "start", "-a", name)
			if code != 4 || strings.TrimSpace(stdout) != "attached" {
				t.Fatalf("start -a: exit %d stdout %q", code, stdout)
			}
			// start -a again replays nothing old: only the new run's output.
			stdout, _, _ = c.run(t, "start", "-a", name)
			if strings.TrimSpace(stdout) != "attached" {
				t.Fatalf("second start -a: %q", stdout)
			}
			if got := must(t, c, "run", "--rm", "--env-file", envFile, "busybox", "sh", "-c", "echo $FROM_FILE/$SPACED"); got != "yes/a b" {
				t.Fatalf("--env-file: %q", got)
			}
			must(t, c, "run", "-d", "--name", name+"-l", "-l", "team=core", "busybox", "sleep", "30")
			if got := must(t, c, "ps", "-l", "--format", "{{.Names}}"); got != name+"-l" {
				t.Fatalf("ps -l: %q", got)
			}
			if got := must(t, c, "ps", "--filter", "label=team=core", "--format", "{{.Names}} {{.Label \"team\"}}"); got != name+"-l core" {
				t.Fatalf("label filter: %q", got)
			}
			if got := must(t, c, "logs", "--until", "1970-01-02T00:00:00Z", name); got != "" {
				t.Fatalf("logs --until in the past: %q", got)
			}
			if got := must(t, c, "logs", "--since", "1970-01-02T00:00:00Z", name); got != "attached\nattached" {
				t.Fatalf("logs --since: %q", got)
			}
			must(t, c, "rm", "-f", name, name+"-l")
		})
	}
}
