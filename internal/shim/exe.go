package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/exeseal"
	"golang.org/x/sys/unix"
)

// The container's init is a re-exec of the shim's own binary, and a
// process in the container could reach that binary through /proc/<pid>/exe
// and overwrite it (CVE-2019-5736). libcontainer therefore runs init from a
// sealed copy: a read-only overlayfs view of the binary's directory, or,
// when that is impossible (e.g. the binary's directory contains the state
// dir), a fresh 22 MB memfd copy per start (~10 ms here). It skips the copy
// when the shim itself already runs from a sealed memfd. So the daemon
// makes one sealed memfd copy of itself, once, and starts every shim from
// it: each start is as safe as before and costs no copy.
var sealed struct {
	once sync.Once
	f    *os.File // nil: exec /proc/self/exe and let libcontainer seal per start
}

// sealedSelf returns a sealed memfd copy of the running binary, made on
// first use; nil when this process already runs from one, or when the copy
// cannot be made (libcontainer then seals per start, as before).
func sealedSelf() *os.File {
	sealed.once.Do(func() {
		if exeseal.IsSelfExeCloned() {
			return
		}
		f, err := cloneSelf()
		if err == nil {
			sealed.f = f
		}
	})
	return sealed.f
}

// Prepare makes the sealed copy of the binary that shims are started from
// (see sealedSelf), so that the first container start does not pay for it.
// Calling it is optional; it is safe to call from any goroutine.
func Prepare() { sealedSelf() }

func cloneSelf() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, err
	}
	f, seal, err := exeseal.Memfd("berth")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, src)
	if err == nil && n != st.Size() {
		err = fmt.Errorf("copied %d of %d bytes", n, st.Size())
	}
	if err == nil {
		err = seal(&f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("seal copy of /proc/self/exe: %w", err)
	}
	return f, nil
}

// WarmCgroups re-attaches this process to the cgroup it is already in, on
// a goroutine, and returns at once. The move changes nothing, but the
// kernel's first write to any cgroup.procs takes a global lock whose writer
// side waits for an RCU grace period (~10 ms on cgroup v1 here); writers
// that follow within about a grace period do not wait. Start calls it; the
// daemon may call it earlier, as soon as it knows a container will start,
// so that the wait overlaps its own preparation and the shim's start
// instead of delaying the container's init, whose cgroups libcontainer
// joins a few milliseconds later.
func WarmCgroups() {
	dir, err := ownCgroupDir()
	if err != nil {
		return
	}
	go func() { _ = cgroups.WriteCgroupProc(dir, os.Getpid()) }()
}

var ownCgroup struct {
	once sync.Once
	dir  string
	err  error
}

// ownCgroupDir is this process's cgroup directory in one hierarchy (which
// one does not matter: the lock is global). Cached: the daemon does not
// move between cgroups.
func ownCgroupDir() (string, error) {
	ownCgroup.once.Do(func() {
		if cgroups.IsCgroup2UnifiedMode() {
			m, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
			if err != nil {
				ownCgroup.err = err
				return
			}
			p, ok := m[""]
			if !ok {
				ownCgroup.err = errors.New("no cgroup v2 path")
				return
			}
			ownCgroup.dir = filepath.Join("/sys/fs/cgroup", p)
			return
		}
		ownCgroup.dir, ownCgroup.err = cgroups.GetOwnCgroupPath("pids")
	})
	return ownCgroup.dir, ownCgroup.err
}

// exeFdFlag names the shim flag that carries the inherited fd of the
// sealed binary, which the shim closes at once so that it reaches no child.
const exeFdFlag = "--exe-fd"

func closeInheritedExe(fd int) {
	if fd > 2 {
		_ = os.NewFile(uintptr(fd), "exe"+strconv.Itoa(fd)).Close()
	}
}

// sealedFdEnv tells a process re-executed by RunFromSealedCopy which
// descriptor held its own binary, so it can close it.
const sealedFdEnv = "_BERTH_SEALED_EXE_FD"

// RunFromSealedCopy re-executes the calling process (the daemon) from a
// sealed memfd copy of its binary, once, at startup. libcontainer then sees
// every container process it starts from the daemon — exec and health
// probes — as already sealed and skips its per-process 22 MB copy, and
// shims inherit the sealed binary. It returns only when the process already
// runs sealed, or when re-executing is impossible (the caller carries on
// unsealed: libcontainer then seals per start, as before).
func RunFromSealedCopy() {
	if v := os.Getenv(sealedFdEnv); v != "" {
		os.Unsetenv(sealedFdEnv)
		if fd, err := strconv.Atoi(v); err == nil {
			closeInheritedExe(fd)
		}
	}
	if exeseal.IsSelfExeCloned() {
		return
	}
	f, err := cloneSelf()
	if err != nil {
		return
	}
	fd := int(f.Fd())
	// The copy must survive the exec; the new process closes it.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		f.Close()
		return
	}
	env := append(os.Environ(), sealedFdEnv+"="+strconv.Itoa(fd))
	err = unix.Exec("/proc/self/fd/"+strconv.Itoa(fd), os.Args, env)
	// Only reached when the exec failed.
	f.Close()
	_ = err
}
