package runtime

import (
	"runtime"
	"strings"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// DetectHost reads the host facts Spec needs. Call it once per daemon.
func DetectHost() (Host, error) {
	var h Host
	for _, c := range capability.ListKnown() {
		ok, err := capability.GetBound(c)
		if err != nil {
			// Capabilities beyond the kernel's last cap report EINVAL.
			continue
		}
		if ok {
			h.BoundingCaps = append(h.BoundingCaps, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return Host{}, err
	}
	if rl.Max != unix.RLIM_INFINITY {
		h.NofileMax = rl.Max
	}
	h.NCPU = runtime.NumCPU()
	h.NoX32ABI = !x32Supported()
	// cgroup v2 always accounts swap; v1 only with memsw files present.
	if !fileExists("/sys/fs/cgroup/cgroup.controllers") && !fileExists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") {
		h.NoSwapLimit = true
	}
	return h, nil
}

func fileExists(p string) bool {
	var st unix.Stat_t
	return unix.Stat(p, &st) == nil
}
