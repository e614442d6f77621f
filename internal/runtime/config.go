package runtime

// Config is the plain description of one container that the daemon fills in
// and [Spec] turns into an OCI spec.
type Config struct {
	ID     string
	Rootfs string   // host path of the already-mounted rootfs
	Args   []string // resolved entrypoint+cmd; must not be empty
	Env    []string // image+user env; Spec adds PATH, HOSTNAME, HOME, TERM defaults
	Cwd    string   // "" means "/"
	User   User     // resolved with ResolveUser

	Hostname       string
	Domainname     string
	Tty            bool
	ReadonlyRootfs bool

	// NetworkMode is "none" (or "") for a new network namespace with only
	// lo, "host" for the host's namespace, or else the path of a network
	// namespace file to join.
	NetworkMode string

	Mounts    []Mount // extra mounts, e.g. binds for /etc/hosts; they override defaults at the same destination
	Resources Resources

	// CgroupParent is relative to the cgroup the daemon runs in; "" means
	// "berth". Absolute or ".."-escaping values are rejected.
	CgroupParent string

	Privileged      bool
	CapAdd, CapDrop []string

	// SeccompProfile is "" for Docker's default profile, "unconfined", or
	// the contents of a JSON profile.
	SeccompProfile  string
	NoNewPrivileges bool
	Sysctls         map[string]string
	Labels          map[string]string // become OCI annotations

	// Namespaces holds the pid, ipc, uts and cgroup namespace choices;
	// the zero value is Docker's default (new pid, ipc, uts; host cgroup
	// namespace, as on cgroup v1).
	Namespaces Namespaces
	// ShmSize is the size of the private /dev/shm tmpfs; 0 means 64 MiB.
	ShmSize int64
	// Ulimits override the default rlimits by type ("nofile", ...).
	Ulimits []Ulimit
	// Devices are host device nodes made available in the container.
	Devices []Device
	// OomScoreAdj is written to the init's oom_score_adj when non-nil.
	OomScoreAdj *int
	// InitPath, when set, is the host path of a zombie-reaping init that
	// is bind-mounted read-only at /sbin/docker-init and runs as PID 1 with
	// "--" and the container's command as its arguments.
	InitPath string

	// Host carries the facts about the machine that Spec must not look up
	// itself; fill it from DetectHost.
	Host Host
}

// User is a resolved container user.
type User struct {
	UID, GID       uint32
	AdditionalGids []uint32
	Home           string
}

// Mount is one extra mount in the container.
type Mount struct {
	Source, Destination, Type string
	Options                   []string
}

// Resources are the container's cgroup limits; zero means unset.
type Resources struct {
	Memory, MemorySwap, MemoryReservation    int64
	NanoCPUs, CPUShares, CPUQuota, CPUPeriod int64
	PidsLimit                                int64 // 0 or -1 = unlimited
	OomKillDisable                           bool
	CpusetCpus, CpusetMems                   string
}

// Host holds the host facts Spec depends on. The zero value describes a
// generous host (all known capabilities, NOFILE 1048576, swap accounting
// on, no CPU count check), which suits pure tests.
type Host struct {
	// BoundingCaps is the host's capability bounding set ("CAP_CHOWN", ...).
	// nil means every capability this build knows.
	BoundingCaps []string
	// NofileMax is the highest RLIMIT_NOFILE a container may get (the
	// daemon's hard limit, since it may lack CAP_SYS_RESOURCE); 0 means
	// no ceiling below Docker's 1048576.
	NofileMax uint64
	// NCPU is the number of usable CPUs, for the --cpus range check; 0
	// skips the check.
	NCPU int
	// NoSwapLimit is true when the memory cgroup lacks memsw accounting;
	// swap limits are then dropped like Docker does.
	NoSwapLimit bool
	// NoX32ABI is true when the kernel lacks the x32 ABI; the default
	// seccomp profile then leaves out SCMP_ARCH_X32, which the kernel
	// rejects anyway, saving about a third of the filter's compile time in
	// every container start.
	NoX32ABI bool
}
