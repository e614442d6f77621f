package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"berth/internal/errdefs"
	"berth/internal/network"
)

// Driver implements network.Driver for Linux bridges.
type Driver struct {
	// Prefix starts every veth name, so that leftovers are attributable.
	Prefix string
	// procSys is /proc/sys; a test may point it elsewhere.
	procSys string
}

// New returns a driver naming its veths after prefix.
func New(prefix string) *Driver { return &Driver{Prefix: prefix, procSys: "/proc/sys"} }

var _ network.Driver = (*Driver)(nil)

// CreateNetwork makes sure the bridge exists, carries the gateway address
// and is up. An existing bridge (a daemon restart) is reused.
func (d *Driver) CreateNetwork(ctx context.Context, n *network.Network) error {
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("looking up bridge %s: %w", n.Bridge, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge, TxQLen: -1}}
		if err := netlink.LinkAdd(br); err != nil {
			return fmt.Errorf("creating bridge %s: %w", n.Bridge, err)
		}
		if link, err = netlink.LinkByName(n.Bridge); err != nil {
			return err
		}
	} else if link.Type() != "bridge" {
		return errdefs.Conflictf("interface %s exists and is not a bridge", n.Bridge)
	}
	if n.Gateway.IsValid() {
		want := &netlink.Addr{IPNet: &net.IPNet{IP: n.Gateway.AsSlice(), Mask: net.CIDRMask(n.Subnet.Bits(), 32)}}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		have := false
		for _, a := range addrs {
			if a.IPNet.String() == want.IPNet.String() {
				have = true
			}
		}
		if !have {
			if err := netlink.AddrAdd(link, want); err != nil && !errors.Is(err, syscall.EEXIST) {
				return fmt.Errorf("adding %s to %s: %w", want.IPNet, n.Bridge, err)
			}
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing %s up: %w", n.Bridge, err)
	}
	if !n.Internal {
		// Egress and DNAT from other interfaces need forwarding; Docker
		// turns it on the same way, once, host-wide.
		if err := d.writeSysctl("net/ipv4/ip_forward", "1"); err != nil {
			return err
		}
	}
	return nil
}

// DeleteNetwork removes the bridge (its veths go with their namespaces).
func (d *Driver) DeleteNetwork(ctx context.Context, n *network.Network) error {
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("deleting bridge %s: %w", n.Bridge, err)
	}
	return nil
}

// LocalnetRouting sets route_localnet on the network's bridge only.
func (d *Driver) LocalnetRouting(n *network.Network) error {
	return d.writeSysctl("net/ipv4/conf/"+n.Bridge+"/route_localnet", "1")
}

func (d *Driver) writeSysctl(key, val string) error {
	p := d.procSys + "/" + key
	if b, err := os.ReadFile(p); err == nil && string(b) == val+"\n" {
		return nil
	}
	if err := os.WriteFile(p, []byte(val), 0o644); err != nil {
		return fmt.Errorf("setting %s: %w", key, err)
	}
	return nil
}

// Join creates the veth pair, plugs the host end into the bridge (hairpin
// on, so a container can reach its own published ports) and configures the
// container end inside nsPath.
func (d *Driver) Join(ctx context.Context, n *network.Network, ep *network.Endpoint, nsPath string, defaultRoute bool) error {
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	var host, peer string
	for range 5 {
		host, peer = d.vethName(), d.vethName()
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host, MasterIndex: br.Attrs().Index, TxQLen: -1}, PeerName: peer, PeerNamespace: netlink.NsFd(ns)}
		if err = netlink.LinkAdd(veth); err == nil || !errors.Is(err, syscall.EEXIST) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("creating veth pair: %w", err)
	}
	ep.HostVeth = host
	hl, err := netlink.LinkByName(host)
	if err == nil {
		err = netlink.LinkSetHairpin(hl, true)
	}
	if err == nil {
		err = netlink.LinkSetUp(hl)
	}
	if err != nil {
		d.Leave(ctx, n, ep)
		return fmt.Errorf("configuring %s: %w", host, err)
	}
	if err := configurePeer(ns, peer, ep, defaultRoute); err != nil {
		d.Leave(ctx, n, ep)
		return err
	}
	return nil
}

func configurePeer(ns netns.NsHandle, peer string, ep *network.Endpoint, defaultRoute bool) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(peer)
	if err != nil {
		return fmt.Errorf("container end %s: %w", peer, err)
	}
	if err := h.LinkSetName(l, ep.IfName); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", peer, ep.IfName, err)
	}
	if err := h.LinkSetHardwareAddr(l, ep.MAC); err != nil {
		return fmt.Errorf("setting MAC %s: %w", ep.MAC, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ep.IP.AsSlice(), Mask: net.CIDRMask(ep.PrefixLen, 32)}}
	if err := h.AddrAdd(l, addr); err != nil {
		return fmt.Errorf("adding %s: %w", addr.IPNet, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return err
	}
	if defaultRoute && ep.Gateway.IsValid() {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: ep.Gateway.AsSlice()}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("adding default route via %s: %w", ep.Gateway, err)
		}
	}
	return nil
}

// Leave deletes the host end of the veth (the kernel deletes its peer).
func (d *Driver) Leave(ctx context.Context, n *network.Network, ep *network.Endpoint) error {
	if ep.HostVeth == "" {
		return nil
	}
	l, err := netlink.LinkByName(ep.HostVeth)
	if err != nil {
		return nil
	}
	return netlink.LinkDel(l)
}

// vethName is the prefix plus random hex, 15 bytes at most (IFNAMSIZ-1).
func (d *Driver) vethName() string {
	p := d.Prefix
	if len(p) > 9 {
		p = p[:9]
	}
	b := make([]byte, 8)
	rand.Read(b)
	return (p + "v" + hex.EncodeToString(b))[:15]
}
