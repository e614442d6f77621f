package testutil

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// pidsWithArg lists the processes (other than this one) with an argv
// element that is root or names something under it.
func pidsWithArg(root string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(b, []byte{0}) {
			if s := string(arg); s == root || strings.Contains(s, root+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// findCgroupDirs returns every cgroup directory named name in any
// hierarchy, wherever it nests (the daemon puts its cgroup parent under its
// own cgroup, which differs per controller). It does not look inside them.
func findCgroupDirs(name string) []string {
	var dirs []string
	hiers, _ := os.ReadDir(cgroupRoot)
	for _, h := range hiers {
		if !h.IsDir() { // cpu,cpuacct style symlinks repeat a hierarchy
			continue
		}
		filepath.WalkDir(filepath.Join(cgroupRoot, h.Name()), func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if d.Name() == name {
				dirs = append(dirs, p)
				return filepath.SkipDir
			}
			return nil
		})
	}
	return dirs
}

// cgroupTree lists dir and all cgroups below it, deepest first.
func cgroupTree(dir string) []string {
	var dirs []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return depth(dirs[i]) > depth(dirs[j]) })
	return dirs
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

// cgroupPids lists the processes in the cgroups named name and below.
func cgroupPids(name string) []int {
	var pids []int
	for _, top := range findCgroupDirs(name) {
		for _, dir := range cgroupTree(top) {
			b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
					pids = append(pids, pid)
				}
			}
		}
	}
	return pids
}

// killAll SIGKILLs the processes that list() returns until it returns none
// (a dying shim may still fork) or the deadline passes. It returns what is
// left. A cgroup freezer left frozen would make SIGKILL wait forever, so
// frozen cgroups are thawed first.
func killAll(list func() []int, cgroupName string, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		pids := list()
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		if cgroupName != "" {
			thaw(cgroupName)
		}
		for _, pid := range pids {
			unix.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func thaw(name string) {
	for _, top := range findCgroupDirs(name) {
		if !strings.HasPrefix(top, filepath.Join(cgroupRoot, "freezer")+"/") {
			continue
		}
		for _, dir := range cgroupTree(top) {
			os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0o644)
		}
	}
}

// removeCgroups removes the cgroups named name and everything below them,
// deepest first, retrying while the kernel still counts exiting tasks.
func removeCgroups(name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var last error
		for _, top := range findCgroupDirs(name) {
			for _, dir := range cgroupTree(top) {
				if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
					last = &os.PathError{Op: "rmdir", Path: dir, Err: err}
				}
			}
		}
		if last == nil || time.Now().After(deadline) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unmountUnder detaches every mount point at or below each root, deepest
// first, until none is left. Mounts stacked on one point need several
// rounds.
func unmountUnder(roots ...string) error {
	for round := 0; ; round++ {
		var points []string
		for _, root := range roots {
			if root == "" {
				continue
			}
			mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(root))
			if err != nil {
				return err
			}
			for _, m := range mounts {
				points = append(points, m.Mountpoint)
			}
		}
		if len(points) == 0 {
			return nil
		}
		if round == 10 {
			return errors.New("mounts left after 10 rounds: " + strings.Join(points, ", "))
		}
		sort.Slice(points, func(i, j int) bool { return depth(points[i]) > depth(points[j]) })
		for _, p := range points {
			unix.Unmount(p, unix.MNT_DETACH)
		}
	}
}
