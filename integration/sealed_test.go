package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// TestDaemonRunsSealed checks the daemon re-executed itself from a sealed
// memfd copy, so no container, exec or probe can reach the binary on disk
// (CVE-2019-5736), and that it closed the descriptor it came in on.
func TestDaemonRunsSealed(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", d.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(exe, "/memfd:") {
		t.Fatalf("daemon runs from %q, not a sealed copy", exe)
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.Pid()))
	for _, fd := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", d.Pid(), fd.Name()))
		if strings.HasPrefix(target, "/memfd:") {
			t.Errorf("fd %s still holds the binary: %s", fd.Name(), target)
		}
	}
}
