package integration

import (
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"berth/internal/testutil"
)

// TestEmbeddedDNSForwardsToLoopbackResolver: a name no container has is
// forwarded to the daemon's resolver even when that listens on a loopback
// address (as systemd-resolved's 127.0.0.53 does), which a container could
// never reach itself. The resolver is this test's, on a random 127/8
// address, so nothing leaves the machine.
func TestEmbeddedDNSForwardsToLoopbackResolver(t *testing.T) {
	testutil.RequiresRoot(t)
	b := make([]byte, 2)
	rand.Read(b)
	resolver := fmt.Sprintf("127.53.%d.%d", b[0], b[1]|1)
	pc, err := net.ListenPacket("udp4", resolver+":53")
	if err != nil {
		t.Skipf("cannot listen on %s:53: %v", resolver, err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		if q := r.Question[0]; q.Name == "outside.test." {
			if q.Qtype == mdns.TypeA {
				m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 5}, A: net.ParseIP("192.0.2.77")})
			}
		} else {
			m.SetRcode(r, mdns.RcodeNameError)
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })

	d := testutil.StartDaemon(t, "--dns", resolver)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			n := testutil.UniqueName(t, "dns")
			must(t, c, "network", "create", n)
			out := must(t, c, "run", "--rm", "--network", n, "busybox", "nslookup", "outside.test")
			if !strings.Contains(out, "192.0.2.77") {
				t.Fatalf("forwarded lookup:\n%s", out)
			}
			// The default bridge's containers get the daemon's --dns as is.
			if rc := must(t, c, "run", "--rm", "busybox", "cat", "/etc/resolv.conf"); !strings.Contains(rc, "nameserver "+resolver) {
				t.Fatalf("resolv.conf on the default bridge:\n%s", rc)
			}
			must(t, c, "network", "rm", n)
		})
	}
}
