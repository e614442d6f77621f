package integration

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth/internal/testutil"
)

// TestUnlessStoppedAcrossDaemonRestart: an unless-stopped container that
// died while the daemon was down comes back with the next daemon; one that
// was killed by the user stays down, and so does one whose policy an update
// turned to "no".
func TestUnlessStoppedAcrossDaemonRestart(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	crashed := testutil.UniqueName(t, "crashed")
	killed := testutil.UniqueName(t, "killed")
	updated := testutil.UniqueName(t, "updated")
	for _, n := range []string{crashed, killed, updated} {
		must(t, c, "run", "-d", "--name", n, "--restart", "unless-stopped", "busybox", "sleep", "1000")
	}
	t.Cleanup(func() { d.Berth(t, "rm", "-f", crashed, killed, updated) })
	must(t, c, "kill", killed)
	must(t, c, "update", "--restart", "no", updated)
	pids := map[string]int{}
	for _, n := range []string{crashed, updated} {
		pids[n], _ = strconv.Atoi(inspectField(t, d, n, "{{.State.Pid}}"))
	}
	d.Kill9(t)
	for n, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s: %v", n, err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	d.Restart(t)
	waitFor(t, 30*time.Second, func() bool {
		out, _, _ := d.Berth(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", crashed)
		return strings.TrimSpace(out) == "running 1"
	})
	time.Sleep(time.Second)
	if got := inspectField(t, d, killed, "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" {
		t.Errorf("killed container: %q", got)
	}
	if got := inspectField(t, d, updated, "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}"); got != "exited no" {
		t.Errorf("updated container: %q", got)
	}
}
