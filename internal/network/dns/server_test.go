package dns

import (
	"net"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) Lookup(name string) []netip.Addr { return f[name] }
func (f fakeResolver) Reverse(ip netip.Addr) []string {
	for n, ips := range f {
		for _, a := range ips {
			if a == ip {
				return []string{n + ".net"}
			}
		}
	}
	return nil
}

// serve starts a server on a loopback UDP port and returns its address.
func serve(t *testing.T, h mdns.Handler, r Resolver, upstreams []string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var s *Server
	if h != nil {
		srv := &mdns.Server{PacketConn: pc, Handler: h}
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	} else {
		s = Serve(pc, nil, r, upstreams)
		t.Cleanup(s.Close)
	}
	return pc.LocalAddr().String()
}

func query(t *testing.T, addr, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	c := &mdns.Client{Timeout: 3 * time.Second}
	var resp *mdns.Msg
	var err error
	for range 20 {
		if resp, _, err = c.Exchange(m, addr); err == nil {
			return resp
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("query %s: %v", name, err)
	return nil
}

func TestServer(t *testing.T) {
	upstream := serve(t, mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 5},
			A: net.ParseIP("192.0.2.99")})
		w.WriteMsg(m)
	}), nil, nil)
	res := fakeResolver{"db": {netip.MustParseAddr("10.1.0.2")}, "cache": {netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.1.0.3")}}
	addr := serve(t, nil, res, []string{upstream})
	tests := []struct {
		name  string
		qtype uint16
		want  []string
	}{
		{"db", mdns.TypeA, []string{"10.1.0.2"}},
		{"DB", mdns.TypeA, []string{"10.1.0.2"}},
		{"cache", mdns.TypeA, []string{"10.1.0.2", "10.1.0.3"}},
		{"db", mdns.TypeAAAA, nil},
		{"example.org", mdns.TypeA, []string{"192.0.2.99"}},
		{"3.0.1.10.in-addr.arpa", mdns.TypePTR, []string{"cache.net."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := query(t, addr, tt.name, tt.qtype)
			var got []string
			for _, rr := range resp.Answer {
				switch v := rr.(type) {
				case *mdns.A:
					got = append(got, v.A.String())
				case *mdns.PTR:
					got = append(got, v.Ptr)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v want %v (rcode %d)", got, tt.want, resp.Rcode)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v want %v", got, tt.want)
				}
			}
		})
	}
}

func TestServerNoUpstream(t *testing.T) {
	addr := serve(t, nil, fakeResolver{}, nil)
	if resp := query(t, addr, "unknown.test", mdns.TypeA); resp.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("rcode %d, want SERVFAIL", resp.Rcode)
	}
}
