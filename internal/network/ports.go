package network

import (
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/errdefs"
	"berth/internal/network/portmap"
)

type portRequest struct {
	port    apinet.Port
	binding apinet.PortBinding
}

// portRequests flattens -p and -P into one binding per host port, in a
// stable order.
func portRequests(spec SandboxSpec) []portRequest {
	var reqs []portRequest
	for p, bs := range spec.Ports {
		for _, b := range bs {
			reqs = append(reqs, portRequest{p, b})
		}
		if len(bs) == 0 && spec.PublishAll {
			reqs = append(reqs, portRequest{port: p})
		}
	}
	if spec.PublishAll {
		for p := range spec.Exposed {
			if _, ok := spec.Ports[p]; !ok {
				reqs = append(reqs, portRequest{port: p})
			}
		}
	}
	sort.Slice(reqs, func(i, j int) bool {
		if reqs[i].port.Num() != reqs[j].port.Num() {
			return reqs[i].port.Num() < reqs[j].port.Num()
		}
		return reqs[i].binding.HostPort < reqs[j].binding.HostPort
	})
	return reqs
}

// publishLocked reserves the host ports and adds their DNAT rules, on the
// first endpoint that is not on an internal network.
func (m *Manager) publishLocked(sb *sandbox, spec SandboxSpec) error {
	reqs := portRequests(spec)
	if len(reqs) == 0 {
		return nil
	}
	var ep *Endpoint
	var n *Network
	for _, e := range sb.Endpoints {
		if nw := m.networks[e.NetworkID]; nw != nil && !nw.Internal {
			ep, n = e, nw
			break
		}
	}
	if ep == nil {
		return nil
	}
	for _, r := range reqs {
		proto := string(r.port.Proto())
		if proto != "tcp" && proto != "udp" {
			return errdefs.InvalidParameterf("unsupported protocol %s for port %s", proto, r.port)
		}
		hostIP := r.binding.HostIP
		if hostIP.IsValid() && !hostIP.Is4() {
			continue // IPv6 publishing needs IPv6 networks
		}
		lo, hi, err := hostPortRange(r.binding.HostPort)
		if err != nil {
			return err
		}
		res, err := reserveRange(proto, hostIP, lo, hi)
		if err != nil {
			return errdefs.Conflictf("driver failed programming external connectivity on endpoint %s (%s): %v", sb.Name, ep.ID, err)
		}
		sb.reservations = append(sb.reservations, res)
		sb.Mappings = append(sb.Mappings, portmap.Mapping{Proto: proto, HostIP: hostIP, HostPort: res.Port,
			ContainerIP: ep.IP, ContainerPort: r.port.Num()})
	}
	if len(sb.Mappings) == 0 {
		return nil
	}
	if err := m.drivers[n.Driver].LocalnetRouting(n); err != nil {
		return errdefs.System(err)
	}
	if err := m.applyLocked(); err != nil {
		return errdefs.System(err)
	}
	return nil
}

func hostPortRange(s string) (uint16, uint16, error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, errdefs.InvalidParameterf("invalid host port %q", s)
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(b, 10, 16); err != nil || hi < lo {
			return 0, 0, errdefs.InvalidParameterf("invalid host port range %q", s)
		}
	}
	return uint16(lo), uint16(hi), nil
}

// reserveRange takes the first free port of lo..hi (0: an ephemeral one).
func reserveRange(proto string, ip netip.Addr, lo, hi uint16) (*portmap.Reservation, error) {
	var last error
	for p := uint32(lo); p <= uint32(hi); p++ {
		r, err := portmap.Reserve(proto, ip, uint16(p))
		if err == nil {
			return r, nil
		}
		last = err
	}
	return nil, last
}

// PortMap is the container's published ports as inspect shows them.
func (m *Manager) PortMap(id string) apinet.PortMap {
	st := m.snap()
	sb := st.sandboxes[id]
	if sb == nil || !sb.live() {
		return nil
	}
	out := apinet.PortMap{}
	for _, mp := range sb.Mappings {
		p, _ := apinet.PortFrom(mp.ContainerPort, apinet.IPProtocol(mp.Proto))
		ip := mp.HostIP
		if !ip.IsValid() {
			ip = netip.IPv4Unspecified()
		}
		out[p] = append(out[p], apinet.PortBinding{HostIP: ip, HostPort: strconv.Itoa(int(mp.HostPort))})
	}
	return out
}

// EndpointSettings is the container's networks as inspect shows them,
// keyed by network name; stopped containers show their configuration.
func (m *Manager) EndpointSettings(id string) map[string]*apinet.EndpointSettings {
	st := m.snap()
	out := map[string]*apinet.EndpointSettings{}
	sb := st.sandboxes[id]
	if sb == nil {
		return out
	}
	for _, a := range sb.Attach {
		n := st.networks[a.NetworkID]
		if n == nil {
			continue
		}
		es := &apinet.EndpointSettings{NetworkID: n.ID, Aliases: a.Config.Aliases, Links: a.Config.Links}
		if a.Config.IPv4.IsValid() {
			es.IPAMConfig = &apinet.EndpointIPAMConfig{IPv4Address: a.Config.IPv4}
		}
		if mac, err := net.ParseMAC(a.Config.MAC); err == nil {
			es.MacAddress = apinet.HardwareAddr(mac)
		}
		if !n.Default {
			es.DNSNames = append([]string{sb.Name}, a.Config.Aliases...)
		}
		if ep := sb.endpoint(n.ID); ep != nil {
			es.EndpointID, es.IPAddress, es.IPPrefixLen, es.Gateway = ep.ID, ep.IP, ep.PrefixLen, ep.Gateway
			es.MacAddress = apinet.HardwareAddr(ep.MAC)
			if !n.Default {
				es.DNSNames = append(es.DNSNames, shortID(sb.ID))
			}
		}
		out[n.Name] = es
	}
	return out
}

// SandboxKey is the namespace path of a running container ("" if none).
func (m *Manager) SandboxKey(id string) string {
	st := m.snap()
	if sb := st.sandboxes[id]; sb != nil {
		return sb.NSPath
	}
	return ""
}

// Address is a running container's address on the default bridge, for
// legacy links (invalid when it has none).
func (m *Manager) Address(id string) netip.Addr {
	st := m.snap()
	sb := st.sandboxes[id]
	if sb == nil {
		return netip.Addr{}
	}
	for _, ep := range sb.Endpoints {
		if n := st.networks[ep.NetworkID]; n != nil && n.Default {
			return ep.IP
		}
	}
	if len(sb.Endpoints) > 0 {
		return sb.Endpoints[0].IP
	}
	return netip.Addr{}
}

// UsesEmbeddedDNS reports whether the container is on a user-defined
// network (its resolv.conf then points at 127.0.0.11).
func (m *Manager) UsesEmbeddedDNS(id string) bool {
	st := m.snap()
	sb := st.sandboxes[id]
	return sb != nil && st.userNetwork(sb)
}

func (m *Manager) userNetworkLocked(sb *sandbox) bool {
	return (&state{networks: m.networks}).userNetwork(sb)
}

func (st *state) userNetwork(sb *sandbox) bool {
	for _, a := range sb.Attach {
		if n := st.networks[a.NetworkID]; n != nil && !n.Default {
			return true
		}
	}
	return false
}
