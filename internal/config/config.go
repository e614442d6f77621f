package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"berth/internal/errdefs"
)

// Config is the daemon's whole configuration. JSON names are dockerd's
// daemon.json keys so that an existing daemon.json carries over.
type Config struct {
	// DataRoot holds images, container layers and records. Default
	// /var/lib/berth; tests always pass a temp dir.
	DataRoot string `json:"data-root,omitempty"`
	// ExecRoot holds runtime state that must not survive a reboot: the API
	// socket, shim sockets, exit records. Default /run/berth.
	ExecRoot string `json:"exec-root,omitempty"`
	// Hosts are the API listeners; only unix:// is served.
	Hosts []string `json:"hosts,omitempty"`
	// CgroupParent is where container cgroups go, relative to the daemon's
	// own cgroup so a container can never escape it. Default "berth".
	CgroupParent string `json:"cgroup-parent,omitempty"`
	LogLevel     string `json:"log-level,omitempty"`
	Debug        bool   `json:"debug,omitempty"`
	// StorageDriver is "overlay2" or "vfs"; empty picks overlay2 where the
	// kernel and backing filesystem allow it.
	StorageDriver string `json:"storage-driver,omitempty"`
	// LogDriver is the default container log driver ("json-file", "none").
	LogDriver string            `json:"log-driver,omitempty"`
	LogOpts   map[string]string `json:"log-opts,omitempty"`
	// LiveRestore keeps containers running while the daemon is down. berth
	// supervises containers with per-container shims, so it defaults to on.
	LiveRestore *bool `json:"live-restore,omitempty"`
	// Group owns the API socket (mode 0660).
	Group string `json:"group,omitempty"`
	// DetachKeys overrides ctrl-p,ctrl-q for attach.
	DetachKeys string `json:"detach-keys,omitempty"`
	// Init runs every container with --init unless it says otherwise.
	Init bool `json:"init,omitempty"`
	// InitPath is the host binary --init runs as PID 1; empty means berth
	// itself (when statically linked) or docker-init on PATH.
	InitPath string `json:"init-path,omitempty"`

	// Accepted for daemon.json compatibility; used by later subsystems.
	RegistryMirrors    []string `json:"registry-mirrors,omitempty"`
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	// RegistryCertsDir holds <host[:port]>/ca.crt for registries with their
	// own CA; default /etc/berth/certs.d. A berth extension (tests point it
	// at a temp dir).
	RegistryCertsDir string   `json:"registry-certs-dir,omitempty"`
	Bip              string   `json:"bip,omitempty"`
	DNS              []string `json:"dns,omitempty"`
	DNSOptions       []string `json:"dns-opts,omitempty"`
	DNSSearch        []string `json:"dns-search,omitempty"`
	Labels           []string `json:"labels,omitempty"`
	ShutdownTimeout  int      `json:"shutdown-timeout,omitempty"`
	// Bridge is the default network's Linux bridge (default "berth0";
	// "none" runs without a default bridge network).
	Bridge string `json:"bridge,omitempty"`
	// DefaultAddressPools is where networks without --subnet get theirs
	// (Docker's 172.17-31/16 and 192.168/16 when empty); subnets that
	// overlap a host route are skipped.
	DefaultAddressPools []AddressPool `json:"default-address-pools,omitempty"`
	// NetPrefix names berth's nftables table and starts the names of the
	// links it creates ("berth"). Not in daemon.json: a hidden flag lets
	// each test daemon own distinct host objects.
	NetPrefix string `json:"-"`
	// FirewallBackend forces "nftables" or "iptables" (hidden flag; the
	// default detects nf_tables and falls back to iptables).
	FirewallBackend string `json:"-"`
}

// AddressPool is one default-address-pools entry.
type AddressPool struct {
	Base string `json:"base"`
	Size int    `json:"size"`
}

const (
	DefaultDataRoot     = "/var/lib/berth"
	DefaultExecRoot     = "/run/berth"
	DefaultCgroupParent = "berth"
	DefaultLogDriver    = "json-file"
)

// DefaultHost is the API socket a client talks to when nothing else is set.
func DefaultHost(execRoot string) string {
	return "unix://" + filepath.Join(execRoot, "berth.sock")
}

// Default returns the configuration used when neither flags nor a file say
// otherwise.
func Default() Config {
	on := true
	return Config{
		DataRoot:        DefaultDataRoot,
		ExecRoot:        DefaultExecRoot,
		CgroupParent:    DefaultCgroupParent,
		LogLevel:        "info",
		LogDriver:       DefaultLogDriver,
		LogOpts:         map[string]string{},
		LiveRestore:     &on,
		ShutdownTimeout: 15,
	}
}

// LiveRestoreEnabled reports the effective live-restore setting.
func (c Config) LiveRestoreEnabled() bool { return c.LiveRestore == nil || *c.LiveRestore }

// Keys returns the daemon.json keys a file sets, for conflict detection
// against flags (dockerd refuses a key set both ways).
func Keys(data []byte) (map[string]bool, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	keys := make(map[string]bool, len(raw))
	for k := range raw {
		keys[k] = true
	}
	return keys, nil
}

// Load reads a daemon.json and overlays it on base. Unknown keys are an
// error, as with dockerd.
func Load(path string, base Config) (Config, map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, nil, fmt.Errorf("unable to configure the daemon with file %s: %w", path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return base, map[string]bool{}, nil
	}
	keys, err := Keys(data)
	if err != nil {
		return base, nil, errdefs.InvalidParameterf("unable to configure the daemon with file %s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	cfg := base
	if err := dec.Decode(&cfg); err != nil {
		if unknown := unknownKeys(keys); len(unknown) > 0 {
			return base, nil, errdefs.InvalidParameterf("the following directives don't match any configuration option: %s", strings.Join(unknown, ", "))
		}
		return base, nil, errdefs.InvalidParameterf("unable to configure the daemon with file %s: %v", path, err)
	}
	return cfg, keys, nil
}

func unknownKeys(keys map[string]bool) []string {
	known := map[string]bool{}
	for _, k := range knownKeys() {
		known[k] = true
	}
	var out []string
	for k := range keys {
		if !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func knownKeys() []string {
	return []string{"data-root", "exec-root", "hosts", "cgroup-parent", "log-level", "debug",
		"storage-driver", "log-driver", "log-opts", "live-restore", "group", "detach-keys",
		"registry-mirrors", "insecure-registries", "registry-certs-dir", "bip", "dns", "dns-opts", "dns-search",
		"labels", "shutdown-timeout", "bridge", "default-address-pools"}
}

// Validate checks values that would otherwise fail late or touch the host in
// surprising ways.
func (c Config) Validate() error {
	if !filepath.IsAbs(c.DataRoot) {
		return errdefs.InvalidParameterf("data-root must be an absolute path: %q", c.DataRoot)
	}
	if !filepath.IsAbs(c.ExecRoot) {
		return errdefs.InvalidParameterf("exec-root must be an absolute path: %q", c.ExecRoot)
	}
	if err := ValidateCgroupParent(c.CgroupParent); err != nil {
		return err
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error", "fatal":
	default:
		return errdefs.InvalidParameterf("unable to parse logging level: %s", c.LogLevel)
	}
	switch c.StorageDriver {
	case "", "overlay2", "overlay", "vfs":
	default:
		return errdefs.InvalidParameterf("error initializing graphdriver: driver not supported: %s", c.StorageDriver)
	}
	switch c.LogDriver {
	case "", "json-file", "none":
	default:
		return errdefs.InvalidParameterf("logging driver not supported: %s", c.LogDriver)
	}
	for _, h := range c.Hosts {
		if !strings.HasPrefix(h, "unix://") && !strings.HasPrefix(h, "/") {
			return errdefs.InvalidParameterf("unsupported host %q: only unix:// sockets are served", h)
		}
	}
	return nil
}

// ValidateCgroupParent refuses a parent that is absolute or climbs out: it
// is joined under the daemon's own cgroup, and must stay there.
func ValidateCgroupParent(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") {
		return errdefs.InvalidParameterf("cgroup-parent %q must be a relative path: berth nests container cgroups under its own", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." {
			return errdefs.InvalidParameterf("cgroup-parent %q must not contain %q", p, part)
		}
	}
	return nil
}
