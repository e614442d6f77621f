// Package ipam owns IPv4 address management for berth's networks: picking a
// subnet for a new network from the address pools without overlapping the
// host's routes or other networks, and handing out addresses inside one
// subnet (optionally limited to an ip-range) with release on removal.
//
// It is pure bookkeeping: it never touches the kernel. The caller persists
// allocations (the network manager rebuilds a Pool from its endpoints at
// start) and supplies the host's routes.
//
// Key types: PoolSpec (a default-address-pools entry), Pool (one subnet's
// allocator).
package ipam
