package portmap

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func testState() State {
	return State{
		Bridges: []Bridge{{Name: "brA", Subnet: netip.MustParsePrefix("10.254.1.0/24")}, {Name: "brB", Subnet: netip.MustParsePrefix("10.254.2.0/24"), Internal: true}},
		Mappings: []Mapping{
			{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.254.1.2"), ContainerPort: 80},
			{Proto: "udp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 53, ContainerIP: netip.MustParseAddr("10.254.1.3"), ContainerPort: 5353},
		},
	}
}

func TestIPTablesRules(t *testing.T) {
	got := NewIPTables("bx", "iptables").Rules(testState())
	for _, want := range []string{
		"-A bx-PORTMAP -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.254.1.2:80\n",
		"-A bx-PORTMAP -d 127.0.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.254.1.3:5353\n",
		"-A bx-POST -s 10.254.1.0/24 ! -o brA -j MASQUERADE\n",
		"-A bx-POST -s 127.0.0.0/8 -o brA -j MASQUERADE\n",
		"-A bx-FWD -i brA -o brB -j DROP\n",
		"-A bx-FWD -i brB ! -o brB -j DROP\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rules lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "-s 10.254.2.0/24 ! -o brB -j MASQUERADE") {
		t.Errorf("internal network masqueraded:\n%s", got)
	}
}

// TestIPTablesApply runs the fallback against the kernel (legacy xtables
// when available) in chains named after a random prefix.
func TestIPTablesApply(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	bin := "iptables-legacy"
	if _, err := exec.LookPath(bin); err != nil {
		t.Skip("no iptables-legacy")
	}
	b := make([]byte, 2)
	rand.Read(b)
	ipt := NewIPTables("bpt"+hex.EncodeToString(b), bin)
	t.Cleanup(func() { ipt.Delete() })
	for range 2 {
		if err := ipt.Apply(testState()); err != nil {
			t.Skipf("iptables unusable here: %v", err)
		}
	}
	out, err := exec.Command(bin+"-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "-j "+ipt.Name+"-PRE"); n != 1 {
		t.Fatalf("%d jumps to %s-PRE after two applies:\n%s", n, ipt.Name, out)
	}
	if n := strings.Count(string(out), "--to-destination 10.254.1.2:80"); n != 1 {
		t.Fatalf("%d DNAT rules after two applies", n)
	}
	ipt.Delete()
	out, _ = exec.Command(bin + "-save").CombinedOutput()
	if strings.Contains(string(out), ipt.Name) {
		t.Fatalf("chains left after Delete:\n%s", out)
	}
}
