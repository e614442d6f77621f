package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"berth/internal/testutil"
)

// TestResourceLimits reads the limits back from inside the container, where
// runc mounts the container's own cgroup at /sys/fs/cgroup.
func TestResourceLimits(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err != nil {
		t.Skip("cgroup v1 cpu controller not mounted; the v2 files differ")
	}
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	tests := []struct {
		name string
		args []string
		file string
		want string
	}{
		{"cpus", []string{"--cpus", "0.5"}, "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "50000"},
		{"cpu shares", []string{"--cpu-shares", "512"}, "/sys/fs/cgroup/cpu/cpu.shares", "512"},
		{"memory", []string{"-m", "64m"}, "/sys/fs/cgroup/memory/memory.limit_in_bytes", strconv.Itoa(64 << 20)},
		{"pids", []string{"--pids-limit", "42"}, "/sys/fs/cgroup/pids/pids.max", "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"run", "--rm"}, tt.args...), "busybox", "cat", tt.file)
			if got := must(t, c, args...); got != tt.want {
				t.Fatalf("%s = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

// TestCgroupsNestUnderDaemon checks the container's cgroup sits below the
// daemon's own, under the configured parent, in every v1 hierarchy.
func TestCgroupsNestUnderDaemon(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	id := must(t, c, "run", "-d", "busybox", "sleep", "60")
	t.Cleanup(func() { d.Berth(t, "rm", "-f", id) })
	pid := must(t, c, "inspect", "-f", "{{.State.Pid}}", id)
	daemonCg := cgroupPaths(t, fmt.Sprintf("/proc/%d/cgroup", d.Pid()))
	ctrCg := cgroupPaths(t, "/proc/"+pid+"/cgroup")
	for ctrl, own := range daemonCg {
		if ctrl == "" || strings.HasPrefix(ctrl, "name=") || ctrl == "0" {
			continue
		}
		want := strings.TrimSuffix(own, "/") + "/" + d.CgroupParent + "/" + id
		if got := ctrCg[ctrl]; got != want {
			t.Errorf("%s: container in %q, want %q", ctrl, got, want)
		}
	}
}

func cgroupPaths(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out
}
