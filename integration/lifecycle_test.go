package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

func TestRunForeground(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			if got := must(t, c, "run", "--rm", "busybox", "echo", "hello"); got != "hello" {
				t.Fatalf("stdout %q", got)
			}
			stdout, _, code := c.run(t, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7")
			if code != 7 || strings.TrimSpace(stdout) != "out" {
				t.Fatalf("exit %d stdout %q", code, stdout)
			}
			if ps := must(t, c, "ps", "-aq"); ps != "" {
				t.Fatalf("--rm left containers: %q", ps)
			}
			// Without --rm the container stays, exited with its code.
			name := testutil.UniqueName(t, "exit")
			if _, _, code := c.run(t, "run", "--name", name, "busybox", "sh", "-c", "exit 3"); code != 3 {
				t.Fatalf("exit %d, want 3", code)
			}
			if got := must(t, c, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name); got != "exited 3" {
				t.Fatalf("inspect %q", got)
			}
			must(t, c, "rm", name)
		})
	}
}

func TestDetachedLifecycle(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "web")
			id := must(t, c, "run", "-d", "--name", name, "busybox", "sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done")
			if len(id) != 64 {
				t.Fatalf("run -d printed %q", id)
			}
			ps := must(t, c, "ps")
			if !strings.Contains(ps, name) || !strings.Contains(ps, "Up ") || !strings.Contains(ps, id[:12]) {
				t.Fatalf("ps:\n%s", ps)
			}
			pid, err := strconv.Atoi(must(t, c, "inspect", "-f", "{{.State.Pid}}", name))
			if err != nil || pid <= 0 {
				t.Fatalf("pid %d %v", pid, err)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				t.Fatalf("container process not on the host: %v", err)
			}
			waitFor(t, 5*time.Second, func() bool {
				out, _, _ := c.run(t, "logs", "--tail", "2", name)
				return len(strings.Split(strings.TrimSpace(out), "\n")) == 2
			})
			// Removing a running container needs force, with Docker's words.
			_, stderr, code := c.run(t, "rm", name)
			if code == 0 || !strings.Contains(stderr, "container is running: stop the container before removing or force remove") {
				t.Fatalf("rm running: exit %d stderr %q", code, stderr)
			}
			// sh as PID 1 ignores SIGTERM: stop must fall back to SIGKILL
			// after the timeout, as Docker's does.
			start := time.Now()
			if got := must(t, c, "stop", "-t", "1", name); got != name {
				t.Fatalf("stop printed %q", got)
			}
			if el := time.Since(start); el < time.Second || el > 5*time.Second {
				t.Fatalf("stop -t 1 took %s", el)
			}
			if got := must(t, c, "inspect", "-f", "{{.State.Running}}", name); got != "false" {
				t.Fatalf("still running: %s", got)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				t.Fatalf("process %d survived stop", pid)
			}
			must(t, c, "rm", name)
			if _, _, code := c.run(t, "inspect", name); code == 0 {
				t.Fatal("inspect after rm succeeded")
			}
		})
	}
}

func TestLogsFollowEndsWithContainer(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "follow")
			must(t, c, "run", "-d", "--name", name, "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo n$i; sleep 0.3; done")
			out := must(t, c, "logs", "-f", name)
			if out != "n1\nn2\nn3\nn4\nn5" {
				t.Fatalf("logs -f: %q", out)
			}
			out = must(t, c, "logs", "--tail", "2", name)
			if out != "n4\nn5" {
				t.Fatalf("logs --tail 2: %q", out)
			}
			must(t, c, "rm", name)
		})
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s", timeout)
}
