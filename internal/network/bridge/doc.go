// Package bridge is the network driver for "bridge" networks: a Linux
// bridge per network with the gateway address, and a veth pair per
// endpoint whose container end becomes eth0, eth1, ... in the sandbox's
// namespace with its address, Docker-style MAC and (on the first network)
// the default route.
//
// It uses netlink (github.com/vishvananda/netlink) only; sysctls are
// written under /proc/sys for berth's own bridges alone (route_localnet)
// and ip_forward once a network that routes is created. It must not touch
// links that are not its own: it deletes only the bridges of networks it
// was given and the veths it made.
package bridge
