package integration

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth/internal/testutil"
)

// inspect returns a Go-template field of a container through the berth CLI.
func inspectField(t *testing.T, d *testutil.Daemon, name, format string) string {
	t.Helper()
	out, stderr, code := d.Berth(t, "inspect", "-f", format, name)
	if code != 0 {
		t.Fatalf("inspect %s: %s", name, stderr)
	}
	return strings.TrimSpace(out)
}

// TestRestartOnFailureStopsAtMax: on-failure:3 restarts a failing container
// three times with a short back-off (0.1+0.2+0.4 s), then leaves it exited.
func TestRestartOnFailureStopsAtMax(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	name := testutil.UniqueName(t, "onfail")
	must(t, c, "run", "-d", "--name", name, "--restart", "on-failure:3", "busybox", "false")
	waitFor(t, 30*time.Second, func() bool {
		out, _, _ := d.Berth(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", name)
		return strings.TrimSpace(out) == "exited 3"
	})
	// It stays there: no fourth restart.
	time.Sleep(1500 * time.Millisecond)
	if got := inspectField(t, d, name, "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}} {{.State.Restarting}}"); got != "exited 1 3 false" {
		t.Fatalf("after the last retry: %q", got)
	}
	for _, c := range clis(t, d) {
		if got := must(t, c, "inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", name); got != "on-failure:3" {
			t.Fatalf("%s: policy %q", c.name, got)
		}
	}
	// A user start begins a new series: the count goes back to zero and
	// climbs to the maximum again.
	must(t, c, "start", name)
	waitFor(t, 30*time.Second, func() bool {
		out, _, _ := d.Berth(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", name)
		return strings.TrimSpace(out) == "exited 3"
	})
	// Events: each policy restart is a die followed by a start, without a
	// "restart" event (Docker keeps that for `docker restart`).
	ev := must(t, c, "events", "--since", "0", "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
		"--filter", "container="+name, "--format", "{{.Action}}")
	dies, starts := strings.Count(ev, "die"), strings.Count(ev, "start")
	if dies != 8 || starts != 8 || strings.Contains(ev, "restart") {
		t.Fatalf("events (%d die, %d start):\n%s", dies, starts, ev)
	}
	must(t, c, "rm", name)
}

// TestRestartAlwaysStop: an always container that keeps failing is seen
// restarting, and stop ends the loop promptly even while it waits.
func TestRestartAlwaysStop(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	name := testutil.UniqueName(t, "always")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			must(t, c, "run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "exit 1")
			// By the fifth restart the back-off is 1.6 s: ps catches it
			// restarting.
			waitFor(t, 30*time.Second, func() bool {
				n, _ := strconv.Atoi(inspectField(t, d, name, "{{.RestartCount}}"))
				return n >= 5
			})
			waitFor(t, 10*time.Second, func() bool {
				out, _, _ := c.run(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}")
				return strings.HasPrefix(strings.TrimSpace(out), "Restarting (1) ")
			})
			if got := inspectField(t, d, name, "{{.State.Status}} {{.State.Restarting}} {{.State.Running}}"); got != "restarting true true" {
				// It may be between two runs; both are fine as long as
				// inspect agrees with itself.
				if got != "running false true" && got != "exited false false" {
					t.Fatalf("inspect while looping: %q", got)
				}
			}
			start := time.Now()
			must(t, c, "stop", name)
			if took := time.Since(start); took > 8*time.Second {
				t.Fatalf("stop took %s", took)
			}
			count := inspectField(t, d, name, "{{.RestartCount}}")
			if got := inspectField(t, d, name, "{{.State.Status}} {{.State.Restarting}}"); got != "exited false" {
				t.Fatalf("after stop: %q", got)
			}
			time.Sleep(2 * time.Second)
			if got := inspectField(t, d, name, "{{.State.Status}} {{.RestartCount}}"); got != "exited "+count {
				t.Fatalf("restarted after stop: %q (count was %s)", got, count)
			}
			must(t, c, "rm", name)
		})
	}
}

// TestRestartRemoveForceWhileRestarting: rm -f of a container waiting out
// its back-off cancels the restart and removes it; plain rm refuses.
func TestRestartRemoveForceWhileRestarting(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	name := testutil.UniqueName(t, "rmf")
	must(t, c, "run", "-d", "--name", name, "--restart", "always", "busybox", "false")
	waitFor(t, 30*time.Second, func() bool {
		n, _ := strconv.Atoi(inspectField(t, d, name, "{{.RestartCount}}"))
		return n >= 6 && inspectField(t, d, name, "{{.State.Status}}") == "restarting"
	})
	if _, stderr, code := d.Berth(t, "rm", name); code == 0 || !strings.Contains(stderr, "restarting") {
		t.Fatalf("rm of a restarting container: exit %d: %s", code, stderr)
	}
	must(t, c, "rm", "-f", name)
	time.Sleep(time.Second)
	if out := must(t, c, "ps", "-aq", "--filter", "name="+name); out != "" {
		t.Fatalf("container back after rm -f: %s", out)
	}
	assertNoLeftovers(t, d)
}

// TestRestartAcrossDaemonRestart: after a daemon restart, "always" brings
// back a container that died while the daemon was down and one the user
// had stopped (Docker's documented rule), "unless-stopped" leaves a stopped
// container alone, and a running container is simply reattached.
func TestRestartAcrossDaemonRestart(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	crashed := testutil.UniqueName(t, "crashed")
	stoppedAlways := testutil.UniqueName(t, "stopalways")
	stoppedUnless := testutil.UniqueName(t, "stopunless")
	live := testutil.UniqueName(t, "live")
	failed := testutil.UniqueName(t, "failed")
	plain := testutil.UniqueName(t, "plain")
	for _, n := range []string{crashed, stoppedAlways, live} {
		must(t, c, "run", "-d", "--name", n, "--restart", "always", "busybox", "sleep", "1000")
	}
	must(t, c, "run", "-d", "--name", stoppedUnless, "--restart", "unless-stopped", "busybox", "sleep", "1000")
	must(t, c, "run", "-d", "--name", failed, "--restart", "on-failure:2", "busybox", "sleep", "1000")
	must(t, c, "run", "-d", "--name", plain, "busybox", "sleep", "1000")
	must(t, c, "stop", "-t", "1", stoppedAlways)
	must(t, c, "stop", "-t", "1", stoppedUnless)
	livePid := inspectField(t, d, live, "{{.State.Pid}}")
	pids := map[string]int{}
	for _, n := range []string{crashed, failed, plain} {
		pids[n], _ = strconv.Atoi(inspectField(t, d, n, "{{.State.Pid}}"))
	}

	d.Kill9(t)
	for n, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s (pid %d): %v", n, pid, err)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the shims record the exits
	d.Restart(t)

	for _, n := range []string{crashed, stoppedAlways, failed} {
		waitFor(t, 30*time.Second, func() bool {
			out, _, _ := d.Berth(t, "ps", "--filter", "name="+n, "--format", "{{.Status}}")
			return strings.HasPrefix(strings.TrimSpace(out), "Up ")
		})
	}
	if got := inspectField(t, d, crashed, "{{.RestartCount}}"); got != "1" {
		t.Errorf("crashed: RestartCount %s, want 1", got)
	}
	if got := inspectField(t, d, failed, "{{.RestartCount}}"); got != "1" {
		t.Errorf("on-failure: RestartCount %s, want 1", got)
	}
	if got := inspectField(t, d, live, "{{.State.Status}} {{.State.Pid}} {{.RestartCount}}"); got != "running "+livePid+" 0" {
		t.Errorf("live container not reattached as is: %q (pid was %s)", got, livePid)
	}
	time.Sleep(time.Second)
	if got := inspectField(t, d, stoppedUnless, "{{.State.Status}}"); got != "exited" {
		t.Errorf("unless-stopped container came back after a stop: %s", got)
	}
	if got := inspectField(t, d, plain, "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" {
		t.Errorf("no-policy container: %q", got)
	}
	// Stopping a restored container still ends its policy.
	must(t, c, "stop", "-t", "1", crashed)
	time.Sleep(time.Second)
	if got := inspectField(t, d, crashed, "{{.State.Status}}"); got != "exited" {
		t.Errorf("restored container restarted after stop: %s", got)
	}
	for _, n := range []string{crashed, stoppedAlways, stoppedUnless, live, failed, plain} {
		must(t, c, "rm", "-f", n)
	}
	assertNoLeftovers(t, d)
}

// TestRestartKillThenStart: kill marks the container manually stopped, so
// always leaves it exited; a start clears the mark, and an exit nobody asked
// for (the process killed from outside) is restarted again.
func TestRestartKillThenStart(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	name := testutil.UniqueName(t, "kill")
	must(t, c, "run", "-d", "--name", name, "--restart", "always", "busybox", "sleep", "1000")
	must(t, c, "kill", name)
	time.Sleep(1500 * time.Millisecond)
	if got := inspectField(t, d, name, "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}"); got != "exited 137 0" {
		t.Fatalf("after kill: %q", got)
	}
	must(t, c, "start", name)
	pid, _ := strconv.Atoi(inspectField(t, d, name, "{{.State.Pid}}"))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool {
		out, _, _ := d.Berth(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", name)
		return strings.TrimSpace(out) == "running 1"
	})
	if got := inspectField(t, d, name, "{{.State.Pid}}"); got == strconv.Itoa(pid) {
		t.Fatalf("same pid %s after restart", got)
	}
	must(t, c, "rm", "-f", name)
	assertNoLeftovers(t, d)
}
