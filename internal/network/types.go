package network

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Network is a network's persisted record.
type Network struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Driver     string            `json:"driver"` // bridge, host, null
	Created    time.Time         `json:"created"`
	Subnet     netip.Prefix      `json:"subnet,omitzero"`
	IPRange    netip.Prefix      `json:"ipRange,omitzero"`
	Gateway    netip.Addr        `json:"gateway,omitzero"`
	Internal   bool              `json:"internal,omitempty"`
	Attachable bool              `json:"attachable,omitempty"`
	EnableIPv6 bool              `json:"enableIPv6,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
	Bridge     string            `json:"bridge,omitempty"`  // the Linux bridge's name
	Default    bool              `json:"default,omitempty"` // the predefined "bridge" network
	UserSubnet bool              `json:"userSubnet,omitempty"`
}

// Predefined reports the networks that cannot be removed.
func (n *Network) Predefined() bool { return n.Default || n.Driver == "host" || n.Driver == "null" }

// EndpointConfig is what the user asked of one attachment.
type EndpointConfig struct {
	Aliases []string   `json:"aliases,omitempty"`
	IPv4    netip.Addr `json:"ipv4,omitzero"`
	MAC     string     `json:"mac,omitempty"`
	Links   []string   `json:"links,omitempty"` // "name:alias", default bridge only
}

// Endpoint is one live attachment of a sandbox to a network.
type Endpoint struct {
	ID        string           `json:"id"`
	NetworkID string           `json:"networkID"`
	IfName    string           `json:"ifName"`   // inside the container: eth0, eth1, ...
	HostVeth  string           `json:"hostVeth"` // the host end
	IP        netip.Addr       `json:"ip"`
	PrefixLen int              `json:"prefixLen"`
	Gateway   netip.Addr       `json:"gateway,omitzero"`
	MAC       net.HardwareAddr `json:"mac"`
}

// Driver does the kernel work of one network type. A Driver is told about
// every network at daemon start (CreateNetwork must be idempotent: the
// bridge may survive a daemon restart) and about every endpoint join and
// leave. Join receives the netns path of the sandbox.
type Driver interface {
	CreateNetwork(ctx context.Context, n *Network) error
	DeleteNetwork(ctx context.Context, n *Network) error
	Join(ctx context.Context, n *Network, ep *Endpoint, nsPath string, defaultRoute bool) error
	Leave(ctx context.Context, n *Network, ep *Endpoint) error
	// LocalnetRouting lets 127/8 sources DNAT'ed into the network out
	// (published ports on the loopback address).
	LocalnetRouting(n *Network) error
}

// MACFor derives Docker's classic MAC for an address: 02:42 and the four
// bytes of the IPv4 address, so an address always maps to the same MAC.
func MACFor(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// shortID is the 12-character form Docker resolves as a DNS name.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
