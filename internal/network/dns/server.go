package dns

import (
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Resolver answers names for one sandbox: nil when the name is not one of
// its networks' containers.
type Resolver interface {
	Lookup(name string) []netip.Addr
	Reverse(ip netip.Addr) []string
}

// Server serves one sandbox's DNS.
type Server struct {
	udp, tcp  *mdns.Server
	r         Resolver
	upstreams []string
}

// Address is where containers send their queries.
const Address = "127.0.0.11"

// Serve starts answering on pc and l (either may be nil); upstreams are
// "ip" or "ip:port".
func Serve(pc net.PacketConn, l net.Listener, r Resolver, upstreams []string) *Server {
	s := &Server{r: r}
	for _, u := range upstreams {
		if _, _, err := net.SplitHostPort(u); err != nil {
			u = net.JoinHostPort(u, "53")
		}
		s.upstreams = append(s.upstreams, u)
	}
	h := mdns.HandlerFunc(s.handle)
	if pc != nil {
		s.udp = &mdns.Server{PacketConn: pc, Handler: h}
		go s.udp.ActivateAndServe()
	}
	if l != nil {
		s.tcp = &mdns.Server{Listener: l, Handler: h}
		go s.tcp.ActivateAndServe()
	}
	return s
}

// Close stops the server and closes its sockets.
func (s *Server) Close() {
	for _, srv := range []*mdns.Server{s.udp, s.tcp} {
		if srv != nil {
			srv.Shutdown()
		}
	}
}

func (s *Server) handle(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		s.forward(w, req)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	switch q.Qtype {
	case mdns.TypeA, mdns.TypeAAAA:
		ips := s.r.Lookup(name)
		if ips == nil {
			s.forward(w, req)
			return
		}
		if q.Qtype == mdns.TypeA {
			for _, ip := range ips {
				resp.Answer = append(resp.Answer, &mdns.A{
					Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 600},
					A:   ip.AsSlice(),
				})
			}
		}
		// AAAA for a known IPv4-only name: an empty answer, as Docker.
	case mdns.TypePTR:
		ip, ok := ptrAddr(name)
		names := []string(nil)
		if ok {
			names = s.r.Reverse(ip)
		}
		if names == nil {
			s.forward(w, req)
			return
		}
		for _, n := range names {
			resp.Answer = append(resp.Answer, &mdns.PTR{
				Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypePTR, Class: mdns.ClassINET, Ttl: 600},
				Ptr: mdns.Fqdn(n),
			})
		}
	default:
		s.forward(w, req)
		return
	}
	w.WriteMsg(resp)
}

// forward relays a query to the first upstream that answers.
func (s *Server) forward(w mdns.ResponseWriter, req *mdns.Msg) {
	proto := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		proto = "tcp"
	}
	c := &mdns.Client{Net: proto, Timeout: 2 * time.Second}
	for _, u := range s.upstreams {
		resp, _, err := c.Exchange(req, u)
		if err == nil && resp != nil {
			w.WriteMsg(resp)
			return
		}
	}
	fail := new(mdns.Msg)
	fail.SetRcode(req, mdns.RcodeServerFailure)
	w.WriteMsg(fail)
}

// ptrAddr parses "4.3.2.1.in-addr.arpa".
func ptrAddr(name string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa")
	if !ok {
		return netip.Addr{}, false
	}
	p := strings.Split(rest, ".")
	if len(p) != 4 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(p[3] + "." + p[2] + "." + p[1] + "." + p[0])
	return a, err == nil
}
