package portmap

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Bridge is one of berth's bridges as the rules see it.
type Bridge struct {
	Name     string
	Subnet   netip.Prefix
	Internal bool // no traffic in or out of the bridge, no masquerade
}

// Mapping is one published port.
type Mapping struct {
	Proto         string     // "tcp" or "udp"
	HostIP        netip.Addr // invalid or unspecified: every local address
	HostPort      uint16
	ContainerIP   netip.Addr
	ContainerPort uint16
}

// State is everything the table must hold.
type State struct {
	Bridges  []Bridge
	Mappings []Mapping
}

// Table is berth's nftables table (family ip).
type Table struct {
	Name string
}

// New names the table; nothing touches the kernel until Apply.
func New(name string) *Table { return &Table{Name: name} }

// Apply replaces the table's content with st, atomically.
func (t *Table) Apply(st State) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: t.Name}
	// add+delete+add in one transaction: the delete never fails for a
	// missing table, and readers see the old or the new table, never none.
	c.AddTable(tbl)
	c.DelTable(tbl)
	c.AddTable(tbl)
	accept := nftables.ChainPolicyAccept
	chain := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: tbl, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept})
	}
	portmap := c.AddChain(&nftables.Chain{Name: "portmap", Table: tbl})
	pre := chain("prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	out := chain("output", nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	post := chain("postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	fwd := chain("forward", nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter)
	// Only traffic addressed to the host itself is published.
	for _, ch := range []*nftables.Chain{pre, out} {
		c.AddRule(&nftables.Rule{Table: tbl, Chain: ch, Exprs: join(localDst(), jump("portmap"))})
	}
	for _, m := range st.Mappings {
		c.AddRule(&nftables.Rule{Table: tbl, Chain: portmap, Exprs: dnat(m)})
	}
	for _, b := range st.Bridges {
		postRules(c, tbl, post, b)
		fwdRules(c, tbl, fwd, b, st.Bridges)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("applying nftables table %s: %w", t.Name, err)
	}
	return nil
}

func postRules(c *nftables.Conn, tbl *nftables.Table, post *nftables.Chain, b Bridge) {
	if !b.Internal {
		// Egress: the subnet's traffic leaving by another interface.
		c.AddRule(&nftables.Rule{Table: tbl, Chain: post, Exprs: join(srcIn(b.Subnet), ifname(expr.MetaKeyOIFNAME, b.Name, false), masq())})
	}
	// Loopback publishing: 127/8 sources DNAT'ed into the bridge
	// (route_localnet lets them out) get the bridge's address.
	c.AddRule(&nftables.Rule{Table: tbl, Chain: post, Exprs: join(srcIn(netip.MustParsePrefix("127.0.0.0/8")), ifname(expr.MetaKeyOIFNAME, b.Name, true), masq())})
	// Hairpin: a container reaching a published port of the same bridge
	// must see replies come back through the NAT.
	c.AddRule(&nftables.Rule{Table: tbl, Chain: post, Exprs: join(srcIn(b.Subnet), ifname(expr.MetaKeyOIFNAME, b.Name, true), ctDNAT(), masq())})
}

func fwdRules(c *nftables.Conn, tbl *nftables.Table, fwd *nftables.Chain, b Bridge, all []Bridge) {
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	if b.Internal {
		c.AddRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: join(ifname(expr.MetaKeyIIFNAME, b.Name, true), ifname(expr.MetaKeyOIFNAME, b.Name, false), []expr.Any{drop})})
		c.AddRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: join(ifname(expr.MetaKeyOIFNAME, b.Name, true), ifname(expr.MetaKeyIIFNAME, b.Name, false), []expr.Any{drop})})
		return
	}
	for _, o := range all {
		if o.Name == b.Name {
			continue
		}
		c.AddRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: join(ifname(expr.MetaKeyIIFNAME, b.Name, true), ifname(expr.MetaKeyOIFNAME, o.Name, true), []expr.Any{drop})})
	}
	// From outside into the bridge only replies and published ports pass:
	// with ip_forward on, nothing else on the host's networks may route
	// straight to a container.
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	inbound := join(ifname(expr.MetaKeyOIFNAME, b.Name, true), ifname(expr.MetaKeyIIFNAME, b.Name, false))
	c.AddRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: join(inbound, ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), []expr.Any{accept})})
	c.AddRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: join(inbound, ctDNAT(), []expr.Any{accept})})
	c.AddRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: join(inbound, []expr.Any{drop})})
}

func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(bits), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
}

// Delete removes the table (a missing table is not an error).
func (t *Table) Delete() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: t.Name}
	c.AddTable(tbl)
	c.DelTable(tbl)
	return c.Flush()
}

func join(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func localDst() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: native32(unix.RTN_LOCAL)},
	}
}

func jump(chain string) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: chain}}
}

func masq() []expr.Any { return []expr.Any{&expr.Masq{}} }

func ifname(key expr.MetaKey, name string, eq bool) []expr.Any {
	op := expr.CmpOpEq
	if !eq {
		op = expr.CmpOpNeq
	}
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

func srcIn(p netip.Prefix) []expr.Any { return addrIn(12, p) }

func addrIn(offset uint32, p netip.Prefix) []expr.Any {
	p = p.Masked()
	mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-p.Bits()))
	a := p.Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}

func ctDNAT() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(ipsDstNAT), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
}

func dnat(m Mapping) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if m.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	var ex []expr.Any
	if m.HostIP.IsValid() && !m.HostIP.IsUnspecified() {
		ex = append(ex, addrIn(16, netip.PrefixFrom(m.HostIP, 32))...)
	}
	cip := m.ContainerIP.As4()
	ex = append(ex,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, m.HostPort)},
		&expr.Immediate{Register: 1, Data: cip[:]},
		&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, m.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
	return ex
}

func native32(v uint32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return b
}

// ipsDstNAT is the conntrack status bit of a connection whose destination
// was rewritten (IPS_DST_NAT in linux/netfilter/nf_conntrack_common.h).
const ipsDstNAT = 1 << 5
