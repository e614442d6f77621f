package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	apicontainer "github.com/moby/moby/api/types/container"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/runtime"
)

// securityOptions is HostConfig.SecurityOpt parsed the way dockerd does.
type securityOptions struct {
	seccomp         string // "" default, "unconfined", or a JSON profile
	noNewPrivileges bool
}

func parseSecurityOpts(opts []string) (securityOptions, error) {
	var out securityOptions
	for _, opt := range opts {
		if opt == "no-new-privileges" {
			out.noNewPrivileges = true
			continue
		}
		var k, v string
		var ok bool
		if strings.Contains(opt, "=") {
			k, v, ok = strings.Cut(opt, "=")
		} else {
			k, v, ok = strings.Cut(opt, ":") // the deprecated spelling
		}
		if !ok {
			return out, errdefs.InvalidParameterf("invalid --security-opt 1: %q", opt)
		}
		switch k {
		case "seccomp":
			switch v {
			case "unconfined":
				out.seccomp = "unconfined"
			case "builtin", "":
				out.seccomp = ""
			default:
				out.seccomp = v
			}
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return out, errdefs.InvalidParameterf("invalid --security-opt 2: %q", opt)
			}
			out.noNewPrivileges = b
		case "apparmor", "label":
			// No LSM is applied by berth (see runtime/SPEC.md); accepted so
			// that "apparmor=unconfined" and "label=disable" work as on a
			// host without AppArmor or SELinux.
		default:
			return out, errdefs.InvalidParameterf("invalid --security-opt 2: %q", opt)
		}
	}
	return out, nil
}

// validateOptions checks the namespace, security and process options at
// create time with dockerd's wording, and fills the defaults dockerd shows
// in inspect (IpcMode "private", CgroupnsMode for the host's cgroup version).
func validateOptions(cfg *apicontainer.Config, hc *apicontainer.HostConfig) error {
	if _, err := parseSecurityOpts(hc.SecurityOpt); err != nil {
		return err
	}
	if err := runtime.ValidateCapabilities(hc.CapAdd, hc.CapDrop); err != nil {
		return err
	}
	if cfg.StopSignal != "" {
		if _, err := ParseSignal(cfg.StopSignal); err != nil {
			return err
		}
	}
	if !validNSMode(string(hc.PidMode), "host") {
		return errdefs.InvalidParameterf("invalid PID mode: %v", hc.PidMode)
	}
	if !validNSMode(string(hc.IpcMode), "host", "private", "shareable", "none") {
		return errdefs.InvalidParameterf("invalid IPC mode: %v", hc.IpcMode)
	}
	if hc.UTSMode != "" && hc.UTSMode != "host" {
		return errdefs.InvalidParameterf("invalid UTS mode: %v", hc.UTSMode)
	}
	switch hc.CgroupnsMode {
	case "", "host", "private":
	default:
		return errdefs.InvalidParameterf("invalid cgroup namespace mode: %v", hc.CgroupnsMode)
	}
	if hc.UTSMode == "host" && cfg.Hostname != "" {
		return errdefs.InvalidParameterf("conflicting options: hostname and the UTS mode")
	}
	if hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000 {
		return errdefs.InvalidParameterf("Invalid value %d, range for oom score adj is [-1000, 1000]", hc.OomScoreAdj)
	}
	if hc.ShmSize < 0 {
		return errdefs.InvalidParameterf("SHM size can not be less than 0")
	}
	for _, u := range hc.Ulimits {
		if u == nil {
			continue
		}
		if _, err := runtimeUlimit(u); err != nil {
			return err
		}
	}
	if c := hc.CpusetCpus; c != "" {
		if _, err := runtime.ParseCpuset(c); err != nil {
			return errdefs.InvalidParameterf("Invalid value %s for cpuset cpus", c)
		}
	}
	if m := hc.CpusetMems; m != "" {
		if _, err := runtime.ParseCpuset(m); err != nil {
			return errdefs.InvalidParameterf("Invalid value %s for cpuset mems", m)
		}
	}
	if hc.IpcMode == "" {
		hc.IpcMode = "private"
	}
	if hc.CgroupnsMode == "" {
		hc.CgroupnsMode = "host"
		if cgroupV2() {
			hc.CgroupnsMode = "private"
		}
	}
	return nil
}

// validNSMode accepts "", one of names, or "container:<ref>".
func validNSMode(mode string, names ...string) bool {
	if mode == "" {
		return true
	}
	for _, n := range names {
		if mode == n {
			return true
		}
	}
	ref, ok := strings.CutPrefix(mode, "container:")
	return ok && ref != ""
}

func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

func runtimeUlimit(u *apicontainer.Ulimit) (runtime.Ulimit, error) {
	name := strings.ToLower(u.Name)
	if u.Soft > u.Hard {
		return runtime.Ulimit{}, errdefs.InvalidParameterf("ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
	}
	switch name {
	case "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
		"nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as":
	default:
		return runtime.Ulimit{}, errdefs.InvalidParameterf("invalid ulimit type: %s", u.Name)
	}
	return runtime.Ulimit{Name: name, Soft: u.Soft, Hard: u.Hard}, nil
}

// applyOptions fills the runtime config with what needs a look at the host
// or at other containers: security options, namespaces to join, devices,
// extra groups and the init binary. Errors carry dockerd's wording.
func (s *Containers) applyOptions(ctx context.Context, rc *runtime.Config, snap *container.Snapshot, rootfs string) error {
	hc := snap.HostConfig
	sec, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return err
	}
	rc.SeccompProfile, rc.NoNewPrivileges = sec.seccomp, sec.noNewPrivileges
	if err := s.namespaceOptions(rc, snap.ID, hc); err != nil {
		return err
	}
	rc.ShmSize = hc.ShmSize
	for _, u := range hc.Ulimits {
		if u == nil {
			continue
		}
		ul, err := runtimeUlimit(u)
		if err != nil {
			return err
		}
		rc.Ulimits = append(rc.Ulimits, ul)
	}
	if hc.OomScoreAdj != 0 {
		adj := hc.OomScoreAdj
		rc.OomScoreAdj = &adj
	}
	rc.Resources.CpusetCpus, rc.Resources.CpusetMems = hc.CpusetCpus, hc.CpusetMems
	if hc.Privileged {
		devs, err := runtime.HostDevices()
		if err != nil {
			return errdefs.System(fmt.Errorf("listing host devices: %w", err))
		}
		rc.Devices = append(rc.Devices, devs...)
	}
	for _, d := range hc.Devices {
		devs, err := runtime.DevicesFromPath(d.PathOnHost, d.PathInContainer, d.CgroupPermissions)
		if err != nil {
			return err
		}
		rc.Devices = append(rc.Devices, devs...)
	}
	gids, err := runtime.ResolveGroups(rootfs, hc.GroupAdd)
	if err != nil {
		return err
	}
	rc.User.AdditionalGids = append(rc.User.AdditionalGids, gids...)
	if (hc.Init != nil && *hc.Init) || (hc.Init == nil && s.cfg.Init) {
		p, err := s.initBin.path(ctx, s.cfg)
		if err != nil {
			return err
		}
		rc.InitPath = p
	}
	return nil
}

// namespaceOptions maps the pid, ipc, uts and cgroup modes; joining another
// container needs it running (dockerd's checks and wording).
func (s *Containers) namespaceOptions(rc *runtime.Config, id string, hc *apicontainer.HostConfig) error {
	ns := &rc.Namespaces
	switch pid := string(hc.PidMode); {
	case pid == "host":
		ns.PID = runtime.NamespaceHost
	case strings.HasPrefix(pid, "container:"):
		donor, err := s.donor(strings.TrimPrefix(pid, "container:"))
		if err != nil {
			return err
		}
		ns.PID = fmt.Sprintf("/proc/%d/ns/pid", donor.State.Pid)
	}
	switch ipc := string(hc.IpcMode); {
	case ipc == "shareable":
		dir, err := mountShm(s.stateDir(id), hc.ShmSize)
		if err != nil {
			return err
		}
		ns.Shm = dir
	case ipc == "host":
		ns.IPC, ns.Shm = runtime.NamespaceHost, "/dev/shm"
	case ipc == "none":
		ns.Shm = runtime.ShmNone
	case strings.HasPrefix(ipc, "container:"):
		ref := strings.TrimPrefix(ipc, "container:")
		donor, err := s.donor(ref)
		if err != nil {
			return err
		}
		switch donor.HostConfig.IpcMode {
		case "shareable":
			ns.IPC = fmt.Sprintf("/proc/%d/ns/ipc", donor.State.Pid)
			ns.Shm = filepath.Join(s.stateDir(donor.ID), shmDir)
		case "host":
			ns.IPC, ns.Shm = runtime.NamespaceHost, "/dev/shm"
		default:
			return errdefs.InvalidParameterf("container %s: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", ref)
		}
	}
	if hc.UTSMode == "host" {
		ns.UTS = runtime.NamespaceHost
	}
	ns.CgroupPrivate = hc.CgroupnsMode == "private"
	return nil
}

// donor is a running container whose namespace another one joins.
func (s *Containers) donor(ref string) (*container.Snapshot, error) {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	if snap.State.Status == container.StatusRestarting {
		return nil, errdefs.Conflictf("Container %s is restarting, wait until the container is running", snap.ID)
	}
	if !snap.State.IsRunning() || snap.State.Pid <= 0 {
		return nil, errdefs.Conflictf("container %s is not running", ref)
	}
	return snap, nil
}

// shmDir, under a shareable container's state dir, is its /dev/shm: a
// tmpfs mounted on the host, since a mount inside one container's mount
// namespace cannot be bound into another's.
const shmDir = "shm"

func mountShm(stateDir string, size int64) (string, error) {
	if size == 0 {
		size = 64 << 20
	}
	dir := filepath.Join(stateDir, shmDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", errdefs.System(err)
	}
	unmountShm(stateDir) // a leftover from a start that failed half-way
	opts := "mode=1777,size=" + strconv.FormatInt(size, 10)
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return "", errdefs.System(fmt.Errorf("mounting shm: %w", err))
	}
	return dir, nil
}

// unmountShm undoes mountShm; it is a no-op when nothing is mounted.
func unmountShm(stateDir string) {
	_ = unix.Unmount(filepath.Join(stateDir, shmDir), unix.MNT_DETACH)
}
