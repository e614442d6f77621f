// Package network owns container networking: network records (the default
// "bridge", "host", "none" and user-defined networks), the endpoints that
// attach a container's network namespace to them, published ports and the
// embedded DNS server of user-defined networks.
//
// Manager is the one entry point the daemon uses. Its lifecycle for a
// container is:
//
//	Configure(id, ...)      at create and network connect: which networks, aliases, static IPs
//	Setup(ctx, SandboxSpec) at start: netns, one endpoint per network, ports, DNS
//	Teardown(ctx, id)       at exit: ports, endpoints, netns released
//	Forget(id)              at removal: the configuration goes too
//
// Drivers (Driver; package network/bridge is the only one) do the kernel
// work for one network type; ipam hands out subnets and addresses;
// portmap holds the nftables table; dns answers names.
//
// The package must not see a container record: the daemon hands it a
// sandbox (an ID, a name and the endpoint settings) and gets back the
// netns path for the runtime and the settings for inspect. It never runs a
// process per port. Everything it creates on the host carries the
// daemon's prefix (Config.Prefix) so that tests and a cleanup can find it.
package network
