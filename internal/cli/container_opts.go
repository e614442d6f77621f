package cli

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/pflag"
)

// containerOptions holds the flags shared by run and create, as typed by
// the user; parseContainerOptions turns them into the API's create body.
type containerOptions struct {
	image string
	args  []string

	attach       attachStreams
	stdin        bool
	tty          bool
	env          []string
	envFile      []string
	workdir      string
	user         string
	hostname     string
	domainname   string
	entrypoint   string
	labels       []string
	labelFile    []string
	memory       memBytes
	memorySwap   memSwapBytes
	memoryRes    memBytes
	swappiness   int64
	shmSize      memBytes
	cpus         nanoCPUs
	cpuShares    int64
	cpuQuota     int64
	cpuPeriod    int64
	cpusetCpus   string
	cpusetMems   string
	pidsLimit    int64
	network      string
	netAliases   []string
	links        []string
	ipv4         string
	macAddress   string
	cgroupParent string
	cgroupns     string
	readOnly     bool
	privileged   bool
	capAdd       []string
	capDrop      []string
	securityOpt  []string
	sysctls      []string
	restart      string
	stopSignal   string
	stopTimeout  int
	logDriver    string
	logOpts      []string
	init         bool
	autoRemove   bool
	publish      []string
	publishAll   bool
	expose       []string
	volumes      []string
	volumesFrom  []string
	tmpfs        []string
	mounts       []string
	dns          []string
	dnsOptions   []string
	dnsSearch    []string
	addHosts     []string
	ulimits      []string
	groupAdd     []string
	devices      []string
	pidMode      string
	ipcMode      string
	utsMode      string
	usernsMode   string
	oomScoreAdj  int
	oomKillDis   bool
	runtime      string
	storageOpt   []string
	cidFile      string
	annotations  []string

	healthCmd         string
	healthInterval    time.Duration
	healthTimeout     time.Duration
	healthStartPeriod time.Duration
	healthStartInt    time.Duration
	healthRetries     int
	noHealthcheck     bool
	healthOnFailure   string
}

// containerConfig is the create request body.
type containerConfig struct {
	Config           *container.Config
	HostConfig       *container.HostConfig
	NetworkingConfig *network.NetworkingConfig
}

func addContainerFlags(f *pflag.FlagSet, o *containerOptions) {
	f.VarP(&o.attach, "attach", "a", "Attach to STDIN, STDOUT or STDERR")
	f.BoolVarP(&o.stdin, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	listVarP(f, &o.env, "env", "e", "Set environment variables")
	listVar(f, &o.envFile, "env-file", "Read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	f.StringVar(&o.domainname, "domainname", "", "Container NIS domain name")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	listVarP(f, &o.labels, "label", "l", "Set meta data on a container")
	listVar(f, &o.labelFile, "label-file", "Read in a line delimited file of labels")
	f.VarP(&o.memory, "memory", "m", "Memory limit")
	f.Var(&o.memorySwap, "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	f.Var(&o.memoryRes, "memory-reservation", "Memory soft limit")
	f.Int64Var(&o.swappiness, "memory-swappiness", -1, "Tune container memory swappiness (0 to 100)")
	f.Var(&o.shmSize, "shm-size", "Size of /dev/shm")
	f.Var(&o.cpus, "cpus", "Number of CPUs")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Int64Var(&o.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	f.Int64Var(&o.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&o.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.StringVar(&o.network, "network", "", "Connect a container to a network")
	f.StringVar(&o.network, "net", "", "Connect a container to a network")
	_ = f.MarkHidden("net")
	listVar(f, &o.netAliases, "network-alias", "Add network-scoped alias for the container")
	listVar(f, &o.links, "link", "Add link to another container")
	f.StringVar(&o.ipv4, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	f.StringVar(&o.macAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	f.StringVar(&o.cgroupParent, "cgroup-parent", "", "Optional parent cgroup for the container")
	f.StringVar(&o.cgroupns, "cgroupns", "", `Cgroup namespace to use (host|private)`)
	f.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
	listVar(f, &o.capAdd, "cap-add", "Add Linux capabilities")
	listVar(f, &o.capDrop, "cap-drop", "Drop Linux capabilities")
	listVar(f, &o.securityOpt, "security-opt", "Security Options")
	listVar(f, &o.sysctls, "sysctl", "Sysctl options")
	f.StringVar(&o.restart, "restart", "no", "Restart policy to apply when a container exits")
	f.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	f.IntVar(&o.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	f.StringVar(&o.logDriver, "log-driver", "", "Logging driver for the container")
	listVar(f, &o.logOpts, "log-opt", "Log driver options")
	f.BoolVar(&o.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	f.BoolVar(&o.autoRemove, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	listVarP(f, &o.publish, "publish", "p", "Publish a container's port(s) to the host")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	listVar(f, &o.expose, "expose", "Expose a port or a range of ports")
	listVarP(f, &o.volumes, "volume", "v", "Bind mount a volume")
	listVar(f, &o.volumesFrom, "volumes-from", "Mount volumes from the specified container(s)")
	listVar(f, &o.tmpfs, "tmpfs", "Mount a tmpfs directory")
	listVar(f, &o.mounts, "mount", "Attach a filesystem mount to the container")
	listVar(f, &o.dns, "dns", "Set custom DNS servers")
	listVar(f, &o.dnsOptions, "dns-option", "Set DNS options")
	listVar(f, &o.dnsSearch, "dns-search", "Set custom DNS search domains")
	listVar(f, &o.addHosts, "add-host", "Add a custom host-to-IP mapping (host:ip)")
	listVar(f, &o.ulimits, "ulimit", "Ulimit options")
	listVar(f, &o.groupAdd, "group-add", "Add additional groups to join")
	listVar(f, &o.devices, "device", "Add a host device to the container")
	f.StringVar(&o.pidMode, "pid", "", "PID namespace to use")
	f.StringVar(&o.ipcMode, "ipc", "", "IPC mode to use")
	f.StringVar(&o.utsMode, "uts", "", "UTS namespace to use")
	f.StringVar(&o.usernsMode, "userns", "", "User namespace to use")
	f.IntVar(&o.oomScoreAdj, "oom-score-adj", 0, "Tune host's OOM preferences (-1000 to 1000)")
	f.BoolVar(&o.oomKillDis, "oom-kill-disable", false, "Disable OOM Killer")
	f.StringVar(&o.runtime, "runtime", "", "Runtime to use for this container")
	listVar(f, &o.storageOpt, "storage-opt", "Storage driver options for the container")
	f.StringVar(&o.cidFile, "cidfile", "", "Write the container ID to the file")
	listVar(f, &o.annotations, "annotation", "Add an annotation to the container (passed through to the OCI runtime)")
	f.StringVar(&o.healthCmd, "health-cmd", "", "Command to run to check health")
	f.DurationVar(&o.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	f.DurationVar(&o.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	f.DurationVar(&o.healthStartPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	f.DurationVar(&o.healthStartInt, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 0s)")
	f.IntVar(&o.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	f.BoolVar(&o.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	f.StringVar(&o.healthOnFailure, "health-on-failure", "", "Action when the container becomes unhealthy (none|kill|restart|stop)")
}

// parseContainerOptions maps the flags onto the create request the way the
// Docker CLI does. It reads env and label files but never talks to the
// daemon.
func parseContainerOptions(flags *pflag.FlagSet, o *containerOptions) (*containerConfig, error) {
	env, err := parseEnv(o.envFile, o.env)
	if err != nil {
		return nil, err
	}
	labels, err := parseLabels(o.labelFile, o.labels)
	if err != nil {
		return nil, err
	}
	if err := setHealthOnFailure(labels, o.healthOnFailure); err != nil {
		return nil, err
	}
	restart, err := parseRestartPolicy(o.restart)
	if err != nil {
		return nil, err
	}
	if o.autoRemove && restart.Name != "" && restart.Name != container.RestartPolicyDisabled {
		return nil, fmt.Errorf("conflicting options: cannot specify both --restart and --rm")
	}
	if err := validateNamespaceModes(o); err != nil {
		return nil, err
	}
	securityOpts, err := parseSecurityOpts(o.securityOpt)
	if err != nil {
		return nil, err
	}
	sysctls, err := parseKeyValueMap("sysctl", o.sysctls)
	if err != nil {
		return nil, err
	}
	logOpts, err := parseKeyValueMap("log-opt", o.logOpts)
	if err != nil {
		return nil, err
	}
	storageOpts, err := parseKeyValueMap("storage-opt", o.storageOpt)
	if err != nil {
		return nil, err
	}
	annotations, err := parseKeyValueMap("annotation", o.annotations)
	if err != nil {
		return nil, err
	}
	if o.memorySwap > 0 && o.memory > 0 && int64(o.memorySwap) < int64(o.memory) {
		return nil, fmt.Errorf("minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if o.cpus != 0 && (o.cpuPeriod != 0 || o.cpuQuota != 0) {
		return nil, fmt.Errorf("conflicting options: Nano CPUs and CPU Period/Quota cannot both be set")
	}

	attachStdin := o.attach.has("stdin") || o.stdin
	attachStdout := o.attach.has("stdout")
	attachStderr := o.attach.has("stderr")
	if len(o.attach.streams) == 0 {
		attachStdout, attachStderr = true, true
	}

	var entrypoint []string
	if o.entrypoint != "" {
		entrypoint = []string{o.entrypoint}
	} else if flagWasSet(flags, "entrypoint") {
		entrypoint = []string{""}
	}
	var cmd []string
	if len(o.args) > 0 {
		cmd = append([]string{}, o.args...)
	}

	exposed, bindings, err := parsePorts(o.publish, o.expose)
	if err != nil {
		return nil, err
	}
	binds, anonVolumes := parseVolumes(o.volumes)
	mounts, err := parseMounts(o.mounts)
	if err != nil {
		return nil, err
	}
	tmpfs := map[string]string{}
	for _, t := range o.tmpfs {
		dst, opt, _ := strings.Cut(t, ":")
		tmpfs[dst] = opt
	}
	if len(tmpfs) == 0 {
		tmpfs = nil
	}
	var dns []netip.Addr
	for _, d := range o.dns {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("%s is not an ip address", d)
		}
		dns = append(dns, a)
	}
	var ulimits []*container.Ulimit
	for _, u := range o.ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return nil, err
		}
		ulimits = append(ulimits, ul)
	}
	var devices []container.DeviceMapping
	for _, d := range o.devices {
		dm, err := parseDevice(d)
		if err != nil {
			return nil, err
		}
		devices = append(devices, dm)
	}
	health, err := o.healthConfig()
	if err != nil {
		return nil, err
	}

	cfg := &container.Config{
		Hostname:     o.hostname,
		Domainname:   o.domainname,
		User:         o.user,
		AttachStdin:  attachStdin,
		AttachStdout: attachStdout,
		AttachStderr: attachStderr,
		ExposedPorts: exposed,
		Tty:          o.tty,
		OpenStdin:    o.stdin,
		StdinOnce:    attachStdin && o.stdin,
		Env:          env,
		Cmd:          cmd,
		Healthcheck:  health,
		Image:        o.image,
		Volumes:      anonVolumes,
		WorkingDir:   o.workdir,
		Entrypoint:   entrypoint,
		Labels:       labels,
		StopSignal:   o.stopSignal,
	}
	if flagWasSet(flags, "stop-timeout") {
		t := o.stopTimeout
		cfg.StopTimeout = &t
	}

	resources := container.Resources{
		CgroupParent:      o.cgroupParent,
		Memory:            int64(o.memory),
		MemoryReservation: int64(o.memoryRes),
		MemorySwap:        int64(o.memorySwap),
		NanoCPUs:          int64(o.cpus),
		CPUShares:         o.cpuShares,
		CPUQuota:          o.cpuQuota,
		CPUPeriod:         o.cpuPeriod,
		CpusetCpus:        o.cpusetCpus,
		CpusetMems:        o.cpusetMems,
		Ulimits:           ulimits,
		Devices:           devices,
	}
	if o.swappiness != -1 {
		s := o.swappiness
		resources.MemorySwappiness = &s
	}
	if flagWasSet(flags, "pids-limit") {
		p := o.pidsLimit
		resources.PidsLimit = &p
	}
	if flagWasSet(flags, "oom-kill-disable") {
		b := o.oomKillDis
		resources.OomKillDisable = &b
	}

	netMode := o.network
	if netMode == "" {
		netMode = "default"
	}
	hc := &container.HostConfig{
		Binds:           binds,
		Mounts:          mounts,
		ContainerIDFile: o.cidFile,
		LogConfig:       container.LogConfig{Type: o.logDriver, Config: logOpts},
		NetworkMode:     container.NetworkMode(netMode),
		Links:           o.links,
		PortBindings:    bindings,
		RestartPolicy:   restart,
		AutoRemove:      o.autoRemove,
		VolumesFrom:     o.volumesFrom,
		Annotations:     annotations,
		CapAdd:          o.capAdd,
		CapDrop:         o.capDrop,
		CgroupnsMode:    container.CgroupnsMode(o.cgroupns),
		DNS:             dns,
		DNSOptions:      o.dnsOptions,
		DNSSearch:       o.dnsSearch,
		ExtraHosts:      o.addHosts,
		GroupAdd:        o.groupAdd,
		IpcMode:         container.IpcMode(o.ipcMode),
		OomScoreAdj:     o.oomScoreAdj,
		PidMode:         container.PidMode(o.pidMode),
		Privileged:      o.privileged,
		PublishAllPorts: o.publishAll,
		ReadonlyRootfs:  o.readOnly,
		SecurityOpt:     securityOpts,
		StorageOpt:      storageOpts,
		Tmpfs:           tmpfs,
		UTSMode:         container.UTSMode(o.utsMode),
		UsernsMode:      container.UsernsMode(o.usernsMode),
		ShmSize:         int64(o.shmSize),
		Sysctls:         sysctls,
		Runtime:         o.runtime,
		Resources:       resources,
	}
	if flagWasSet(flags, "init") {
		b := o.init
		hc.Init = &b
	}
	nc, err := networkingFor(netMode, o.netAliases, o.ipv4, o.macAddress)
	if err != nil {
		return nil, err
	}
	return &containerConfig{Config: cfg, HostConfig: hc, NetworkingConfig: nc}, nil
}

func (o *containerOptions) healthConfig() (*container.HealthConfig, error) {
	set := o.healthCmd != "" || o.healthInterval != 0 || o.healthTimeout != 0 ||
		o.healthStartPeriod != 0 || o.healthStartInt != 0 || o.healthRetries != 0
	if o.noHealthcheck {
		if set {
			return nil, fmt.Errorf("--no-healthcheck conflicts with --health-* options")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !set {
		return nil, nil
	}
	if o.healthRetries < 0 {
		return nil, fmt.Errorf("--health-retries cannot be negative")
	}
	h := &container.HealthConfig{
		Interval:      o.healthInterval,
		Timeout:       o.healthTimeout,
		StartPeriod:   o.healthStartPeriod,
		StartInterval: o.healthStartInt,
		Retries:       o.healthRetries,
	}
	if o.healthCmd != "" {
		h.Test = []string{"CMD-SHELL", o.healthCmd}
	}
	return h, nil
}

// parsePorts handles --expose and -p "[ip:][hostPort:]containerPort[/proto]",
// including "start-end" ranges of equal length.
func parsePorts(publish, expose []string) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, e := range expose {
		num, proto, _ := strings.Cut(e, "/")
		lo, hi, err := portRange(num)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid range format for --expose: %s, error: %w", e, err)
		}
		for p := lo; p <= hi; p++ {
			port, err := network.ParsePort(portProto(p, proto))
			if err != nil {
				return nil, nil, err
			}
			exposed[port] = struct{}{}
		}
	}
	for _, spec := range publish {
		rest, proto, _ := strings.Cut(spec, "/")
		var ip, hostPart, ctrPart string
		if strings.HasPrefix(rest, "[") {
			end := strings.Index(rest, "]")
			if end < 0 {
				return nil, nil, fmt.Errorf("invalid IP address: %s", rest)
			}
			ip = rest[1:end]
			rest = strings.TrimPrefix(rest[end+1:], ":")
		}
		parts := strings.Split(rest, ":")
		switch {
		case len(parts) == 1:
			ctrPart = parts[0]
		case len(parts) == 2:
			hostPart, ctrPart = parts[0], parts[1]
		case len(parts) == 3 && ip == "":
			ip, hostPart, ctrPart = parts[0], parts[1], parts[2]
		default:
			return nil, nil, fmt.Errorf("invalid port format for --publish: %s", spec)
		}
		if ctrPart == "" {
			return nil, nil, fmt.Errorf("no port specified: %s<empty>", spec)
		}
		var hostIP netip.Addr
		if ip != "" {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				return nil, nil, fmt.Errorf("invalid IP address: %s", ip)
			}
			hostIP = a
		}
		clo, chi, err := portRange(ctrPart)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid containerPort: %s", ctrPart)
		}
		hlo, hhi := 0, 0
		if hostPart != "" {
			hlo, hhi, err = portRange(hostPart)
			if err != nil {
				return nil, nil, fmt.Errorf("invalid hostPort: %s", hostPart)
			}
		}
		for i := 0; i <= chi-clo; i++ {
			port, err := network.ParsePort(portProto(clo+i, proto))
			if err != nil {
				return nil, nil, err
			}
			hostPort := ""
			switch {
			case hostPart == "":
			case hhi-hlo == chi-clo:
				hostPort = strconv.Itoa(hlo + i)
			case chi == clo:
				hostPort = hostPart // a host range for one container port
			default:
				return nil, nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", ctrPart, hostPart)
			}
			exposed[port] = struct{}{}
			bindings[port] = append(bindings[port], network.PortBinding{HostIP: hostIP, HostPort: hostPort})
		}
	}
	if len(exposed) == 0 {
		exposed = nil
	}
	if len(bindings) == 0 {
		bindings = nil
	}
	return exposed, bindings, nil
}

func portProto(p int, proto string) string {
	if proto == "" {
		return strconv.Itoa(p)
	}
	return strconv.Itoa(p) + "/" + proto
}

func portRange(s string) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	l, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return int(l), int(l), nil
	}
	h, err := strconv.ParseUint(hi, 10, 16)
	if err != nil {
		return 0, 0, err
	}
	if h < l {
		return 0, 0, fmt.Errorf("invalid range: %s", s)
	}
	return int(l), int(h), nil
}

// parseVolumes splits -v values into binds ("src:dst[:mode]") and anonymous
// volumes ("dst").
func parseVolumes(vols []string) ([]string, map[string]struct{}) {
	var binds []string
	anon := map[string]struct{}{}
	for _, v := range vols {
		if strings.Contains(v, ":") {
			binds = append(binds, v)
			continue
		}
		anon[path.Clean(v)] = struct{}{}
	}
	if len(anon) == 0 {
		anon = nil
	}
	return binds, anon
}

// parseDevice reads "host[:container][:perms]".
func parseDevice(s string) (container.DeviceMapping, error) {
	parts := strings.Split(s, ":")
	dm := container.DeviceMapping{CgroupPermissions: "rwm"}
	switch len(parts) {
	case 1:
		dm.PathOnHost, dm.PathInContainer = parts[0], parts[0]
	case 2:
		dm.PathOnHost = parts[0]
		if isDevicePerms(parts[1]) {
			dm.PathInContainer, dm.CgroupPermissions = parts[0], parts[1]
		} else {
			dm.PathInContainer = parts[1]
		}
	case 3:
		if !isDevicePerms(parts[2]) {
			return dm, fmt.Errorf("invalid device mode: %s", parts[2])
		}
		dm.PathOnHost, dm.PathInContainer, dm.CgroupPermissions = parts[0], parts[1], parts[2]
	default:
		return dm, fmt.Errorf("invalid device specification: %s", s)
	}
	return dm, nil
}

func isDevicePerms(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != 'r' && r != 'w' && r != 'm' {
			return false
		}
	}
	return true
}

// healthOnFailureLabel carries --health-on-failure to the daemon (it must
// equal daemon.HealthOnFailureLabel); with the Docker CLI the same is
// spelled --label berth.health-on-failure=ACTION.
const healthOnFailureLabel = "berth.health-on-failure"

func setHealthOnFailure(labels map[string]string, action string) error {
	switch action {
	case "":
		return nil
	case "none", "kill", "restart", "stop":
		labels[healthOnFailureLabel] = action
		return nil
	}
	return fmt.Errorf("invalid --health-on-failure %q: must be one of none, kill, restart, stop", action)
}
