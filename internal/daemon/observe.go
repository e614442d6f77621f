package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	apicontainer "github.com/moby/moby/api/types/container"
	apievents "github.com/moby/moby/api/types/events"
	"github.com/opencontainers/cgroups"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/runtime"
)

// This file holds the observe-and-control verbs on a running container:
// pause/unpause (cgroup freezer), top (host ps filtered by the container's
// cgroup) and stats (cgroup counters). The cgroup work is runtime's.

// live returns a container that has a process, or Docker's 409s.
func (s *Containers) live(ref string) (*container.Snapshot, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return nil, err
	}
	if snap.State.Status == container.StatusRestarting {
		return nil, errdefs.Conflictf("Container %s is restarting, wait until the container is running", snap.ID)
	}
	if !snap.State.IsRunning() || snap.State.Pid <= 0 {
		return nil, errdefs.Conflictf("Container %s is not running", snap.ID)
	}
	return snap, nil
}

// Pause freezes every process of a running container.
func (s *Containers) Pause(ctx context.Context, ref string) error {
	snap, err := s.live(ref)
	if err != nil {
		return err
	}
	if snap.State.Status == container.StatusPaused {
		return errdefs.Conflictf("Container %s is already paused", snap.ID)
	}
	if err := runtime.Freeze(ctx, snap.State.Pid, true); err != nil {
		// A container that just died (kill returns before its exit is
		// recorded) has lost its cgroups: that is "not running", not a
		// daemon fault.
		if !pidAlive(snap.State.Pid) {
			return errdefs.Conflictf("Container %s is not running", snap.ID)
		}
		return errdefs.System(fmt.Errorf("Cannot pause container %s: %w", snap.ID, err))
	}
	after, err := s.store.Update(snap.ID, func(c *container.Container) error {
		if c.State.Pid != snap.State.Pid {
			return errdefs.Conflictf("Container %s is not running", c.ID)
		}
		return c.State.SetPaused()
	})
	if err != nil {
		// The process exited (or was restarted) meanwhile: leave nothing
		// frozen behind.
		if terr := runtime.Freeze(context.WithoutCancel(ctx), snap.State.Pid, false); terr != nil {
			s.log.Debug("thaw after failed pause", "container", snap.ID, "err", terr)
		}
		if errdefs.IsConflict(err) {
			return errdefs.Conflictf("Container %s is not running", snap.ID)
		}
		return err
	}
	s.publish(after, apievents.ActionPause, nil)
	return nil
}

// Unpause thaws a paused container.
func (s *Containers) Unpause(ctx context.Context, ref string) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if snap.State.Status != container.StatusPaused {
		return errdefs.Conflictf("Container %s is not paused", snap.ID)
	}
	if err := runtime.Freeze(ctx, snap.State.Pid, false); err != nil {
		return errdefs.System(fmt.Errorf("Cannot unpause container %s: %w", snap.ID, err))
	}
	after, err := s.store.Update(snap.ID, func(c *container.Container) error {
		return c.State.SetUnpaused()
	})
	if err != nil {
		return errdefs.Conflictf("Container %s is not paused", snap.ID)
	}
	s.publish(after, apievents.ActionUnPause, nil)
	return nil
}

// thawForSignal lets a signal just sent to a paused container take effect:
// a frozen process does not die, even of SIGKILL, until it is thawed. Like
// Docker, the container is running again (and says so) until it exits.
func (s *Containers) thawForSignal(id string) {
	snap, err := s.store.Lookup(id)
	if err != nil || snap.State.Status != container.StatusPaused {
		return
	}
	if err := runtime.Freeze(context.Background(), snap.State.Pid, false); err != nil {
		s.log.Warn("thawing paused container", "container", id, "err", err)
		return
	}
	after, err := s.store.Update(id, func(c *container.Container) error {
		return c.State.SetUnpaused()
	})
	if err == nil {
		s.publish(after, apievents.ActionUnPause, nil)
	}
}

// Top lists the container's processes as the host's ps shows them.
func (s *Containers) Top(ctx context.Context, ref, psArgs string) (*apicontainer.TopResponse, error) {
	if psArgs == "" {
		psArgs = "-ef"
	}
	if err := validatePSArgs(psArgs); err != nil {
		return nil, err
	}
	snap, err := s.live(ref)
	if err != nil {
		return nil, err
	}
	pids, err := runtime.Processes(snap.State.Pid)
	if err != nil {
		if errdefs.IsConflict(err) {
			return nil, errdefs.Conflictf("Container %s is not running", snap.ID)
		}
		return nil, err
	}
	args := strings.Split(psArgs, " ")
	out, err := exec.CommandContext(ctx, "ps", append(args, psPidsArg(pids))...).Output()
	if err != nil {
		// Some ps options (f, for one) refuse -q: list everything and
		// filter here, as Docker does.
		out, err = exec.CommandContext(ctx, "ps", args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if line, _, _ := bytes.Cut(ee.Stderr, []byte{'\n'}); len(line) > 0 {
					// Docker's wording: ps's first stderr line after "ps: ".
					return nil, errdefs.InvalidParameterf("ps: %s", line)
				}
			}
			return nil, errdefs.System(fmt.Errorf("ps: %w", err))
		}
	}
	return parsePSOutput(out, pids)
}

// psArgsAssign finds "name=PID…" in ps arguments: renaming the PID column
// would hide it from the filter.
var psArgsAssign = regexp.MustCompile(`\s+(\S*)=\s*(PID\S*)`)

func validatePSArgs(psArgs string) error {
	for _, g := range psArgsAssign.FindAllStringSubmatch(psArgs, -1) {
		if g[1] != "pid" {
			return errdefs.InvalidParameterf("specifying \"%s=%s\" is not allowed", g[1], g[2])
		}
	}
	return nil
}

// psPidsArg is procps's quick-pid selection, "-q1,2,3".
func psPidsArg(pids []int) string {
	b := []byte("-q")
	for i, p := range pids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p), 10)
	}
	return string(b)
}

// parsePSOutput keeps the ps rows whose PID is one of pids. The last column
// (the command) may contain spaces: overhanging fields are joined into it.
// Rows with PID "-" (threads under `ps m`) follow the process above them.
func parsePSOutput(output []byte, pids []int) (*apicontainer.TopResponse, error) {
	lines := strings.Split(string(output), "\n")
	resp := &apicontainer.TopResponse{Processes: [][]string{}}
	resp.Titles = strings.Fields(lines[0])
	pidIndex := -1
	for i, t := range resp.Titles {
		if t == "PID" {
			pidIndex = i
			break
		}
	}
	if pidIndex == -1 {
		return nil, errdefs.InvalidParameterf("Couldn't find PID field in ps output")
	}
	in := make(map[int]bool, len(pids))
	for _, p := range pids {
		in[p] = true
	}
	keep := false
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if pidIndex >= len(fields) {
			return nil, errdefs.Systemf("Unexpected ps output line %q", line)
		}
		if fields[pidIndex] != "-" {
			p, err := strconv.Atoi(fields[pidIndex])
			if err != nil {
				return nil, errdefs.Systemf("Unexpected pid '%s': %s", fields[pidIndex], err)
			}
			keep = in[p]
		}
		if !keep {
			continue
		}
		n := len(resp.Titles)
		if len(fields) > n {
			fields = append(fields[:n-1:n-1], strings.Join(fields[n-1:], " "))
		}
		resp.Processes = append(resp.Processes, fields)
	}
	return resp, nil
}

// statsInterval is Docker's sampling period for streamed stats; a single
// sample waits statsPreRead for the earlier reading its CPU % needs.
const (
	statsInterval = time.Second
	statsPreRead  = 500 * time.Millisecond
)

// Stats emits the container's resource usage: one sample, or (stream) one
// per second until ctx ends or the container is removed. A container
// without a process reports only its name and ID, as Docker's does.
func (s *Containers) Stats(ctx context.Context, ref string, stream, oneShot bool, emit func(*apicontainer.StatsResponse) error) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	id := snap.ID
	var prev *runtime.Sample
	read := func() (*apicontainer.StatsResponse, error) {
		cur, err := s.store.Lookup(id)
		if err != nil {
			return nil, err
		}
		if !cur.State.IsRunning() || cur.State.Pid <= 0 {
			prev = nil
			return &apicontainer.StatsResponse{ID: cur.ID, Name: cur.Name}, nil
		}
		smp, err := runtime.Stats(cur.State.Pid)
		if err != nil {
			if errdefs.IsConflict(err) {
				// Exited between the lookup and the read.
				prev = nil
				return &apicontainer.StatsResponse{ID: cur.ID, Name: cur.Name}, nil
			}
			return nil, err
		}
		resp := statsResponse(cur.ID, cur.Name, smp, prev)
		prev = smp
		return resp, nil
	}
	if !stream {
		if !oneShot {
			if _, err := read(); err != nil {
				return err
			}
			if !sleepCtx(ctx, statsPreRead) {
				return ctx.Err()
			}
		}
		resp, err := read()
		if err != nil {
			return err
		}
		return emit(resp)
	}
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		resp, err := read()
		if err != nil {
			if errdefs.IsNotFound(err) {
				return nil
			}
			return err
		}
		if err := emit(resp); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// statsResponse converts a cgroup sample (and the one before it, for the
// precpu fields the CPU % needs) to Docker's StatsResponse.
func statsResponse(id, name string, cur, prev *runtime.Sample) *apicontainer.StatsResponse {
	cg := cur.Cgroup
	mem := cg.MemoryStats
	limit := mem.Usage.Limit
	if cur.MachineMemory > 0 && limit > cur.MachineMemory {
		limit = cur.MachineMemory
	}
	resp := &apicontainer.StatsResponse{
		ID: id, Name: name, Read: cur.Read,
		CPUStats: cpuStats(cur),
		MemoryStats: apicontainer.MemoryStats{
			Usage: mem.Usage.Usage, MaxUsage: mem.Usage.MaxUsage, Failcnt: mem.Usage.Failcnt,
			Limit: limit, Stats: mem.Stats,
		},
		PidsStats: apicontainer.PidsStats{Current: cg.PidsStats.Current, Limit: cg.PidsStats.Limit},
		BlkioStats: apicontainer.BlkioStats{
			IoServiceBytesRecursive: blkioEntries(cg.BlkioStats.IoServiceBytesRecursive),
			IoServicedRecursive:     blkioEntries(cg.BlkioStats.IoServicedRecursive),
			IoQueuedRecursive:       blkioEntries(cg.BlkioStats.IoQueuedRecursive),
			IoServiceTimeRecursive:  blkioEntries(cg.BlkioStats.IoServiceTimeRecursive),
			IoWaitTimeRecursive:     blkioEntries(cg.BlkioStats.IoWaitTimeRecursive),
			IoMergedRecursive:       blkioEntries(cg.BlkioStats.IoMergedRecursive),
			IoTimeRecursive:         blkioEntries(cg.BlkioStats.IoTimeRecursive),
			SectorsRecursive:        blkioEntries(cg.BlkioStats.SectorsRecursive),
		},
	}
	if prev != nil {
		resp.PreRead = prev.Read
		resp.PreCPUStats = cpuStats(prev)
	}
	return resp
}

func cpuStats(s *runtime.Sample) apicontainer.CPUStats {
	c := s.Cgroup.CpuStats
	return apicontainer.CPUStats{
		CPUUsage: apicontainer.CPUUsage{
			TotalUsage: c.CpuUsage.TotalUsage, PercpuUsage: c.CpuUsage.PercpuUsage,
			UsageInKernelmode: c.CpuUsage.UsageInKernelmode, UsageInUsermode: c.CpuUsage.UsageInUsermode,
		},
		SystemUsage: s.SystemCPU,
		OnlineCPUs:  s.OnlineCPUs,
		ThrottlingData: apicontainer.ThrottlingData{
			Periods: c.ThrottlingData.Periods, ThrottledPeriods: c.ThrottlingData.ThrottledPeriods,
			ThrottledTime: c.ThrottlingData.ThrottledTime,
		},
	}
}

func blkioEntries(in []cgroups.BlkioStatEntry) []apicontainer.BlkioStatEntry {
	if in == nil {
		return nil
	}
	out := make([]apicontainer.BlkioStatEntry, len(in))
	for i, e := range in {
		out[i] = apicontainer.BlkioStatEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value}
	}
	return out
}

// pidAlive reports whether pid names a live (not zombie) process.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}
