package network_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apinet "github.com/moby/moby/api/types/network"
	"github.com/vishvananda/netlink"

	"berth/internal/errdefs"
	"berth/internal/network"
	"berth/internal/network/bridge"
	"berth/internal/network/ipam"
	"berth/internal/network/portmap"
)

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) event(action string, n *network.Network, cid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, action+" "+n.Name)
}

func newManager(t *testing.T, cfg network.Config, rec *recorder) *network.Manager {
	t.Helper()
	m, err := network.New(context.Background(), cfg, slog.Default(),
		map[string]network.Driver{"bridge": bridge.New(cfg.Prefix)}, rec.event)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManagerLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	b := make([]byte, 2)
	rand.Read(b)
	prefix := "bmt" + hex.EncodeToString(b)
	dir := t.TempDir()
	cfg := network.Config{Root: filepath.Join(dir, "net"), NetnsDir: filepath.Join(dir, "ns"), Prefix: prefix,
		Pools: []ipam.PoolSpec{{Base: netip.MustParsePrefix("10.254.80.0/22"), Size: 24}}, DNS: []string{"127.0.0.1"}}
	t.Cleanup(func() {
		portmap.New(prefix).Delete()
		links, _ := netlink.LinkList()
		for _, l := range links {
			if strings.HasPrefix(l.Attrs().Name, prefix) {
				netlink.LinkDel(l)
			}
		}
	})
	ctx := context.Background()
	rec := &recorder{}
	m := newManager(t, cfg, rec)
	for _, n := range []string{"bridge", "host", "none"} {
		if _, err := m.Lookup(n); err != nil {
			t.Fatalf("predefined %s: %v", n, err)
		}
	}
	subnet := netip.MustParsePrefix("10.254.90.0/24")
	req := apinet.CreateRequest{Name: "xa", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: subnet}}}}
	if _, err := m.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.Name = "xb"
	if _, err := m.Create(ctx, req); errdefs.ClassOf(err) != errdefs.ClassForbidden || !strings.Contains(err.Error(), "Pool overlaps with other one on this address space") {
		t.Fatalf("overlap: %v", err)
	}
	if err := m.Configure("c1", "/one", "xa", nil, nil); err != nil {
		t.Fatal(err)
	}
	p80, _ := apinet.PortFrom(80, apinet.TCP)
	path, err := m.Setup(ctx, network.SandboxSpec{ID: "c1", Ports: apinet.PortMap{p80: {{}}}})
	if err != nil || path == "" {
		t.Fatalf("Setup: %q %v", path, err)
	}
	eps := m.EndpointSettings("c1")
	ip1 := eps["xa"].IPAddress
	if !subnet.Contains(ip1) || eps["xa"].Gateway.String() != "10.254.90.1" {
		t.Fatalf("endpoint %+v", eps["xa"])
	}
	if pm := m.PortMap("c1"); len(pm[p80]) != 1 || pm[p80][0].HostPort == "0" {
		t.Fatalf("ports %v", pm)
	}
	if err := m.Remove(ctx, "xa"); errdefs.ClassOf(err) != errdefs.ClassForbidden || !strings.Contains(err.Error(), "has active endpoints") {
		t.Fatalf("remove with endpoints: %v", err)
	}
	// A restarted manager takes the live sandbox back: its address is not
	// handed out again.
	m.Close()
	m = newManager(t, cfg, rec)
	if got := m.EndpointSettings("c1")["xa"].IPAddress; got != ip1 {
		t.Fatalf("after restart: %s, want %s", got, ip1)
	}
	if err := m.Configure("c2", "/two", "xa", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Setup(ctx, network.SandboxSpec{ID: "c2"}); err != nil {
		t.Fatal(err)
	}
	if ip2 := m.EndpointSettings("c2")["xa"].IPAddress; ip2 == ip1 {
		t.Fatalf("address %s handed out twice", ip1)
	}
	m.Forget(ctx, "c1")
	m.Forget(ctx, "c2")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("netns %s left: %v", path, err)
	}
	if err := m.Remove(ctx, "xa"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup("xa"); !errdefs.IsNotFound(err) {
		t.Fatalf("lookup removed: %v", err)
	}
	want := "create xa,connect xa,connect xa,disconnect xa,disconnect xa,destroy xa"
	if got := strings.Join(rec.got, ","); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	m.Close()
}
