package testutil

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"berth/internal/network/portmap"
)

// netIsolation gives one test daemon host objects of its own: a network
// prefix (nftables table and link names), a default bridge name and an
// address pool that no host route and (very likely) no other test daemon
// uses, and a loopback resolver so no test lookup leaves the machine.
type netIsolation struct {
	Prefix string // e.g. "berth3fa9"
	Pool   netip.Prefix
}

func newNetIsolation(t testing.TB) netIsolation {
	t.Helper()
	return netIsolation{Prefix: "berth" + randomHex(t, 2), Pool: freePool(t)}
}

// args are the daemon flags, skipping those the test sets itself.
func (n netIsolation) args(extra []string) []string {
	has := func(flag string) bool {
		for _, a := range extra {
			if a == flag || strings.HasPrefix(a, flag+"=") {
				return true
			}
		}
		return false
	}
	args := []string{"--net-prefix", n.Prefix}
	if !has("--bridge") && !has("-b") {
		args = append(args, "--bridge", n.Prefix+"0")
	}
	if !has("--default-address-pool") {
		args = append(args, "--default-address-pool", fmt.Sprintf("base=%s,size=24", n.Pool))
	}
	if !has("--dns") {
		args = append(args, "--dns", "127.0.0.1")
	}
	return args
}

// freePool picks a random 10.x.y.0/20 that overlaps no host route.
func freePool(t testing.TB) netip.Prefix {
	t.Helper()
	var used []netip.Prefix
	if routes, err := netlink.RouteList(nil, netlink.FAMILY_V4); err == nil {
		for _, r := range routes {
			if r.Dst != nil {
				if p, err := netip.ParsePrefix(r.Dst.String()); err == nil && p.Bits() > 0 {
					used = append(used, p)
				}
			}
		}
	}
	for range 100 {
		a, _ := rand.Int(rand.Reader, big.NewInt(140))
		b, _ := rand.Int(rand.Reader, big.NewInt(16))
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + a.Int64()), byte(16 * b.Int64()), 0}), 20)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
			}
		}
		if free {
			return p
		}
	}
	t.Fatal("no free 10.x.y.0/20 for the test daemon's networks")
	return netip.Prefix{}
}

// cleanup deletes the links and the nftables table carrying the prefix
// (bridges and veths outlive a daemon on purpose: live restore).
func (n netIsolation) cleanup() error {
	var errs []string
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			if strings.HasPrefix(l.Attrs().Name, n.Prefix) {
				if err := netlink.LinkDel(l); err != nil {
					errs = append(errs, fmt.Sprintf("deleting link %s: %v", l.Attrs().Name, err))
				}
			}
		}
	}
	if c, err := nftables.New(); err == nil {
		tables, _ := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		for _, tb := range tables {
			if tb.Name == n.Prefix {
				c.DelTable(tb)
				if err := c.Flush(); err != nil {
					errs = append(errs, fmt.Sprintf("deleting nftables table %s: %v", tb.Name, err))
				}
			}
		}
	}
	// The iptables fallback (--firewall-backend iptables) keeps chains
	// named after the prefix.
	if out, err := exec.Command("iptables-legacy-save").Output(); err == nil && strings.Contains(string(out), n.Prefix+"-") {
		portmap.NewIPTables(n.Prefix, "iptables-legacy").Delete()
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Leftovers lists links and nftables tables of this daemon that exist now
// (for tests asserting that removal cleaned up).
func (d *Daemon) NetLeftovers() (links []string, tables []string) {
	if ls, err := netlink.LinkList(); err == nil {
		for _, l := range ls {
			if strings.HasPrefix(l.Attrs().Name, d.NetPrefix) {
				links = append(links, l.Attrs().Name)
			}
		}
	}
	if c, err := nftables.New(); err == nil {
		ts, _ := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		for _, tb := range ts {
			if tb.Name == d.NetPrefix {
				tables = append(tables, tb.Name)
			}
		}
	}
	return links, tables
}

// PortmapRules counts the rules of the daemon's DNAT chain (one per
// published port).
func (d *Daemon) PortmapRules() (int, error) {
	c, err := nftables.New()
	if err != nil {
		return 0, err
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: d.NetPrefix}
	rules, err := c.GetRules(tbl, &nftables.Chain{Name: "portmap", Table: tbl})
	if err != nil {
		return 0, err
	}
	return len(rules), nil
}
