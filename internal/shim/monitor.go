package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// The shim lives as long as its container, so its steady state is what
// every running container costs. The Go runtime alone keeps ~6 MB
// resident (heap arenas, GC metadata, the parts of a 22 MB binary the GC
// and scheduler touch). So once the container runs, the Go shim hands over
// to a small C monitor (monitor.c) by exec'ing its own binary again with
// _BERTH_SHIM_MONITOR set: a cgo constructor sees it before the Go runtime
// starts and never returns. The PID stays the same, so the container's init
// stays its child, and the sealed binary stays the shim's executable.
//
// What crosses the exec (all other fds are close-on-exec):
//
//	_BERTH_SHIM_MONITOR  pid,pidfd,stdout,stderr,listener,log-max-size,log-max-files
//	_BERTH_SHIM_ID       container ID (error messages)
//	_BERTH_SHIM_STATE    state dir (exit.json, config.json, runc/, shim.sock)
//	_BERTH_SHIM_LOG      json-file log path; empty discards output
//	_BERTH_SHIM_OOM      cgroup files with an "oom_kill N" line, one a line
//	_BERTH_SHIM_CGROUPS  one line per hierarchy: the container's cgroup, then
//	                     the parents to remove, innermost first, tab-separated
//
// The monitor then does what server.run does: log output exactly as
// logger.JSONFile would, answer the socket protocol, reap the init, drain
// the pipes, write exit.json, remove the cgroups and state, answer waiters.
// The container's cgroup teardown is libcontainer's Destroy reduced to what
// applies here: the init has its own PID namespace (so the kernel kills
// the rest of the container with it), and there are no poststop hooks and
// no Intel RDT; any other container stays with the Go steady state.
const monitorEnv = "_BERTH_SHIM_MONITOR"

var errNoMonitor = errors.New("shim: C monitor not usable for this container")

// execMonitor replaces this process with the C monitor. It returns only if
// that is impossible, with everything as it was, so the caller can go on
// in Go.
func (s *server) execMonitor() error {
	if !haveMonitor || !s.monitorable {
		return errNoMonitor
	}
	// The hand-over format separates with tabs and newlines.
	for _, p := range s.cgroups {
		if strings.ContainsAny(p, "\t\n") {
			return errNoMonitor
		}
	}
	pidfd, err := unix.PidfdOpen(s.pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(pidfd) // reached only if exec fails
	rc, err := s.ln.SyscallConn()
	if err != nil {
		return err
	}
	lnfd := -1
	if err := rc.Control(func(fd uintptr) { lnfd = int(fd) }); err != nil {
		return err
	}
	fds := []int{pidfd, int(s.pipes[0].Fd()), int(s.pipes[1].Fd()), lnfd}
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			restoreCloexec(fds)
			return err
		}
	}
	env := []string{
		fmt.Sprintf("%s=%d,%d,%d,%d,%d,%d,%d", monitorEnv, s.pid, fds[0], fds[1], fds[2], fds[3], s.args.logMaxSize, s.args.logMaxFiles),
		"_BERTH_SHIM_ID=" + s.args.id,
		"_BERTH_SHIM_STATE=" + s.args.stateDir,
		"_BERTH_SHIM_LOG=" + s.args.logPath,
		"_BERTH_SHIM_OOM=" + strings.Join(s.oomFiles(), "\n"),
		"_BERTH_SHIM_CGROUPS=" + s.cgroupChains(),
	}
	// The cmdline still names the role and the state dir, for ps and for
	// tools that find a container's shim by it.
	argv := []string{os.Args[0], "shim", "--monitor", "--state-dir", s.args.stateDir}
	err = unix.Exec("/proc/self/exe", argv, env)
	restoreCloexec(fds)
	return fmt.Errorf("exec monitor: %w", err)
}

func restoreCloexec(fds []int) {
	for _, fd := range fds {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
	}
}

// oomFiles lists where the OOM kill counter may be, in server.oomKilled's
// order.
func (s *server) oomFiles() []string {
	var files []string
	if p, ok := s.cgroups["memory"]; ok {
		files = append(files, filepath.Join(p, "memory.oom_control"))
	}
	if p, ok := s.cgroups[""]; ok {
		files = append(files, filepath.Join(p, "memory.events"))
	}
	return files
}

// cgroupChains is what Destroy and removeCgroupParents remove, per
// hierarchy: the container's cgroup, then its parents up to the shim's own.
func (s *server) cgroupChains() string {
	depth := strings.Count(filepath.Clean(s.cgroupRel), "/")
	seen := map[string]bool{}
	var lines []string
	for _, p := range s.cgroups {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		chain := []string{p}
		dir := p
		for i := 0; i < depth; i++ {
			dir = filepath.Dir(dir)
			chain = append(chain, dir)
		}
		lines = append(lines, strings.Join(chain, "\t"))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
