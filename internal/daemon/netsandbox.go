package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"

	apicontainer "github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/backend"
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
		if other.ID == snap.ID {
			return "", errdefs.InvalidParameterf("cannot join own network")
		}
		if !other.State.IsRunning() {
			return "", errdefs.Conflictf("cannot join network of a non running container: %s", other.ID)
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
// networking without overrides, else renderResolvConf.
func (s *Containers) resolvConfFor(snap *container.Snapshot) []byte {
	hc := snap.HostConfig
	host, _ := os.ReadFile("/etc/resolv.conf")
	if hc.NetworkMode == "host" && len(hc.DNS) == 0 && len(hc.DNSSearch) == 0 && len(hc.DNSOptions) == 0 {
		return host
	}
	own := dnsSettings{servers: addrStrings(hc.DNS), search: hc.DNSSearch, options: hc.DNSOptions}
	daemon := dnsSettings{servers: s.cfg.DNS, search: s.cfg.DNSSearch, options: s.cfg.DNSOptions}
	embedded := s.net != nil && s.net.UsesEmbeddedDNS(snap.ID)
	return renderResolvConf(host, own, daemon, embedded)
}

// dnsSettings are nameservers, search domains and options from one source.
type dnsSettings struct{ servers, search, options []string }

// renderResolvConf applies Docker's precedence (the container's flags, the
// daemon's, the host's file) per setting. The host's loopback nameservers
// are dropped, being unreachable from the container's namespace (a public
// resolver stands in if none is left); explicitly configured ones stay.
// On a user-defined network the embedded server at 127.0.0.11 is the only
// nameserver and forwards to the others, with ndots:0 as Docker sets it.
func renderResolvConf(host []byte, own, daemon dnsSettings, embedded bool) []byte {
	var h dnsSettings
	for _, line := range strings.Split(string(host), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if !strings.HasPrefix(f[1], "127.") && f[1] != "::1" {
				h.servers = append(h.servers, f[1])
			}
		case "search", "domain":
			h.search = f[1:]
		case "options":
			h.options = append(h.options, f[1:]...)
		}
	}
	pick := func(lists ...[]string) []string {
		for _, l := range lists {
			if len(l) > 0 {
				return l
			}
		}
		return nil
	}
	ns := pick(own.servers, daemon.servers, h.servers)
	search := pick(own.search, daemon.search, h.search)
	opts := pick(own.options, daemon.options, h.options)
	if embedded {
		ns = []string{"127.0.0.11"}
		if !containsPrefix(opts, "ndots:") {
			opts = append(append([]string(nil), opts...), "ndots:0")
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

// etcFiles is the content of the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf: the host's for host networking, the other container's
// for container:<x> (as Docker shares them), else generated.
func (s *Containers) etcFiles(snap *container.Snapshot) (string, []byte, []byte) {
	mode := string(snap.HostConfig.NetworkMode)
	if mode == "host" {
		hostname, _ := os.Hostname()
		hosts, err := os.ReadFile("/etc/hosts")
		if err != nil {
			hosts = []byte(s.etcHosts(snap))
		}
		return hostname, hosts, s.resolvConfFor(snap)
	}
	if ref, ok := strings.CutPrefix(mode, "container:"); ok {
		if other, err := s.store.Lookup(ref); err == nil {
			hostname, _, _ := s.sharedHostname(snap)
			hosts, herr := os.ReadFile(other.HostsPath)
			resolv, rerr := os.ReadFile(other.ResolvConfPath)
			if herr == nil && rerr == nil {
				return hostname, hosts, resolv
			}
		}
	}
	hostname := snap.Config.Hostname
	if snap.HostConfig.UTSMode == "host" {
		// --uts host: the container sees the host's name, so its files say so too.
		if h, err := os.Hostname(); err == nil {
			hostname = h
		}
	}
	return hostname, []byte(s.etcHosts(snap)), s.resolvConfFor(snap)
}

// sharedHostname is the hostname of the container whose network a
// container:<x> container joins (Docker gives it the same name).
func (s *Containers) sharedHostname(snap *container.Snapshot) (string, string, bool) {
	ref, ok := strings.CutPrefix(string(snap.HostConfig.NetworkMode), "container:")
	if !ok {
		return "", "", false
	}
	other, err := s.store.Lookup(ref)
	if err != nil {
		return "", "", false
	}
	if other.HostConfig.NetworkMode == "host" {
		h, _ := os.Hostname()
		return h, "", true
	}
	return other.Config.Hostname, other.Config.Domainname, true
}

// matchNetFilters applies ps's network, publish and expose filters.
func (s *Containers) matchNetFilters(c *container.Snapshot, f backend.Filters) bool {
	if vals := f["network"]; len(vals) > 0 {
		ok := false
		for name, es := range s.networkSettings(c).Networks {
			if vals[name] || (es != nil && es.NetworkID != "" && anyMatch(vals, func(v string) bool { return strings.HasPrefix(es.NetworkID, v) })) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	portMatch := func(vals map[string]bool, ports func(apinet.Port) bool) bool {
		for v := range vals {
			if !strings.Contains(v, "/") {
				v += "/tcp"
			}
			pr, err := apinet.ParsePortRange(v)
			if err != nil {
				continue
			}
			for p := range pr.All() {
				if ports(p) {
					return true
				}
			}
		}
		return false
	}
	if vals := f["publish"]; len(vals) > 0 {
		pm := s.networkSettings(c).Ports
		if !portMatch(vals, func(p apinet.Port) bool { return len(pm[p]) > 0 }) {
			return false
		}
	}
	if vals := f["expose"]; len(vals) > 0 {
		if !portMatch(vals, func(p apinet.Port) bool { _, ok := c.Config.ExposedPorts[p]; return ok }) {
			return false
		}
	}
	return true
}

// refreshEtcFiles rewrites a running container's /etc/hosts and
// /etc/resolv.conf after a network connect or disconnect (a user network
// brings the embedded DNS). The files are rewritten in place: they are
// bind-mounted, and a rename would leave the container the old inode.
func (s *Containers) refreshEtcFiles(snap *container.Snapshot) {
	if !snap.State.IsRunning() || strings.HasPrefix(string(snap.HostConfig.NetworkMode), "container:") || snap.HostConfig.NetworkMode == "host" {
		return
	}
	_, hosts, resolv := s.etcFiles(snap)
	for path, data := range map[string][]byte{snap.HostsPath: hosts, snap.ResolvConfPath: resolv} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			s.log.Warn("updating container file", "container", snap.ID, "path", path, "err", err)
		}
	}
}
