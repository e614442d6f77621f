package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"

	"berth/internal/atomicfile"
	"berth/internal/errdefs"
	"berth/internal/network/ipam"
	"berth/internal/network/portmap"
)

// Config is what the manager needs from the daemon's configuration.
type Config struct {
	Root     string // <data-root>/network: network and sandbox records
	NetnsDir string // <exec-root>/netns: namespace bind mounts
	// Prefix names the nftables table and starts every link name berth
	// makes ("berth"; tests use a unique one).
	Prefix string
	// DefaultBridge is the default network's bridge; "none" runs without one.
	DefaultBridge string
	// BIP is the default bridge's gateway address with its prefix length.
	BIP string
	// Pools are where subnets of networks without --subnet come from.
	Pools []ipam.PoolSpec
	// DNS are the upstream resolvers of the embedded DNS server; empty
	// means the host's /etc/resolv.conf.
	DNS []string
	// Firewall is "nftables", "iptables" or "" (nftables where the kernel
	// has nf_tables, else iptables).
	Firewall string
}

// EventFunc is told about network create/destroy/connect/disconnect.
type EventFunc func(action string, n *Network, containerID string)

// Manager owns the networks and sandboxes of one daemon.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	drivers map[string]Driver
	table   portmap.Firewall
	events  EventFunc

	mu        sync.Mutex
	networks  map[string]*Network // by ID
	pools     map[string]*ipam.Pool
	sandboxes map[string]*sandbox // by container ID

	dnsv atomic.Pointer[dnsView] // read by DNS handlers without mu
}

// New loads the records under cfg.Root, recreates the bridges that went
// missing, takes back the addresses and ports of sandboxes that are still
// live, and rewrites the nftables table from them.
func New(ctx context.Context, cfg Config, log *slog.Logger, drivers map[string]Driver, events EventFunc) (*Manager, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "berth"
	}
	if cfg.DefaultBridge == "" {
		cfg.DefaultBridge = cfg.Prefix + "0"
	}
	if len(cfg.Pools) == 0 {
		cfg.Pools = ipam.DefaultPools()
	}
	if events == nil {
		events = func(string, *Network, string) {}
	}
	for _, d := range []string{filepath.Join(cfg.Root, "networks"), filepath.Join(cfg.Root, "sandboxes"), cfg.NetnsDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	var fw portmap.Firewall
	switch cfg.Firewall {
	case "nftables":
		fw = portmap.New(cfg.Prefix)
	case "iptables":
		fw = portmap.NewIPTables(cfg.Prefix, "iptables-legacy")
	case "":
		fw = portmap.Detect(cfg.Prefix)
	default:
		return nil, errdefs.InvalidParameterf("unknown firewall backend %q (nftables, iptables)", cfg.Firewall)
	}
	m := &Manager{cfg: cfg, log: log, drivers: drivers, table: fw, events: events,
		networks: map[string]*Network{}, pools: map[string]*ipam.Pool{}, sandboxes: map[string]*sandbox{}}
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if err := m.ensurePredefined(ctx); err != nil {
		return nil, err
	}
	m.restoreSandboxes()
	m.mu.Lock()
	err := m.applyLocked()
	m.unlock()
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) load(ctx context.Context) error {
	dir := filepath.Join(m.cfg.Root, "networks")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		var n Network
		if err := json.Unmarshal(b, &n); err != nil {
			m.log.Warn("skipping unreadable network record", "file", e.Name(), "err", err)
			continue
		}
		if n.Default && m.cfg.DefaultBridge == "none" {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		if err := m.addNetworkLocked(ctx, &n); err != nil {
			m.log.Warn("restoring network", "network", n.Name, "err", err)
		}
	}
	return nil
}

// addNetworkLocked registers n and asks its driver for the kernel side.
func (m *Manager) addNetworkLocked(ctx context.Context, n *Network) error {
	if n.Driver == "bridge" {
		p, err := ipam.NewPool(n.Subnet, n.IPRange, n.Gateway)
		if err != nil {
			return err
		}
		n.Gateway = p.Gateway
		if err := m.drivers["bridge"].CreateNetwork(ctx, n); err != nil {
			return err
		}
		m.pools[n.ID] = p
	}
	m.networks[n.ID] = n
	return nil
}

// ensurePredefined creates "bridge", "host" and "none" on first start, and
// follows a changed --bip or --bridge for the default network.
func (m *Manager) ensurePredefined(ctx context.Context) error {
	m.mu.Lock()
	defer m.unlock()
	have := map[string]*Network{}
	for _, n := range m.networks {
		if n.Predefined() {
			have[n.Name] = n
		}
	}
	for _, p := range []struct{ name, driver string }{{"host", "host"}, {"none", "null"}} {
		if have[p.name] == nil {
			n := &Network{ID: newID(), Name: p.name, Driver: p.driver, Created: time.Now().UTC()}
			if err := m.saveNetwork(n); err != nil {
				return err
			}
			m.networks[n.ID] = n
		}
	}
	if m.cfg.DefaultBridge == "none" {
		return nil
	}
	def := have["bridge"]
	if def != nil && def.Bridge == m.cfg.DefaultBridge && (m.cfg.BIP == "" || m.cfg.BIP == bipOf(def)) {
		return nil
	}
	subnet, gw, err := m.defaultSubnet()
	if err != nil {
		return err
	}
	if def != nil {
		// The settings changed: the old bridge goes (containers from it
		// keep nothing across a reconfiguration, as with dockerd).
		m.drivers["bridge"].DeleteNetwork(ctx, def)
		delete(m.networks, def.ID)
		delete(m.pools, def.ID)
	} else {
		def = &Network{ID: newID(), Name: "bridge", Driver: "bridge", Created: time.Now().UTC(), Default: true}
	}
	def.Bridge, def.Subnet, def.Gateway = m.cfg.DefaultBridge, subnet, gw
	def.Options = map[string]string{
		"com.docker.network.bridge.default_bridge":       "true",
		"com.docker.network.bridge.enable_icc":           "true",
		"com.docker.network.bridge.enable_ip_masquerade": "true",
		"com.docker.network.bridge.host_binding_ipv4":    "0.0.0.0",
		"com.docker.network.bridge.name":                 def.Bridge,
		"com.docker.network.driver.mtu":                  "1500",
	}
	if err := m.addNetworkLocked(ctx, def); err != nil {
		return fmt.Errorf("creating the default bridge %s: %w", def.Bridge, err)
	}
	return m.saveNetwork(def)
}

func bipOf(n *Network) string {
	return netip.PrefixFrom(n.Gateway, n.Subnet.Bits()).String()
}

// defaultSubnet is --bip, or the first pool subnet free of host routes.
func (m *Manager) defaultSubnet() (netip.Prefix, netip.Addr, error) {
	if m.cfg.BIP != "" {
		p, err := netip.ParsePrefix(m.cfg.BIP)
		if err != nil || !p.Addr().Is4() {
			return netip.Prefix{}, netip.Addr{}, errdefs.InvalidParameterf("invalid bip %q", m.cfg.BIP)
		}
		return p.Masked(), p.Addr(), nil
	}
	p, err := ipam.PickSubnet(m.cfg.Pools, m.usedSubnetsLocked())
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, err
	}
	return p, p.Addr().Next(), nil
}

// usedSubnetsLocked lists the host's routes and addresses and the subnets
// of existing networks: a new subnet must overlap none of them.
func (m *Manager) usedSubnetsLocked() []netip.Prefix {
	var used []netip.Prefix
	for _, n := range m.networks {
		if n.Subnet.IsValid() {
			used = append(used, n.Subnet)
		}
	}
	if routes, err := netlink.RouteList(nil, netlink.FAMILY_V4); err == nil {
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			if p, err := netip.ParsePrefix(r.Dst.String()); err == nil && p.Bits() > 0 {
				used = append(used, p)
			}
		}
	}
	if addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.IPNet.String()); err == nil {
				used = append(used, p.Masked())
			}
		}
	}
	return used
}

func (m *Manager) saveNetwork(n *Network) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(m.cfg.Root, "networks", n.ID+".json"), b, 0o600)
}

// applyLocked rewrites the nftables table from the networks and the
// published ports of live sandboxes.
func (m *Manager) applyLocked() error {
	var st portmap.State
	for _, n := range m.networks {
		if n.Driver == "bridge" {
			st.Bridges = append(st.Bridges, portmap.Bridge{Name: n.Bridge, Subnet: n.Subnet, Internal: n.Internal})
		}
	}
	sort.Slice(st.Bridges, func(i, j int) bool { return st.Bridges[i].Name < st.Bridges[j].Name })
	for _, sb := range m.sandboxes {
		st.Mappings = append(st.Mappings, sb.Mappings...)
	}
	sort.Slice(st.Mappings, func(i, j int) bool {
		a, b := st.Mappings[i], st.Mappings[j]
		if a.HostPort != b.HostPort {
			return a.HostPort < b.HostPort
		}
		return a.Proto < b.Proto
	})
	return m.table.Apply(st)
}

// Close stops the DNS servers and releases port reservations without
// touching the kernel state: containers keep their networking while the
// daemon is away.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sb := range m.sandboxes {
		sb.stopRuntime()
	}
}

// lookupLocked finds a network by full ID, name, or unique ID prefix.
func (m *Manager) lookupLocked(ref string) (*Network, error) { return lookupIn(m.networks, ref) }

func lookupIn(networks map[string]*Network, ref string) (*Network, error) {
	if ref == "" {
		return nil, errdefs.NotFoundf("network %s not found", ref)
	}
	if n := networks[ref]; n != nil {
		return n, nil
	}
	for _, n := range networks {
		if n.Name == ref {
			return n, nil
		}
	}
	var found *Network
	for id, n := range networks {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, errdefs.InvalidParameterf("network %s is ambiguous (%d matches found based on ID prefix)", ref, 2)
			}
			found = n
		}
	}
	if found == nil {
		return nil, errdefs.NotFoundf("network %s not found", ref)
	}
	return found, nil
}

// Lookup returns a copy of a network's record.
func (m *Manager) Lookup(ref string) (Network, error) {
	n, err := lookupIn(m.snap().networks, ref)
	if err != nil {
		return Network{}, err
	}
	return *n, nil
}

// DefaultBridgeName is the default network's Linux bridge ("" when none).
func (m *Manager) DefaultBridgeName() string {
	for _, n := range m.snap().networks {
		if n.Default {
			return n.Bridge
		}
	}
	return ""
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
