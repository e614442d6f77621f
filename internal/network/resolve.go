package network

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"strings"

	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/errdefs"
	"berth/internal/network/dns"
)

// dnsView is an immutable index of names on user-defined networks. DNS
// handlers read it without the manager's lock, so a slow query can never
// hold up a container start (nor a server shutdown deadlock on the lock).
type dnsView struct {
	names   map[string]map[string][]netip.Addr // network ID -> name -> addresses
	reverse map[netip.Addr][]string
	nets    map[string][]string // sandbox ID -> its user networks
	st      *state
}

// rebuildViewLocked recomputes the DNS index from the live endpoints.
func (m *Manager) rebuildViewLocked() {
	v := &dnsView{names: map[string]map[string][]netip.Addr{}, reverse: map[netip.Addr][]string{}, nets: map[string][]string{},
		st: m.copyStateLocked()}
	for _, sb := range m.sandboxes {
		for _, ep := range sb.Endpoints {
			n := m.networks[ep.NetworkID]
			if n == nil || n.Default {
				continue
			}
			v.nets[sb.ID] = append(v.nets[sb.ID], n.ID)
			names := []string{sb.Name, shortID(sb.ID)}
			if a := sb.attachment(n.ID); a != nil {
				names = append(names, a.Config.Aliases...)
			}
			byName := v.names[n.ID]
			if byName == nil {
				byName = map[string][]netip.Addr{}
				v.names[n.ID] = byName
			}
			for _, nm := range names {
				// Also "<name>.<network>", as Docker answers.
				for _, full := range []string{nm, nm + "." + n.Name} {
					full = strings.ToLower(full)
					byName[full] = append(byName[full], ep.IP)
				}
			}
			v.reverse[ep.IP] = append(v.reverse[ep.IP], sb.Name+"."+n.Name)
		}
	}
	m.dnsv.Store(v)
}

// sandboxResolver answers for one sandbox from the current view.
type sandboxResolver struct {
	m  *Manager
	id string
}

func (r sandboxResolver) Lookup(name string) []netip.Addr {
	v := r.m.dnsv.Load()
	if v == nil {
		return nil
	}
	var out []netip.Addr
	for _, nid := range v.nets[r.id] {
		out = append(out, v.names[nid][name]...)
	}
	return out
}

func (r sandboxResolver) Reverse(ip netip.Addr) []string {
	v := r.m.dnsv.Load()
	if v == nil {
		return nil
	}
	return v.reverse[ip]
}

// startDNSLocked opens 127.0.0.11:53 (UDP and TCP) inside the sandbox's
// namespace for a container on a user-defined network.
func (m *Manager) startDNSLocked(sb *sandbox) {
	m.rebuildViewLocked()
	if sb.dnsSrv != nil || !sb.live() || !m.userNetworkLocked(sb) {
		return
	}
	var pc net.PacketConn
	var l net.Listener
	err := inNetns(sb.NSPath, func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", dns.Address+":53"); err != nil {
			return err
		}
		if l, err = net.Listen("tcp4", dns.Address+":53"); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		m.log.Warn("starting embedded DNS", "container", sb.ID, "err", err)
		return
	}
	up := sb.Upstreams
	if len(up) == 0 {
		up = m.upstreams()
	}
	sb.dnsSrv = dns.Serve(pc, l, sandboxResolver{m: m, id: sb.ID}, up)
}

// upstreams are the daemon's --dns, else the host's nameservers. Queries
// are forwarded from the daemon's namespace, so a loopback resolver such
// as systemd-resolved's 127.0.0.53 works.
func (m *Manager) upstreams() []string {
	if len(m.cfg.DNS) > 0 {
		return m.cfg.DNS
	}
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "nameserver" {
			out = append(out, fs[1])
		}
	}
	return out
}

// Connect attaches a container to a network; a running one gets the
// endpoint at once.
func (m *Manager) Connect(ctx context.Context, ref, id, name string, es *apinet.EndpointSettings) error {
	m.mu.Lock()
	defer m.unlock()
	n, err := m.lookupLocked(ref)
	if err != nil {
		return err
	}
	sb := m.sandboxes[id]
	if n.Driver != "bridge" {
		return errdefs.Forbidden(errString("container cannot be disconnected from host network or connected to host network"))
	}
	if sb == nil {
		return errdefs.InvalidParameterf("container sharing network namespace with another container or host cannot be connected to any other network")
	}
	if sb.attachment(n.ID) != nil {
		return errdefs.Forbidden(errString("endpoint with name " + sb.Name + " already exists in network " + n.Name))
	}
	ec, err := m.endpointConfig(n, es)
	if err != nil {
		return err
	}
	a := attachment{NetworkID: n.ID, Config: ec}
	if sb.live() {
		if err := m.joinLocked(ctx, sb, a, ec.MAC); err != nil {
			return err
		}
	}
	sb.Attach = append(sb.Attach, a)
	m.saveSandbox(sb)
	m.startDNSLocked(sb)
	if !sb.live() {
		m.events("connect", n, sb.ID)
	}
	return nil
}

// Disconnect detaches a container from a network.
func (m *Manager) Disconnect(ctx context.Context, ref, id string, force bool) error {
	m.mu.Lock()
	defer m.unlock()
	n, err := m.lookupLocked(ref)
	if err != nil {
		return err
	}
	sb := m.sandboxes[id]
	if sb == nil || sb.attachment(n.ID) == nil {
		if n.Driver == "host" {
			return errdefs.Forbidden(errString("container cannot be disconnected from host network or connected to host network"))
		}
		return errdefs.Forbidden(errString("container " + id + " is not connected to network " + n.Name))
	}
	if ep := sb.endpoint(n.ID); ep != nil {
		m.leaveLocked(ctx, sb, ep)
		for i, e := range sb.Endpoints {
			if e == ep {
				sb.Endpoints = append(sb.Endpoints[:i], sb.Endpoints[i+1:]...)
				break
			}
		}
		// Ports published through this endpoint go with it.
		var keep []int
		for i, mp := range sb.Mappings {
			if mp.ContainerIP != ep.IP {
				keep = append(keep, i)
			}
		}
		if len(keep) != len(sb.Mappings) {
			var ms = sb.Mappings[:0]
			for _, i := range keep {
				ms = append(ms, sb.Mappings[i])
			}
			sb.Mappings = ms
			m.applyLocked()
		}
	} else {
		m.events("disconnect", n, sb.ID)
	}
	sb.detachConfig(n.ID)
	m.saveSandbox(sb)
	m.rebuildViewLocked()
	if !m.userNetworkLocked(sb) && sb.dnsSrv != nil {
		sb.dnsSrv.Close()
		sb.dnsSrv = nil
	}
	return nil
}

// state is an immutable copy of the networks and sandboxes, published
// after every change: inspect, ps and DNS read it without the manager's
// lock, which is held across netlink and nftables calls.
type state struct {
	networks  map[string]*Network
	sandboxes map[string]*sandbox
}

// snap is the latest published state.
func (m *Manager) snap() *state {
	if v := m.dnsv.Load(); v != nil && v.st != nil {
		return v.st
	}
	return &state{networks: map[string]*Network{}, sandboxes: map[string]*sandbox{}}
}

// unlock publishes the state and releases the lock (the mutators' defer).
func (m *Manager) unlock() {
	m.rebuildViewLocked()
	m.mu.Unlock()
}

func (m *Manager) copyStateLocked() *state {
	st := &state{networks: make(map[string]*Network, len(m.networks)), sandboxes: make(map[string]*sandbox, len(m.sandboxes))}
	for id, n := range m.networks {
		c := *n
		st.networks[id] = &c
	}
	for id, sb := range m.sandboxes {
		c := sandbox{ID: sb.ID, Name: sb.Name, NSPath: sb.NSPath, Upstreams: sb.Upstreams,
			Attach: append([]attachment(nil), sb.Attach...), Mappings: append(sb.Mappings[:0:0], sb.Mappings...)}
		for _, ep := range sb.Endpoints {
			e := *ep
			c.Endpoints = append(c.Endpoints, &e)
		}
		st.sandboxes[id] = &c
	}
	return st
}
