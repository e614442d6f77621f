package network

import (
	"net/netip"

	apinet "github.com/moby/moby/api/types/network"
)

// Inspect returns Docker's document for a network; withContainers adds the
// live endpoints (GET /networks/{id} does, the list does not).
func (m *Manager) Inspect(ref string, withContainers bool) (apinet.Inspect, error) {
	st := m.snap()
	n, err := lookupIn(st.networks, ref)
	if err != nil {
		return apinet.Inspect{}, err
	}
	return st.inspect(n, withContainers), nil
}

// List returns every network's document (with containers, as Docker's
// list does since API 1.28 only when inspected: here never).
func (m *Manager) List() []apinet.Inspect {
	st := m.snap()
	out := make([]apinet.Inspect, 0, len(st.networks))
	for _, n := range st.networks {
		out = append(out, st.inspect(n, false))
	}
	return out
}

func (st *state) inspect(n *Network, withContainers bool) apinet.Inspect {
	in := apinet.Inspect{Network: apinet.Network{
		Name: n.Name, ID: n.ID, Scope: "local", Driver: n.Driver, EnableIPv4: n.Driver == "bridge",
		EnableIPv6: n.EnableIPv6, Internal: n.Internal, Attachable: n.Attachable,
		IPAM:    apinet.IPAM{Driver: "default", Options: map[string]string{}, Config: []apinet.IPAMConfig{}},
		Options: map[string]string{}, Labels: map[string]string{},
	}}
	in.Created = n.Created
	if n.Subnet.IsValid() {
		in.IPAM.Config = append(in.IPAM.Config, apinet.IPAMConfig{Subnet: n.Subnet, IPRange: n.IPRange, Gateway: n.Gateway})
	}
	for k, v := range n.Options {
		in.Options[k] = v
	}
	for k, v := range n.Labels {
		in.Labels[k] = v
	}
	in.Containers = map[string]apinet.EndpointResource{}
	if withContainers {
		for _, sb := range st.sandboxes {
			if ep := sb.endpoint(n.ID); ep != nil {
				in.Containers[sb.ID] = apinet.EndpointResource{Name: sb.Name, EndpointID: ep.ID,
					MacAddress: apinet.HardwareAddr(ep.MAC), IPv4Address: netip.PrefixFrom(ep.IP, ep.PrefixLen)}
			}
		}
	}
	return in
}
