package runtime

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
)

// NamespaceHost asks for the host's namespace instead of a new one.
const NamespaceHost = "host"

// ShmNone leaves /dev/shm unmounted (Docker's --ipc none).
const ShmNone = "none"

// InitDestination is where the init binary appears in the container, as
// in Docker.
const InitDestination = "/sbin/docker-init"

// Namespaces are the container's pid, ipc, uts and cgroup namespace
// choices. The zero value is Docker's default on a cgroup v1 host.
type Namespaces struct {
	// PID, IPC and UTS are "" for a new namespace, NamespaceHost for the
	// host's, or the path of a namespace file to join
	// ("/proc/<pid>/ns/pid" of another container's init). UTS is ignored
	// with the host network, which shares the host's UTS namespace.
	PID, IPC, UTS string
	// Shm is "" for a private /dev/shm tmpfs of Config.ShmSize, ShmNone
	// for none, or a host path bind-mounted as /dev/shm (the host's
	// /dev/shm, another container's).
	Shm string
	// CgroupPrivate gives the container its own cgroup namespace.
	CgroupPrivate bool
}

// Ulimit is one --ulimit: Name is Docker's lower-case name ("nofile").
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// Device is a host device node exposed in the container.
type Device struct {
	Path         string // in the container
	Type         string // "c" or "b"
	Major, Minor int64
	FileMode     os.FileMode
	UID, GID     uint32
	Permissions  string // cgroup access, "rwm" or a subset
}

// rlimitNames are the --ulimit names Docker accepts, mapped to the OCI type.
var rlimitNames = map[string]string{
	"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
	"nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS",
	"rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING",
	"stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}

// validateOptions checks the options of this file with Docker's wording.
func validateOptions(cfg Config) error {
	for _, u := range cfg.Ulimits {
		if _, ok := rlimitNames[u.Name]; !ok {
			return errdefs.InvalidParameterf("invalid ulimit type: %s", u.Name)
		}
		if u.Soft > u.Hard && u.Hard >= 0 {
			return errdefs.InvalidParameterf("ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
		}
	}
	if a := cfg.OomScoreAdj; a != nil && (*a < -1000 || *a > 1000) {
		return errdefs.InvalidParameterf("Invalid value %d, range for oom score adj is [-1000, 1000]", *a)
	}
	if cfg.ShmSize < 0 {
		return errdefs.InvalidParameterf("SHM size can not be less than 0")
	}
	if err := validateCpuset("cpus", cfg.Resources.CpusetCpus, cfg.Host.NCPU); err != nil {
		return err
	}
	if err := validateCpuset("mems", cfg.Resources.CpusetMems, 0); err != nil {
		return err
	}
	for _, d := range cfg.Devices {
		if !strings.HasPrefix(d.Path, "/") {
			return errdefs.InvalidParameterf("%s is not an absolute path", d.Path)
		}
		if d.Type != "c" && d.Type != "b" {
			return errdefs.InvalidParameterf("%s is not a device node", d.Path)
		}
	}
	return nil
}

// validateCpuset checks a "0-2,4" list and, when n > 0, that every CPU is
// below n.
func validateCpuset(kind, list string, n int) error {
	if list == "" {
		return nil
	}
	ids, err := ParseCpuset(list)
	if err != nil {
		return errdefs.InvalidParameterf("Invalid value %s for cpuset %s", list, kind)
	}
	if n > 0 && slices.Max(ids) >= n {
		return errdefs.InvalidParameterf("Requested CPUs are not available - requested %s, available: 0-%d", list, n-1)
	}
	return nil
}

// ParseCpuset expands a cgroup cpuset list ("0-2,4") into its members.
func ParseCpuset(list string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		l, err := strconv.Atoi(lo)
		if err != nil || l < 0 {
			return nil, fmt.Errorf("invalid cpuset %q", list)
		}
		h := l
		if isRange {
			if h, err = strconv.Atoi(hi); err != nil || h < l {
				return nil, fmt.Errorf("invalid cpuset %q", list)
			}
		}
		for i := l; i <= h; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// namespaces lists the container's namespaces: mount always new, net from
// NetworkMode, the rest from cfg.Namespaces.
func namespaces(cfg Config) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	add := func(t specs.LinuxNamespaceType, mode string) {
		switch mode {
		case NamespaceHost:
		case "":
			ns = append(ns, specs.LinuxNamespace{Type: t})
		default:
			ns = append(ns, specs.LinuxNamespace{Type: t, Path: mode})
		}
	}
	add(specs.PIDNamespace, cfg.Namespaces.PID)
	add(specs.IPCNamespace, cfg.Namespaces.IPC)
	switch cfg.NetworkMode {
	case "host":
		// Docker shares the host's UTS namespace with its network: the
		// hostname belongs to the network identity.
	case "", "none":
		add(specs.UTSNamespace, cfg.Namespaces.UTS)
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	default:
		add(specs.UTSNamespace, cfg.Namespaces.UTS)
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: cfg.NetworkMode})
	}
	if cfg.Namespaces.CgroupPrivate {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

// ownUTS reports whether the container gets a UTS namespace of its own, the
// only case in which its hostname may be set.
func ownUTS(cfg Config) bool {
	return cfg.NetworkMode != "host" && cfg.Namespaces.UTS == ""
}

// shmMount is the /dev/shm mount for the IPC choice, or nil for none.
func shmMount(cfg Config) *specs.Mount {
	switch src := cfg.Namespaces.Shm; src {
	case ShmNone:
		return nil
	case "":
		size := cfg.ShmSize
		if size == 0 {
			size = defaultShmSize
		}
		return &specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(size, 10)}}
	default:
		return &specs.Mount{Destination: "/dev/shm", Type: "bind", Source: src, Options: []string{"rbind", "rprivate"}}
	}
}

// rlimits starts from the default NOFILE (capped at the host's ceiling) and
// lets --ulimit values replace or add limits by type.
func rlimits(cfg Config) []specs.POSIXRlimit {
	n := uint64(defaultNofile)
	if h := cfg.Host.NofileMax; h != 0 && h < n {
		n = h
	}
	out := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: n, Soft: n}}
	for _, u := range cfg.Ulimits {
		rl := specs.POSIXRlimit{Type: rlimitNames[u.Name], Hard: uint64(u.Hard), Soft: uint64(u.Soft)}
		if i := slices.IndexFunc(out, func(r specs.POSIXRlimit) bool { return r.Type == rl.Type }); i >= 0 {
			out[i] = rl
			continue
		}
		out = append(out, rl)
	}
	return out
}

// withInit puts the init binary in front of the command and mounts it.
func withInit(cfg Config, s *specs.Spec) {
	if cfg.InitPath == "" {
		return
	}
	s.Process.Args = append([]string{InitDestination, "--"}, s.Process.Args...)
	s.Mounts = append(s.Mounts, specs.Mount{
		Destination: InitDestination, Type: "bind", Source: cfg.InitPath,
		Options: []string{"rbind", "ro", "nosuid", "nodev", "rprivate"},
	})
}

// withDevices adds the user's device nodes and their cgroup rules.
func withDevices(cfg Config, s *specs.Spec) {
	for _, d := range cfg.Devices {
		mode, uid, gid := d.FileMode, d.UID, d.GID
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{
			Path: d.Path, Type: d.Type, Major: d.Major, Minor: d.Minor, FileMode: &mode, UID: &uid, GID: &gid,
		})
		if cfg.Privileged {
			continue // the device cgroup already allows everything
		}
		major, minor := d.Major, d.Minor
		perms := d.Permissions
		if perms == "" {
			perms = "rwm"
		}
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: perms,
		})
	}
}
