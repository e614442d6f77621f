// Package portmap owns berth's packet filtering and NAT: one nftables table
// per daemon (named after the daemon's network prefix, "berth" by default)
// holding masquerade for egress, DNAT for published ports, hairpin and
// loopback publishing, and the forward-chain drops that isolate networks.
// It talks netlink through github.com/google/nftables: no nft or iptables
// binary, and no process per published port.
//
// The table is declarative: Apply replaces the whole table with the rules
// for a State in one nftables transaction, so a daemon restarted after a
// crash rebuilds exactly what its records say and never duplicates a rule.
//
// Reserve binds (without listening) a host port so that a port already in
// use is reported when a container starts, as docker-proxy would, and so
// that nothing else on the host takes it while the DNAT rule points at the
// container.
package portmap
