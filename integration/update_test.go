package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// TestUpdate changes a running container's limits with docker update and
// reads them back from inside it (runc mounts its own cgroup at
// /sys/fs/cgroup) and from inspect.
func TestUpdate(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err != nil {
		t.Skip("cgroup v1 cpu controller not mounted; the v2 files differ")
	}
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "update")
			id := must(t, c, "run", "-d", "--name", name, "-m", "64m", "busybox", "sleep", "600")
			t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
			cat := func(file string) string {
				t.Helper()
				return must(t, c, "exec", name, "cat", file)
			}
			if got := cat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); got != strconv.Itoa(64<<20) {
				t.Fatalf("memory limit before update %q", got)
			}

			if got := must(t, c, "update", "-m", "128m", "--cpus", "0.5", "--pids-limit", "20", name); got != name {
				t.Fatalf("update printed %q", got)
			}
			for file, want := range map[string]string{
				"/sys/fs/cgroup/memory/memory.limit_in_bytes": strconv.Itoa(128 << 20),
				"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":         "50000",
				"/sys/fs/cgroup/cpu/cpu.cfs_period_us":        "100000",
				"/sys/fs/cgroup/pids/pids.max":                "20",
			} {
				if got := cat(file); got != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
			if got := must(t, c, "inspect", "-f", "{{json .HostConfig.Memory}} {{json .HostConfig.NanoCpus}} {{json .HostConfig.PidsLimit}}", name); got != "134217728 500000000 20" {
				t.Fatalf("inspect after update %q", got)
			}

			must(t, c, "update", "--restart", "always", name)
			if got := must(t, c, "inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{json .HostConfig.Memory}}", name); got != "always 134217728" {
				t.Fatalf("inspect after restart update %q", got)
			}

			// Rejected input changes nothing, with Docker's message.
			_, stderr, code := c.run(t, "update", "-m", "1m", name)
			if code != 1 || !strings.Contains(stderr, "Minimum memory limit allowed is 6MB") {
				t.Fatalf("update -m 1m: exit %d, stderr %q", code, stderr)
			}
			_, stderr, code = c.run(t, "update", "--cpu-period", "50000", name)
			if code != 1 || !strings.Contains(stderr, "Cannot update container "+id+": Conflicting options: NanoCPUs cannot be updated as CPU Period has already been set") {
				t.Fatalf("update --cpu-period: exit %d, stderr %q", code, stderr)
			}
			if got := cat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); got != strconv.Itoa(128<<20) {
				t.Fatalf("memory limit after rejected update %q", got)
			}

			// One bad target does not stop the others.
			stdout, stderr, code := c.run(t, "update", "--cpu-shares", "512", "nosuch-"+name, name)
			if code != 1 || strings.TrimSpace(stdout) != name || !strings.Contains(stderr, "No such container: nosuch-"+name) {
				t.Fatalf("update with a missing target: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if got := cat("/sys/fs/cgroup/cpu/cpu.shares"); got != "512" {
				t.Fatalf("cpu.shares %q", got)
			}
		})
	}
}

// TestUpdateStopped records new limits on a stopped container; its next
// start runs with them.
func TestUpdateStopped(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := os.Stat("/sys/fs/cgroup/pids/cgroup.procs"); err != nil {
		t.Skip("cgroup v1 pids controller not mounted")
	}
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	name := testutil.UniqueName(t, "update-stopped")
	id := must(t, c, "create", "--name", name, "busybox", "cat", "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
	must(t, c, "update", "--pids-limit", "33", "-m", "96m", name)
	must(t, c, "start", "-a", name)
	out := strings.Fields(must(t, c, "logs", name))
	if len(out) != 2 || out[0] != "33" || out[1] != strconv.Itoa(96<<20) {
		t.Fatalf("limits at start %q", out)
	}
}

// TestUpdateBelowUsage asks for less memory than the container holds (40MB
// of tmpfs, which cannot be reclaimed with no swap): the kernel refuses, and
// neither the cgroup nor the record changes.
func TestUpdateBelowUsage(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err != nil {
		t.Skip("cgroup v1 memory controller not mounted")
	}
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	id := must(t, c, "run", "-d", "-m", "64m", "--memory-swap", "64m", "busybox", "sh", "-c",
		"dd if=/dev/zero of=/dev/shm/f bs=1M count=40 2>/dev/null; touch /filled; sleep 600")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, _, code := c.run(t, "exec", id, "test", "-e", "/filled"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container did not fill its memory")
		}
	}
	_, stderr, code := c.run(t, "update", "-m", "10m", "--memory-swap", "10m", "--pids-limit", "7", id)
	if code != 1 || !strings.Contains(stderr, "Cannot update container "+id+": unable to set memory limit to 10485760") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	limits := must(t, c, "exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max")
	if got := strings.Fields(limits); len(got) != 2 || got[0] != strconv.Itoa(64<<20) || got[1] != "max" {
		t.Fatalf("limits after refused update %q", got)
	}
	if got := must(t, c, "inspect", "-f", "{{json .HostConfig.Memory}} {{json .HostConfig.MemorySwap}} {{json .HostConfig.PidsLimit}}", id); got != "67108864 67108864 null" {
		t.Fatalf("inspect after refused update %q", got)
	}
}
