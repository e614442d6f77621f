package network

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/atomicfile"
	"berth/internal/errdefs"
	"berth/internal/network/dns"
	"berth/internal/network/portmap"
)

// attachment is one network a container is configured for.
type attachment struct {
	NetworkID string         `json:"networkID"`
	Config    EndpointConfig `json:"config"`
}

// sandbox is a container's networking: persisted configuration, and while
// it runs, its namespace, endpoints and published ports.
type sandbox struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Attach    []attachment      `json:"attach"`
	NSPath    string            `json:"nsPath,omitempty"`
	Endpoints []*Endpoint       `json:"endpoints,omitempty"`
	Mappings  []portmap.Mapping `json:"mappings,omitempty"`
	Upstreams []string          `json:"upstreams,omitempty"`

	reservations []*portmap.Reservation
	dnsSrv       *dns.Server
}

func (sb *sandbox) live() bool { return sb.NSPath != "" }

func (sb *sandbox) endpoint(netID string) *Endpoint {
	for _, ep := range sb.Endpoints {
		if ep.NetworkID == netID {
			return ep
		}
	}
	return nil
}

func (sb *sandbox) attachment(netID string) *attachment {
	for i := range sb.Attach {
		if sb.Attach[i].NetworkID == netID {
			return &sb.Attach[i]
		}
	}
	return nil
}

func (sb *sandbox) detachConfig(netID string) bool {
	for i := range sb.Attach {
		if sb.Attach[i].NetworkID == netID {
			sb.Attach = append(sb.Attach[:i], sb.Attach[i+1:]...)
			return true
		}
	}
	return false
}

// stopRuntime closes what lives in the daemon process only.
func (sb *sandbox) stopRuntime() {
	if sb.dnsSrv != nil {
		sb.dnsSrv.Close()
		sb.dnsSrv = nil
	}
	for _, r := range sb.reservations {
		r.Close()
	}
	sb.reservations = nil
}

func (m *Manager) saveSandbox(sb *sandbox) error {
	b, err := json.Marshal(sb)
	if err != nil {
		return err
	}
	return atomicfile.Replace(filepath.Join(m.cfg.Root, "sandboxes", sb.ID+".json"), b, 0o600)
}

// restoreSandboxes loads sandbox records; live ones get their addresses,
// ports and DNS server back. A sandbox whose namespace is gone (a reboot)
// is reset to configured-only.
func (m *Manager) restoreSandboxes() {
	dir := filepath.Join(m.cfg.Root, "sandboxes")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var sb sandbox
		if json.Unmarshal(b, &sb) != nil || sb.ID == "" {
			continue
		}
		m.sandboxes[sb.ID] = &sb
		if !sb.live() {
			continue
		}
		if _, err := os.Stat(sb.NSPath); err != nil {
			m.resetLocked(&sb)
			continue
		}
		for _, ep := range sb.Endpoints {
			if p := m.pools[ep.NetworkID]; p != nil {
				p.Mark(ep.IP)
			}
		}
		for _, mp := range sb.Mappings {
			r, err := portmap.Reserve(mp.Proto, mp.HostIP, mp.HostPort)
			if err != nil {
				m.log.Warn("re-reserving published port", "container", sb.ID, "port", mp.HostPort, "err", err)
				continue
			}
			sb.reservations = append(sb.reservations, r)
		}
		m.startDNSLocked(&sb)
	}
}

// resetLocked forgets a sandbox's live state without touching the kernel.
func (m *Manager) resetLocked(sb *sandbox) {
	sb.stopRuntime()
	sb.NSPath, sb.Endpoints, sb.Mappings = "", nil, nil
	m.saveSandbox(sb)
}

// Configure records the networks a new container is attached to. mode is
// the HostConfig.NetworkMode; eps are the API's EndpointsConfig.
func (m *Manager) Configure(id, name, mode string, eps map[string]*apinet.EndpointSettings, links []string) error {
	m.mu.Lock()
	defer m.unlock()
	sb := &sandbox{ID: id, Name: strings.TrimPrefix(name, "/")}
	var order []string
	switch {
	case mode == "host" || mode == "none" || strings.HasPrefix(mode, "container:"):
		if len(eps) > 0 {
			for k := range eps {
				if k != mode {
					return errdefs.InvalidParameterf("container cannot be connected to multiple networks with one of the networks in %s mode", mode)
				}
			}
		}
		return nil
	case mode == "" || mode == "default" || mode == "bridge":
		if m.cfg.DefaultBridge == "none" {
			return nil
		}
		order = append(order, "bridge")
	default:
		order = append(order, mode)
	}
	if es, ok := eps["default"]; ok && order[0] == "bridge" {
		eps = maps.Clone(eps)
		eps["bridge"] = es
		delete(eps, "default")
	}
	var extra []string
	for k := range eps {
		if k != order[0] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	order = append(order, extra...)
	for i, ref := range order {
		n, err := m.lookupLocked(ref)
		if err != nil {
			return err
		}
		if n.Driver != "bridge" {
			return errdefs.InvalidParameterf("container cannot be connected to multiple networks with one of the networks in %s mode", n.Name)
		}
		ec, err := m.endpointConfig(n, eps[ref])
		if err != nil {
			return err
		}
		if i == 0 && n.Default {
			ec.Links = links
		}
		sb.Attach = append(sb.Attach, attachment{NetworkID: n.ID, Config: ec})
	}
	m.sandboxes[id] = sb
	return m.saveSandbox(sb)
}

func (m *Manager) endpointConfig(n *Network, es *apinet.EndpointSettings) (EndpointConfig, error) {
	var ec EndpointConfig
	if es == nil {
		return ec, nil
	}
	ec.Aliases = append(ec.Aliases, es.Aliases...)
	ec.MAC = es.MacAddress.String()
	if len(ec.Aliases) > 0 && n.Default {
		return ec, errdefs.InvalidParameterf("network-scoped alias is supported only for containers in user defined networks")
	}
	if es.IPAMConfig != nil && es.IPAMConfig.IPv4Address.IsValid() {
		ip := es.IPAMConfig.IPv4Address
		if !n.UserSubnet {
			return ec, errdefs.InvalidParameterf("user specified IP address is supported only when connecting to networks with user configured subnets")
		}
		rng := n.Subnet
		if n.IPRange.IsValid() {
			rng = n.IPRange
		}
		if !rng.Contains(ip) {
			return ec, errdefs.InvalidParameterf("no configured subnet or ip-range contain the IP address %s", ip)
		}
		ec.IPv4 = ip
	}
	return ec, nil
}

// Forget drops a removed container's networking (tearing it down first).
func (m *Manager) Forget(ctx context.Context, id string) {
	m.Teardown(ctx, id)
	m.mu.Lock()
	defer m.unlock()
	delete(m.sandboxes, id)
	os.Remove(filepath.Join(m.cfg.Root, "sandboxes", id+".json"))
}

// Rename follows a container rename (DNS answers the new name).
func (m *Manager) Rename(id, name string) {
	m.mu.Lock()
	defer m.unlock()
	if sb := m.sandboxes[id]; sb != nil {
		sb.Name = strings.TrimPrefix(name, "/")
		m.saveSandbox(sb)
	}
}

// SandboxSpec is what Setup needs of a starting container.
type SandboxSpec struct {
	ID         string
	Ports      apinet.PortMap
	PublishAll bool
	Exposed    apinet.PortSet
	MAC        string   // --mac-address, for the first network
	Upstreams  []string // --dns of the container, for the embedded DNS
}

// Setup creates the container's namespace and endpoints and publishes its
// ports. It returns "" when the container has no networks to join (an
// isolated namespace is the runtime's business then). On error nothing is
// left behind.
func (m *Manager) Setup(ctx context.Context, spec SandboxSpec) (string, error) {
	m.mu.Lock()
	defer m.unlock()
	sb := m.sandboxes[spec.ID]
	if sb == nil || len(sb.Attach) == 0 {
		return "", nil
	}
	if sb.live() {
		m.teardownLocked(ctx, sb)
	}
	path := filepath.Join(m.cfg.NetnsDir, spec.ID)
	DeleteNetns(path)
	if err := CreateNetns(path); err != nil {
		return "", errdefs.System(err)
	}
	sb.NSPath, sb.Upstreams = path, spec.Upstreams
	for i, a := range sb.Attach {
		mac := a.Config.MAC
		if i == 0 && spec.MAC != "" {
			mac = spec.MAC
		}
		if err := m.joinLocked(ctx, sb, a, mac); err != nil {
			m.teardownLocked(ctx, sb)
			return "", err
		}
	}
	if err := m.publishLocked(sb, spec); err != nil {
		m.teardownLocked(ctx, sb)
		return "", err
	}
	m.startDNSLocked(sb)
	if err := m.saveSandbox(sb); err != nil {
		m.teardownLocked(ctx, sb)
		return "", err
	}
	return path, nil
}

// joinLocked allocates an address and plugs the sandbox into one network.
func (m *Manager) joinLocked(ctx context.Context, sb *sandbox, a attachment, mac string) error {
	n := m.networks[a.NetworkID]
	pool := m.pools[a.NetworkID]
	if n == nil || pool == nil {
		return errdefs.NotFoundf("network %s not found", a.NetworkID)
	}
	ip, err := pool.Allocate(a.Config.IPv4)
	if err != nil {
		if errdefs.IsConflict(err) {
			return errdefs.InvalidParameterf("Address already in use")
		}
		return err
	}
	ep := &Endpoint{ID: newID(), NetworkID: n.ID, IfName: fmt.Sprintf("eth%d", nextIf(sb)), IP: ip,
		PrefixLen: n.Subnet.Bits(), Gateway: n.Gateway, MAC: MACFor(ip)}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			pool.Release(ip)
			return errdefs.InvalidParameterf("invalid MAC address %s", mac)
		}
		ep.MAC = hw
	}
	if n.Internal {
		ep.Gateway = netip.Addr{}
	}
	if err := m.drivers[n.Driver].Join(ctx, n, ep, sb.NSPath, len(sb.Endpoints) == 0); err != nil {
		pool.Release(ip)
		return errdefs.System(err)
	}
	sb.Endpoints = append(sb.Endpoints, ep)
	m.events("connect", n, sb.ID)
	return nil
}

func nextIf(sb *sandbox) int {
	used := map[string]bool{}
	for _, ep := range sb.Endpoints {
		used[ep.IfName] = true
	}
	for i := 0; ; i++ {
		if !used[fmt.Sprintf("eth%d", i)] {
			return i
		}
	}
}

// Teardown undoes Setup: ports, DNS, endpoints, addresses, namespace.
func (m *Manager) Teardown(ctx context.Context, id string) {
	m.mu.Lock()
	defer m.unlock()
	if sb := m.sandboxes[id]; sb != nil && sb.live() {
		m.teardownLocked(ctx, sb)
	}
}

func (m *Manager) teardownLocked(ctx context.Context, sb *sandbox) {
	sb.stopRuntime()
	hadPorts := len(sb.Mappings) > 0
	sb.Mappings = nil
	if hadPorts {
		if err := m.applyLocked(); err != nil {
			m.log.Warn("removing published ports", "container", sb.ID, "err", err)
		}
	}
	for _, ep := range sb.Endpoints {
		m.leaveLocked(ctx, sb, ep)
	}
	sb.Endpoints = nil
	if sb.NSPath != "" {
		if err := DeleteNetns(sb.NSPath); err != nil {
			m.log.Warn("removing netns", "container", sb.ID, "err", err)
		}
	}
	sb.NSPath = ""
	m.saveSandbox(sb)
}

func (m *Manager) leaveLocked(ctx context.Context, sb *sandbox, ep *Endpoint) {
	n := m.networks[ep.NetworkID]
	if n == nil {
		return
	}
	if err := m.drivers[n.Driver].Leave(ctx, n, ep); err != nil {
		m.log.Warn("removing endpoint", "container", sb.ID, "network", n.Name, "err", err)
	}
	if p := m.pools[n.ID]; p != nil {
		p.Release(ep.IP)
	}
	m.events("disconnect", n, sb.ID)
}

// endpointNamesLocked lists the containers with a live endpoint on netID.
func (m *Manager) endpointNamesLocked(netID string) []string {
	var out []string
	for _, sb := range m.sandboxes {
		if sb.endpoint(netID) != nil {
			out = append(out, sb.Name)
		}
	}
	return out
}

// configuredLocked lists the containers configured for netID.
func (m *Manager) configuredLocked(netID string) []string {
	var out []string
	for _, sb := range m.sandboxes {
		if sb.attachment(netID) != nil {
			out = append(out, sb.Name)
		}
	}
	return out
}

// ForgetUnknown drops the sandboxes of containers that no longer exist
// (records removed while the daemon was down), tearing down their
// namespaces.
func (m *Manager) ForgetUnknown(ctx context.Context, known func(id string) bool) {
	m.mu.Lock()
	var gone []string
	for id := range m.sandboxes {
		if !known(id) {
			gone = append(gone, id)
		}
	}
	m.mu.Unlock()
	for _, id := range gone {
		m.Forget(ctx, id)
	}
}
