package network

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"time"

	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/errdefs"
	"berth/internal/network/ipam"
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Create makes a user-defined network.
func (m *Manager) Create(ctx context.Context, req apinet.CreateRequest) (*Network, error) {
	if req.Name == "" {
		return nil, errdefs.InvalidParameterf("network name must not be empty")
	}
	if !validName.MatchString(req.Name) {
		return nil, errdefs.InvalidParameterf("invalid network name %q: must match %s", req.Name, validName)
	}
	driver := req.Driver
	if driver == "" {
		driver = "bridge"
	}
	switch driver {
	case "bridge":
	case "host", "null":
		return nil, errdefs.Forbidden(errString("only one instance of \"" + driver + "\" network is allowed"))
	default:
		return nil, errdefs.NotFoundf("plugin %q not found", driver)
	}
	if req.ConfigOnly || req.ConfigFrom != nil || req.Ingress {
		return nil, errdefs.NotImplemented(errString("config-only and ingress networks are not supported"))
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return nil, errdefs.NotImplemented(errString("IPv6 networks are not supported"))
	}
	m.mu.Lock()
	defer m.unlock()
	for _, n := range m.networks {
		if n.Name == req.Name {
			return nil, errdefs.Conflictf("network with name %s already exists", req.Name)
		}
	}
	n := &Network{ID: newID(), Name: req.Name, Driver: driver, Created: time.Now().UTC(),
		Internal: req.Internal, Attachable: req.Attachable, Labels: req.Labels, Options: req.Options}
	if err := m.pickAddressing(n, req.IPAM); err != nil {
		return nil, err
	}
	n.Bridge = req.Options["com.docker.network.bridge.name"]
	if n.Bridge == "" {
		n.Bridge = m.userBridgeName(n.ID)
	}
	if len(n.Bridge) > 15 {
		return nil, errdefs.InvalidParameterf("bridge name %q is too long (15 characters at most)", n.Bridge)
	}
	for _, o := range m.networks {
		if o.Bridge == n.Bridge {
			return nil, errdefs.Conflictf("bridge name %s is already used by network %s", n.Bridge, o.Name)
		}
	}
	if err := m.addNetworkLocked(ctx, n); err != nil {
		m.drivers["bridge"].DeleteNetwork(ctx, n)
		return nil, err
	}
	if err := m.saveNetwork(n); err != nil {
		m.removeNetworkLocked(ctx, n)
		return nil, err
	}
	if err := m.applyLocked(); err != nil {
		m.removeNetworkLocked(ctx, n)
		return nil, err
	}
	m.events("create", n, "")
	cp := *n
	return &cp, nil
}

func (m *Manager) userBridgeName(id string) string {
	p := m.cfg.Prefix
	if len(p) > 9 {
		p = p[:9]
	}
	return (p + "-" + id)[:15]
}

// pickAddressing validates --subnet/--gateway/--ip-range, or takes a
// free subnet from the pools.
func (m *Manager) pickAddressing(n *Network, cfg *apinet.IPAM) error {
	if cfg != nil && cfg.Driver != "" && cfg.Driver != "default" {
		return errdefs.NotFoundf("plugin %q not found", cfg.Driver)
	}
	if cfg == nil || len(cfg.Config) == 0 {
		p, err := ipam.PickSubnet(m.cfg.Pools, m.usedSubnetsLocked())
		if err != nil {
			return err
		}
		n.Subnet, n.Gateway = p, p.Addr().Next()
		return nil
	}
	if len(cfg.Config) > 1 {
		return errdefs.NotImplemented(errString("only one IPv4 subnet per network is supported"))
	}
	c := cfg.Config[0]
	if !c.Subnet.IsValid() {
		return errdefs.InvalidParameterf("invalid pool request: subnet is required")
	}
	if !c.Subnet.Addr().Is4() {
		return errdefs.NotImplemented(errString("IPv6 subnets are not supported"))
	}
	if _, err := ipam.NewPool(c.Subnet, c.IPRange, c.Gateway); err != nil {
		return err
	}
	for _, o := range m.networks {
		if o.Subnet.IsValid() && o.Subnet.Overlaps(c.Subnet) {
			return errdefs.Forbidden(errString("invalid pool request: Pool overlaps with other one on this address space"))
		}
	}
	n.Subnet, n.IPRange, n.Gateway, n.UserSubnet = c.Subnet, c.IPRange, c.Gateway, true
	if !n.Gateway.IsValid() {
		n.Gateway = c.Subnet.Addr().Next()
	}
	return nil
}

// Remove deletes a user-defined network without endpoints.
func (m *Manager) Remove(ctx context.Context, ref string) error {
	m.mu.Lock()
	defer m.unlock()
	n, err := m.lookupLocked(ref)
	if err != nil {
		return err
	}
	if n.Predefined() {
		return errdefs.Forbidden(errString(n.Name + " is a pre-defined network and cannot be removed"))
	}
	if names := m.endpointNamesLocked(n.ID); len(names) > 0 {
		return errdefs.Forbidden(errString("error while removing network: network " + n.Name + " has active endpoints"))
	}
	// Configured but stopped containers keep a reference in Docker too:
	// they would fail to start; berth drops the attachment instead.
	for _, sb := range m.sandboxes {
		if sb.detachConfig(n.ID) {
			m.saveSandbox(sb)
		}
	}
	if err := m.removeNetworkLocked(ctx, n); err != nil {
		return err
	}
	m.events("destroy", n, "")
	return nil
}

func (m *Manager) removeNetworkLocked(ctx context.Context, n *Network) error {
	if d := m.drivers[n.Driver]; d != nil {
		if err := d.DeleteNetwork(ctx, n); err != nil {
			return err
		}
	}
	delete(m.networks, n.ID)
	delete(m.pools, n.ID)
	if err := os.Remove(filepath.Join(m.cfg.Root, "networks", n.ID+".json")); err != nil && !os.IsNotExist(err) {
		return err
	}
	return m.applyLocked()
}

// Prune removes user-defined networks without endpoints that match keep.
func (m *Manager) Prune(ctx context.Context, match func(*Network) bool) ([]string, error) {
	m.mu.Lock()
	var cands []*Network
	for _, n := range m.networks {
		if !n.Predefined() && len(m.endpointNamesLocked(n.ID)) == 0 && len(m.configuredLocked(n.ID)) == 0 && match(n) {
			cands = append(cands, n)
		}
	}
	m.mu.Unlock()
	var deleted []string
	for _, n := range cands {
		if err := m.Remove(ctx, n.ID); err == nil {
			deleted = append(deleted, n.Name)
		}
	}
	return deleted, nil
}

// Networks returns copies of all records.
func (m *Manager) Networks() []Network {
	nets := m.snap().networks
	out := make([]Network, 0, len(nets))
	for _, n := range nets {
		out = append(out, *n)
	}
	return out
}

type errString string

func (e errString) Error() string { return string(e) }

// hostGateway is the address "host-gateway" maps to in --add-host: the
// default bridge's gateway, as in Docker.
func (m *Manager) HostGateway() netip.Addr {
	for _, n := range m.snap().networks {
		if n.Default {
			return n.Gateway
		}
	}
	return netip.Addr{}
}
