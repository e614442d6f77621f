package daemon

import (
	"context"
	"os"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"

	"berth/internal/config"
	"berth/internal/container"
	"berth/internal/daemon/events"
	"berth/internal/image"
)

// Version is berth's release, set at build time with -ldflags.
var (
	Version   = "0.1.0-dev"
	GitCommit = "unknown"
)

// API versions berth serves. MaxAPIVersion is the Engine API whose types
// (github.com/moby/moby/api) and swagger berth follows.
const (
	MaxAPIVersion = "1.56"
	MinAPIVersion = "1.24"
)

// System answers /version and /info.
type System struct {
	cfg        config.Config
	containers *container.Store
	images     *image.Store
	events     *events.Bus
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Version renders GET /version.
func (s *System) Version(ctx context.Context) system.VersionResponse {
	details := map[string]string{"ApiVersion": MaxAPIVersion, "MinAPIVersion": MinAPIVersion,
		"GitCommit": GitCommit, "GoVersion": goruntime.Version(), "Os": goruntime.GOOS, "Arch": goruntime.GOARCH,
		"KernelVersion": kernelVersion()}
	return system.VersionResponse{
		Platform:      struct{ Name string }{Name: "berth"},
		Components:    []system.ComponentVersion{{Name: "Engine", Version: Version, Details: details}},
		Version:       Version,
		APIVersion:    MaxAPIVersion,
		MinAPIVersion: MinAPIVersion,
		GitCommit:     GitCommit,
		GoVersion:     goruntime.Version(),
		Os:            goruntime.GOOS,
		Arch:          goruntime.GOARCH,
		KernelVersion: kernelVersion(),
		BuildTime:     "",
	}
}

func cgroupVersion() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "2"
	}
	return "1"
}

func osName() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "linux"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "linux"
}

// Info renders GET /info.
func (s *System) Info(ctx context.Context) system.Info {
	var running, paused, stopped int
	all := s.containers.List()
	for _, c := range all {
		switch c.State.Status {
		case container.StatusRunning:
			running++
		case container.StatusPaused:
			paused++
		default:
			stopped++
		}
	}
	var si unix.Sysinfo_t
	_ = unix.Sysinfo(&si)
	host, _ := os.Hostname()
	return system.Info{
		ID: "", Containers: len(all), ContainersRunning: running, ContainersPaused: paused, ContainersStopped: stopped,
		Images: len(s.images.List(ctx)), Driver: s.images.DriverName(), DriverStatus: [][2]string{},
		MemoryLimit: true, SwapLimit: true, CPUCfsPeriod: true, CPUCfsQuota: true, CPUShares: true, CPUSet: true,
		PidsLimit: true, OomKillDisable: cgroupVersion() == "1", Debug: s.cfg.Debug, NFd: countFDs(),
		NGoroutines: goruntime.NumGoroutine(), SystemTime: time.Now().Format(time.RFC3339Nano),
		LoggingDriver: s.cfg.LogDriver, CgroupDriver: "cgroupfs", CgroupVersion: cgroupVersion(),
		NEventsListener: s.events.Listeners(), KernelVersion: kernelVersion(), OperatingSystem: osName(),
		OSType: "linux", Architecture: unameMachine(), IndexServerAddress: "https://index.docker.io/v1/",
		NCPU: goruntime.NumCPU(), MemTotal: int64(si.Totalram) * int64(si.Unit), DockerRootDir: s.cfg.DataRoot,
		Name: host, Labels: s.cfg.Labels, ServerVersion: Version,
		Runtimes:           map[string]system.RuntimeWithStatus{"runc": {}},
		DefaultRuntime:     "runc",
		Swarm:              swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		LiveRestoreEnabled: s.cfg.LiveRestoreEnabled(),
		Isolation:          "",
		InitBinary:         "",
		SecurityOptions:    []string{"name=seccomp,profile=builtin"},
		Warnings:           []string{},
		CDISpecDirs:        []string{},
	}
}

func unameMachine() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return goruntime.GOARCH
	}
	return unix.ByteSliceToString(u.Machine[:])
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}
