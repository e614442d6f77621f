package ipam

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"berth/internal/errdefs"
)

// PoolSpec is one entry of dockerd's default-address-pools: networks of
// Size bits are carved out of Base.
type PoolSpec struct {
	Base netip.Prefix `json:"base"`
	Size int          `json:"size"`
}

// DefaultPools are Docker's defaults: 172.17-31.0.0/16 as /16s, then
// 192.168.0.0/16 as /20s.
func DefaultPools() []PoolSpec {
	return []PoolSpec{
		{Base: netip.MustParsePrefix("172.17.0.0/16"), Size: 16},
		{Base: netip.MustParsePrefix("172.18.0.0/15"), Size: 16},
		{Base: netip.MustParsePrefix("172.20.0.0/14"), Size: 16},
		{Base: netip.MustParsePrefix("172.24.0.0/13"), Size: 16},
		{Base: netip.MustParsePrefix("192.168.0.0/16"), Size: 20},
	}
}

// ParsePoolSpec reads the flag form "base=10.10.0.0/16,size=24".
func ParsePoolSpec(s string) (PoolSpec, error) {
	var p PoolSpec
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch strings.ToLower(k) {
		case "base":
			b, err := netip.ParsePrefix(v)
			if err != nil {
				return p, errdefs.InvalidParameterf("invalid default address pool base %q: %v", v, err)
			}
			p.Base = b.Masked()
		case "size":
			n, err := strconv.Atoi(v)
			if err != nil {
				return p, errdefs.InvalidParameterf("invalid default address pool size %q", v)
			}
			p.Size = n
		default:
			return p, errdefs.InvalidParameterf("invalid field %q in default address pool %q", k, s)
		}
	}
	if !p.Base.IsValid() || !p.Base.Addr().Is4() || p.Size < p.Base.Bits() || p.Size > 30 {
		return p, errdefs.InvalidParameterf("invalid default address pool %q", s)
	}
	return p, nil
}

// Overlaps reports whether two prefixes share any address.
func Overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

// PickSubnet returns the first subnet of the pools that overlaps none of
// used (other networks and the host's routes).
func PickSubnet(pools []PoolSpec, used []netip.Prefix) (netip.Prefix, error) {
	for _, p := range pools {
		if p.Size < p.Base.Bits() || p.Size > 32 {
			continue
		}
		step := uint64(1) << (32 - p.Size)
		count := uint64(1) << (p.Size - p.Base.Bits())
		base := u32(p.Base.Masked().Addr())
		for i := uint64(0); i < count; i++ {
			cand := netip.PrefixFrom(addr(uint32(uint64(base)+i*step)), p.Size)
			if !overlapsAny(cand, used) {
				return cand, nil
			}
		}
	}
	return netip.Prefix{}, errdefs.Unavailable(fmt.Errorf("all predefined address pools have been fully subnetted"))
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, u := range list {
		if u.IsValid() && p.Overlaps(u) {
			return true
		}
	}
	return false
}

// Pool hands out the addresses of one subnet. The network and broadcast
// addresses and the gateway are never handed out. Not safe for concurrent
// use: the network manager serialises.
type Pool struct {
	Subnet  netip.Prefix
	Range   netip.Prefix // where dynamic addresses come from; Subnet when unset
	Gateway netip.Addr
	used    map[netip.Addr]bool
	next    netip.Addr // round-robin cursor, so a released address is not reused at once
}

// NewPool validates the subnet, range and gateway (choosing the first
// address as gateway when none is given) and returns an empty pool.
func NewPool(subnet, ipRange netip.Prefix, gateway netip.Addr) (*Pool, error) {
	if !subnet.IsValid() || !subnet.Addr().Is4() {
		return nil, errdefs.InvalidParameterf("invalid subnet %s", subnet)
	}
	if subnet.Bits() > 30 {
		return nil, errdefs.InvalidParameterf("subnet %s is too small", subnet)
	}
	if subnet != subnet.Masked() {
		return nil, errdefs.InvalidParameterf("invalid subnet %s : it should be %s", subnet, subnet.Masked())
	}
	if !ipRange.IsValid() {
		ipRange = subnet
	} else if !subnet.Contains(ipRange.Addr()) || ipRange.Bits() < subnet.Bits() {
		return nil, errdefs.InvalidParameterf("invalid pool request: ip-range %s is not within subnet %s", ipRange, subnet)
	}
	if !gateway.IsValid() {
		gateway = subnet.Addr().Next()
	} else if !subnet.Contains(gateway) {
		return nil, errdefs.InvalidParameterf("no matching subnet for gateway %s", gateway)
	}
	return &Pool{Subnet: subnet, Range: ipRange.Masked(), Gateway: gateway, used: map[netip.Addr]bool{}}, nil
}

func (p *Pool) reserved(a netip.Addr) bool {
	return a == p.Gateway || a == p.Subnet.Addr() || a == broadcast(p.Subnet) || p.used[a]
}

// Mark records an address as taken (a restored endpoint). An address
// outside the subnet or already taken is an error.
func (p *Pool) Mark(a netip.Addr) error {
	if !p.Subnet.Contains(a) {
		return errdefs.InvalidParameterf("invalid address %s: not in subnet %s", a, p.Subnet)
	}
	if p.reserved(a) {
		return errdefs.Conflictf("Address already in use")
	}
	p.used[a] = true
	return nil
}

// Allocate returns want when given (it must be free and in the subnet) or
// the next free address of the range.
func (p *Pool) Allocate(want netip.Addr) (netip.Addr, error) {
	if want.IsValid() {
		if err := p.Mark(want); err != nil {
			return netip.Addr{}, err
		}
		return want, nil
	}
	first, last := p.Range.Masked().Addr(), broadcast(p.Range)
	start := p.next
	if !start.IsValid() || !p.Range.Contains(start) {
		start = first
	}
	a := start
	for {
		if !p.reserved(a) {
			p.used[a] = true
			p.next = a.Next()
			return a, nil
		}
		a = a.Next()
		if !a.IsValid() || a.Compare(last) > 0 {
			a = first
		}
		if a == start {
			return netip.Addr{}, errdefs.Unavailable(fmt.Errorf("no available IPv4 addresses on this network's address pools"))
		}
	}
}

// Release frees an address; releasing a free one is a no-op.
func (p *Pool) Release(a netip.Addr) { delete(p.used, a) }

// InUse is the number of allocated addresses.
func (p *Pool) InUse() int { return len(p.used) }

func broadcast(p netip.Prefix) netip.Addr {
	return addr(u32(p.Masked().Addr()) | (1<<(32-p.Bits()) - 1))
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
