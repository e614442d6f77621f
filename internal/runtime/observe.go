package runtime

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
)

// This file reads and toggles a running container's cgroups for pause,
// top and stats. The container is named by its init's pid: its cgroups are
// whatever the kernel says that process is in, so the daemon needs neither
// the cgroup parent nor the layout it was started with.

// unifiedRoot is where a pure cgroup v2 host mounts its hierarchy.
const unifiedRoot = "/sys/fs/cgroup"

// cgroupManager opens the cgroups of the process pid with the library's
// v1 or v2 reader, without creating or changing anything.
func cgroupManager(pid int) (cgroups.Manager, error) {
	own, err := cgroups.ParseCgroupFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, errdefs.Conflictf("process %d is gone", pid)
		}
		return nil, errdefs.System(err)
	}
	cg := &cgroups.Cgroup{Resources: &cgroups.Resources{}}
	if cgroups.IsCgroup2UnifiedMode() {
		return fs2.NewManager(cg, filepath.Join(unifiedRoot, own[""]))
	}
	mounts, err := cgroups.GetCgroupMounts(false)
	if err != nil {
		return nil, errdefs.System(err)
	}
	return fs.NewManager(cg, v1Paths(own, mounts))
}

// v1Paths maps each v1 controller to the directory of the process's cgroup,
// given its /proc/<pid>/cgroup entries and the host's cgroup mounts.
func v1Paths(own map[string]string, mounts []cgroups.Mount) map[string]string {
	paths := map[string]string{}
	for _, m := range mounts {
		for _, sub := range m.Subsystems {
			rel, ok := own[sub]
			if !ok {
				continue
			}
			// A mount of a sub-tree (cgroup namespace, nested mount) shows
			// paths below its root.
			if m.Root != "/" {
				rel = strings.TrimPrefix(rel, m.Root)
			}
			paths[strings.TrimPrefix(sub, "name=")] = filepath.Join(m.Mountpoint, rel)
		}
	}
	return paths
}

// Freeze freezes (frozen) or thaws every process in the cgroup of the
// container whose init is pid, returning once the kernel reports the new
// state as settled.
func Freeze(ctx context.Context, pid int, frozen bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := cgroupManager(pid)
	if err != nil {
		return err
	}
	state := cgroups.Thawed
	if frozen {
		state = cgroups.Frozen
	}
	if err := m.Freeze(state); err != nil {
		return errdefs.System(fmt.Errorf("cannot set freezer state: %w", err))
	}
	return nil
}

// Frozen reports whether the cgroup of the process pid is frozen.
func Frozen(pid int) (bool, error) {
	m, err := cgroupManager(pid)
	if err != nil {
		return false, err
	}
	st, err := m.GetFreezerState()
	if err != nil {
		return false, errdefs.System(err)
	}
	return st == cgroups.Frozen, nil
}

// Processes lists the pids in the cgroup (and sub-cgroups) of the container
// whose init is pid.
func Processes(pid int) ([]int, error) {
	m, err := cgroupManager(pid)
	if err != nil {
		return nil, err
	}
	pids, err := m.GetAllPids()
	if err != nil {
		return nil, errdefs.System(err)
	}
	return pids, nil
}

// Sample is one reading of a container's resource usage together with the
// host's CPU time at the same moment, the pair CPU percentages need.
type Sample struct {
	Cgroup *cgroups.Stats
	// SystemCPU is the host's total CPU time in nanoseconds (/proc/stat).
	SystemCPU  uint64
	OnlineCPUs uint32
	// MachineMemory caps an unlimited memory limit, as Docker shows it.
	MachineMemory uint64
	Read          time.Time
}

// Stats reads the resource usage of the container whose init is pid.
func Stats(pid int) (*Sample, error) {
	m, err := cgroupManager(pid)
	if err != nil {
		return nil, err
	}
	return sample(m, "/proc/stat")
}

func sample(m cgroups.Manager, procStat string) (*Sample, error) {
	st, err := m.GetStats()
	if err != nil {
		return nil, errdefs.System(fmt.Errorf("reading cgroup stats: %w", err))
	}
	sys, cpus, err := systemCPU(procStat)
	if err != nil {
		return nil, errdefs.System(err)
	}
	var si unix.Sysinfo_t
	var mem uint64
	if unix.Sysinfo(&si) == nil {
		mem = uint64(si.Totalram) * uint64(si.Unit)
	}
	return &Sample{Cgroup: st, SystemCPU: sys, OnlineCPUs: cpus, MachineMemory: mem, Read: time.Now().UTC()}, nil
}

// clockTicks is USER_HZ, the unit of /proc/stat; 100 on every Linux ABI
// Docker supports, which is why Docker hard-codes it too.
const clockTicks = 100

// systemCPU sums the host's CPU time from the "cpu" line of /proc/stat
// (user, nice, system, idle, iowait, irq, softirq) in nanoseconds, as
// Docker's system_cpu_usage does, and counts the per-CPU lines.
func systemCPU(path string) (uint64, uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var total uint64
	var cpus uint32
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "cpu") {
			continue
		}
		if fields[0] != "cpu" {
			cpus++
			continue
		}
		if len(fields) < 8 {
			return 0, 0, fmt.Errorf("%s: malformed cpu line", path)
		}
		for _, v := range fields[1:8] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", path, err)
			}
			total += n
		}
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if !found {
		return 0, 0, fmt.Errorf("%s: no cpu line", path)
	}
	return total * (uint64(time.Second) / clockTicks), cpus, nil
}
