package testutil

import (
	"context"
	"os"
	"testing"

	"github.com/moby/moby/client"
)

// TestDaemonLifecycle starts a daemon, drives it through a crash and a
// restart, and checks that its cleanup leaves nothing behind.
func TestDaemonLifecycle(t *testing.T) {
	RequiresRoot(t)
	var d *Daemon
	t.Run("daemon", func(t *testing.T) {
		d = StartDaemon(t)
		if _, err := d.Client(t).Ping(context.Background(), client.PingOptions{}); err != nil {
			t.Fatal(err)
		}
		if stdout, stderr, code := d.Berth(t, "version"); code != 0 {
			t.Errorf("berth version: exit %d\n%s%s", code, stdout, stderr)
		}
		d.Kill9(t)
		if d.ping() == nil {
			t.Fatal("daemon answers after SIGKILL")
		}
		d.Restart(t)
		d.Stop(t)
		d.Restart(t)
	})
	if d == nil {
		return
	}
	for _, p := range []string{d.ExecRoot, d.DataRoot, d.base} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	if got := findCgroupDirs(d.CgroupParent); len(got) > 0 {
		t.Errorf("cgroups left behind: %v", got)
	}
	if got := pidsWithArg(d.ExecRoot); len(got) > 0 {
		t.Errorf("processes left behind: %v", got)
	}
}
