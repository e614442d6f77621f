package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"berth/internal/api"
	"berth/internal/config"
	"berth/internal/daemon"
)

const defaultConfigFile = "/etc/berth/daemon.json"

// flagKeys maps daemon flags to the daemon.json keys they set.
var flagKeys = map[string]string{
	"data-root": "data-root", "exec-root": "exec-root", "host": "hosts", "cgroup-parent": "cgroup-parent",
	"log-level": "log-level", "debug": "debug", "storage-driver": "storage-driver", "log-driver": "log-driver",
	"log-opt": "log-opts", "live-restore": "live-restore", "group": "group", "registry-mirror": "registry-mirrors",
	"insecure-registry": "insecure-registries", "registry-certs-dir": "registry-certs-dir", "bip": "bip", "dns": "dns", "dns-opt": "dns-opts",
	"dns-search": "dns-search", "label": "labels", "shutdown-timeout": "shutdown-timeout",
	"init": "init", "init-path": "init-path",
	"bridge": "bridge", "default-address-pool": "default-address-pools",
}

func runDaemon(args []string) int {
	cfg := config.Default()
	var configFile, pidFile string
	var logOpts, addrPools []string
	liveRestore := true
	cmd := &cobra.Command{
		Use:           "berth daemon [OPTIONS]",
		Short:         "Run the berth daemon (Docker Engine API server)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fileCfg := cfg
			if _, err := os.Stat(configFile); err == nil || cmd.Flags().Changed("config-file") {
				loaded, keys, err := config.Load(configFile, config.Default())
				if err != nil {
					return err
				}
				if err := conflicts(cmd.Flags(), keys); err != nil {
					return err
				}
				fileCfg = overlayFlags(cmd.Flags(), loaded, cfg)
			}
			if cmd.Flags().Changed("live-restore") {
				fileCfg.LiveRestore = &liveRestore
			}
			if cmd.Flags().Changed("log-opt") {
				fileCfg.LogOpts = map[string]string{}
				for _, kv := range logOpts {
					k, v, _ := strings.Cut(kv, "=")
					fileCfg.LogOpts[k] = v
				}
			}
			if cmd.Flags().Changed("default-address-pool") {
				pools, err := parseAddressPools(addrPools)
				if err != nil {
					return err
				}
				fileCfg.DefaultAddressPools = pools
			}
			fileCfg.NetPrefix, fileCfg.FirewallBackend = cfg.NetPrefix, cfg.FirewallBackend
			if fileCfg.Debug {
				fileCfg.LogLevel = "debug"
			}
			return serve(cmd.Context(), fileCfg, pidFile)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config-file", defaultConfigFile, "Daemon configuration file")
	f.StringVar(&cfg.DataRoot, "data-root", cfg.DataRoot, "Root directory of persistent berth state")
	f.StringVar(&cfg.ExecRoot, "exec-root", cfg.ExecRoot, "Root directory for execution state files")
	f.StringSliceVarP(&cfg.Hosts, "host", "H", nil, "Daemon socket(s) to listen on")
	f.StringVar(&cfg.CgroupParent, "cgroup-parent", cfg.CgroupParent, "Parent cgroup for all containers (relative to the daemon's own)")
	f.StringVarP(&cfg.LogLevel, "log-level", "l", cfg.LogLevel, `Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")`)
	f.BoolVarP(&cfg.Debug, "debug", "D", false, "Enable debug mode")
	f.StringVarP(&cfg.StorageDriver, "storage-driver", "s", "", "Storage driver to use (overlay2, vfs)")
	f.StringVar(&cfg.LogDriver, "log-driver", cfg.LogDriver, "Default driver for container logs")
	f.StringArrayVar(&logOpts, "log-opt", nil, "Default log driver options for containers")
	f.BoolVar(&liveRestore, "live-restore", true, "Keep containers running while the daemon is down")
	f.StringVarP(&cfg.Group, "group", "G", "", "Group for the unix socket")
	f.StringVarP(&pidFile, "pidfile", "p", "", "Path to use for daemon PID file (default <exec-root>/berth.pid)")
	f.StringSliceVar(&cfg.RegistryMirrors, "registry-mirror", nil, "Preferred registry mirror")
	f.StringSliceVar(&cfg.InsecureRegistries, "insecure-registry", nil, "Enable insecure registry communication")
	f.StringVar(&cfg.RegistryCertsDir, "registry-certs-dir", "", "Directory of per-registry CA certificates (<host:port>/ca.crt; default /etc/berth/certs.d)")
	_ = f.MarkHidden("registry-certs-dir")
	f.StringVar(&cfg.Bip, "bip", "", "Specify default-bridge IP")
	f.StringSliceVar(&cfg.DNS, "dns", nil, "DNS server to use")
	f.StringSliceVar(&cfg.DNSOptions, "dns-opt", nil, "DNS options to use")
	f.StringSliceVar(&cfg.DNSSearch, "dns-search", nil, "DNS search domains to use")
	f.StringSliceVar(&cfg.Labels, "label", nil, "Set key=value labels to the daemon")
	f.IntVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "Default shutdown timeout in seconds")
	f.BoolVar(&cfg.Init, "init", false, "Run an init in the container to forward signals and reap processes")
	f.StringVar(&cfg.InitPath, "init-path", "", "Path to the docker-init binary")
	f.StringVarP(&cfg.Bridge, "bridge", "b", "", `Attach containers to a network bridge (default "berth0"; "none" disables the default network)`)
	f.StringArrayVar(&addrPools, "default-address-pool", nil, "Default address pools for node specific local networks (base=CIDR,size=N)")
	f.StringVar(&cfg.NetPrefix, "net-prefix", "", "Prefix of berth's nftables table and link names (tests)")
	f.MarkHidden("net-prefix")
	f.StringVar(&cfg.FirewallBackend, "firewall-backend", "", "nftables or iptables (default: nftables where available)")
	f.MarkHidden("firewall-backend")
	cmd.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "failed to start daemon: %v\n", err)
		return 1
	}
	return 0
}

// conflicts refuses a setting given both as a flag and in the file, as
// dockerd does.
func conflicts(flags *pflag.FlagSet, keys map[string]bool) error {
	var both []string
	flags.Visit(func(f *pflag.Flag) {
		if k, ok := flagKeys[f.Name]; ok && keys[k] {
			both = append(both, fmt.Sprintf("%s: (from flag: %s, from file: ...)", k, f.Value.String()))
		}
	})
	if len(both) == 0 {
		return nil
	}
	sort.Strings(both)
	return fmt.Errorf("the following directives are specified both as a flag and in the configuration file: %s", strings.Join(both, ", "))
}

// overlayFlags applies changed flags on top of the file's settings.
func overlayFlags(flags *pflag.FlagSet, file, fromFlags config.Config) config.Config {
	out := file
	set := func(name string, apply func()) {
		if flags.Changed(name) {
			apply()
		}
	}
	set("data-root", func() { out.DataRoot = fromFlags.DataRoot })
	set("exec-root", func() { out.ExecRoot = fromFlags.ExecRoot })
	set("host", func() { out.Hosts = fromFlags.Hosts })
	set("cgroup-parent", func() { out.CgroupParent = fromFlags.CgroupParent })
	set("log-level", func() { out.LogLevel = fromFlags.LogLevel })
	set("debug", func() { out.Debug = fromFlags.Debug })
	set("storage-driver", func() { out.StorageDriver = fromFlags.StorageDriver })
	set("log-driver", func() { out.LogDriver = fromFlags.LogDriver })
	set("group", func() { out.Group = fromFlags.Group })
	set("registry-mirror", func() { out.RegistryMirrors = fromFlags.RegistryMirrors })
	set("insecure-registry", func() { out.InsecureRegistries = fromFlags.InsecureRegistries })
	set("registry-certs-dir", func() { out.RegistryCertsDir = fromFlags.RegistryCertsDir })
	set("bip", func() { out.Bip = fromFlags.Bip })
	set("dns", func() { out.DNS = fromFlags.DNS })
	set("label", func() { out.Labels = fromFlags.Labels })
	set("shutdown-timeout", func() { out.ShutdownTimeout = fromFlags.ShutdownTimeout })
	set("init", func() { out.Init = fromFlags.Init })
	set("init-path", func() { out.InitPath = fromFlags.InitPath })
	set("bridge", func() { out.Bridge = fromFlags.Bridge })
	set("dns-opt", func() { out.DNSOptions = fromFlags.DNSOptions })
	set("dns-search", func() { out.DNSSearch = fromFlags.DNSSearch })
	return out
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error", "fatal":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func serve(ctx context.Context, cfg config.Config, pidFile string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	slog.SetDefault(log)
	if err := os.MkdirAll(cfg.ExecRoot, 0o711); err != nil {
		return err
	}
	if pidFile == "" {
		pidFile = filepath.Join(cfg.ExecRoot, "berth.pid")
	}
	if err := writePidFile(pidFile); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	hosts := cfg.Hosts
	if len(hosts) == 0 {
		hosts = []string{config.DefaultHost(cfg.ExecRoot)}
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, h := range hosts {
		l, err := listenUnix(h, cfg.Group)
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
	}
	d, err := daemon.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	srv := api.New(api.Backends{Containers: d.Containers, Images: d.Images, System: d.System, Events: d.Events(), Volumes: d.Volumes,
		Distribution: d.Distribution, ImageArchive: d.Images, DiskUsage: d.DiskUsage, Networks: d.Networks, Builds: d.Builds},
		api.Versions{Max: daemon.MaxAPIVersion, Min: daemon.MinAPIVersion, Server: "Berth/" + daemon.Version + " (linux)"})
	log.Info("API listening", "hosts", strings.Join(hosts, ","), "data-root", cfg.DataRoot, "version", daemon.Version)
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func(l net.Listener) { errc <- srv.Serve(ctx, l) }(l)
	}
	var serveErr error
	for range listeners {
		if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) && serveErr == nil {
			serveErr = err
		}
	}
	log.Info("daemon shut down; containers keep running under their shims")
	return serveErr
}

func listenUnix(host, group string) (net.Listener, error) {
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		path = host
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return nil, err
	}
	// A socket left by a crashed daemon blocks the listen; a live one means
	// another daemon owns it.
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another daemon is already listening on %s", path)
	}
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	gid := 0
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("group %q for the socket: %w", group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if err := os.Chown(path, 0, gid); err != nil {
		l.Close()
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func writePidFile(path string) error {
	if data, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid != os.Getpid() {
			if syscall.Kill(pid, 0) == nil {
				if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmdline), "daemon") {
					return fmt.Errorf("pid file found, ensure berth is not running or delete %s", path)
				}
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644)
}
