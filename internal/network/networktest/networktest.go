package networktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"berth/internal/network"
)

// Run exercises the driver made by newDriver; every host object it makes
// starts with prefix (at most 9 bytes) and is removed at the end.
func Run(t *testing.T, newDriver func(prefix string) network.Driver) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates bridges, veths and namespaces")
	}
	b := make([]byte, 2)
	rand.Read(b)
	prefix := "bnt" + hex.EncodeToString(b)
	t.Cleanup(func() { removeLinks(prefix) })
	d := newDriver(prefix)
	ctx := context.Background()
	n := &network.Network{ID: "test", Name: "test", Driver: "bridge", Bridge: prefix + "0",
		Subnet: netip.MustParsePrefix("10.254.77.0/24"), Gateway: netip.MustParseAddr("10.254.77.1"), Internal: true}
	for range 2 {
		if err := d.CreateNetwork(ctx, n); err != nil {
			t.Fatalf("CreateNetwork: %v", err)
		}
	}
	if _, err := netlink.LinkByName(n.Bridge); err != nil {
		t.Fatalf("bridge %s missing: %v", n.Bridge, err)
	}
	nsPath := filepath.Join(t.TempDir(), "ns")
	if err := network.CreateNetns(nsPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.DeleteNetns(nsPath) })
	ip := netip.MustParseAddr("10.254.77.9")
	ep := &network.Endpoint{ID: "ep", NetworkID: n.ID, IfName: "eth0", IP: ip, PrefixLen: 24, Gateway: n.Gateway, MAC: network.MACFor(ip)}
	if err := d.Join(ctx, n, ep, nsPath, true); err != nil {
		t.Fatalf("Join: %v", err)
	}
	if !strings.HasPrefix(ep.HostVeth, prefix) {
		t.Fatalf("host veth %q does not carry the prefix %q", ep.HostVeth, prefix)
	}
	checkInside(t, nsPath, ep)
	if err := d.Leave(ctx, n, ep); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if _, err := netlink.LinkByName(ep.HostVeth); err == nil {
		t.Fatalf("veth %s left after Leave", ep.HostVeth)
	}
	if err := d.DeleteNetwork(ctx, n); err != nil {
		t.Fatalf("DeleteNetwork: %v", err)
	}
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		t.Fatalf("bridge %s left after DeleteNetwork", n.Bridge)
	}
}

func checkInside(t *testing.T, nsPath string, ep *network.Endpoint) {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(ep.IfName)
	if err != nil {
		t.Fatalf("%s in the namespace: %v", ep.IfName, err)
	}
	if l.Attrs().HardwareAddr.String() != ep.MAC.String() {
		t.Fatalf("MAC %s, want %s", l.Attrs().HardwareAddr, ep.MAC)
	}
	addrs, _ := h.AddrList(l, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != netip.PrefixFrom(ep.IP, ep.PrefixLen).String() {
		t.Fatalf("addresses %v", addrs)
	}
	routes, _ := h.RouteList(l, netlink.FAMILY_V4)
	def := false
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == ep.Gateway.String() {
			def = true
		}
	}
	if !def {
		t.Fatalf("no default route via %s: %v", ep.Gateway, routes)
	}
}

func removeLinks(prefix string) {
	links, _ := netlink.LinkList()
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			netlink.LinkDel(l)
		}
	}
}
