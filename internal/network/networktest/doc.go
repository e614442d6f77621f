// Package networktest is the conformance suite every network.Driver runs
// (as storagetest is for storage drivers): a network is created twice
// (idempotent, as at a daemon restart), an endpoint joins a fresh
// namespace with its name, address, MAC and default route, leaves without
// a trace, and the network is deleted. It needs root and a real kernel.
package networktest
