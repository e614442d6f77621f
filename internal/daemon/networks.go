package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apievents "github.com/moby/moby/api/types/events"
	apinet "github.com/moby/moby/api/types/network"

	"berth/internal/backend"
	"berth/internal/config"
	"berth/internal/container"
	"berth/internal/daemon/events"
	"berth/internal/errdefs"
	"berth/internal/network"
	"berth/internal/network/bridge"
	"berth/internal/network/ipam"
)

// Networks is the service behind /networks.
type Networks struct {
	mgr        *network.Manager
	containers *Containers
}

// newNetworkManager builds the manager and its bridge driver from the
// daemon's configuration; network events go to the bus.
func newNetworkManager(ctx context.Context, cfg config.Config, log *slog.Logger, bus *events.Bus) (*network.Manager, error) {
	var pools []ipam.PoolSpec
	for _, p := range cfg.DefaultAddressPools {
		base, err := netip.ParsePrefix(p.Base)
		if err != nil {
			return nil, errdefs.InvalidParameterf("invalid default-address-pools base %q", p.Base)
		}
		if !base.Addr().Is4() || p.Size < base.Bits() || p.Size > 30 {
			return nil, errdefs.InvalidParameterf("invalid default-address-pools entry base=%s,size=%d: size must be between the base's prefix length and 30", p.Base, p.Size)
		}
		pools = append(pools, ipam.PoolSpec{Base: base.Masked(), Size: p.Size})
	}
	prefix := cfg.NetPrefix
	if prefix == "" {
		prefix = "berth"
	}
	nc := network.Config{
		Root: filepath.Join(cfg.DataRoot, "network"), NetnsDir: filepath.Join(cfg.ExecRoot, "netns"),
		Prefix: prefix, DefaultBridge: cfg.Bridge, BIP: cfg.Bip, Pools: pools, DNS: cfg.DNS, Firewall: cfg.FirewallBackend,
	}
	emit := func(action string, n *network.Network, cid string) {
		attrs := map[string]string{"name": n.Name, "type": n.Driver}
		if cid != "" {
			attrs["container"] = cid
		}
		bus.Publish(apievents.NetworkEventType, apievents.Action(action), n.ID, attrs)
	}
	return network.New(ctx, nc, log, map[string]network.Driver{"bridge": bridge.New(prefix)}, emit)
}

// Create makes a user-defined network.
func (s *Networks) Create(ctx context.Context, req apinet.CreateRequest) (apinet.CreateResponse, error) {
	n, err := s.mgr.Create(ctx, req)
	if err != nil {
		return apinet.CreateResponse{}, err
	}
	return apinet.CreateResponse{ID: n.ID}, nil
}

// Inspect returns one network with its endpoints.
func (s *Networks) Inspect(ctx context.Context, ref string) (apinet.Inspect, error) {
	return s.mgr.Inspect(ref, true)
}

// List returns the networks matching Docker's filters.
func (s *Networks) List(ctx context.Context, f backend.Filters) ([]apinet.Summary, error) {
	for k := range f {
		switch k {
		case "name", "id", "driver", "label", "type", "scope", "dangling":
		default:
			return nil, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	var out []apinet.Summary
	for _, in := range s.mgr.List() {
		if s.matches(in, f) {
			out = append(out, apinet.Summary{Network: in.Network})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if out == nil {
		out = []apinet.Summary{}
	}
	return out, nil
}

func (s *Networks) matches(in apinet.Inspect, f backend.Filters) bool {
	if v := f["name"]; len(v) > 0 && !anyMatch(v, func(x string) bool { return strings.Contains(in.Name, x) }) {
		return false
	}
	if v := f["id"]; len(v) > 0 && !anyMatch(v, func(x string) bool { return strings.HasPrefix(in.ID, x) }) {
		return false
	}
	if v := f["driver"]; len(v) > 0 && !v[in.Driver] {
		return false
	}
	if v := f["scope"]; len(v) > 0 && !v["local"] {
		return false
	}
	builtin := in.Name == "bridge" || in.Name == "host" || in.Name == "none"
	if v := f["type"]; len(v) > 0 && !((v["builtin"] && builtin) || (v["custom"] && !builtin)) {
		return false
	}
	if v := f["dangling"]; len(v) > 0 {
		full, _ := s.mgr.Inspect(in.ID, true)
		dangling := !builtin && len(full.Containers) == 0
		if (v["true"] || v["1"]) != dangling {
			return false
		}
	}
	for l := range f["label"] {
		k, val, hasVal := strings.Cut(l, "=")
		got, ok := in.Labels[k]
		if !ok || (hasVal && got != val) {
			return false
		}
	}
	return true
}

// Remove deletes a network.
func (s *Networks) Remove(ctx context.Context, ref string) error { return s.mgr.Remove(ctx, ref) }

// Prune removes unused user-defined networks (filters: until, label).
func (s *Networks) Prune(ctx context.Context, f backend.Filters) (apinet.PruneReport, error) {
	var until time.Time
	for k, vals := range f {
		switch k {
		case "until":
			for v := range vals {
				t, err := parseUntil(v, time.Now())
				if err != nil {
					return apinet.PruneReport{}, errdefs.InvalidParameterf("invalid until filter %q: %v", v, err)
				}
				until = t
			}
		case "label", "label!":
		default:
			return apinet.PruneReport{}, errdefs.InvalidParameterf("invalid filter '%s'", k)
		}
	}
	deleted, err := s.mgr.Prune(ctx, func(n *network.Network) bool {
		if !until.IsZero() && !n.Created.Before(until) {
			return false
		}
		for l := range f["label"] {
			k, v, hasVal := strings.Cut(l, "=")
			got, ok := n.Labels[k]
			if !ok || (hasVal && got != v) {
				return false
			}
		}
		for l := range f["label!"] {
			k, v, hasVal := strings.Cut(l, "=")
			if got, ok := n.Labels[k]; ok && (!hasVal || got == v) {
				return false
			}
		}
		return true
	})
	if deleted == nil {
		deleted = []string{}
	}
	return apinet.PruneReport{NetworksDeleted: deleted}, err
}

// Connect attaches a container to a network.
func (s *Networks) Connect(ctx context.Context, ref string, req apinet.ConnectRequest) error {
	c, err := s.containers.store.Lookup(req.Container)
	if err != nil {
		return err
	}
	mode := string(c.HostConfig.NetworkMode)
	if mode == "host" || mode == "none" || strings.HasPrefix(mode, "container:") {
		n, lerr := s.mgr.Lookup(ref)
		if lerr != nil {
			return lerr
		}
		if mode == "host" || n.Driver == "host" {
			return errdefs.Forbidden(fmt.Errorf("container cannot be disconnected from host network or connected to host network"))
		}
		return errdefs.Forbidden(fmt.Errorf("container cannot be connected to multiple networks with one of the networks in private (none) mode"))
	}
	if c.State.Status == container.StatusRemoving || c.State.Status == container.StatusDead {
		return errdefs.Conflictf("container %s is marked for removal", c.ID)
	}
	if err := s.mgr.Connect(ctx, ref, c.ID, c.Name, req.EndpointConfig); err != nil {
		return err
	}
	s.containers.refreshEtcFiles(c)
	return nil
}

// Disconnect detaches a container from a network.
func (s *Networks) Disconnect(ctx context.Context, ref string, req apinet.DisconnectRequest) error {
	c, err := s.containers.store.Lookup(req.Container)
	if err != nil {
		if req.Force && errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	if err := s.mgr.Disconnect(ctx, ref, c.ID, req.Force); err != nil {
		return err
	}
	s.containers.refreshEtcFiles(c)
	return nil
}
