package portmap

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"

	"github.com/google/nftables"
)

// Firewall is what the network manager needs of a packet filter: replace
// berth's rules with a State, or remove them. Table (nftables, preferred)
// and IPTables (the fallback where nf_tables is missing) implement it.
type Firewall interface {
	Apply(st State) error
	Delete() error
}

// Detect returns the nftables table when the kernel speaks nf_tables, else
// the iptables fallback (iptables-legacy where installed).
func Detect(name string) Firewall {
	if c, err := nftables.New(); err == nil {
		if _, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4); err == nil {
			return New(name)
		}
	}
	bin := "iptables"
	if _, err := exec.LookPath("iptables-legacy"); err == nil {
		bin = "iptables-legacy"
	}
	return NewIPTables(name, bin)
}

// IPTables keeps the same rules as Table in chains of its own ("<name>-…"
// in the nat and filter tables), rewritten with one iptables-restore
// --noflush per Apply so they never duplicate; the built-in chains only get
// a jump each.
type IPTables struct {
	Name string
	Bin  string // "iptables" or "iptables-legacy"
}

// NewIPTables names the chains after name and runs bin (and bin-restore).
func NewIPTables(name, bin string) *IPTables { return &IPTables{Name: name, Bin: bin} }

var _ Firewall = (*IPTables)(nil)
var _ Firewall = (*Table)(nil)

func (t *IPTables) chain(s string) string { return t.Name + "-" + s }

// jumps are the built-in chains' entries into berth's chains.
func (t *IPTables) jumps() [][]string {
	return [][]string{
		{"nat", "PREROUTING", t.chain("PRE")},
		{"nat", "OUTPUT", t.chain("OUT")},
		{"nat", "POSTROUTING", t.chain("POST")},
		{"filter", "FORWARD", t.chain("FWD")},
	}
}

// Rules renders st as iptables-restore input.
func (t *IPTables) Rules(st State) string {
	var b strings.Builder
	pm, pre, out, post, fwd := t.chain("PORTMAP"), t.chain("PRE"), t.chain("OUT"), t.chain("POST"), t.chain("FWD")
	fmt.Fprintf(&b, "*nat\n:%s - [0:0]\n:%s - [0:0]\n:%s - [0:0]\n:%s - [0:0]\n", pm, pre, out, post)
	fmt.Fprintf(&b, "-A %s -m addrtype --dst-type LOCAL -j %s\n-A %s -m addrtype --dst-type LOCAL -j %s\n", pre, pm, out, pm)
	for _, m := range st.Mappings {
		dst := ""
		if m.HostIP.IsValid() && !m.HostIP.IsUnspecified() {
			dst = "-d " + m.HostIP.String() + "/32 "
		}
		fmt.Fprintf(&b, "-A %s %s-p %s -m %s --dport %d -j DNAT --to-destination %s:%d\n", pm, dst, m.Proto, m.Proto, m.HostPort, m.ContainerIP, m.ContainerPort)
	}
	for _, br := range st.Bridges {
		if !br.Internal {
			fmt.Fprintf(&b, "-A %s -s %s ! -o %s -j MASQUERADE\n", post, br.Subnet.Masked(), br.Name)
		}
		fmt.Fprintf(&b, "-A %s -s 127.0.0.0/8 -o %s -j MASQUERADE\n", post, br.Name)
		fmt.Fprintf(&b, "-A %s -s %s -o %s -m conntrack --ctstate DNAT -j MASQUERADE\n", post, br.Subnet.Masked(), br.Name)
	}
	fmt.Fprintf(&b, "COMMIT\n*filter\n:%s - [0:0]\n", fwd)
	for _, br := range st.Bridges {
		if br.Internal {
			fmt.Fprintf(&b, "-A %s -i %s ! -o %s -j DROP\n-A %s -o %s ! -i %s -j DROP\n", fwd, br.Name, br.Name, fwd, br.Name, br.Name)
			continue
		}
		for _, o := range st.Bridges {
			if o.Name != br.Name {
				fmt.Fprintf(&b, "-A %s -i %s -o %s -j DROP\n", fwd, br.Name, o.Name)
			}
		}
		fmt.Fprintf(&b, "-A %s -o %s ! -i %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", fwd, br.Name, br.Name)
		fmt.Fprintf(&b, "-A %s -o %s ! -i %s -m conntrack --ctstate DNAT -j ACCEPT\n", fwd, br.Name, br.Name)
		fmt.Fprintf(&b, "-A %s -o %s ! -i %s -j DROP\n", fwd, br.Name, br.Name)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// Apply rewrites berth's chains and makes sure each is jumped to once.
func (t *IPTables) Apply(st State) error {
	cmd := exec.Command(t.Bin+"-restore", "--noflush", "--wait")
	cmd.Stdin = strings.NewReader(t.Rules(st))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s-restore: %v: %s", t.Bin, err, bytes.TrimSpace(out))
	}
	for _, j := range t.jumps() {
		if t.run("-t", j[0], "-C", j[1], "-j", j[2]) == nil {
			continue
		}
		if err := t.run("-t", j[0], "-I", j[1], "-j", j[2]); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the jumps and berth's chains.
func (t *IPTables) Delete() error {
	for _, j := range t.jumps() {
		for t.run("-t", j[0], "-D", j[1], "-j", j[2]) == nil {
		}
	}
	for _, c := range [][2]string{{"nat", "PORTMAP"}, {"nat", "PRE"}, {"nat", "OUT"}, {"nat", "POST"}, {"filter", "FWD"}} {
		t.run("-t", c[0], "-F", t.chain(c[1]))
	}
	for _, c := range [][2]string{{"nat", "PRE"}, {"nat", "OUT"}, {"nat", "PORTMAP"}, {"nat", "POST"}, {"filter", "FWD"}} {
		t.run("-t", c[0], "-X", t.chain(c[1]))
	}
	return nil
}

func (t *IPTables) run(args ...string) error {
	out, err := exec.Command(t.Bin, append([]string{"--wait"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", t.Bin, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
