package ipam

import (
	"net/netip"
	"testing"
)

func TestPickSubnet(t *testing.T) {
	pools := []PoolSpec{{Base: netip.MustParsePrefix("10.10.0.0/22"), Size: 24}}
	tests := []struct {
		name string
		used []string
		want string
	}{
		{"empty", nil, "10.10.0.0/24"},
		{"skips a route", []string{"10.10.0.0/25"}, "10.10.1.0/24"},
		{"skips a wider route", []string{"10.10.0.0/23"}, "10.10.2.0/24"},
		{"all taken", []string{"10.0.0.0/8"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var used []netip.Prefix
			for _, u := range tt.used {
				used = append(used, netip.MustParsePrefix(u))
			}
			got, err := PickSubnet(pools, used)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestPoolAllocate(t *testing.T) {
	p, err := NewPool(netip.MustParsePrefix("10.1.0.0/29"), netip.Prefix{}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Gateway.String() != "10.1.0.1" {
		t.Fatalf("gateway %s", p.Gateway)
	}
	var got []string
	for {
		a, err := p.Allocate(netip.Addr{})
		if err != nil {
			break
		}
		got = append(got, a.String())
	}
	if want := "[10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6]"; fmtList(got) != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	p.Release(netip.MustParseAddr("10.1.0.4"))
	if a, err := p.Allocate(netip.Addr{}); err != nil || a.String() != "10.1.0.4" {
		t.Fatalf("after release: %s, %v", a, err)
	}
	if _, err := p.Allocate(netip.MustParseAddr("10.1.0.2")); err == nil {
		t.Fatal("static address in use: no error")
	}
}

func TestPoolRangeAndValidation(t *testing.T) {
	p, err := NewPool(netip.MustParsePrefix("10.2.0.0/24"), netip.MustParsePrefix("10.2.0.128/25"), netip.MustParseAddr("10.2.0.254"))
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := p.Allocate(netip.Addr{}); a.String() != "10.2.0.128" {
		t.Fatalf("first of range: %s", a)
	}
	bad := []struct{ subnet, rng, gw string }{
		{"10.2.0.1/24", "", ""},
		{"10.2.0.0/24", "10.3.0.0/25", ""},
		{"10.2.0.0/24", "", "10.3.0.1"},
	}
	for _, b := range bad {
		var r netip.Prefix
		var g netip.Addr
		if b.rng != "" {
			r = netip.MustParsePrefix(b.rng)
		}
		if b.gw != "" {
			g = netip.MustParseAddr(b.gw)
		}
		if _, err := NewPool(netip.MustParsePrefix(b.subnet), r, g); err == nil {
			t.Errorf("%v: no error", b)
		}
	}
}

func TestParsePoolSpec(t *testing.T) {
	p, err := ParsePoolSpec("base=10.20.0.0/16,size=24")
	if err != nil || p.Base.String() != "10.20.0.0/16" || p.Size != 24 {
		t.Fatalf("%+v %v", p, err)
	}
	for _, s := range []string{"base=10.20.0.0/16,size=8", "base=x,size=24", "size=24", "foo=1"} {
		if _, err := ParsePoolSpec(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

func fmtList(l []string) string {
	s := "["
	for i, v := range l {
		if i > 0 {
			s += " "
		}
		s += v
	}
	return s + "]"
}
