package runtime

import (
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
)

// DefaultCgroupParent is the cgroup, relative to the daemon's own, that
// containers are placed under when Config.CgroupParent is empty.
const DefaultCgroupParent = "berth"

const (
	defaultPath    = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	defaultNofile  = 1048576
	defaultShmSize = 64 << 20
)

// maskedPaths and readonlyPaths are Docker's defaults for unprivileged
// containers: kernel interfaces that leak host data or allow host changes.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// Spec validates cfg and builds the OCI spec for it. It does no I/O (the
// default seccomp profile conversion is computed once per capability set
// and cached).
func Spec(cfg Config) (*specs.Spec, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	if err := validateOptions(cfg); err != nil {
		return nil, err
	}
	cgroupsPath, err := cgroupPath(cfg.CgroupParent, cfg.ID)
	if err != nil {
		return nil, err
	}
	caps, err := capabilities(cfg)
	if err != nil {
		return nil, err
	}
	res, err := resources(cfg)
	if err != nil {
		return nil, err
	}
	cwd := cfg.Cwd
	if cwd == "" {
		cwd = "/"
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: cfg.Rootfs, Readonly: cfg.ReadonlyRootfs},
		Process: &specs.Process{
			Terminal: cfg.Tty,
			Args:     slices.Clone(cfg.Args),
			Env:      env(cfg),
			Cwd:      cwd,
			User: specs.User{
				UID:            cfg.User.UID,
				GID:            cfg.User.GID,
				AdditionalGids: slices.Clone(cfg.User.AdditionalGids),
			},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: slices.Clone(caps),
				Permitted: slices.Clone(caps),
			},
			Rlimits:         rlimits(cfg),
			NoNewPrivileges: cfg.NoNewPrivileges,
			OOMScoreAdj:     cfg.OomScoreAdj,
		},
		Mounts: mounts(cfg),
		Linux: &specs.Linux{
			CgroupsPath: cgroupsPath,
			Namespaces:  namespaces(cfg),
			Resources:   res,
			Devices:     defaultDevices(),
			Sysctl:      maps.Clone(cfg.Sysctls),
		},
	}
	if ownUTS(cfg) {
		s.Hostname = cfg.Hostname
		s.Domainname = cfg.Domainname
	}
	if len(cfg.Labels) > 0 {
		s.Annotations = maps.Clone(cfg.Labels)
	}
	withDevices(cfg, s)
	withInit(cfg, s)
	if !cfg.Privileged {
		s.Linux.MaskedPaths = slices.Clone(maskedPaths)
		s.Linux.ReadonlyPaths = slices.Clone(readonlyPaths)
		sc, err := seccompFor(cfg.SeccompProfile, cfg.Host.NoX32ABI, s)
		if err != nil {
			return nil, err
		}
		s.Linux.Seccomp = sc
	}
	return s, nil
}

func validate(cfg Config) error {
	if cfg.ID == "" {
		return errdefs.InvalidParameterf("container ID is empty")
	}
	if cfg.Rootfs == "" || !path.IsAbs(cfg.Rootfs) {
		return errdefs.InvalidParameterf("rootfs %q is not an absolute path", cfg.Rootfs)
	}
	if len(cfg.Args) == 0 || cfg.Args[0] == "" {
		return errdefs.InvalidParameterf("no command specified")
	}
	if cfg.Cwd != "" && !path.IsAbs(cfg.Cwd) {
		return errdefs.InvalidParameterf("the working directory '%s' is invalid, it needs to be an absolute path", cfg.Cwd)
	}
	for _, m := range cfg.Mounts {
		if !path.IsAbs(m.Destination) {
			return errdefs.InvalidParameterf("invalid mount config: mount path must be absolute: %s", m.Destination)
		}
	}
	if cfg.NetworkMode == "host" {
		for k := range cfg.Sysctls {
			if strings.HasPrefix(k, "net.") {
				return errdefs.InvalidParameterf("sysctl %q not allowed in host network namespace", k)
			}
		}
	}
	return nil
}

// cgroupPath returns the container's cgroup path relative to the cgroup the
// runtime runs in. A relative path makes libcontainer nest it under the
// caller's own cgroup, which is what keeps berth inside the cgroup it was
// started in.
func cgroupPath(parent, id string) (string, error) {
	if parent == "" {
		parent = DefaultCgroupParent
	}
	if path.IsAbs(parent) {
		return "", errdefs.InvalidParameterf("cgroup parent %q must be relative to the daemon's cgroup", parent)
	}
	clean := path.Clean(parent)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", errdefs.InvalidParameterf("cgroup parent %q escapes the daemon's cgroup", parent)
	}
	if strings.Contains(id, "/") || id == "." || id == ".." {
		return "", errdefs.InvalidParameterf("invalid container ID %q", id)
	}
	return clean + "/" + id, nil
}

// env merges the container's environment over the runtime defaults: later
// entries win, and defaults only fill what is absent.
func env(cfg Config) []string {
	out := make([]string, 0, len(cfg.Env)+4)
	idx := map[string]int{}
	set := func(kv string, override bool) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			if override {
				out[i] = kv
			}
			return
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	set(defaultPath, true)
	if cfg.Hostname != "" {
		set("HOSTNAME="+cfg.Hostname, true)
	}
	for _, kv := range cfg.Env {
		set(kv, true)
	}
	if cfg.Tty {
		set("TERM=xterm", false)
	}
	home := cfg.User.Home
	if home == "" {
		home = "/"
	}
	set("HOME="+home, false)
	return out
}

func mounts(cfg Config) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgOpts := []string{"ro", "nosuid", "noexec", "nodev"}
	if cfg.Privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev", "rw"}
		cgOpts = []string{"rw", "nosuid", "noexec", "nodev"}
	}
	defaults := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgOpts},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if shm := shmMount(cfg); shm != nil {
		defaults = append(defaults, *shm)
	}
	out := make([]specs.Mount, 0, len(defaults)+len(cfg.Mounts))
	for _, d := range defaults {
		if !overridden(d.Destination, cfg.Mounts) {
			out = append(out, d)
		}
	}
	for _, m := range cfg.Mounts {
		typ := m.Type
		if typ == "" {
			typ = "bind"
		}
		out = append(out, specs.Mount{
			Destination: path.Clean(m.Destination),
			Type:        typ,
			Source:      m.Source,
			Options:     slices.Clone(m.Options),
		})
	}
	return out
}

// overridden reports whether a user mount sits at or above dest, in which
// case Docker drops the default mount.
func overridden(dest string, user []Mount) bool {
	for _, m := range user {
		d := path.Clean(m.Destination)
		if d == dest || strings.HasPrefix(dest, d+"/") {
			return true
		}
	}
	return false
}

func defaultDevices() []specs.LinuxDevice {
	mode := func() *os.FileMode { m := os.FileMode(0o666); return &m }
	zero := uint32(0)
	dev := func(p string, major, minor int64) specs.LinuxDevice {
		return specs.LinuxDevice{Path: p, Type: "c", Major: major, Minor: minor, FileMode: mode(), UID: &zero, GID: &zero}
	}
	return []specs.LinuxDevice{
		dev("/dev/null", 1, 3),
		dev("/dev/zero", 1, 5),
		dev("/dev/full", 1, 7),
		dev("/dev/random", 1, 8),
		dev("/dev/urandom", 1, 9),
		dev("/dev/tty", 5, 0),
	}
}

// deviceRules mirrors Docker's default device cgroup: deny everything, allow
// mknod of any device (harmless without access), and allow the standard
// character devices, ptys and tun.
func deviceRules(privileged bool) []specs.LinuxDeviceCgroup {
	if privileged {
		return []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	i := func(v int64) *int64 { return &v }
	allow := func(major, minor *int64) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: major, Minor: minor, Access: "rwm"}
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Access: "m"},
		{Allow: true, Type: "b", Access: "m"},
		allow(i(1), i(3)),    // null
		allow(i(1), i(8)),    // random
		allow(i(1), i(7)),    // full
		allow(i(5), i(0)),    // tty
		allow(i(1), i(5)),    // zero
		allow(i(1), i(9)),    // urandom
		allow(i(136), nil),   // pts
		allow(i(5), i(2)),    // ptmx
		allow(i(10), i(200)), // tun
	}
}
