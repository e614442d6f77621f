package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth/internal/testutil"
)

// TestLiveRestoreAfterKill9 is the daemon-crash story: containers outlive a
// kill -9 of the daemon, and the next daemon finds them again.
func TestLiveRestoreAfterKill9(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	must(t, c, "run", "-d", "--name", "loop", "busybox", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")
	must(t, c, "run", "-d", "--name", "quitter", "busybox", "sh", "-c", "sleep 1; echo bye; exit 3")
	pid, _ := strconv.Atoi(must(t, c, "inspect", "-f", "{{.State.Pid}}", "loop"))

	d.Kill9(t)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("container died with the daemon: %v", err)
	}
	time.Sleep(2 * time.Second) // quitter exits while no daemon is there
	d.Restart(t)

	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			ps := must(t, c, "ps")
			if !strings.Contains(ps, "loop") || !strings.Contains(ps, "Up ") {
				t.Fatalf("ps after restart:\n%s", ps)
			}
			if got := must(t, c, "inspect", "-f", "{{.State.Pid}}", "loop"); got != strconv.Itoa(pid) {
				t.Fatalf("pid %s, want %d", got, pid)
			}
			if got := must(t, c, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "quitter"); got != "exited 3" {
				t.Fatalf("quitter: %q", got)
			}
			if got := must(t, c, "logs", "quitter"); got != "bye" {
				t.Fatalf("quitter logs %q", got)
			}
		})
	}
	// logs keep flowing after the restart: the shim kept writing.
	before := must(t, c, "logs", "loop")
	waitFor(t, 5*time.Second, func() bool {
		after, _, _ := c.run(t, "logs", "loop")
		return len(after) > len(before)
	})
	must(t, c, "stop", "-t", "1", "loop")
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("stop after restore left pid %d", pid)
	}
	must(t, c, "rm", "loop", "quitter")
	// A graceful stop (SIGTERM) also leaves containers alone.
	must(t, c, "run", "-d", "--name", "survivor", "busybox", "sleep", "100")
	pid, _ = strconv.Atoi(must(t, c, "inspect", "-f", "{{.State.Pid}}", "survivor"))
	d.Stop(t)
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		t.Fatalf("SIGTERM of the daemon stopped the container")
	}
	d.Restart(t)
	must(t, c, "rm", "-f", "survivor")
}
