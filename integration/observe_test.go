package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// ticker prints a line every 50 ms: a paused container's log stops growing.
var ticker = []string{"busybox", "sh", "-c", "i=0; while true; do echo t$i; i=$((i+1)); sleep 0.05; done"}

func logLines(t *testing.T, c cli, name string) int {
	t.Helper()
	return len(strings.Fields(must(t, c, "logs", name)))
}

// freezerState reads the v1 freezer state of the cgroup the process pid is
// in, or "" when the host has no v1 freezer.
func freezerState(t *testing.T, pid int) string {
	t.Helper()
	rel := cgroupPaths(t, fmt.Sprintf("/proc/%d/cgroup", pid))["freezer"]
	if rel == "" {
		return ""
	}
	data, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", rel, "freezer.state"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// procState is the one-letter State of /proc/<pid>/status.
func procState(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "State:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

func TestPauseUnpause(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "pause")
			id := must(t, c, append([]string{"run", "-d", "--name", name}, ticker...)...)
			t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
			pid, err := strconv.Atoi(must(t, c, "inspect", "-f", "{{.State.Pid}}", name))
			if err != nil {
				t.Fatal(err)
			}
			if got := must(t, c, "pause", name); got != name {
				t.Fatalf("pause printed %q", got)
			}
			if ps := must(t, c, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasPrefix(ps, "Up ") || !strings.HasSuffix(ps, "(Paused)") {
				t.Fatalf("ps status %q", ps)
			}
			if got := must(t, c, "inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name); got != "paused true true" {
				t.Fatalf("inspect %q", got)
			}
			if st := freezerState(t, pid); st != "" && st != "FROZEN" {
				t.Fatalf("freezer.state %q", st)
			}
			// The kernel shows a frozen task as in uninterruptible sleep.
			if st := procState(t, pid); st != "D" {
				t.Fatalf("paused process state %q, want D", st)
			}
			before := logLines(t, c, name)
			time.Sleep(400 * time.Millisecond)
			if after := logLines(t, c, name); after != before {
				t.Fatalf("paused container kept logging: %d -> %d lines", before, after)
			}
			_, stderr, code := c.run(t, "pause", name)
			if code == 0 || !strings.Contains(stderr, "Container "+id+" is already paused") {
				t.Fatalf("second pause: exit %d: %s", code, stderr)
			}
			_, stderr, code = c.run(t, "rm", name)
			if code == 0 || !strings.Contains(stderr, "container is paused and must be unpaused first") {
				t.Fatalf("rm of a paused container: exit %d: %s", code, stderr)
			}
			must(t, c, "unpause", name)
			if st := freezerState(t, pid); st != "" && st != "THAWED" {
				t.Fatalf("freezer.state after unpause %q", st)
			}
			if st := procState(t, pid); st == "D" {
				t.Fatalf("unpaused process state %q", st)
			}
			if ps := must(t, c, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); strings.Contains(ps, "Paused") {
				t.Fatalf("ps status after unpause %q", ps)
			}
			before = logLines(t, c, name)
			deadline := time.Now().Add(5 * time.Second)
			for logLines(t, c, name) == before {
				if time.Now().After(deadline) {
					t.Fatal("unpaused container does not log")
				}
				time.Sleep(50 * time.Millisecond)
			}
			_, stderr, code = c.run(t, "unpause", name)
			if code == 0 || !strings.Contains(stderr, "Container "+id+" is not paused") {
				t.Fatalf("unpause of a running container: exit %d: %s", code, stderr)
			}
			must(t, c, "kill", name)
			_, stderr, code = c.run(t, "pause", name)
			if code == 0 || !strings.Contains(stderr, "is not running") {
				t.Fatalf("pause of a stopped container: exit %d: %s", code, stderr)
			}
			events := must(t, c, "events", "--since", "0", "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
				"--filter", "container="+id, "--format", "{{.Action}}")
			if !strings.Contains(events, "pause") || !strings.Contains(events, "unpause") {
				t.Fatalf("events:\n%s", events)
			}
		})
	}
}

// TestStopPaused: stop, kill and rm -f each end a paused container, leave
// nothing frozen, and a restart policy does not bring it back.
func TestStopPaused(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	for _, verb := range [][]string{{"stop", "-t", "1"}, {"kill"}, {"rm", "-f"}} {
		t.Run(verb[0], func(t *testing.T) {
			name := testutil.UniqueName(t, "paused")
			id := must(t, c, "run", "-d", "--restart", "always", "--name", name, "busybox", "sleep", "60")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
			pid, err := strconv.Atoi(must(t, c, "inspect", "-f", "{{.State.Pid}}", name))
			if err != nil {
				t.Fatal(err)
			}
			freezer := cgroupPaths(t, fmt.Sprintf("/proc/%d/cgroup", pid))["freezer"]
			must(t, c, "pause", name)
			start := time.Now()
			must(t, c, append(verb, name)...)
			if verb[0] == "stop" && time.Since(start) > 5*time.Second {
				t.Errorf("stop of a paused container took %v", time.Since(start))
			}
			if verb[0] == "kill" {
				if got := must(t, c, "wait", name); got != "137" {
					t.Fatalf("wait %q", got)
				}
			}
			if err := processGone(pid, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if freezer != "" {
				if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/freezer", freezer)); !os.IsNotExist(err) {
					t.Fatalf("freezer cgroup %s left behind: %v", freezer, err)
				}
			}
			if verb[0] != "rm" {
				time.Sleep(300 * time.Millisecond)
				if got := must(t, c, "inspect", "-f", "{{.State.Status}}", name); got != "exited" {
					t.Fatalf("status %q after %s", got, verb[0])
				}
			}
		})
	}
}

func processGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		// A zombie awaiting its reaper counts as gone.
		if err != nil || strings.Contains(string(data), ") Z ") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still alive: %s", pid, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTop(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "top")
			id := must(t, c, "run", "-d", "--name", name, "busybox", "sleep", "60")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
			pid := must(t, c, "inspect", "-f", "{{.State.Pid}}", name)
			out := must(t, c, "top", name)
			lines := strings.Split(out, "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "UID") || !strings.Contains(lines[0], "PID") ||
				!strings.Contains(lines[1], "sleep 60") || !strings.Contains(lines[1], " "+pid+" ") {
				t.Fatalf("top:\n%s", out)
			}
			out = must(t, c, "top", name, "-o", "pid,comm")
			if lines := strings.Split(out, "\n"); len(lines) != 2 || strings.Fields(lines[1])[0] != pid || strings.Fields(lines[1])[1] != "sleep" {
				t.Fatalf("top -o pid,comm:\n%s", out)
			}
			must(t, c, "pause", name)
			if out := must(t, c, "top", name); !strings.Contains(out, "sleep 60") {
				t.Fatalf("top of a paused container:\n%s", out)
			}
			must(t, c, "rm", "-f", name)
			stopped := must(t, c, "create", "busybox", "true")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", stopped) })
			_, stderr, code := c.run(t, "top", stopped)
			if code == 0 || !strings.Contains(stderr, "Container "+stopped+" is not running") {
				t.Fatalf("top of a stopped container: exit %d: %s", code, stderr)
			}
		})
	}
}

func TestStats(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "stats")
			id := must(t, c, "run", "-d", "-m", "64m", "--name", name, "busybox", "sleep", "60")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
			stopped := testutil.UniqueName(t, "stopped")
			must(t, c, "create", "--name", stopped, "busybox", "true")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", stopped) })

			out := must(t, c, "stats", "--no-stream")
			lines := strings.Split(out, "\n")
			head := strings.Join(strings.Fields(lines[0]), " ")
			if head != "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS" {
				t.Fatalf("header %q", lines[0])
			}
			if len(lines) != 2 || !strings.HasPrefix(lines[1], id[:12]+" ") || strings.Contains(out, stopped) {
				t.Fatalf("stats --no-stream:\n%s", out)
			}
			row := strings.Join(strings.Fields(lines[1]), " ")
			if !strings.Contains(row, "/ 64MiB") || !strings.HasSuffix(row, " 1") {
				t.Fatalf("stats row %q", row)
			}
			mem := must(t, c, "stats", "--no-stream", "--format", "{{.MemUsage}}", name)
			if strings.HasPrefix(mem, "0B") {
				t.Fatalf("memory usage %q", mem)
			}
			all := must(t, c, "stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}")
			if !strings.Contains(all, stopped+" 0.00% 0") || !strings.Contains(all, name+" ") {
				t.Fatalf("stats -a:\n%s", all)
			}
			js := must(t, c, "stats", "--no-stream", "--format", "json", name)
			if !strings.Contains(js, `"Name":"`+name+`"`) || !strings.Contains(js, `"PIDs":"1"`) {
				t.Fatalf("stats json: %s", js)
			}
		})
	}
}

// TestPausedSurvivesDaemonRestart: a paused container stays paused (and
// frozen) across a daemon restart, and the new daemon can unpause it.
func TestPausedSurvivesDaemonRestart(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	id := must(t, c, "run", "-d", "busybox", "sleep", "60")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
	pid, err := strconv.Atoi(must(t, c, "inspect", "-f", "{{.State.Pid}}", id))
	if err != nil {
		t.Fatal(err)
	}
	must(t, c, "pause", id)
	d.Restart(t)
	if got := must(t, c, "inspect", "-f", "{{.State.Status}}", id); got != "paused" {
		t.Fatalf("status after restart %q", got)
	}
	if st := procState(t, pid); st != "D" {
		t.Fatalf("process state after restart %q, want D", st)
	}
	must(t, c, "unpause", id)
	if out := must(t, c, "top", id); !strings.Contains(out, "sleep 60") {
		t.Fatalf("top:\n%s", out)
	}
	must(t, c, "rm", "-f", id)
	if err := processGone(pid, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
