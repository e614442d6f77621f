package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"

	apicontainer "github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/network"
)

// configureNetwork validates the network mode and records the container's
// attachments (at create).
func (s *Containers) configureNetwork(id, name string, hc *apicontainer.HostConfig, nc *apinet.NetworkingConfig) error {
	mode := string(hc.NetworkMode)
	if ref, ok := strings.CutPrefix(mode, "container:"); ok {
		if ref == "" {
			return errdefs.InvalidParameterf("invalid network mode: %s", mode)
		}
		if _, err := s.store.Lookup(ref); err != nil {
			return err
		}
		if len(hc.PortBindings) > 0 || hc.PublishAllPorts {
			return errdefs.InvalidParameterf("conflicting options: port publishing and the container type network mode")
		}
	}
	if mode == "host" && len(hc.Links) > 0 {
		return errdefs.InvalidParameterf("conflicting options: host type networking can't be used with links. This would result in undefined behavior")
	}
	for _, l := range hc.Links {
		target, _, _ := strings.Cut(l, ":")
		target = strings.TrimPrefix(target, "/")
		if _, err := s.store.Lookup(target); err != nil {
			return errdefs.InvalidParameterf("could not get container for %s", target)
		}
	}
	var eps map[string]*apinet.EndpointSettings
	if nc != nil {
		eps = nc.EndpointsConfig
	}
	if s.net == nil {
		return nil
	}
	return s.net.Configure(id, name, mode, eps, hc.Links)
}

// setupNetwork prepares the container's network namespace before start and
// returns the runtime's network mode: "host", a namespace path, or "none"
// for an isolated one.
func (s *Containers) setupNetwork(ctx context.Context, snap *container.Snapshot) (string, error) {
	hc := snap.HostConfig
	mode := string(hc.NetworkMode)
	switch {
	case mode == "host":
		return "host", nil
	case strings.HasPrefix(mode, "container:"):
		other, err := s.store.Lookup(strings.TrimPrefix(mode, "container:"))
		if err != nil {
			return "", err
		}
		if !other.State.IsRunning() {
			return "", errdefs.Conflictf("cannot join network namespace of a non running container: %s", trimSlash(other.Name))
		}
		if other.HostConfig.NetworkMode == "host" {
			return "host", nil
		}
		return fmt.Sprintf("/proc/%d/ns/net", other.State.Pid), nil
	case mode == "none" || s.net == nil:
		return "none", nil
	}
	for _, l := range hc.Links {
		target, alias, _ := strings.Cut(l, ":")
		t, err := s.store.Lookup(strings.TrimPrefix(target, "/"))
		if err != nil || !t.State.IsRunning() {
			return "", errdefs.InvalidParameterf("Cannot link to a non running container: /%s AS %s/%s", strings.TrimPrefix(target, "/"), snap.Name, linkAlias(alias, target))
		}
	}
	path, err := s.net.Setup(ctx, network.SandboxSpec{
		ID: snap.ID, Ports: hc.PortBindings, PublishAll: hc.PublishAllPorts, Exposed: snap.Config.ExposedPorts,
		Upstreams: addrStrings(hc.DNS),
	})
	if err != nil {
		return "", err
	}
	if path == "" {
		return "none", nil
	}
	return path, nil
}

func linkAlias(alias, target string) string {
	if alias == "" {
		return strings.TrimPrefix(target, "/")
	}
	return strings.TrimPrefix(alias, "/")
}

// teardownNetwork releases what setupNetwork made (idempotent).
func (s *Containers) teardownNetwork(ctx context.Context, id string) {
	if s.net != nil {
		s.net.Teardown(ctx, id)
	}
}

// networkSettings is NetworkSettings for inspect.
func (s *Containers) networkSettings(c *container.Snapshot) *apicontainer.NetworkSettings {
	ns := &apicontainer.NetworkSettings{Networks: map[string]*apinet.EndpointSettings{}, Ports: apinet.PortMap{}}
	if s.net == nil {
		return ns
	}
	mode := string(c.HostConfig.NetworkMode)
	switch {
	case mode == "host" || mode == "none":
		ns.Networks[mode] = &apinet.EndpointSettings{}
		if n, err := s.net.Lookup(mode); err == nil {
			ns.Networks[mode].NetworkID = n.ID
		}
	case strings.HasPrefix(mode, "container:"):
	default:
		ns.Networks = s.net.EndpointSettings(c.ID)
	}
	if c.State.IsRunning() {
		ns.SandboxKey = s.net.SandboxKey(c.ID)
		if ns.SandboxKey != "" {
			ns.SandboxID = c.ID
		}
		for p, b := range s.net.PortMap(c.ID) {
			ns.Ports[p] = b
		}
		for p := range c.Config.ExposedPorts {
			if _, ok := ns.Ports[p]; !ok {
				ns.Ports[p] = nil
			}
		}
	}
	return ns
}

// portSummaries is the Ports column of /containers/json.
func (s *Containers) portSummaries(c *container.Snapshot) []apicontainer.PortSummary {
	out := []apicontainer.PortSummary{}
	if s.net == nil || !c.State.IsRunning() {
		return out
	}
	pm := s.net.PortMap(c.ID)
	for p, bs := range pm {
		for _, b := range bs {
			var hp uint16
			fmt.Sscan(b.HostPort, &hp)
			out = append(out, apicontainer.PortSummary{IP: b.HostIP, PrivatePort: p.Num(), PublicPort: hp, Type: string(p.Proto())})
		}
	}
	for p := range c.Config.ExposedPorts {
		if _, ok := pm[p]; !ok {
			out = append(out, apicontainer.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PrivatePort < out[j].PrivatePort })
	return out
}

// etcHosts renders /etc/hosts as Docker does: the defaults, --add-host
// entries, legacy links, then the container's own address and hostname.
func (s *Containers) etcHosts(snap *container.Snapshot) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, h := range snap.HostConfig.ExtraHosts {
		name, ip, ok := strings.Cut(h, ":")
		if i := strings.Index(h, "="); i > 0 && (!ok || i < len(name)) {
			name, ip, ok = h[:i], h[i+1:], true
		}
		if !ok {
			continue
		}
		if ip == "host-gateway" && s.net != nil {
			if gw := s.net.HostGateway(); gw.IsValid() {
				ip = gw.String()
			}
		}
		fmt.Fprintf(&b, "%s\t%s\n", strings.Trim(ip, "[]"), name)
	}
	for _, l := range snap.HostConfig.Links {
		target, alias, _ := strings.Cut(l, ":")
		target = strings.TrimPrefix(target, "/")
		t, err := s.store.Lookup(target)
		if err != nil || s.net == nil {
			continue
		}
		if ip := s.net.Address(t.ID); ip.IsValid() {
			fmt.Fprintf(&b, "%s\t%s %s %s\n", ip, linkAlias(alias, target), t.ID[:12], trimSlash(t.Name))
		}
	}
	host := snap.Config.Hostname
	names := host
	if d := snap.Config.Domainname; d != "" {
		names = host + "." + d + " " + host
	}
	var ip netip.Addr
	if s.net != nil {
		ip = s.net.Address(snap.ID)
	}
	if ip.IsValid() {
		fmt.Fprintf(&b, "%s\t%s\n", ip, names)
	} else if snap.HostConfig.NetworkMode == "none" || !strings.HasPrefix(string(snap.HostConfig.NetworkMode), "container:") {
		fmt.Fprintf(&b, "127.0.0.1\t%s\n", names)
	}
	return b.String()
}

// linkEnv is Docker's legacy link environment for each --link.
func (s *Containers) linkEnv(snap *container.Snapshot) []string {
	var env []string
	for _, l := range snap.HostConfig.Links {
		target, alias, _ := strings.Cut(l, ":")
		target = strings.TrimPrefix(target, "/")
		t, err := s.store.Lookup(target)
		if err != nil || s.net == nil {
			continue
		}
		ip := s.net.Address(t.ID)
		if !ip.IsValid() {
			continue
		}
		a := linkAlias(alias, target)
		if i := strings.LastIndex(a, "/"); i >= 0 {
			a = a[i+1:]
		}
		p := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(a))
		env = append(env, fmt.Sprintf("%s_NAME=%s/%s", p, snap.Name, a))
		var ports []apinet.Port
		for port := range t.Config.ExposedPorts {
			ports = append(ports, port)
		}
		sort.Slice(ports, func(i, j int) bool { return ports[i].Num() < ports[j].Num() })
		for i, port := range ports {
			proto := string(port.Proto())
			pp := fmt.Sprintf("%s_PORT_%d_%s", p, port.Num(), strings.ToUpper(proto))
			if i == 0 {
				env = append(env, fmt.Sprintf("%s_PORT=%s://%s:%d", p, proto, ip, port.Num()))
			}
			env = append(env, fmt.Sprintf("%s=%s://%s:%d", pp, proto, ip, port.Num()),
				fmt.Sprintf("%s_ADDR=%s", pp, ip), fmt.Sprintf("%s_PORT=%d", pp, port.Num()), fmt.Sprintf("%s_PROTO=%s", pp, proto))
		}
		for _, kv := range t.Config.Env {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "HOME", "PATH", "HOSTNAME":
				continue
			}
			env = append(env, fmt.Sprintf("%s_ENV_%s=%s", p, k, v))
		}
	}
	return env
}

// resolvConfFor derives the container's resolv.conf: the host's for host
// networking; 127.0.0.11 on user-defined networks; otherwise the
// container's, the daemon's or the host's settings with loopback
// nameservers dropped (unreachable from the container's namespace).
func (s *Containers) resolvConfFor(snap *container.Snapshot) []byte {
	hc := snap.HostConfig
	host, _ := os.ReadFile("/etc/resolv.conf")
	if hc.NetworkMode == "host" && len(hc.DNS) == 0 && len(hc.DNSSearch) == 0 && len(hc.DNSOptions) == 0 {
		return host
	}
	var hostNS, hostSearch, hostOpts []string
	sc := bufio.NewScanner(strings.NewReader(string(host)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			hostNS = append(hostNS, f[1])
		case "search", "domain":
			hostSearch = f[1:]
		case "options":
			hostOpts = append(hostOpts, f[1:]...)
		}
	}
	pick := func(own []string, daemon []string, host []string) []string {
		if len(own) > 0 {
			return own
		}
		if len(daemon) > 0 {
			return daemon
		}
		return host
	}
	// Only the host's loopback resolvers are dropped: explicitly
	// configured servers are written as given, as Docker does.
	ns := pick(addrStrings(hc.DNS), s.cfg.DNS, nil)
	if len(ns) == 0 {
		for _, n := range hostNS {
			if !strings.HasPrefix(n, "127.") && n != "::1" {
				ns = append(ns, n)
			}
		}
	}
	search := pick(hc.DNSSearch, s.cfg.DNSSearch, hostSearch)
	opts := pick(hc.DNSOptions, s.cfg.DNSOptions, hostOpts)
	if s.net != nil && s.net.UsesEmbeddedDNS(snap.ID) {
		ns = []string{"127.0.0.11"}
		if !containsPrefix(opts, "ndots:") {
			opts = append(opts, "ndots:0")
		}
	} else if len(ns) == 0 {
		ns = []string{"8.8.8.8", "8.8.4.4"}
	}
	var b strings.Builder
	for _, n := range ns {
		b.WriteString("nameserver " + n + "\n")
	}
	if len(search) > 0 && !(len(search) == 1 && search[0] == ".") {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	if len(opts) > 0 {
		b.WriteString("options " + strings.Join(opts, " ") + "\n")
	}
	return []byte(b.String())
}

func addrStrings(a []netip.Addr) []string {
	var out []string
	for _, x := range a {
		out = append(out, x.String())
	}
	return out
}

func containsPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// forgetNetwork drops a container's network configuration (removal, or a
// create that failed after configureNetwork).
func (s *Containers) forgetNetwork(ctx context.Context, id string) {
	if s.net != nil {
		s.net.Forget(ctx, id)
	}
}
